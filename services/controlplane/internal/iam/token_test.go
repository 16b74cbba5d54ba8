package iam_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/auth/credentials"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// TestGoogleLibrariesMintTokens proves the key files work with Google's Go
// auth libraries as they are: golang.org/x/oauth2/google (JWT-bearer
// exchange at token_uri, and its self-signed JWT access source) and
// cloud.google.com/go/auth (2LO and self-signed JWT).
func TestGoogleLibrariesMintTokens(t *testing.T) {
	e := newEnv(t)
	kf := e.account("hybrid", "apigee-mart", "roles/apigeeconnect.Agent")
	raw := keyJSON(t, kf)
	ctx := context.Background()
	wantMember := "serviceAccount:apigee-mart@hybrid.iam.gserviceaccount.com"

	tests := []struct {
		name  string
		token func(t *testing.T) string
		// minted tokens come from our token endpoint; self-signed JWTs do not.
		minted bool
	}{
		{"oauth2/google CredentialsFromJSON", func(t *testing.T) string {
			creds, err := google.CredentialsFromJSON(ctx, raw, iam.CloudPlatformScope)
			require.NoError(t, err)
			require.Equal(t, "hybrid", creds.ProjectID)
			tok, err := creds.TokenSource.Token()
			require.NoError(t, err)
			require.Equal(t, "Bearer", tok.Type())
			require.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, time.Minute)
			return tok.AccessToken
		}, true},
		{"oauth2/google JWTConfigFromJSON", func(t *testing.T) string {
			cfg, err := google.JWTConfigFromJSON(raw, iam.CloudPlatformScope)
			require.NoError(t, err)
			tok, err := cfg.TokenSource(ctx).Token()
			require.NoError(t, err)
			return tok.AccessToken
		}, true},
		{"oauth2/google JWTAccessTokenSourceWithScope", func(t *testing.T) string {
			ts, err := google.JWTAccessTokenSourceWithScope(raw, iam.CloudPlatformScope)
			require.NoError(t, err)
			tok, err := ts.Token()
			require.NoError(t, err)
			return tok.AccessToken
		}, false},
		{"oauth2/google JWTAccessTokenSourceFromJSON audience", func(t *testing.T) string {
			ts, err := google.JWTAccessTokenSourceFromJSON(raw, iam.ApigeeAudience)
			require.NoError(t, err)
			tok, err := ts.Token()
			require.NoError(t, err)
			return tok.AccessToken
		}, false},
		{"cloud.google.com/go/auth 2LO", func(t *testing.T) string {
			creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, raw,
				&credentials.DetectOptions{Scopes: []string{iam.CloudPlatformScope}})
			require.NoError(t, err)
			tok, err := creds.Token(ctx)
			require.NoError(t, err)
			return tok.Value
		}, true},
		{"cloud.google.com/go/auth self-signed JWT", func(t *testing.T) string {
			creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, raw,
				&credentials.DetectOptions{Scopes: []string{iam.CloudPlatformScope}, UseSelfSignedJWT: true})
			require.NoError(t, err)
			tok, err := creds.Token(ctx)
			require.NoError(t, err)
			return tok.Value
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token(t)
			require.Equal(t, tt.minted, strings.HasPrefix(tok, "ya29."), tok)
			p, err := e.iam.AuthenticateToken(tok)
			require.NoError(t, err)
			require.Equal(t, wantMember, p.Member)
			require.False(t, p.Admin)
			// The same token authenticates a gRPC call, except a JWT bound
			// to the Apigee API's audience (Connect's is another).
			md := metadata.Pairs("authorization", "Bearer "+tok)
			p, err = e.iam.AuthenticateGRPC(metadata.NewIncomingContext(ctx, md))
			if strings.HasSuffix(tt.name, "audience") {
				require.Equal(t, codes.Unauthenticated, status.Code(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, wantMember, p.Member)
		})
	}
}

// TestSelfSignedJWTAudience: a self-signed JWT is good for the API its
// audience names only, and the JWT-bearer assertion (audience: the token
// endpoint) is no bearer token at all.
func TestSelfSignedJWTAudience(t *testing.T) {
	e := newEnv(t)
	kf := e.account("hybrid", "apigee-org-admin", "roles/apigee.admin")
	priv := privateKey(t, kf)
	now := time.Now()
	jwt := func(edit func(c map[string]any)) string {
		c := map[string]any{
			"iss": kf.ClientEmail, "sub": kf.ClientEmail,
			"iat": now.Add(-10 * time.Second).Unix(), "exp": now.Add(50 * time.Minute).Unix(),
		}
		edit(c)
		return signJWT(t, priv, kf.PrivateKeyID, c)
	}
	grpcCall := func(tok string) error {
		md := metadata.Pairs("authorization", "Bearer "+tok)
		_, err := e.iam.AuthenticateGRPC(metadata.NewIncomingContext(context.Background(), md))
		return err
	}
	assertion := jwt(func(c map[string]any) {
		delete(c, "sub")
		c["aud"], c["scope"] = kf.TokenURI, iam.CloudPlatformScope
	})
	tests := []struct {
		name       string
		token      string
		http, grpc bool // accepted by the Apigee API / by Apigee Connect
	}{
		{"apigee audience", jwt(func(c map[string]any) { c["aud"] = iam.ApigeeAudience }), true, false},
		{"apigee connect audience", jwt(func(c map[string]any) { c["aud"] = iam.ApigeeConnectAudience }), false, true},
		{"scopes, no audience", jwt(func(c map[string]any) { c["scope"] = iam.CloudPlatformScope }), true, true},
		{"another API's audience", jwt(func(c map[string]any) { c["aud"] = "https://storage.googleapis.com/" }), false, false},
		{"audience without the trailing slash", jwt(func(c map[string]any) { c["aud"] = "https://apigee.googleapis.com" }), false, false},
		{"any audience with scopes", jwt(func(c map[string]any) {
			c["aud"], c["scope"] = "https://example.com/", iam.CloudPlatformScope
		}), false, false},
		{"the token endpoint's assertion", assertion, false, false},
		{"an assertion naming sub", jwt(func(c map[string]any) {
			c["aud"], c["scope"] = kf.TokenURI, iam.CloudPlatformScope
		}), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.iam.AuthenticateToken(tt.token)
			if tt.http {
				require.NoError(t, err)
				require.Equal(t, "serviceAccount:"+kf.ClientEmail, p.Member)
			} else {
				require.Equal(t, 401, apierr.From(err).Code, "%v", err)
				require.Equal(t, iam.MsgInvalidCredential, apierr.From(err).Message)
			}
			if err := grpcCall(tt.token); tt.grpc {
				require.NoError(t, err)
			} else {
				require.Equal(t, codes.Unauthenticated, status.Code(err))
			}
		})
	}
	// The assertion itself is still good at the token endpoint.
	code, body := tokenCall(t, e, url.Values{"grant_type": {iam.GrantTypeJWTBearer}, "assertion": {assertion}})
	require.Equal(t, 200, code, "%v", body)
}

// tokenCall posts a raw token request.
func tokenCall(t *testing.T, e *env, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.PostForm(e.tokenURI, form)
	require.NoError(t, err)
	defer res.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return res.StatusCode, body
}

func TestTokenEndpointRefusals(t *testing.T) {
	e := newEnv(t)
	kf := e.account("hybrid", "apigee-udca", "roles/apigee.analyticsAgent")
	priv := privateKey(t, kf)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	now := time.Now()
	claims := func(edit func(c map[string]any)) map[string]any {
		c := map[string]any{
			"iss": kf.ClientEmail, "scope": iam.CloudPlatformScope, "aud": kf.TokenURI,
			"iat": now.Add(-10 * time.Second).Unix(), "exp": now.Add(50 * time.Minute).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	grant := func(assertion string) url.Values {
		return url.Values{"grant_type": {iam.GrantTypeJWTBearer}, "assertion": {assertion}}
	}

	tests := []struct {
		name     string
		form     url.Values
		status   int
		code     string
		descHint string
	}{
		{"valid", grant(signJWT(t, priv, kf.PrivateKeyID, claims(nil))), 200, "", ""},
		{"valid without kid", grant(signJWT(t, priv, "", claims(nil))), 200, "", ""},
		{"wrong signature", grant(signJWT(t, other, kf.PrivateKeyID, claims(nil))), 400, "invalid_grant", "Invalid JWT Signature."},
		{"unknown key id", grant(signJWT(t, priv, "0123", claims(nil))), 400, "invalid_grant", "Invalid JWT Signature."},
		{"expired", grant(signJWT(t, priv, kf.PrivateKeyID, claims(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		}))), 400, "invalid_grant", "Token must be a short-lived token (60 minutes)"},
		{"longer than an hour", grant(signJWT(t, priv, kf.PrivateKeyID, claims(func(c map[string]any) {
			c["exp"] = now.Add(2 * time.Hour).Unix()
		}))), 400, "invalid_grant", "Check your iat and exp values"},
		{"issued in the future", grant(signJWT(t, priv, kf.PrivateKeyID, claims(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(30*time.Minute).Unix(), now.Add(50*time.Minute).Unix()
		}))), 400, "invalid_grant", "reasonable timeframe"},
		{"wrong audience", grant(signJWT(t, priv, kf.PrivateKeyID, claims(func(c map[string]any) {
			c["aud"] = "https://oauth2.googleapis.com/token"
		}))), 400, "invalid_grant", "Failed audience check. The right audience is " + e.tokenURI},
		{"unknown account", grant(signJWT(t, priv, kf.PrivateKeyID, claims(func(c map[string]any) {
			c["iss"] = "nobody@hybrid.iam.gserviceaccount.com"
		}))), 400, "invalid_grant", "Invalid grant: account not found"},
		{"no scope", grant(signJWT(t, priv, kf.PrivateKeyID, claims(func(c map[string]any) { delete(c, "scope") }))),
			400, "invalid_scope", "Invalid OAuth scope or ID token audience provided."},
		{"delegation", grant(signJWT(t, priv, kf.PrivateKeyID, claims(func(c map[string]any) { c["sub"] = "user@example.com" }))),
			401, "unauthorized_client", "Client is unauthorized"},
		{"not a JWT", grant("garbage"), 400, "invalid_grant", "Invalid JWT"},
		{"missing assertion", url.Values{"grant_type": {iam.GrantTypeJWTBearer}}, 400, "invalid_request", "Missing required parameter: assertion"},
		{"missing grant type", url.Values{"assertion": {"x"}}, 400, "invalid_request", "Missing required parameter: grant_type"},
		{"other grant type", url.Values{"grant_type": {"client_credentials"}}, 400, "unsupported_grant_type", "Invalid grant_type: client_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tokenCall(t, e, tt.form)
			require.Equal(t, tt.status, status, "%v", body)
			if tt.status == 200 {
				require.Equal(t, "Bearer", body["token_type"])
				require.EqualValues(t, 3599, body["expires_in"])
				require.NotEmpty(t, body["access_token"])
				return
			}
			require.Equal(t, tt.code, body["error"])
			require.Contains(t, body["error_description"], tt.descHint)
		})
	}

	// The library surfaces the refusal as a RetrieveError.
	bad := kf
	bad.TokenURI = e.url + "/token?x" // the audience no longer matches
	creds, err := google.CredentialsFromJSON(context.Background(), keyJSON(t, bad), iam.CloudPlatformScope)
	require.NoError(t, err)
	_, err = creds.TokenSource.Token()
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 400, re.Response.StatusCode)
	require.Contains(t, string(re.Body), `"error":"invalid_grant"`)
}

func TestAuthenticateToken(t *testing.T) {
	e := newEnv(t)
	kf := e.account("hybrid", "apigee-watcher", "roles/apigee.runtimeAgent")
	ctx := context.Background()
	mint := func(t *testing.T, scope string) string {
		t.Helper()
		status, body := tokenCall(t, e, url.Values{"grant_type": {iam.GrantTypeJWTBearer}, "assertion": {signJWT(t, privateKey(t, kf), kf.PrivateKeyID, map[string]any{
			"iss": kf.ClientEmail, "scope": scope, "aud": kf.TokenURI,
			"iat": e.clock.now().Unix(), "exp": e.clock.now().Add(time.Hour).Unix(),
		})}})
		require.Equal(t, 200, status, "%v", body)
		return body["access_token"].(string)
	}
	good := mint(t, iam.CloudPlatformScope)

	tests := []struct {
		name   string
		token  string
		want   iam.Principal
		status int
		msg    string
	}{
		{"admin token", adminToken, iam.AdminPrincipal, 0, ""},
		{"static member token", "alice-token", iam.Principal{Member: "user:alice@example.com", Name: "alice@example.com"}, 0, ""},
		{"legacy static token", "legacy-token", iam.Principal{Admin: true, Name: "synchronizer"}, 0, ""},
		{"minted token", good, iam.Principal{Member: "serviceAccount:" + kf.ClientEmail, Name: kf.ClientEmail}, 0, ""},
		{"unknown token", "nope", iam.Principal{}, 401, iam.MsgInvalidCredential},
		{"empty", "", iam.Principal{}, 401, iam.MsgMissingCredential},
		{"tampered token", good[:len(good)-2] + "xx", iam.Principal{}, 401, iam.MsgInvalidCredential},
		{"token without cloud-platform scope", mint(t, "https://www.googleapis.com/auth/userinfo.email"), iam.Principal{}, 403, iam.MsgInsufficientScope},
		{"forged JWT", signJWT(t, privateKey(t, e.account("acme-project", "stranger")), kf.PrivateKeyID, map[string]any{
			"iss": kf.ClientEmail, "sub": kf.ClientEmail, "aud": "https://apigee.googleapis.com/",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		}), iam.Principal{}, 401, iam.MsgInvalidCredential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.iam.AuthenticateToken(tt.token)
			if tt.status == 0 {
				require.NoError(t, err)
				require.Equal(t, tt.want, p)
				return
			}
			e := apierr.From(err)
			require.Equal(t, tt.status, e.Code)
			require.Equal(t, tt.msg, e.Message)
			want := codes.Unauthenticated
			if tt.status == 403 {
				want = codes.PermissionDenied
			}
			require.Equal(t, want, status.Code(err))
		})
	}

	// Tokens survive a restart (the signing secret is persisted)…
	again := e.open()
	_, err := again.AuthenticateToken(good)
	require.NoError(t, err)
	// …expire after an hour…
	e.clock.advance(time.Hour + time.Second)
	_, err = e.iam.AuthenticateToken(good)
	require.Equal(t, 401, apierr.From(err).Code)
	e.clock.advance(-time.Hour - time.Second)
	// …and die with a disabled or deleted account.
	require.NoError(t, e.iam.SetServiceAccountDisabled("-", kf.ClientEmail, true))
	_, err = e.iam.AuthenticateToken(good)
	require.Equal(t, 401, apierr.From(err).Code)
	require.NoError(t, e.iam.SetServiceAccountDisabled("-", kf.ClientEmail, false))
	_, err = e.iam.AuthenticateToken(good)
	require.NoError(t, err)
	require.NoError(t, e.iam.DeleteServiceAccount("hybrid", kf.ClientEmail))
	_, err = e.iam.AuthenticateToken(good)
	require.Equal(t, 401, apierr.From(err).Code)

	// gRPC without metadata: Unauthenticated, missing credential.
	_, err = e.iam.AuthenticateGRPC(ctx)
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Equal(t, iam.MsgMissingCredential, status.Convert(err).Message())
}
