package iam

import (
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// Messages Google's front end answers with.
const (
	MsgMissingCredential = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	MsgInvalidCredential = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	MsgInsufficientScope = "Request had insufficient authentication scopes."
)

// Error is an IAM refusal with both faces Google gives it: the REST error
// ({"error":{"code","message","status"}}, reachable with errors.As as an
// *apierr.Error) and the gRPC status (GRPCStatus, which grpc-go's status
// package finds with errors.As, so a gRPC handler can return it as is).
type Error struct {
	API      *apierr.Error
	GRPCCode codes.Code
	GRPCMsg  string
	// Permission and Resource name what was refused (empty for
	// authentication failures).
	Permission, Resource string
}

func (e *Error) Error() string { return e.API.Error() }

// Unwrap exposes the REST error to errors.As / apierr.From.
func (e *Error) Unwrap() error { return e.API }

// GRPCStatus implements grpc-go's status interface.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.GRPCCode, e.GRPCMsg) }

func unauthenticated(msg string) *Error {
	return &Error{API: apierr.Unauthenticated("%s", msg), GRPCCode: codes.Unauthenticated, GRPCMsg: msg}
}

func insufficientScope() *Error {
	return &Error{API: apierr.PermissionDenied("%s", MsgInsufficientScope), GRPCCode: codes.PermissionDenied, GRPCMsg: MsgInsufficientScope}
}

// denied is Google's IAM refusal. The REST message names the permission
// ("Permission 'apigee.proxies.create' denied on resource
// '//apigee.googleapis.com/organizations/hybrid' (or it may not exist).");
// the gRPC one is the shorter form the Apigee Connect agent logs
// ("Permission denied on resource '//apigeeconnect.googleapis.com/…' (or it
// may not exist).").
func denied(permission, fullResource string) *Error {
	return &Error{
		API: apierr.IAMPermissionDenied(permission, relativeName(fullResource),
			"Permission '%s' denied on resource '%s' (or it may not exist).", permission, fullResource),
		GRPCCode:   codes.PermissionDenied,
		GRPCMsg:    fmt.Sprintf("Permission denied on resource '%s' (or it may not exist).", fullResource),
		Permission: permission, Resource: fullResource,
	}
}

// IsPermissionDenied reports whether err is an authorization refusal.
func IsPermissionDenied(err error) bool {
	e := apierr.From(err)
	return e.Code == http.StatusForbidden
}

// relativeName strips the "//service.googleapis.com/" prefix of a full
// resource name: ErrorInfo metadata names the resource relatively
// ("organizations/hybrid").
func relativeName(full string) string {
	if rest, ok := strings.CutPrefix(full, "//"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i+1:]
		}
	}
	return full
}
