//go:build integration

package e2e

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// authBackend records the Authorization header of every request it gets.
type authBackend struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newAuthBackend(tb testing.TB) *authBackend {
	b := &authBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Header.Get("Authorization"))
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	}))
	tb.Cleanup(b.Close)
	return b
}

// last is the bearer token of the latest request.
func (b *authBackend) last(tb testing.TB) string {
	tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(tb, b.seen)
	tok, ok := strings.CutPrefix(b.seen[len(b.seen)-1], "Bearer ")
	require.True(tb, ok, "Authorization %q is not a bearer token", b.seen[len(b.seen)-1])
	return tok
}

func googleAuthProxy(tb testing.TB, name, targetURL, auth string) []byte {
	files := bundletest.Proxy(name, "/"+name, "http://unused.invalid")
	files["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><HTTPTargetConnection>
  <Authentication>` + auth + `</Authentication>
  <URL>` + targetURL + `</URL>
</HTTPTargetConnection></TargetEndpoint>`
	return bundletest.Zip(tb, files)
}

// tokenInfo asks the control plane's tokeninfo about a token.
func tokenInfo(tb testing.TB, c *harness.Cluster, kind, tok string) (int, map[string]string) {
	tb.Helper()
	resp, err := http.Get(c.APIURL() + "/oauth2/v3/tokeninfo?" + kind + "=" + url.QueryEscape(tok))
	require.NoError(tb, err)
	defer resp.Body.Close()
	var out map[string]string
	require.NoError(tb, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// verifyJWT checks an RS256 JWT against the control plane's published
// certificates (its oauth2/v3/certs JWK set) and returns its claims.
func verifyJWT(tb testing.TB, c *harness.Cluster, tok string) map[string]any {
	tb.Helper()
	resp, err := http.Get(c.APIURL() + "/oauth2/v3/certs")
	require.NoError(tb, err)
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	require.NoError(tb, json.NewDecoder(resp.Body).Decode(&jwks))
	parts := strings.Split(tok, ".")
	require.Len(tb, parts, 3, "a JWT")
	seg := func(s string, v any) {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(tb, err)
		require.NoError(tb, json.Unmarshal(raw, v))
	}
	var header struct{ Alg, Kid string }
	seg(parts[0], &header)
	require.Equal(tb, "RS256", header.Alg)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(tb, err)
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	verified := false
	for _, k := range jwks.Keys {
		if k.Kid != header.Kid {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		require.NoError(tb, err)
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		require.NoError(tb, err)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		verified = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	}
	require.True(tb, verified, "the ID token does not verify against the published certificates")
	var claims map[string]any
	seg(parts[1], &claims)
	return claims
}

// A proxy deployed with serviceAccount= calls its targets with that
// account's Google tokens, minted by the message processor through the
// control plane's IAM Credentials API as apigee-runtime: refused until
// apigee-runtime holds roles/iam.serviceAccountTokenCreator on the account
// (Apigee's GoogleTokenGenerationFailure), then an access token the
// control plane's tokeninfo validates (scopes, email) and an ID token that
// verifies against its published certificates with the target URL as
// audience. Tokens are cached: the next call sends the same one.
func TestGoogleAuthenticationOnTargets(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	const host = "gauth.e2e.example.com"
	attachHost(t, svc, c, "gauth-group", host)
	ctx := context.Background()
	iamSvc, err := iamv1.NewService(ctx, option.WithEndpoint(c.APIURL()+"/"),
		option.WithHTTPClient(&http.Client{Transport: bearer{harness.AdminToken}}))
	require.NoError(t, err)
	sa, err := iamSvc.Projects.ServiceAccounts.Create("projects/"+c.Org, &iamv1.CreateServiceAccountRequest{AccountId: "proxy-sa"}).Do()
	require.NoError(t, err)
	runtimeMember := "serviceAccount:apigee-runtime@" + c.Org + ".iam.gserviceaccount.com"

	be := newAuthBackend(t)
	const scopes = `<Scope>https://www.googleapis.com/auth/cloud-platform</Scope><Scope>https://www.googleapis.com/auth/userinfo.email</Scope>`
	proxies := map[string]string{
		"ga-access": `<GoogleAccessToken><Scopes>` + scopes + `</Scopes><LifetimeInSeconds>1200</LifetimeInSeconds></GoogleAccessToken>`,
		"ga-id":     `<GoogleIDToken><Audience useTargetUrl="true"/><IncludeEmail>true</IncludeEmail></GoogleIDToken>`,
	}
	revs := map[string]string{}
	for name, auth := range proxies {
		revs[name] = importProxy(t, svc, c, name, googleAuthProxy(t, name, be.URL+"/run?v=1", auth))
	}

	// Without an identity the deployment is refused, as Apigee refuses it.
	_, err = svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, "ga-access", revs["ga-access"])).Do()
	var ge *googleapi.Error
	require.True(t, errors.As(err, &ge), "%v", err)
	require.Equal(t, http.StatusBadRequest, ge.Code)
	require.Contains(t, ge.Message, "MISSING_SERVICE_ACCOUNT")

	for name, rev := range revs {
		d, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, name, rev)).ServiceAccount(sa.Email).Do()
		require.NoError(t, err)
		require.Equal(t, sa.Email, d.ServiceAccount)
		require.Eventually(t, func() bool {
			d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, name, rev)).Do()
			return err == nil && d.State == "READY"
		}, 30*time.Second, 20*time.Millisecond, "%s never became READY", name)
	}

	// apigee-runtime may not mint the account's tokens yet.
	r := eventuallyStatus(t, c, host, "/ga-access/items", http.StatusInternalServerError)
	require.Equal(t, "messaging.adaptors.http.filter.GoogleTokenGenerationFailure", faultCode(t, r.body))
	require.Contains(t, r.body, "iam.serviceAccounts.getAccessToken")

	// Hybrid's step: gcloud iam service-accounts add-iam-policy-binding proxy-sa
	//   --member serviceAccount:apigee-runtime@… --role roles/iam.serviceAccountTokenCreator
	pol, err := iamSvc.Projects.ServiceAccounts.GetIamPolicy(sa.Name).Do()
	require.NoError(t, err)
	pol.Bindings = append(pol.Bindings, &iamv1.Binding{Role: "roles/iam.serviceAccountTokenCreator", Members: []string{runtimeMember}})
	_, err = iamSvc.Projects.ServiceAccounts.SetIamPolicy(sa.Name, &iamv1.SetIamPolicyRequest{Policy: pol}).Do()
	require.NoError(t, err)

	// Access token: what the backend got validates at tokeninfo.
	r = call(t, c, host, "/ga-access/items")
	require.Equal(t, http.StatusOK, r.status, r.body)
	access := be.last(t)
	status, info := tokenInfo(t, c, "access_token", access)
	require.Equal(t, http.StatusOK, status, "%v", info)
	require.Equal(t, "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email", info["scope"])
	require.Equal(t, sa.Email, info["email"])
	require.Equal(t, "true", info["email_verified"])
	require.Equal(t, sa.UniqueId, info["azp"])
	var expiresIn int
	require.NoError(t, json.Unmarshal([]byte(info["expires_in"]), &expiresIn))
	require.InDelta(t, 1200, expiresIn, 30, "LifetimeInSeconds")
	// Cached: the next call carries the same token, even with a client
	// Authorization of its own.
	req, err := http.NewRequest(http.MethodGet, c.TrafficURL()+"/ga-access/items", nil)
	require.NoError(t, err)
	req.Host = host
	req.Header.Set("Authorization", "Bearer from-the-client")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, access, be.last(t))

	// ID token: verifies against the control plane's certificates, for
	// the target URL without its query.
	r = call(t, c, host, "/ga-id/items")
	require.Equal(t, http.StatusOK, r.status, r.body)
	id := be.last(t)
	claims := verifyJWT(t, c, id)
	require.Equal(t, be.URL+"/run", claims["aud"])
	require.Equal(t, "https://accounts.google.com", claims["iss"])
	require.Equal(t, sa.Email, claims["email"])
	require.Equal(t, sa.UniqueId, claims["sub"])
	require.Greater(t, claims["exp"], float64(time.Now().Unix()))
	status, info = tokenInfo(t, c, "id_token", id)
	require.Equal(t, http.StatusOK, status, "%v", info)
	require.Equal(t, be.URL+"/run", info["aud"])

	// The mints are in the control plane's audit log, as apigee-runtime's.
	var audit struct {
		Entries []struct {
			MethodName string `json:"methodName"`
			Granted    bool   `json:"granted"`
		} `json:"entries"`
	}
	resp, err = (&http.Client{Transport: bearer{harness.AdminToken}}).Get(c.APIURL() + "/v1/projects/" + c.Org +
		"/auditLogs?principalEmail=" + url.QueryEscape(strings.TrimPrefix(runtimeMember, "serviceAccount:")))
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&audit))
	resp.Body.Close()
	methods := map[string][]bool{}
	for _, e := range audit.Entries {
		methods[e.MethodName] = append(methods[e.MethodName], e.Granted)
	}
	// Newest first: one granted mint (the second call hit the cache) after
	// the refusals.
	got := methods["GenerateAccessToken"]
	require.GreaterOrEqual(t, len(got), 2, "%v", got)
	require.Equal(t, []bool{true}, got[:1])
	require.NotContains(t, got[1:], true, "one mint only, then the cache")
	require.Equal(t, []bool{true}, methods["GenerateIdToken"])
}
