package apigee

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// Principal is who is calling.
type Principal struct {
	// Name identifies the caller in logs ("admin", "synchronizer", …).
	Name string
	// Admin principals may do anything.
	Admin bool
	// Member is the caller's IAM member ("serviceAccount:…", "user:…");
	// empty for admin principals.
	Member string
}

// Authenticator identifies the caller of an Apigee API request. It returns
// an *apierr.Error (UNAUTHENTICATED) when the credentials are missing or
// wrong. IAMAuth is the control plane's; StaticTokens serves tests and
// tools that need no IAM.
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
	MsgMissingCredential = iam.MsgMissingCredential
	MsgInvalidCredential = iam.MsgInvalidCredential
)

// IAMAuth authenticates callers with the emulated IAM (the admin token,
// static tokens, access tokens minted by its token endpoint, self-signed
// service-account JWTs) and authorizes every route against the project
// policy of the org it touches, writing one audit entry per decision.
type IAMAuth struct{ IAM *iam.IAM }

// Authenticate implements Authenticator. A self-signed JWT must name the
// Apigee API as its audience (Apigee Connect's for the REST
// ListConnections under /v1/projects/).
func (a IAMAuth) Authenticate(r *http.Request) (Principal, error) {
	aud := iam.ApigeeAudience
	if strings.HasPrefix(r.URL.Path, "/v1/projects/") {
		aud = iam.ApigeeConnectAudience
	}
	p, err := a.IAM.AuthenticateFor(r, aud)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Name: p.Name, Admin: p.Admin, Member: p.Member}, nil
}

// Authorize implements Authorizer: a refusal is Google's 403
// PERMISSION_DENIED ("Permission 'apigee.proxies.create' denied on
// resource '//apigee.googleapis.com/organizations/hybrid' (or it may not
// exist).").
func (a IAMAuth) Authorize(ctx context.Context, p Principal, permission, resource string) error {
	return a.IAM.Enforce(ctx, iam.Principal{Member: p.Member, Admin: p.Admin, Name: p.Name},
		iam.Call{Permission: permission, Resource: resource})
}

// Allowed implements Checker: the decision without an audit entry (list
// calls filter their items with it).
func (a IAMAuth) Allowed(ctx context.Context, p Principal, permission, resource string) bool {
	return a.IAM.Authorize(ctx, iam.Principal{Member: p.Member, Admin: p.Admin, Name: p.Name}, permission, resource) == nil
}

// ServiceAccountProject implements ServiceAccounts.
func (a IAMAuth) ServiceAccountProject(email string) (string, bool) {
	sa, err := a.IAM.GetServiceAccount("-", email)
	if err != nil {
		return "", false
	}
	return sa.ProjectID, true
}

// Checker is implemented by Authorizers that can decide without recording
// the decision: list calls use it to show only the items the caller may
// get.
type Checker interface {
	Allowed(ctx context.Context, p Principal, permission, resource string) bool
}

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

// AllowAll lets every authenticated principal do everything (for tests
// and tools that run the API without IAM).
type AllowAll struct{}

// Authorize implements Authorizer.
func (AllowAll) Authorize(context.Context, Principal, string, string) error { return nil }

// Allowed implements Checker.
func (AllowAll) Allowed(context.Context, Principal, string, string) bool { return true }
