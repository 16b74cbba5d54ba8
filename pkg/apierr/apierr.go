// Package apierr is the Google API error model the emulator's HTTP APIs
// answer with: {"error":{"code":N,"message":"…","status":"…"}}, the shape
// googleapi.CheckResponse and apigeecli parse, plus "details":[…] (google.rpc
// ErrorInfo / BadRequest / ResourceInfo in their JSON Any form) when an
// error carries any.
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is one Google-style API error.
type Error struct {
	Code    int    // HTTP status
	Status  string // canonical code name, e.g. NOT_FOUND
	Message string
	// Details are google.rpc detail messages (ErrorInfo, BadRequest,
	// ResourceInfo) that go out as error.details[]; omitted when empty.
	Details []any
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Status, e.Message) }

// New is an error with any HTTP status and canonical code name.
func New(code int, status, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func InvalidArgument(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "INVALID_ARGUMENT", format, args...)
}

func FailedPrecondition(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "FAILED_PRECONDITION", format, args...)
}

func NotFound(format string, args ...any) *Error {
	return New(http.StatusNotFound, "NOT_FOUND", format, args...)
}

func AlreadyExists(format string, args ...any) *Error {
	return New(http.StatusConflict, "ALREADY_EXISTS", format, args...)
}

// Aborted is a lost concurrent-update race.
func Aborted(format string, args ...any) *Error {
	return New(http.StatusConflict, "ABORTED", format, args...)
}

func Unauthenticated(format string, args ...any) *Error {
	return New(http.StatusUnauthorized, "UNAUTHENTICATED", format, args...)
}

func PermissionDenied(format string, args ...any) *Error {
	return New(http.StatusForbidden, "PERMISSION_DENIED", format, args...)
}

// TooLarge is a request body over the limit (Google says INVALID_ARGUMENT
// with 413).
func TooLarge(format string, args ...any) *Error {
	return New(http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", format, args...)
}

// Unimplemented is a method the path does not support (405).
func Unimplemented(format string, args ...any) *Error {
	return New(http.StatusMethodNotAllowed, "UNIMPLEMENTED", format, args...)
}

func Unavailable(format string, args ...any) *Error {
	return New(http.StatusServiceUnavailable, "UNAVAILABLE", format, args...)
}

func Internal(format string, args ...any) *Error {
	return New(http.StatusInternalServerError, "INTERNAL", format, args...)
}

// ErrorInfo is google.rpc.ErrorInfo in its JSON (Any) form.
type ErrorInfo struct {
	Type     string            `json:"@type"`
	Reason   string            `json:"reason"`
	Domain   string            `json:"domain"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// FieldViolation is one google.rpc.BadRequest.FieldViolation.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// BadRequest is google.rpc.BadRequest in its JSON (Any) form.
type BadRequest struct {
	Type            string           `json:"@type"`
	FieldViolations []FieldViolation `json:"fieldViolations"`
}

// ResourceInfo is google.rpc.ResourceInfo in its JSON (Any) form.
type ResourceInfo struct {
	Type         string `json:"@type"`
	ResourceType string `json:"resourceType,omitempty"`
	ResourceName string `json:"resourceName,omitempty"`
	Owner        string `json:"owner,omitempty"`
	Description  string `json:"description,omitempty"`
}

// Type URLs of the detail messages.
const (
	TypeErrorInfo    = "type.googleapis.com/google.rpc.ErrorInfo"
	TypeBadRequest   = "type.googleapis.com/google.rpc.BadRequest"
	TypeResourceInfo = "type.googleapis.com/google.rpc.ResourceInfo"
)

// With returns a copy of e with details appended.
func (e *Error) With(details ...any) *Error {
	c := *e
	c.Details = append(append([]any(nil), e.Details...), details...)
	return &c
}

// InvalidField is INVALID_ARGUMENT about one request field: the message
// is the formatted text and a google.rpc.BadRequest names the field with
// the same text as its description.
func InvalidField(field, format string, args ...any) *Error {
	e := InvalidArgument(format, args...)
	e.Details = []any{BadRequest{Type: TypeBadRequest, FieldViolations: []FieldViolation{{Field: field, Description: e.Message}}}}
	return e
}

// IAMPermissionDenied is PERMISSION_DENIED with the google.rpc.ErrorInfo
// Google's IAM attaches (reason IAM_PERMISSION_DENIED, domain
// iam.googleapis.com, metadata naming the permission and resource).
func IAMPermissionDenied(permission, resource, format string, args ...any) *Error {
	e := PermissionDenied(format, args...)
	e.Details = []any{ErrorInfo{Type: TypeErrorInfo, Reason: "IAM_PERMISSION_DENIED", Domain: "iam.googleapis.com",
		Metadata: map[string]string{"permission": permission, "resource": resource}}}
	return e
}

// Resource is google.rpc.ResourceInfo naming a resource.
func Resource(resourceType, resourceName string) ResourceInfo {
	return ResourceInfo{Type: TypeResourceInfo, ResourceType: resourceType, ResourceName: resourceName}
}

// From turns any error into an *Error; unknown errors become INTERNAL.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal("%v", err)
}

// Body is the wire form of an Error.
type Body struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []any  `json:"details,omitempty"`
	} `json:"error"`
}

// Body returns e's wire form.
func (e *Error) Body() Body {
	var b Body
	b.Error.Code, b.Error.Message, b.Error.Status = e.Code, e.Message, e.Status
	b.Error.Details = e.Details
	return b
}

// Writer writes error responses the way one service frames them.
type Writer struct {
	// Realm, when set, goes out as `WWW-Authenticate: Bearer realm="…"`
	// with every 401.
	Realm string
	// Newline ends the body with "\n" (json.Encoder's framing).
	Newline bool
}

// Write sends err (through From) as a Google API error response.
func (wr Writer) Write(w http.ResponseWriter, err error) {
	e := From(err)
	data, _ := json.Marshal(e.Body()) // a Body always encodes
	if wr.Newline {
		data = append(data, '\n')
	}
	if wr.Realm != "" && e.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+wr.Realm+`"`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_, _ = w.Write(data)
}

// Google writes errors as Google's front end does: a 401 challenges for
// a Google OAuth token, and the body ends with a newline.
var Google = Writer{Realm: "https://accounts.google.com/", Newline: true}

// Write sends err with the Google writer.
func Write(w http.ResponseWriter, err error) { Google.Write(w, err) }
