package engine

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Fault is an Apigee runtime error as clients see it:
// {"fault":{"faultstring":"…","detail":{"errorcode":"…"}}}.
type Fault struct {
	Status      int
	FaultString string
	ErrorCode   string
}

func (f *Fault) Error() string { return f.ErrorCode + ": " + f.FaultString }

// Error codes the runtime raises itself (not from policies).
const (
	CodeApplicationNotFound = "messaging.adaptors.http.flow.ApplicationNotFound"
	CodeServiceUnavailable  = "messaging.adaptors.http.flow.ServiceUnavailable"
	CodeGatewayTimeout      = "messaging.adaptors.http.flow.GatewayTimeout"
	CodeNoActiveTargets     = "messaging.adaptors.http.flow.NoActiveTargets"
)

func notFound(host, path string) *Fault {
	return &Fault{
		Status:      http.StatusNotFound,
		FaultString: "Unable to identify proxy for host: " + host + " and url: " + path,
		ErrorCode:   CodeApplicationNotFound,
	}
}

type faultBody struct {
	Fault struct {
		FaultString string `json:"faultstring"`
		Detail      struct {
			ErrorCode string `json:"errorcode"`
		} `json:"detail"`
	} `json:"fault"`
}

// Write sends the fault as Apigee's JSON error body.
func (f *Fault) Write(w http.ResponseWriter) {
	var b faultBody
	b.Fault.FaultString = f.FaultString
	b.Fault.Detail.ErrorCode = f.ErrorCode
	data, _ := json.Marshal(b)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(f.Status)
	_, _ = w.Write(data)
}
