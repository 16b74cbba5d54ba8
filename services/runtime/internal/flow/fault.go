package flow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// Fault is a runtime or policy error as Apigee raises it: it puts the flow
// into its error state, sets fault.name and error.*, and, unless a fault
// rule changes it, answers {"fault":{"faultstring":…,"detail":{"errorcode":…}}}.
type Fault struct {
	// Code is the errorcode, e.g. "steps.raisefault.RaiseFault".
	Code string
	// Name is fault.name; by default the last segment of Code.
	Name string
	// Status and Reason are the error response's status line.
	Status int
	Reason string
	// Message is the faultstring.
	Message string
	// Policy names the policy that raised the fault ("" for runtime faults).
	Policy string
	// Response, when set, is the error response to send (RaiseFault's
	// FaultResponse, or the target's own error response).
	Response *message.Message
}

// Errorf returns a fault with the given status, error code and faultstring.
func Errorf(status int, code, format string, args ...any) *Fault {
	return &Fault{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func (f *Fault) Error() string { return f.Code + ": " + f.Message }

// FaultName is fault.name: Name, or the last segment of the error code.
func (f *Fault) FaultName() string {
	if f.Name != "" {
		return f.Name
	}
	if i := strings.LastIndexByte(f.Code, '.'); i >= 0 {
		return f.Code[i+1:]
	}
	return f.Code
}

// StatusCode is the fault's HTTP status (500 when unset).
func (f *Fault) StatusCode() int {
	if f.Status == 0 {
		return http.StatusInternalServerError
	}
	return f.Status
}

type faultBody struct {
	Fault struct {
		FaultString string `json:"faultstring"`
		Detail      struct {
			ErrorCode string `json:"errorcode"`
		} `json:"detail"`
	} `json:"fault"`
}

// Body is the Apigee fault JSON.
func (f *Fault) Body() []byte {
	var b faultBody
	b.Fault.FaultString = f.Message
	b.Fault.Detail.ErrorCode = f.Code
	data, _ := json.Marshal(b)
	return data
}

// DefaultResponse is the response Apigee sends for the fault when no
// fault rule changes it.
func (f *Fault) DefaultResponse() *message.Message {
	if f.Response != nil {
		return f.Response
	}
	m := message.NewResponse()
	m.StatusCode = f.StatusCode()
	m.Reason = f.Reason
	m.Header.Set("Content-Type", "application/json")
	m.SetContent(f.Body())
	return m
}

// Write sends the fault's default response.
func (f *Fault) Write(w http.ResponseWriter) {
	data := f.Body()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(f.StatusCode())
	_, _ = w.Write(data)
}

// AsFault converts any error from a policy into a fault. Policies return
// *Fault; anything else is an internal error of the policy.
func AsFault(err error, policyType, policyName string) *Fault {
	if f, ok := err.(*Fault); ok {
		if f.Policy == "" {
			// Copy: a policy may return a shared fault value.
			c := *f
			c.Policy = policyName
			return &c
		}
		return f
	}
	return &Fault{
		Code:    "steps." + strings.ToLower(policyType) + ".ExecutionFailed",
		Status:  http.StatusInternalServerError,
		Message: fmt.Sprintf("Execution of %s failed with error: %v", policyName, err),
		Policy:  policyName,
	}
}
