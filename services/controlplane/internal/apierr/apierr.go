// Package apierr is the Google API error model the mock control plane
// answers with: {"error":{"code":N,"message":"…","status":"…"}}, the shape
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

func newf(code int, status, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func InvalidArgument(format string, args ...any) *Error {
	return newf(http.StatusBadRequest, "INVALID_ARGUMENT", format, args...)
}

func FailedPrecondition(format string, args ...any) *Error {
	return newf(http.StatusBadRequest, "FAILED_PRECONDITION", format, args...)
}

func NotFound(format string, args ...any) *Error {
	return newf(http.StatusNotFound, "NOT_FOUND", format, args...)
}

func AlreadyExists(format string, args ...any) *Error {
	return newf(http.StatusConflict, "ALREADY_EXISTS", format, args...)
}

func Unauthenticated(format string, args ...any) *Error {
	return newf(http.StatusUnauthorized, "UNAUTHENTICATED", format, args...)
}

func PermissionDenied(format string, args ...any) *Error {
	return newf(http.StatusForbidden, "PERMISSION_DENIED", format, args...)
}

func TooLarge(format string, args ...any) *Error {
	return newf(http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", format, args...)
}

func Internal(format string, args ...any) *Error {
	return newf(http.StatusInternalServerError, "INTERNAL", format, args...)
}

// From turns any error into an *Error; unknown errors become INTERNAL.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal("%v", err)
}

type body struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// Write sends err as a Google API error response.
func Write(w http.ResponseWriter, err error) {
	e := From(err)
	var b body
	b.Error.Code, b.Error.Message, b.Error.Status = e.Code, e.Message, e.Status
	if e.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_ = json.NewEncoder(w).Encode(b)
}
