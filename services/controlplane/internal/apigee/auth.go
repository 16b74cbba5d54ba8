package apigee

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apierr"
)

// Principal is who is calling.
type Principal struct {
	// Name identifies the caller in logs ("admin", "synchronizer", …).
	Name string
	// Admin principals may do anything.
	Admin bool
}

// Authenticator identifies the caller of an Apigee API request. A later
// emulated IAM replaces the static tokens with minted JWTs; it returns an
// *apierr.Error (UNAUTHENTICATED) when the credentials are missing or wrong.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// Authorizer decides whether an authenticated principal may perform a
// permission (e.g. "apigee.proxies.create") on a resource name
// ("organizations/hybrid"). It returns an *apierr.Error (PERMISSION_DENIED)
// to refuse.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, permission, resource string) error
}

// Messages Google's front end answers with.
const (
	MsgMissingCredential = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	MsgInvalidCredential = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

// StaticTokens authenticates bearer tokens against a fixed table: the admin
// token and per-service tokens (token → principal name).
type StaticTokens struct {
	AdminToken string
	Tokens     map[string]string
}

// Authenticate implements Authenticator.
func (s StaticTokens) Authenticate(r *http.Request) (Principal, error) {
	tok, ok := BearerToken(r)
	if !ok {
		return Principal{}, apierr.Unauthenticated(MsgMissingCredential)
	}
	if s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.AdminToken)) == 1 {
		return Principal{Name: "admin", Admin: true}, nil
	}
	for t, name := range s.Tokens {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(t)) == 1 {
			return Principal{Name: name}, nil
		}
	}
	return Principal{}, apierr.Unauthenticated(MsgInvalidCredential)
}

// BearerToken returns the token of an "Authorization: Bearer …" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// AllowAll lets every authenticated principal do everything (v1: roles
// arrive with the emulated IAM).
type AllowAll struct{}

// Authorize implements Authorizer.
func (AllowAll) Authorize(context.Context, Principal, string, string) error { return nil }
