// Package gcpauth is how runtime-plane services authenticate to the control
// plane the way real hybrid pods authenticate to Google: each holds a
// service-account JSON key file (its token_uri points at the mock control
// plane), and golang.org/x/oauth2/google — used unchanged — signs a
// JWT-bearer assertion with the key, trades it at token_uri for an access
// token, caches it and refreshes it before it expires. This package only
// adapts that token source to the clients services use: an *http.Client
// and gRPC per-RPC credentials.
package gcpauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// CloudPlatformScope is the scope hybrid's service accounts request.
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// DefaultTokenTimeout bounds one token request when the context carries
// no HTTP client of its own (oauth2.HTTPClient).
const DefaultTokenTimeout = 30 * time.Second

// KeyInfo is the identifying part of a key file.
type KeyInfo struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	TokenURI    string `json:"token_uri"`
}

// ReadKeyInfo names the account a key file belongs to (for logs and
// config checks) without using the key.
func ReadKeyInfo(keyJSON []byte) (KeyInfo, error) {
	var k KeyInfo
	if err := json.Unmarshal(keyJSON, &k); err != nil {
		return KeyInfo{}, fmt.Errorf("gcpauth: key file is not JSON: %w", err)
	}
	if k.Type != string(google.ServiceAccount) {
		return KeyInfo{}, fmt.Errorf("gcpauth: key file type is %q, want %q", k.Type, google.ServiceAccount)
	}
	if k.ClientEmail == "" || k.TokenURI == "" {
		return KeyInfo{}, fmt.Errorf("gcpauth: key file lacks client_email or token_uri")
	}
	return k, nil
}

// TokenSource returns a caching, self-refreshing token source for a
// service-account key file's content. Without scopes it asks for
// cloud-platform. Token requests use ctx's oauth2.HTTPClient when set
// (e.g. to trust the control plane's CA), else a client with
// DefaultTokenTimeout; ctx must outlive the token source.
func TokenSource(ctx context.Context, keyJSON []byte, scopes ...string) (oauth2.TokenSource, error) {
	if _, err := ReadKeyInfo(keyJSON); err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []string{CloudPlatformScope}
	}
	if _, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); !ok {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: DefaultTokenTimeout})
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, keyJSON, google.ServiceAccount,
		google.CredentialsParams{Scopes: scopes})
	if err != nil {
		return nil, fmt.Errorf("gcpauth: %w", err)
	}
	return creds.TokenSource, nil
}

// TokenSourceFromFile is TokenSource for a key file on disk (a hybrid
// overrides file's serviceAccountPath).
func TokenSourceFromFile(ctx context.Context, path string, scopes ...string) (oauth2.TokenSource, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gcpauth: read key file: %w", err)
	}
	ts, err := TokenSource(ctx, raw, scopes...)
	if err != nil {
		return nil, fmt.Errorf("%w (key file %s)", err, path)
	}
	return ts, nil
}

// HTTPClient returns a client that sends "Authorization: Bearer <token>"
// on every request over base (nil: http.DefaultTransport).
func HTTPClient(ts oauth2.TokenSource, base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &oauth2.Transport{Source: ts, Base: base}}
}

// PerRPC is gRPC per-RPC credentials over a token source; it implements
// google.golang.org/grpc/credentials.PerRPCCredentials (pass it to
// grpc.WithPerRPCCredentials) without tying this package to grpc-go.
type PerRPC struct {
	ts         oauth2.TokenSource
	requireTLS bool
}

// PerRPCCredentials wraps ts for gRPC. requireTLS false lets the token
// travel over the local, plaintext connection to the mock control plane;
// real deployments keep it true.
func PerRPCCredentials(ts oauth2.TokenSource, requireTLS bool) PerRPC {
	return PerRPC{ts: ts, requireTLS: requireTLS}
}

// GetRequestMetadata returns the authorization header of one RPC.
func (p PerRPC) GetRequestMetadata(_ context.Context, _ ...string) (map[string]string, error) {
	tok, err := p.ts.Token()
	if err != nil {
		return nil, fmt.Errorf("gcpauth: get access token: %w", err)
	}
	return map[string]string{"authorization": tok.Type() + " " + tok.AccessToken}, nil
}

// RequireTransportSecurity reports whether the credentials need TLS.
func (p PerRPC) RequireTransportSecurity() bool { return p.requireTLS }
