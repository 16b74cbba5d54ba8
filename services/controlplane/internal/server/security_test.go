package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jws"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
	cpapigee "github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// The control-plane part of the security suite (docs/SECURITY.md):
//
//   - TestEveryRouteRefusesBadCredentials: every route of the route table
//     ((*apigee.API).Routes) × every kind of missing or forged credential
//     → 401 in Google's shape with its WWW-Authenticate challenge;
//   - TestRuntimeAccountsCannotAdminister: the seeded runtime service
//     accounts × admin actions → 403 PERMISSION_DENIED;
//   - TestCrossOrgIsolation: an admin of one org's project × every route
//     of another org → 403 PERMISSION_DENIED;
//   - TestHostileBundlesThroughImport: bundle bombs through the real
//     import route → 400 naming the problem, nothing stored.
//
// The gateway part is services/runtime/internal/engine/security_test.go.

// publicRoutes are the only routes that take no bearer token: the OAuth
// token endpoint (it takes a signed assertion), the public certificates
// of service-account keys (client_x509_cert_url) and of ID tokens, and
// tokeninfo (it validates the token it is given, as Google's does).
var publicRoutes = map[string]bool{
	"POST /token":                     true,
	"GET " + iam.CertPath + "{email}": true,
	"GET " + iam.CertsPath:            true,
	"GET " + iam.TokenInfoPath:        true,
	"POST " + iam.TokenInfoPath:       true,
}

// secAccount is a service account the suite seeds with roles/apigee.admin
// and disables, so that its credentials would otherwise be good.
const secAccount = "sec-disabled"

// startSecurityCP runs a control plane with a second org (acme, project
// acme-project), an admin service account of acme-project
// (acme-admin), and an admin service account of hybrid that the tests
// disable (sec-disabled).
func startSecurityCP(t *testing.T) *cp {
	t.Helper()
	return startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.Orgs = append(cfg.Orgs, cpapigee.OrgSeed{Name: "acme", ProjectID: "acme-project", Environments: []string{"dev"}})
		cfg.IAM.ServiceAccounts = append(cfg.IAM.ServiceAccounts,
			iam.AccountSeed{AccountID: "acme-admin", Project: "acme-project", Roles: []string{"roles/apigee.admin"}},
			iam.AccountSeed{AccountID: secAccount, Roles: []string{"roles/apigee.admin"}},
		)
	})
}

// sweptRoutes is the route table less the public routes, which must be
// in it (so the exemption cannot go stale).
func sweptRoutes(t *testing.T, c *cp) []cpapigee.Route {
	t.Helper()
	var out []cpapigee.Route
	public := 0
	for _, r := range c.srv.API.Routes() {
		if publicRoutes[r.Method+" "+r.Path] {
			public++
			continue
		}
		out = append(out, r)
	}
	require.Equal(t, len(publicRoutes), public, "a public route is missing from the route table")
	// The table holds the API, the MART paths, Connect and the IAM: far
	// more than this; fewer means routes went unrecorded.
	require.Greater(t, len(out), 150, "the route table is suspiciously short")
	return out
}

var wildcardRE = regexp.MustCompile(`\{([A-Za-z]+)(\.\.\.)?\}`)

// fillRoute is fillPath for a route: POST on a service account takes a
// custom method (…:disable).
func fillRoute(rt cpapigee.Route, org, project string) string {
	p := fillPath(rt.Path, org, project)
	if rt.Method == "POST" && strings.HasSuffix(rt.Path, "/serviceAccounts/{ref}") {
		p += ":disable"
	}
	return p
}

// fillPath gives a pattern's wildcards plausible values in org (and its
// project).
func fillPath(path, org, project string) string {
	return wildcardRE.ReplaceAllStringFunc(path, func(w string) string {
		name := wildcardRE.FindStringSubmatch(w)[1]
		switch name {
		case "org":
			return org
		case "project":
			return project
		case "resource": // POST /v1/projects/{resource}: p:getIamPolicy, p:setIamPolicy
			return project + ":setIamPolicy"
		case "env":
			return "test"
		case "group":
			return "test-group"
		case "name", "api":
			if strings.Contains(path, "/resourcefiles/") {
				return "props"
			}
			return "hello"
		case "rev":
			return "1"
		case "ref":
			if strings.Contains(path, "/serviceAccounts/") {
				return "apigee-org-admin@" + project + ".iam.gserviceaccount.com"
			}
			return "my-ref"
		case "id":
			return "1"
		case "point":
			return "PreProxyFlowHook"
		case "ts":
			return "backend"
		case "ks":
			return "my-keystore"
		case "alias":
			return "my-alias"
		case "type":
			return "properties"
		case "developer":
			return "dev@example.com"
		case "app":
			return "my-app"
		case "map":
			return "my-map"
		case "endpoint":
			return "APIGEE_MART"
		case "email":
			return "apigee-org-admin@" + project + ".iam.gserviceaccount.com"
		default: // rest...
			return "x"
		}
	})
}

// rawDo sends one request with the Authorization header exactly as given
// ("" sends none).
func rawDo(t *testing.T, method, url, authorization, contentType string, body []byte) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return resp{status: res.StatusCode, body: data, header: res.Header}
}

// keyOf reads a service-account key file.
func keyOf(t *testing.T, keyJSON []byte) (key *rsa.PrivateKey, email, kid string) {
	t.Helper()
	cfg, err := google.JWTConfigFromJSON(keyJSON, iam.CloudPlatformScope)
	require.NoError(t, err)
	block, _ := pem.Decode(cfg.PrivateKey)
	require.NotNil(t, block)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	return k.(*rsa.PrivateKey), cfg.Email, cfg.PrivateKeyID
}

// signJWT signs a self-signed JWT: aud "" with scope is Google's
// scope-based form, valid for every API.
func signJWT(t *testing.T, key *rsa.PrivateKey, kid, email, aud, scope string, iat, exp time.Time) string {
	t.Helper()
	cs := &jws.ClaimSet{Iss: email, Sub: email, Aud: aud, Scope: scope, Iat: iat.Unix(), Exp: exp.Unix()}
	tok, err := jws.Encode(&jws.Header{Algorithm: "RS256", Typ: "JWT", KeyID: kid}, cs, key)
	require.NoError(t, err)
	return tok
}

type credential struct {
	name          string
	authorization string
}

// badCredentials are the credentials no route may take. Each forged
// token is one edit away from one that works (checked here), so the
// sweep cannot pass because the good form is broken too.
func badCredentials(t *testing.T, c *cp) []credential {
	t.Helper()
	now := time.Now()
	adminKey, adminEmail, adminKid := keyOf(t, c.seededKey("apigee-org-admin"))
	var kf struct {
		TokenURI string `json:"token_uri"`
	}
	require.NoError(t, json.Unmarshal(c.seededKey("apigee-org-admin"), &kf))
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	good := func(tok string) {
		t.Helper()
		r := rawDo(t, "GET", c.url+"/v1/organizations/hybrid", "Bearer "+tok, "", nil)
		require.Equal(t, http.StatusOK, r.status, "the unforged credential must work: %s", r.body)
	}
	good(signJWT(t, adminKey, adminKid, adminEmail, iam.ApigeeAudience, "", now.Add(-time.Minute), now.Add(30*time.Minute)))
	good(signJWT(t, adminKey, adminKid, adminEmail, "", iam.CloudPlatformScope, now.Add(-time.Minute), now.Add(30*time.Minute)))

	// A service account with roles/apigee.admin whose self-signed JWT and
	// minted access token work — until it is disabled.
	disabledKey, disabledEmail, disabledKid := keyOf(t, c.seededKey(secAccount))
	disabledJWT := signJWT(t, disabledKey, disabledKid, disabledEmail, "", iam.CloudPlatformScope, now.Add(-time.Minute), now.Add(30*time.Minute))
	ts, err := gcpauth.TokenSource(context.Background(), c.seededKey(secAccount))
	require.NoError(t, err)
	minted, err := ts.Token()
	require.NoError(t, err)
	good(disabledJWT)
	good(minted.AccessToken)
	c.doJSON("POST", "/v1/projects/hybrid/serviceAccounts/"+disabledEmail+":disable", map[string]any{}, http.StatusOK, nil)

	// alg "none": claims of the org admin, no signature.
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"iss":%q,"sub":%q,"aud":%q,"iat":%d,"exp":%d}`,
			adminEmail, adminEmail, iam.ApigeeAudience, now.Add(-time.Minute).Unix(), now.Add(30*time.Minute).Unix())) + "."

	return []credential{
		{"no Authorization header", ""},
		{"empty bearer", "Bearer"},
		{"bearer of spaces", "Bearer    "},
		{"malformed JWT", "Bearer eyJhbGciOiJSUzI1NiJ9.not-base64!.x"},
		{"access token prefix only", "Bearer ya29."},
		{"forged access token", "Bearer ya29.eyJzdWIiOiJhcGlnZWUtb3JnLWFkbWluIn0.AAAA"},
		{"unknown opaque token", "Bearer 7d3f0c1e-unknown-opaque-token"},
		{"admin token with another scheme", "Token " + testToken},
		{"Basic auth with the admin token", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+testToken))},
		{"unsigned JWT (alg none)", "Bearer " + unsigned},
		{"JWT signed by an unknown key", "Bearer " + signJWT(t, stranger, adminKid, adminEmail, iam.ApigeeAudience, "", now.Add(-time.Minute), now.Add(30*time.Minute))},
		{"JWT with another API's audience", "Bearer " + signJWT(t, adminKey, adminKid, adminEmail, "https://storage.googleapis.com/", "", now.Add(-time.Minute), now.Add(30*time.Minute))},
		{"expired self-signed JWT", "Bearer " + signJWT(t, adminKey, adminKid, adminEmail, "", iam.CloudPlatformScope, now.Add(-2*time.Hour), now.Add(-time.Hour))},
		{"self-signed JWT issued in the future", "Bearer " + signJWT(t, adminKey, adminKid, adminEmail, "", iam.CloudPlatformScope, now.Add(time.Hour), now.Add(90*time.Minute))},
		{"self-signed JWT of a disabled account", "Bearer " + disabledJWT},
		{"access token of a disabled account", "Bearer " + minted.AccessToken},
		{"the token endpoint's assertion", "Bearer " + signJWT(t, adminKey, adminKid, adminEmail, kf.TokenURI, iam.CloudPlatformScope, now.Add(-time.Minute), now.Add(30*time.Minute))},
	}
}

// TestEveryRouteRefusesBadCredentials sweeps the whole route table with
// every credential of badCredentials: each answer is Google's 401, with
// its WWW-Authenticate challenge, and nothing changes.
func TestEveryRouteRefusesBadCredentials(t *testing.T) {
	c := startSecurityCP(t)
	creds := badCredentials(t, c)
	routes := sweptRoutes(t, c)
	t.Logf("%d routes × %d credentials", len(routes), len(creds))
	for _, rt := range routes {
		url := c.url + fillRoute(rt, "hybrid", "hybrid")
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			for _, cr := range creds {
				r := rawDo(t, rt.Method, url, cr.authorization, "application/json", []byte(`{}`))
				require.Equal(t, http.StatusUnauthorized, r.status, "%s: %s", cr.name, r.body)
				require.Equal(t, `Bearer realm="https://accounts.google.com/"`, r.header.Get("WWW-Authenticate"), cr.name)
				e := r.apiError(t)
				require.Equal(t, "UNAUTHENTICATED", e.Error.Status, cr.name)
				require.Contains(t, []string{iam.MsgMissingCredential, iam.MsgInvalidCredential}, e.Error.Message, cr.name)
			}
		})
	}
	// Nothing was touched.
	c.doJSON("GET", "/v1/organizations/hybrid", nil, http.StatusOK, nil)
	c.doJSON("GET", "/v1/organizations/hybrid/environments/test", nil, http.StatusOK, nil)
}

// adminActions are what only an administrator may do.
func adminActions(t *testing.T) []struct{ name, method, path, ctype, body string } {
	zip := string(proxyZip(t, "evil", "/evil"))
	const o = "/v1/organizations/hybrid"
	const sa = "/v1/projects/hybrid/serviceAccounts/"
	return []struct{ name, method, path, ctype, body string }{
		{"create an org", "POST", "/v1/organizations?parent=projects/hybrid", "application/json", `{"runtimeType":"HYBRID"}`},
		{"update the org", "PUT", o, "application/json", `{"name":"hybrid","properties":{"property":[{"name":"features.mart.connect.enabled","value":"false"}]}}`},
		{"delete the org", "DELETE", o, "", ""},
		{"set the org's sync authorization", "POST", o + ":setSyncAuthorization", "application/json", `{"identities":["serviceAccount:evil@hybrid.iam.gserviceaccount.com"]}`},
		{"create an environment", "POST", o + "/environments", "application/json", `{"name":"evil"}`},
		{"delete an environment", "DELETE", o + "/environments/test", "", ""},
		{"import a proxy", "POST", o + "/apis?action=import&name=evil", "application/octet-stream", zip},
		{"import a shared flow", "POST", o + "/sharedflows?action=import&name=evil", "application/octet-stream", string(sharedFlowZip(t, "evil"))},
		{"deploy a proxy", "POST", o + "/environments/test/apis/evil/revisions/1/deployments", "", ""},
		{"undeploy a proxy", "DELETE", o + "/environments/test/apis/evil/revisions/1/deployments", "", ""},
		{"create a target server", "POST", o + "/environments/test/targetservers", "application/json", `{"name":"evil","host":"evil.example","port":443}`},
		{"create a keystore", "POST", o + "/environments/test/keystores", "application/json", `{"name":"evil"}`},
		{"attach a flow hook", "PUT", o + "/environments/test/flowhooks/PreProxyFlowHook", "application/json", `{"sharedFlow":"evil"}`},
		{"create a developer", "POST", o + "/developers", "application/json", `{"email":"evil@example.com","firstName":"E","lastName":"V","userName":"evil"}`},
		{"create an API product", "POST", o + "/apiproducts", "application/json", `{"name":"evil","displayName":"evil"}`},
		{"create a KVM", "POST", o + "/keyvaluemaps", "application/json", `{"name":"evil"}`},
		{"create an instance", "POST", o + "/instances", "application/json", `{"name":"evil","location":"x"}`},
		{"attach an environment to an instance", "POST", o + "/instances/evil/attachments", "application/json", `{"environment":"test"}`},
		{"label a proxy", "PATCH", o + "/apis/evil?updateMask=labels", "application/json", `{"labels":{"a":"b"}}`},
		{"set the IAM policy", "POST", "/v1/projects/hybrid:setIamPolicy", "application/json", `{"policy":{"bindings":[{"role":"roles/apigee.admin","members":["allUsers"]}]}}`},
		{"create a service account", "POST", "/v1/projects/hybrid/serviceAccounts", "application/json", `{"accountId":"sneaky-one"}`},
		{"create a key for the org admin", "POST", sa + "apigee-org-admin@hybrid.iam.gserviceaccount.com/keys", "application/json", `{}`},
		{"disable the org admin", "POST", sa + "apigee-org-admin@hybrid.iam.gserviceaccount.com:disable", "application/json", `{}`},
		{"delete the org admin", "DELETE", sa + "apigee-org-admin@hybrid.iam.gserviceaccount.com", "", ""},
	}
}

// TestRuntimeAccountsCannotAdminister: the runtime plane's own service
// accounts, with the roles hybrid gives them and tokens minted at the
// token endpoint exactly as the services get theirs, may not administer
// the org, its proxies, its developers or IAM — not even create a key for
// themselves.
func TestRuntimeAccountsCannotAdminister(t *testing.T) {
	c := startSecurityCP(t)
	accounts := []string{"apigee-synchronizer", "apigee-watcher", "apigee-udca", "apigee-mart", "apigee-runtime"}
	actions := adminActions(t)
	for _, account := range accounts {
		ts, err := gcpauth.TokenSource(context.Background(), c.seededKey(account))
		require.NoError(t, err)
		tok, err := ts.Token()
		require.NoError(t, err)
		self := append(actions, struct{ name, method, path, ctype, body string }{
			"create a key for itself", "POST", "/v1/projects/hybrid/serviceAccounts/" + account + "@hybrid.iam.gserviceaccount.com/keys", "application/json", `{}`,
		})
		for _, a := range self {
			t.Run(account+"/"+a.name, func(t *testing.T) {
				r := rawDo(t, a.method, c.url+a.path, "Bearer "+tok.AccessToken, a.ctype, []byte(a.body))
				require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
				e := r.apiError(t)
				require.Equal(t, "PERMISSION_DENIED", e.Error.Status)
				require.Contains(t, e.Error.Message, "Permission '")
			})
		}
	}
	// Nothing happened.
	c.doJSON("GET", "/v1/organizations/hybrid/environments/test", nil, http.StatusOK, nil)
	c.doJSON("GET", "/v1/organizations/hybrid/apis/evil", nil, http.StatusNotFound, nil)
	c.doJSON("GET", "/v1/projects/hybrid/serviceAccounts/sneaky-one@hybrid.iam.gserviceaccount.com", nil, http.StatusNotFound, nil)
	var acct struct {
		Disabled bool `json:"disabled"`
	}
	c.doJSON("GET", "/v1/projects/hybrid/serviceAccounts/apigee-org-admin@hybrid.iam.gserviceaccount.com", nil, http.StatusOK, &acct)
	require.False(t, acct.Disabled)
}

// TestCrossOrgIsolation: acme-admin (roles/apigee.admin on acme-project)
// is refused every route of the hybrid org and its project, read or
// write, with 403 — the permission is checked on the path's resource
// before anything is looked up.
func TestCrossOrgIsolation(t *testing.T) {
	c := startSecurityCP(t)
	key, err := os.ReadFile(filepath.Join(c.srv.KeyDir, "acme-project-acme-admin.json"))
	require.NoError(t, err)
	ts, err := gcpauth.TokenSource(context.Background(), key)
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	as := func(method, path, ctype string, body []byte) resp {
		t.Helper()
		return rawDo(t, method, c.url+path, "Bearer "+tok.AccessToken, ctype, body)
	}
	// An admin at home: it reads and writes acme.
	r := as("GET", "/v1/organizations/acme", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = as("POST", "/v1/organizations/acme/environments", "application/json", []byte(`{"name":"staging"}`))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	swept := 0
	for _, rt := range sweptRoutes(t, c) {
		if !strings.HasPrefix(rt.Path, "/v1/organizations/{org}") && !strings.HasPrefix(rt.Path, "/v1/projects/") {
			continue // no org or project in the path: below
		}
		swept++
		path := fillRoute(rt, "hybrid", "hybrid")
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			r := as(rt.Method, path, "application/json", []byte(`{}`))
			require.Equal(t, http.StatusForbidden, r.status, "%s %s: %s", rt.Method, path, r.body)
			require.Equal(t, "PERMISSION_DENIED", r.apiError(t).Error.Status)
		})
	}
	require.Greater(t, swept, 150)
	// Creating an org in hybrid's project, and the org list.
	r = as("POST", "/v1/organizations?parent=projects/hybrid", "application/json", []byte(`{"runtimeType":"HYBRID"}`))
	require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	r = as("GET", "/v1/organizations", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.NotContains(t, string(r.body), `"hybrid"`)
	require.Contains(t, string(r.body), `"acme"`)
	// hybrid is whole.
	c.doJSON("GET", "/v1/organizations/hybrid/environments/test", nil, http.StatusOK, nil)
}

// bundleProbes is the one list of hostile bundles sent through the real
// import route. (pkg/bundle's TestParseRejects checks the validator's
// every rule and error class; this checks the route turns them into 400s
// and stores nothing.)
func bundleProbes(t *testing.T) []struct {
	name string
	zip  []byte
	msg  string // substring of the 400's message
} {
	proxy := bundletest.Proxy("probe", "/probe", "http://127.0.0.1:9/")
	with := func(extra ...bundletest.Entry) []byte {
		return bundletest.RawZip(t, bundletest.Entries(proxy, extra...)...)
	}
	policy := func(xml string) []byte {
		files := map[string]string{}
		for k, v := range proxy {
			files[k] = v
		}
		files["apiproxy/policies/AM-1.xml"] = xml
		return bundletest.Zip(t, files)
	}
	// Short names keep 100k entries under the 15 MiB archive limit, so
	// the entry count is what refuses it.
	var many []bundletest.Entry
	for i := range 100_000 {
		many = append(many, bundletest.Entry{Name: strconv.FormatInt(int64(i), 36)})
	}
	deep := "apiproxy/resources/jsc/" + strings.Repeat("d/", 120) + "x.js"
	long := "apiproxy/resources/jsc/" + strings.Repeat("n", 300) + ".js"
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
		`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` +
		`<AssignMessage name="AM-1"><AssignVariable><Name>x</Name><Value>&lol3;</Value></AssignVariable></AssignMessage>`
	return []struct {
		name string
		zip  []byte
		msg  string
	}{
		{"zip bomb", with(bundletest.Entry{Name: "apiproxy/resources/jsc/big.js", Data: make([]byte, 20<<20)}), "apiproxy/resources/jsc/big.js"},
		{"header understates the size", with(bundletest.Entry{Name: "apiproxy/resources/jsc/lie.js", Data: make([]byte, 5<<20), Declared: 100}), "more than the 100 bytes its header declares"},
		{"100k entries", bundletest.RawZip(t, append(bundletest.Entries(proxy), many...)...), "the limit is 2000"},
		{"deeply nested folders", with(bundletest.Entry{Name: deep, Data: []byte("1")}), "nested 124 levels deep; the limit is 32"},
		{"file name over 255 bytes", with(bundletest.Entry{Name: long, Data: []byte("1")}), "the limit is 255"},
		{"XXE", policy(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><AssignMessage name="AM-1">&xxe;</AssignMessage>`), "DOCTYPE"},
		{"billion laughs", policy(laughs), "DOCTYPE"},
		{"zip slip", with(bundletest.Entry{Name: "../../evil.sh", Data: []byte("x")}), `".."`},
		{"zip slip inside the root", with(bundletest.Entry{Name: "apiproxy/../../evil.sh", Data: []byte("x")}), "apiproxy/../../evil.sh"},
		{"absolute path", with(bundletest.Entry{Name: "/etc/cron.d/evil", Data: []byte("x")}), "absolute"},
		{"drive letter", with(bundletest.Entry{Name: "C:/Windows/evil.dll", Data: []byte("x")}), "drive letter"},
		{"backslashes", with(bundletest.Entry{Name: `apiproxy\..\..\evil`, Data: []byte("x")}), "backslash"},
		{"symlink", with(bundletest.Entry{Name: "apiproxy/resources/jsc/passwd.js", Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink | 0o777}), "symbolic link"},
	}
}

// TestHostileBundlesThroughImport sends each probe of bundleProbes to
// POST /v1/organizations/{org}/apis?action=import as a raw zip: a 400 in
// Google's shape that names the problem, and no proxy stored.
func TestHostileBundlesThroughImport(t *testing.T) {
	c := startCP(t, t.TempDir())
	admin := authClient(testToken, nil)
	for i, p := range bundleProbes(t) {
		t.Run(p.name, func(t *testing.T) {
			name := fmt.Sprintf("probe-%d", i)
			r := send(t, admin, "POST", c.url+"/v1/organizations/hybrid/apis?action=import&name="+name, "application/octet-stream", p.zip)
			require.Equal(t, http.StatusBadRequest, r.status, "%.300s", r.body)
			e := r.apiError(t)
			require.Equal(t, "INVALID_ARGUMENT", e.Error.Status)
			require.Contains(t, e.Error.Message, p.msg)
			r = send(t, admin, "GET", c.url+"/v1/organizations/hybrid/apis/"+name, "", nil)
			require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
		})
	}
}
