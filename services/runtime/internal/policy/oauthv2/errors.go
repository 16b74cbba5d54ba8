package oauthv2

import (
	"encoding/json"
	"net/http"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// tokenError is an error of a token endpoint operation (GenerateAccessToken,
// GenerateAuthorizationCode, RefreshAccessToken). With <GenerateResponse
// enabled="true"> Apigee answers {"ErrorCode" : …, "Error" :…} with the
// OAuth error name; without it the policy raises the fault code with the
// usual {"fault":…} body.
type tokenError struct {
	status    int
	errorCode string // OAuth error name: invalid_client, invalid_request, …
	msg       string
	faultCode string // raised without GenerateResponse
	faultMsg  string // faultstring without GenerateResponse ("" = msg)
}

func errInvalidRequest(msg string) tokenError {
	return tokenError{status: http.StatusBadRequest, errorCode: "invalid_request", msg: msg, faultCode: "oauth.v2.invalid_request"}
}

func errInvalidClient(msg string) tokenError {
	return tokenError{status: http.StatusUnauthorized, errorCode: "invalid_client", msg: msg,
		faultCode: "oauth.v2.InvalidClientIdentifier", faultMsg: "Invalid client identifier {0}"}
}

func errUnsupportedGrant(gt string) tokenError {
	return tokenError{status: http.StatusBadRequest, errorCode: "unsupported_grant_type", msg: "Unsupported grant type : " + gt,
		faultCode: "oauth.v2.unsupported_grant_type"}
}

func errInvalidScope() tokenError {
	return tokenError{status: http.StatusBadRequest, errorCode: "invalid_scope", msg: "Invalid Scope", faultCode: "oauth.v2.InvalidScope"}
}

// errorBody is Apigee's OAuth error body, spaced as Apigee spaces it.
func errorBody(code, msg string) []byte {
	c, _ := json.Marshal(code)
	m, _ := json.Marshal(msg)
	return []byte(`{"ErrorCode" : ` + string(c) + `, "Error" :` + string(m) + `}`)
}

// fail raises a token endpoint error and records oauthV2.<policy>.fault.*.
func (p *policy) fail(mc *flow.MessageContext, e tokenError) error {
	var f *flow.Fault
	if p.genResponse {
		resp := message.NewResponse()
		resp.StatusCode = e.status
		resp.Header.Set("Content-Type", "application/json")
		resp.SetContent(errorBody(e.errorCode, e.msg))
		f = &flow.Fault{Code: "steps.oauth.v2." + e.errorCode, Name: e.errorCode, Status: e.status, Message: e.msg, Response: resp}
	} else {
		msg := e.faultMsg
		if msg == "" {
			msg = e.msg
		}
		f = &flow.Fault{Code: e.faultCode, Status: e.status, Message: msg}
	}
	mc.SetVar("oauthV2."+p.name+".fault.name", f.FaultName())
	mc.SetVar("oauthV2."+p.name+".fault.cause", e.msg)
	return f
}

// Faults of token verification and the info policies: Apigee's key
// management fault codes with their faultstrings.
func kmFault(status int, code, msg string) *flow.Fault {
	return &flow.Fault{Code: "keymanagement.service." + code, Status: status, Message: msg}
}

var (
	faultBadAuthHeader = func() *flow.Fault {
		return &flow.Fault{Code: "oauth.v2.InvalidAccessToken", Status: http.StatusUnauthorized, Message: "Invalid access token"}
	}
	faultInvalidAccessToken = func(status int) *flow.Fault {
		return kmFault(status, "invalid_access_token", "Invalid Access Token")
	}
	faultAccessTokenExpired = func(status int) *flow.Fault {
		return kmFault(status, "access_token_expired", "Access Token expired")
	}
	faultInvalidRefreshToken = func(status int) *flow.Fault {
		return kmFault(status, "invalid_refresh_token", "Invalid Refresh Token")
	}
	faultRefreshTokenExpired = func(status int) *flow.Fault {
		return kmFault(status, "refresh_token_expired", "Refresh Token expired")
	}
	faultNotApproved = func() *flow.Fault {
		return kmFault(http.StatusUnauthorized, "access_token_not_approved", "Access Token not approved")
	}
	faultAppNotApproved = func() *flow.Fault {
		return kmFault(http.StatusUnauthorized, "app_not_approved", "App not approved")
	}
	faultNoProduct = func() *flow.Fault {
		return kmFault(http.StatusUnauthorized, "InvalidAPICallAsNoApiProductMatchFound", "Invalid API call as no apiproduct match found")
	}
	faultInsufficientScope = func(scope string) *flow.Fault {
		return &flow.Fault{Code: "steps.oauth.v2.insufficient_scope", Status: http.StatusForbidden, Message: "Required scope(s) : " + scope}
	}
	faultInvalidClientID = func(status int) *flow.Fault {
		return kmFault(status, "invalid_client-invalid_client_id", "Invalid Client Id")
	}
	faultInvalidCode = func(status int) *flow.Fault {
		return kmFault(status, "invalid_request-authorization_code_invalid", "Invalid Authorization Code")
	}
	faultCodeExpired = func(status int) *flow.Fault {
		return kmFault(status, "authorization_code_expired", "Authorization Code expired")
	}
)
