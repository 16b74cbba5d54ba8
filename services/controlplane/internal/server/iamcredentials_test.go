package server_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"
	iamv1 "google.golang.org/api/iam/v1"
	iamcredentials "google.golang.org/api/iamcredentials/v1"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
)

// credentialsAs is Google's IAM Credentials client authenticating with a
// service-account key, as a hybrid message processor does with its
// apigee-runtime key.
func (c *cp) credentialsAs(keyJSON []byte) *iamcredentials.Service {
	c.tb.Helper()
	ts, err := gcpauth.TokenSource(context.Background(), keyJSON)
	require.NoError(c.tb, err)
	svc, err := iamcredentials.NewService(context.Background(), option.WithEndpoint(c.url+"/"),
		option.WithHTTPClient(gcpauth.HTTPClient(ts, nil)))
	require.NoError(c.tb, err)
	return svc
}

// requireCredentialsDenied asserts IAM Credentials' refusal, which names
// the permission but not the resource.
func requireCredentialsDenied(tb testing.TB, err error, permission string) {
	tb.Helper()
	var ge *googleapi.Error
	require.ErrorAs(tb, err, &ge)
	require.Equal(tb, http.StatusForbidden, ge.Code, ge.Body)
	require.Equal(tb, "Permission '"+permission+"' denied on resource (or it may not exist).", ge.Message)
	require.Contains(tb, ge.Body, `"status":"PERMISSION_DENIED"`)
	require.Contains(tb, ge.Body, `"reason":"IAM_PERMISSION_DENIED"`)
}

// tokenInfo calls the tokeninfo endpoint; it returns the status and the
// decoded body.
func (c *cp) tokenInfo(kind, token string) (int, map[string]string) {
	c.tb.Helper()
	r := send(c.tb, c.client, "GET", c.url+"/oauth2/v3/tokeninfo?"+kind+"="+url.QueryEscape(token), "", nil)
	var out map[string]string
	r.json(c.tb, &out)
	return r.status, out
}

// verifyIDToken checks an RS256 JWT against the published JWK set and
// returns its claims.
func (c *cp) verifyIDToken(tok string) map[string]any {
	c.tb.Helper()
	var jwks struct {
		Keys []struct{ Kty, Alg, Use, Kid, N, E string } `json:"keys"`
	}
	send(c.tb, c.client, "GET", c.url+"/oauth2/v3/certs", "", nil).json(c.tb, &jwks)
	require.Len(c.tb, jwks.Keys, 1)
	parts := strings.Split(tok, ".")
	require.Len(c.tb, parts, 3)
	var header struct{ Alg, Kid, Typ string }
	decodeJWTPart(c.tb, parts[0], &header)
	k := jwks.Keys[0]
	require.Equal(c.tb, "RS256", header.Alg)
	require.Equal(c.tb, k.Kid, header.Kid)
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	require.NoError(c.tb, err)
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	require.NoError(c.tb, err)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(c.tb, err)
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	require.NoError(c.tb, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig), "signature")
	var claims map[string]any
	decodeJWTPart(c.tb, parts[1], &claims)
	return claims
}

func decodeJWTPart(tb testing.TB, seg string, v any) {
	tb.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(tb, err)
	require.NoError(tb, json.Unmarshal(raw, v))
}

// TestIAMCredentialsWithGoogleClient mints a proxy service account's
// tokens as apigee-runtime with Google's iamcredentials client: refused
// without roles/iam.serviceAccountTokenCreator on the account, granted
// with it (the account's own policy, as hybrid's docs have it), audited,
// and what was minted validates at tokeninfo and against the published
// certificates.
func TestIAMCredentialsWithGoogleClient(t *testing.T) {
	c := startCP(t, t.TempDir())
	ctx := context.Background()
	iamSvc, err := iamv1.NewService(ctx, option.WithEndpoint(c.url+"/"), option.WithHTTPClient(authClient(testToken, nil)))
	require.NoError(t, err)
	proxySA, err := iamSvc.Projects.ServiceAccounts.Create("projects/hybrid", &iamv1.CreateServiceAccountRequest{AccountId: "proxy-sa"}).Do()
	require.NoError(t, err)
	name := "projects/-/serviceAccounts/" + proxySA.Email
	runtime := c.credentialsAs(c.seededKey("apigee-runtime"))
	const runtimeEmail = "apigee-runtime@hybrid.iam.gserviceaccount.com"
	scopes := []string{"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"}

	// Without the role: Google's 403 for both kinds of token.
	_, err = runtime.Projects.ServiceAccounts.GenerateAccessToken(name, &iamcredentials.GenerateAccessTokenRequest{Scope: scopes}).Do()
	requireCredentialsDenied(t, err, "iam.serviceAccounts.getAccessToken")
	_, err = runtime.Projects.ServiceAccounts.GenerateIdToken(name, &iamcredentials.GenerateIdTokenRequest{Audience: "https://backend.example.com"}).Do()
	requireCredentialsDenied(t, err, "iam.serviceAccounts.getOpenIdToken")
	// Roles that manage accounts or act as them do not mint tokens.
	pol, err := iamSvc.Projects.ServiceAccounts.GetIamPolicy("projects/hybrid/serviceAccounts/" + proxySA.Email).Do()
	require.NoError(t, err)
	require.Empty(t, pol.Bindings)
	pol.Bindings = []*iamv1.Binding{{Role: "roles/iam.serviceAccountUser", Members: []string{"serviceAccount:" + runtimeEmail}}}
	pol, err = iamSvc.Projects.ServiceAccounts.SetIamPolicy("projects/hybrid/serviceAccounts/"+proxySA.Email, &iamv1.SetIamPolicyRequest{Policy: pol}).Do()
	require.NoError(t, err)
	_, err = runtime.Projects.ServiceAccounts.GenerateAccessToken(name, &iamcredentials.GenerateAccessTokenRequest{Scope: scopes}).Do()
	requireCredentialsDenied(t, err, "iam.serviceAccounts.getAccessToken")

	// gcloud iam service-accounts add-iam-policy-binding proxy-sa
	//   --member serviceAccount:apigee-runtime@… --role roles/iam.serviceAccountTokenCreator
	pol.Bindings = append(pol.Bindings, &iamv1.Binding{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{"serviceAccount:" + runtimeEmail}})
	_, err = iamSvc.Projects.ServiceAccounts.SetIamPolicy("projects/hybrid/serviceAccounts/"+proxySA.Email, &iamv1.SetIamPolicyRequest{Policy: pol}).Do()
	require.NoError(t, err)

	before := time.Now()
	at, err := runtime.Projects.ServiceAccounts.GenerateAccessToken(name, &iamcredentials.GenerateAccessTokenRequest{Scope: scopes, Lifetime: "600s"}).Do()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(at.AccessToken, "ya29."), at.AccessToken)
	exp, err := time.Parse(time.RFC3339, at.ExpireTime)
	require.NoError(t, err)
	require.WithinDuration(t, before.Add(10*time.Minute), exp, 5*time.Second)
	status, info := c.tokenInfo("access_token", at.AccessToken)
	require.Equal(t, http.StatusOK, status, "%v", info)
	require.Equal(t, strings.Join(scopes, " "), info["scope"])
	require.Equal(t, proxySA.Email, info["email"])
	require.Equal(t, "true", info["email_verified"])
	require.Equal(t, proxySA.UniqueId, info["azp"])
	require.Equal(t, proxySA.UniqueId, info["aud"])
	require.Equal(t, "online", info["access_type"])
	require.InDelta(t, 600, mustAtoi(t, info["expires_in"]), 5)
	// The proxy's token is the proxy account's credential for the emulated
	// Google APIs too (it has no role on the org: 403, not 401).
	r := send(t, authClient(at.AccessToken, nil), "GET", c.url+"/v1/organizations/hybrid", "", nil)
	require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)

	// Without the email scope tokeninfo does not show the email, as Google's.
	at2, err := runtime.Projects.ServiceAccounts.GenerateAccessToken(name, &iamcredentials.GenerateAccessTokenRequest{Scope: scopes[:1]}).Do()
	require.NoError(t, err)
	_, info = c.tokenInfo("access_token", at2.AccessToken)
	require.NotContains(t, info, "email")
	require.InDelta(t, 3600, mustAtoi(t, info["expires_in"]), 5)

	id, err := runtime.Projects.ServiceAccounts.GenerateIdToken(name, &iamcredentials.GenerateIdTokenRequest{Audience: "https://backend.example.com", IncludeEmail: true}).Do()
	require.NoError(t, err)
	claims := c.verifyIDToken(id.Token)
	require.Equal(t, "https://accounts.google.com", claims["iss"])
	require.Equal(t, "https://backend.example.com", claims["aud"])
	require.Equal(t, proxySA.UniqueId, claims["sub"])
	require.Equal(t, proxySA.UniqueId, claims["azp"])
	require.Equal(t, proxySA.Email, claims["email"])
	require.Equal(t, true, claims["email_verified"])
	require.InDelta(t, float64(time.Now().Add(time.Hour).Unix()), claims["exp"], 5)
	status, info = c.tokenInfo("id_token", id.Token)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "https://backend.example.com", info["aud"])
	require.Equal(t, proxySA.Email, info["email"])
	require.Equal(t, "RS256", info["alg"])
	id2, err := runtime.Projects.ServiceAccounts.GenerateIdToken(name, &iamcredentials.GenerateIdTokenRequest{Audience: "aud2"}).Do()
	require.NoError(t, err)
	require.NotContains(t, c.verifyIDToken(id2.Token), "email")

	// Tokeninfo refuses what it did not mint.
	for kind, tok := range map[string]string{
		"access_token": "ya29.forged.token", "id_token": id.Token[:len(id.Token)-4] + "AAAA",
	} {
		status, info := c.tokenInfo(kind, tok)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, map[string]string{"error": "invalid_token", "error_description": "Invalid Value"}, info)
	}

	// Every decision is in the audit log, newest first.
	var audit struct {
		Entries []struct {
			ServiceName, MethodName, Category, Permission string
			Resource                                      string `json:"resourceName"`
			Principal                                     string `json:"principalEmail"`
			Granted                                       bool
		} `json:"entries"`
	}
	c.doJSON("GET", "/v1/projects/hybrid/auditLogs?methodName=GenerateAccessToken&principalEmail="+url.QueryEscape(runtimeEmail), nil, http.StatusOK, &audit)
	require.Len(t, audit.Entries, 4)
	var granted []bool
	for _, e := range audit.Entries {
		require.Equal(t, "iamcredentials.googleapis.com", e.ServiceName)
		require.Equal(t, "DATA_READ", e.Category)
		require.Equal(t, "iam.serviceAccounts.getAccessToken", e.Permission)
		require.Equal(t, "projects/-/serviceAccounts/"+proxySA.UniqueId, e.Resource)
		granted = append(granted, e.Granted)
	}
	require.Equal(t, []bool{true, true, false, false}, granted)
}

func mustAtoi(tb testing.TB, s string) float64 {
	tb.Helper()
	var n float64
	require.NoError(tb, json.Unmarshal([]byte(s), &n), "%q", s)
	return n
}

// TestIAMCredentialsRequests covers the requests IAM Credentials refuses
// and delegation chains.
func TestIAMCredentialsRequests(t *testing.T) {
	c := startCP(t, t.TempDir())
	ctx := context.Background()
	iamSvc, err := iamv1.NewService(ctx, option.WithEndpoint(c.url+"/"), option.WithHTTPClient(authClient(testToken, nil)))
	require.NoError(t, err)
	var emails []string
	for _, id := range []string{"target-sa", "delegate-sa"} {
		sa, err := iamSvc.Projects.ServiceAccounts.Create("projects/hybrid", &iamv1.CreateServiceAccountRequest{AccountId: id}).Do()
		require.NoError(t, err)
		emails = append(emails, sa.Email)
	}
	target, delegate := emails[0], emails[1]
	const runtimeEmail = "apigee-runtime@hybrid.iam.gserviceaccount.com"
	grant := func(on, member string) {
		pol, err := iamSvc.Projects.ServiceAccounts.GetIamPolicy("projects/hybrid/serviceAccounts/" + on).Do()
		require.NoError(t, err)
		pol.Bindings = append(pol.Bindings, &iamv1.Binding{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{member}})
		_, err = iamSvc.Projects.ServiceAccounts.SetIamPolicy("projects/hybrid/serviceAccounts/"+on, &iamv1.SetIamPolicyRequest{Policy: pol}).Do()
		require.NoError(t, err)
	}
	admin, err := iamcredentials.NewService(ctx, option.WithEndpoint(c.url+"/"), option.WithHTTPClient(authClient(testToken, nil)))
	require.NoError(t, err)
	runtime := c.credentialsAs(c.seededKey("apigee-runtime"))
	cp := "https://www.googleapis.com/auth/cloud-platform"

	tests := []struct {
		name   string
		call   func() error
		status int
		msg    string
	}{
		{"no scope", func() error {
			_, err := admin.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/"+target, &iamcredentials.GenerateAccessTokenRequest{}).Do()
			return err
		}, http.StatusBadRequest, "Scope required."},
		{"lifetime over an hour", func() error {
			_, err := admin.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/"+target, &iamcredentials.GenerateAccessTokenRequest{Scope: []string{cp}, Lifetime: "7200s"}).Do()
			return err
		}, http.StatusBadRequest, "The lifetime requested (7200s) is outside the allowed range"},
		{"lifetime not a duration", func() error {
			_, err := admin.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/"+target, &iamcredentials.GenerateAccessTokenRequest{Scope: []string{cp}, Lifetime: "1h"}).Do()
			return err
		}, http.StatusBadRequest, "Invalid value at 'lifetime'"},
		{"no audience", func() error {
			_, err := admin.Projects.ServiceAccounts.GenerateIdToken("projects/-/serviceAccounts/"+target, &iamcredentials.GenerateIdTokenRequest{}).Do()
			return err
		}, http.StatusBadRequest, "audience is required"},
		{"unknown account, caller allowed to see it", func() error {
			_, err := admin.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/nobody@hybrid.iam.gserviceaccount.com", &iamcredentials.GenerateAccessTokenRequest{Scope: []string{cp}}).Do()
			return err
		}, http.StatusNotFound, "Not found; Gaia id not found for email nobody@hybrid.iam.gserviceaccount.com"},
		{"unknown account, caller not allowed", func() error {
			_, err := runtime.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/nobody@hybrid.iam.gserviceaccount.com", &iamcredentials.GenerateAccessTokenRequest{Scope: []string{cp}}).Do()
			return err
		}, http.StatusForbidden, "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."},
		{"delegate not trusted by the caller", func() error {
			_, err := runtime.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/"+target, &iamcredentials.GenerateAccessTokenRequest{Scope: []string{cp}, Delegates: []string{"projects/-/serviceAccounts/" + delegate}}).Do()
			return err
		}, http.StatusForbidden, "Permission 'iam.serviceAccounts.implicitDelegation' denied on resource (or it may not exist)."},
		{"malformed delegate", func() error {
			_, err := admin.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/"+target, &iamcredentials.GenerateAccessTokenRequest{Scope: []string{cp}, Delegates: []string{delegate}}).Do()
			return err
		}, http.StatusBadRequest, "Invalid form of delegate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ge *googleapi.Error
			require.ErrorAs(t, err, &ge)
			require.Equal(t, tt.status, ge.Code, ge.Body)
			require.Contains(t, ge.Message, tt.msg)
		})
	}

	// runtime → delegate → target: each link holds the role on the next.
	grant(delegate, "serviceAccount:"+runtimeEmail)
	viaDelegate := &iamcredentials.GenerateAccessTokenRequest{Scope: []string{cp}, Delegates: []string{"projects/-/serviceAccounts/" + delegate}}
	_, err = runtime.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/"+target, viaDelegate).Do()
	requireCredentialsDenied(t, err, "iam.serviceAccounts.getAccessToken")
	grant(target, "serviceAccount:"+delegate)
	at, err := runtime.Projects.ServiceAccounts.GenerateAccessToken("projects/-/serviceAccounts/"+target, viaDelegate).Do()
	require.NoError(t, err)
	status, info := c.tokenInfo("access_token", at.AccessToken)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, cp, info["scope"])

	// A disabled account mints nothing.
	_, err = iamSvc.Projects.ServiceAccounts.Disable("projects/-/serviceAccounts/"+target, &iamv1.DisableServiceAccountRequest{}).Do()
	require.NoError(t, err)
	_, err = admin.Projects.ServiceAccounts.GenerateIdToken("projects/-/serviceAccounts/"+target, &iamcredentials.GenerateIdTokenRequest{Audience: "a"}).Do()
	requireAPIError(t, err, http.StatusBadRequest)
	// Nor do its tokens validate any more.
	status, _ = c.tokenInfo("access_token", at.AccessToken)
	require.Equal(t, http.StatusBadRequest, status)
}
