// Package apierr is the Google API error model the emulator's HTTP APIs
// answer with: {"error":{"code":N,"message":"…","status":"…"}}, the shape
// googleapi.CheckResponse and apigeecli parse.
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
	} `json:"error"`
}

// Body returns e's wire form.
func (e *Error) Body() Body {
	var b Body
	b.Error.Code, b.Error.Message, b.Error.Status = e.Code, e.Message, e.Status
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
