package server_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jws"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	cpapigee "github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// startTenants runs a control plane with two orgs in two projects and one
// user administering each: alice the hybrid project, bob acme-project.
func startTenants(t *testing.T) *cp {
	t.Helper()
	return startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.Orgs = append(cfg.Orgs, cpapigee.OrgSeed{Name: "acme", ProjectID: "acme-project", Environments: []string{"dev"}})
		cfg.Tokens["alice-token"] = "user:alice@example.com"
		cfg.Tokens["bob-token"] = "user:bob@example.com"
		cfg.Tokens["carol-token"] = "user:carol@example.com"
		cfg.IAM.Bindings = []iam.BindingSeed{
			{Project: "hybrid", Role: "roles/apigee.admin", Members: []string{"user:alice@example.com"}},
			{Project: "acme-project", Role: "roles/apigee.admin", Members: []string{"user:bob@example.com"}},
		}
	})
}

func orgNames(tb testing.TB, api *apigee.Service) []string {
	tb.Helper()
	list, err := api.Organizations.List("organizations").Do()
	require.NoError(tb, err)
	var names []string
	for _, o := range list.Organizations {
		names = append(names, o.Organization)
	}
	return names
}

// TestOrgCreateAndListAreScoped: creating an org needs
// apigee.organizations.create on its parent project, and the list shows
// only the orgs the caller may get.
func TestOrgCreateAndListAreScoped(t *testing.T) {
	c := startTenants(t)
	alice, bob, admin := goClient(t, c, "alice-token"), goClient(t, c, "bob-token"), goClient(t, c, testToken)

	// An admin of one project cannot create orgs under another.
	_, err := alice.Organizations.Create(&apigee.GoogleCloudApigeeV1Organization{RuntimeType: "HYBRID"}).Parent("projects/other").Do()
	requireDenied(t, err, "apigee.organizations.create", "//apigee.googleapis.com/projects/other")
	_, err = bob.Organizations.Create(&apigee.GoogleCloudApigeeV1Organization{RuntimeType: "HYBRID"}).Parent("projects/hybrid").Do()
	requireDenied(t, err, "apigee.organizations.create", "//apigee.googleapis.com/projects/hybrid")
	// Within their own project they can (the org is named after it).
	op, err := bob.Organizations.Create(&apigee.GoogleCloudApigeeV1Organization{RuntimeType: "HYBRID"}).Parent("projects/acme-project").Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	// A malformed parent is a 400 before any permission check.
	_, err = alice.Organizations.Create(&apigee.GoogleCloudApigeeV1Organization{}).Parent("folders/1").Do()
	requireAPIError(t, err, http.StatusBadRequest)
	_, err = admin.Organizations.Create(&apigee.GoogleCloudApigeeV1Organization{}).Parent("projects/other").Do()
	require.NoError(t, err)

	require.Equal(t, []string{"acme", "acme-project", "hybrid", "other"}, orgNames(t, admin))
	require.Equal(t, []string{"hybrid"}, orgNames(t, alice))
	require.Equal(t, []string{"acme", "acme-project"}, orgNames(t, bob))
	// Without any Apigee role: still Google's 403.
	_, err = goClient(t, c, "carol-token").Organizations.List("organizations").Do()
	requireDenied(t, err, "apigee.organizations.list", "//apigee.googleapis.com/organizations")
}

// TestDeleteOrg: DELETE /v1/organizations/{org} answers the DELETE
// Operation, removes everything and stops serving the org's contracts.
func TestDeleteOrg(t *testing.T) {
	c := startTenants(t)
	admin := goClient(t, c, testToken)
	const org = "organizations/doomed"
	_, err := admin.Organizations.Create(&apigee.GoogleCloudApigeeV1Organization{RuntimeType: "HYBRID"}).Parent("projects/doomed").Do()
	require.NoError(t, err)
	_, err = admin.Organizations.Environments.Create(org, &apigee.GoogleCloudApigeeV1Environment{Name: "dev"}).Do()
	require.NoError(t, err)
	_, err = admin.Organizations.Apis.Create(org, &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(proxyZip(t, "hello", "/hello")),
	}).Action("import").Name("hello").Do()
	require.NoError(t, err)
	_, err = admin.Organizations.Environments.Apis.Revisions.Deploy(org + "/environments/dev/apis/hello/revisions/1").Do()
	require.NoError(t, err)
	require.DirExists(t, filepath.Join(c.dir, "bundles", "doomed"))
	version := c.contractVersion("doomed", "dev")
	c.doJSON("GET", "/v1/organizations/doomed/environments/dev/contract", nil, http.StatusOK, nil)

	// A synchronizer long-polling the environment hears of the deletion.
	polled := make(chan resp, 1)
	go func() {
		r, _ := sendAsync(authClient(testToken, nil), "GET",
			c.url+"/v1/organizations/doomed/environments/dev/contract/version?timeout=30s&waitForChangeFrom="+version, "", nil)
		polled <- r
	}()
	require.Eventually(t, func() bool { return c.srv.Store.Waiting() > 0 }, 5*time.Second, 10*time.Millisecond)

	_, err = admin.Organizations.Delete(org).Retention("FOREVER").Do()
	requireAPIError(t, err, http.StatusBadRequest)
	_, err = goClient(t, c, "alice-token").Organizations.Delete(org).Do()
	requireDenied(t, err, "apigee.organizations.delete", "//apigee.googleapis.com/organizations/doomed")

	op, err := admin.Organizations.Delete(org).Retention("MINIMUM").Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	require.Regexp(t, `^organizations/doomed/operations/[0-9a-f-]{36}$`, op.Name)
	var meta map[string]any
	require.NoError(t, json.Unmarshal(op.Metadata, &meta))
	require.Equal(t, "DELETE", meta["operationType"])
	require.Equal(t, org, meta["targetResourceName"])
	require.Equal(t, "type.googleapis.com/google.cloud.apigee.v1.OperationMetadata", meta["@type"])

	select {
	case r := <-polled:
		require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
	case <-time.After(5 * time.Second):
		t.Fatal("the long-poll did not end when the org was deleted")
	}
	_, err = admin.Organizations.Get(org).Do()
	requireAPIError(t, err, http.StatusNotFound)
	c.doJSON("GET", "/v1/organizations/doomed/environments/dev/contract", nil, http.StatusNotFound, nil)
	c.doJSON("GET", "/v1/organizations/doomed/environments/dev/contract/version", nil, http.StatusNotFound, nil)
	require.NotContains(t, orgNames(t, admin), "doomed")
	require.NoDirExists(t, filepath.Join(c.dir, "bundles", "doomed"))
	_, err = admin.Organizations.Delete(org).Do()
	requireAPIError(t, err, http.StatusNotFound)

	// The name is free again, and the new org starts empty.
	_, err = admin.Organizations.Create(&apigee.GoogleCloudApigeeV1Organization{RuntimeType: "HYBRID"}).Parent("projects/doomed").Do()
	require.NoError(t, err)
	apis, err := admin.Organizations.Apis.List(org).Do()
	require.NoError(t, err)
	require.Empty(t, apis.Proxies)
	// Other orgs are untouched; the deletion survives a restart.
	c.stop()
	c2 := startCP(t, c.dir)
	c2.doJSON("GET", "/v1/organizations/acme/environments/dev", nil, http.StatusOK, nil)
	c2.doJSON("GET", "/v1/organizations/doomed/environments/dev", nil, http.StatusNotFound, nil)
}

// selfSignedJWT signs claims with a key file's key, as Google's libraries
// do for the JWT-bearer assertion and for self-signed JWT access.
func selfSignedJWT(tb testing.TB, keyJSON []byte, aud, scope string) string {
	tb.Helper()
	cfg, err := google.JWTConfigFromJSON(keyJSON, iam.CloudPlatformScope)
	require.NoError(tb, err)
	block, _ := pem.Decode(cfg.PrivateKey)
	require.NotNil(tb, block)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(tb, err)
	now := time.Now()
	cs := &jws.ClaimSet{Iss: cfg.Email, Aud: aud, Scope: scope,
		Iat: now.Add(-10 * time.Second).Unix(), Exp: now.Add(50 * time.Minute).Unix()}
	if scope == "" {
		cs.Sub = cfg.Email
	}
	tok, err := jws.Encode(&jws.Header{Algorithm: "RS256", Typ: "JWT", KeyID: cfg.PrivateKeyID}, cs, key.(*rsa.PrivateKey))
	require.NoError(tb, err)
	return tok
}

// TestSelfSignedJWTAudience: the Apigee API takes a self-signed JWT only
// for its own audience, and never the token endpoint's assertion.
func TestSelfSignedJWTAudience(t *testing.T) {
	c := startCP(t, t.TempDir())
	raw := c.seededKey("apigee-org-admin")
	var kf struct {
		TokenURI string `json:"token_uri"`
	}
	require.NoError(t, json.Unmarshal(raw, &kf))

	// What golang.org/x/oauth2/google sends for the Apigee API.
	ts, err := google.JWTAccessTokenSourceFromJSON(raw, iam.ApigeeAudience)
	require.NoError(t, err)
	svc, err := apigee.NewService(context.Background(), option.WithEndpoint(c.url+"/"), option.WithTokenSource(ts))
	require.NoError(t, err)
	_, err = svc.Organizations.Get("organizations/hybrid").Do()
	require.NoError(t, err)

	assertion := selfSignedJWT(t, raw, kf.TokenURI, iam.CloudPlatformScope)
	for name, tok := range map[string]string{
		"the token endpoint's assertion": assertion,
		"another API's audience":         selfSignedJWT(t, raw, "https://storage.googleapis.com/", ""),
		"any audience with scopes":       selfSignedJWT(t, raw, "https://example.com/", iam.CloudPlatformScope),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := goClient(t, c, tok).Organizations.Get("organizations/hybrid").Do()
			ge := requireAPIError(t, err, http.StatusUnauthorized)
			require.Contains(t, ge.Body, `"status":"UNAUTHENTICATED"`)
		})
	}
	// The assertion still buys an access token at token_uri, which works.
	cfg, err := google.JWTConfigFromJSON(raw, iam.CloudPlatformScope)
	require.NoError(t, err)
	tok, err := cfg.TokenSource(context.Background()).Token()
	require.NoError(t, err)
	_, err = goClient(t, c, tok.AccessToken).Organizations.Get("organizations/hybrid").Do()
	require.NoError(t, err)
}

// TestNamesAreBoundedAndErrorsHidePaths: proxy and shared flow names follow
// Apigee's rule (A-Za-z0-9._-, at most 255) with a 400, and a 500 never
// shows a path of the state directory.
func TestNamesAreBoundedAndErrorsHidePaths(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"
	body := func(zip []byte) *apigee.GoogleApiHttpBody {
		return &apigee.GoogleApiHttpBody{ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(zip)}
	}
	long := strings.Repeat("a", 300)
	tests := []struct {
		name, msg string
	}{
		{long, "it is 300 characters long; the limit is 255"},
		{strings.Repeat("é", 256), "it is 256 characters long; the limit is 255"},
		{"with space", "must match"},
		{"dollar$", "must match"},
		{"a/b", "must match"},
		{"..", "must match"},
	}
	for _, tt := range tests {
		t.Run(tt.name[:min(len(tt.name), 20)], func(t *testing.T) {
			_, err := api.Organizations.Apis.Create(org, body(proxyZip(t, "hello", "/hello"))).Action("import").Name(tt.name).Do()
			ge := requireAPIError(t, err, http.StatusBadRequest)
			require.Contains(t, ge.Message, "Invalid API proxy name")
			require.Contains(t, ge.Message, tt.msg)
			require.NotContains(t, ge.Body, c.dir)
			_, err = api.Organizations.Sharedflows.Create(org, body(sharedFlowZip(t, "sf"))).Action("import").Name(tt.name).Do()
			ge = requireAPIError(t, err, http.StatusBadRequest)
			require.Contains(t, ge.Message, "Invalid shared flow name")
			require.NotContains(t, ge.Body, c.dir)
		})
	}
	// The longest name there is works end to end.
	longest := strings.Repeat("b", 255)
	rev, err := api.Organizations.Apis.Create(org, body(proxyZip(t, "hello", "/hello"))).Action("import").Name(longest).Do()
	require.NoError(t, err)
	require.Equal(t, longest, rev.Name)
	r := c.do("GET", "/v1/organizations/hybrid/apis/"+longest+"/revisions/1?format=bundle", "", nil)
	require.Equal(t, http.StatusOK, r.status)

	// A state that cannot be written is a 500 saying nothing of where.
	snapshot := filepath.Join(c.dir, "state.json")
	require.NoError(t, os.Remove(snapshot))
	require.NoError(t, os.MkdirAll(filepath.Join(snapshot, "blocker"), 0o755))
	_, err = api.Organizations.Environments.Create(org, &apigee.GoogleCloudApigeeV1Environment{Name: "dev"}).Do()
	ge := requireAPIError(t, err, http.StatusInternalServerError)
	require.Equal(t, "Internal error encountered.", ge.Message)
	require.NotContains(t, ge.Body, c.dir)
	require.NoError(t, os.RemoveAll(snapshot))
}

// TestWrongMethodIs405: a path that exists answers another method with 405,
// Allow and Google's error shape; an unknown path stays 404.
func TestWrongMethodIs405(t *testing.T) {
	c := startCP(t, t.TempDir())
	tests := []struct {
		method, path, allow string
	}{
		{"PATCH", "/v1/organizations/hybrid", "GET, HEAD, PUT, DELETE"},
		{"POST", "/v1/organizations/hybrid", "GET, HEAD, PUT, DELETE"}, // no :verb
		{"PUT", "/v1/organizations/hybrid/environments/test/traceConfig", "GET, HEAD, PATCH"},
		{"PUT", "/v1/organizations/hybrid/apis", "GET, HEAD, POST"},
		{"DELETE", "/v1/organizations/hybrid/environments/test/contract", "GET, HEAD"},
		{"PUT", "/v1/organizations/hybrid/developers", "GET, HEAD, POST"},
		{"PUT", "/v1/projects/hybrid/serviceAccounts", "GET, HEAD, POST"},
		{"DELETE", "/v1/projects/hybrid/endpoints/APIGEE_MART/connections", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := c.do(tt.method, tt.path, "application/json", []byte(`{}`))
			require.Equal(t, http.StatusMethodNotAllowed, r.status, "%s", r.body)
			require.Equal(t, tt.allow, r.header.Get("Allow"))
			e := r.apiError(t)
			require.Equal(t, "UNIMPLEMENTED", e.Error.Status)
			require.Equal(t, "Method "+tt.method+" is not allowed on "+tt.path+"; it takes "+tt.allow+".", e.Error.Message)
		})
	}
	r := c.do("GET", "/v1/organizations/hybrid/nonsense", "", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Empty(t, r.header.Get("Allow"))
	require.Equal(t, "NOT_FOUND", r.apiError(t).Error.Status)
	// Still authenticated first.
	r = send(t, c.client, "PATCH", c.url+"/v1/organizations/hybrid", "", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
}

func sharedFlowZip(tb testing.TB, name string) []byte {
	tb.Helper()
	return bundletest.Zip(tb, bundletest.SharedFlow(name))
}
