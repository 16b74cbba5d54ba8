package engine

import (
	"net/http"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// Fault is an Apigee fault (kept as an alias so callers need not import
// the flow package).
type Fault = flow.Fault

// Error codes the runtime raises itself (not from policies).
const (
	CodeApplicationNotFound = "messaging.adaptors.http.flow.ApplicationNotFound"
	CodeServiceUnavailable  = "messaging.adaptors.http.flow.ServiceUnavailable"
	CodeGatewayTimeout      = "messaging.adaptors.http.flow.GatewayTimeout"
	CodeNoActiveTargets     = "messaging.adaptors.http.flow.NoActiveTargets"
	CodeErrorResponseCode   = "messaging.adaptors.http.flow.ErrorResponseCode"
	CodeTooBig              = "protocol.http.TooBigBody"
	CodeBadTargetURL        = "messaging.adaptors.http.flow.BadTargetURL"
	CodeLocalTargetNotFound = "messaging.adaptors.http.flow.ApplicationNotFound"
	// CodeClientError: the client's request could not be read (e.g. a
	// malformed chunked payload).
	CodeClientError = "messaging.adaptors.http.flow.ClientError"
)

func notFound(host, path string) *Fault {
	return &Fault{
		Status:  http.StatusNotFound,
		Message: "Unable to identify proxy for host: " + host + " and url: " + path,
		Code:    CodeApplicationNotFound,
	}
}
