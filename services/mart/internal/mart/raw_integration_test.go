//go:build integration

package mart_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/mart/internal/mart"
)

// seed creates a product, a developer with an app, and an env-scoped map.
func (m *martT) seed() (consumerKey string) {
	m.call("POST", m.orgPath("/apiproducts"), map[string]any{"name": "p1", "approvalType": "auto", "environments": []string{"test"}}, http.StatusCreated, nil)
	m.call("POST", m.orgPath("/developers"), map[string]any{"email": "dev@example.com", "firstName": "D", "lastName": "E", "userName": "de"}, http.StatusCreated, nil)
	var app struct {
		Credentials []struct {
			ConsumerKey string `json:"consumerKey"`
		} `json:"credentials"`
	}
	m.call("POST", m.orgPath("/developers/dev@example.com/apps"), map[string]any{"name": "app1", "apiProducts": []string{"p1"}}, http.StatusCreated, &app)
	m.call("POST", m.orgPath("/environments/test/keyvaluemaps"), map[string]any{"name": "kvm1", "encrypted": true}, http.StatusCreated, nil)
	m.call("POST", m.orgPath("/environments/test/keyvaluemaps/kvm1/entries"), map[string]any{"name": "k1", "value": "v1"}, http.StatusCreated, nil)
	return app.Credentials[0].ConsumerKey
}

// What apigeecli sends and reads.
func TestApigeecliShapes(t *testing.T) {
	m := startMART(t, true)
	key := m.seed()

	// `apigeecli apps get --name app1` → GET …/apps?filter=appName=app1,
	// reading full app objects (credentials included) from "app".
	code, body := m.do(m.http, "GET", m.orgPath("/apps?filter=appName=app1"), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var apps struct {
		App []struct {
			AppID          string `json:"appId"`
			Name           string `json:"name"`
			DeveloperEmail string `json:"developerEmail"`
			DeveloperID    string `json:"developerId"`
			Status         string `json:"status"`
			CreatedAt      string `json:"createdAt"`
			Credentials    []struct {
				ConsumerKey    string `json:"consumerKey"`
				ConsumerSecret string `json:"consumerSecret"`
				ExpiresAt      string `json:"expiresAt"`
				APIProducts    []struct {
					APIProduct string `json:"apiproduct"`
					Status     string `json:"status"`
				} `json:"apiProducts"`
			} `json:"credentials"`
		} `json:"app"`
	}
	require.NoError(t, json.Unmarshal(body, &apps))
	require.Len(t, apps.App, 1)
	a := apps.App[0]
	require.Equal(t, "app1", a.Name)
	require.Equal(t, "dev@example.com", a.DeveloperEmail)
	require.NotEmpty(t, a.CreatedAt, "int64 fields are JSON strings")
	require.Equal(t, key, a.Credentials[0].ConsumerKey)
	require.NotEmpty(t, a.Credentials[0].ConsumerSecret)
	require.Equal(t, "-1", a.Credentials[0].ExpiresAt)
	require.Equal(t, "p1", a.Credentials[0].APIProducts[0].APIProduct)

	code, body = m.do(m.http, "GET", m.orgPath("/apps?filter=appName=nope"), nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"app":[]}`, string(body))
	code, body = m.do(m.http, "GET", m.orgPath("/apps?filter=consumerKey="+key), nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"name":"app1"`)
	code, body = m.do(m.http, "GET", m.orgPath("/apps"), nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, fmt.Sprintf(`{"app":[{"appId":%q}]}`, a.AppID), string(body), "without expand only ids")

	// KVM entries: POST {"name","value"}, list {keyValueEntries,nextPageToken}.
	m.call("POST", m.orgPath("/environments/test/keyvaluemaps/kvm1/entries"), map[string]string{"name": "k2", "value": "v2"}, http.StatusCreated, nil)
	var list struct {
		KeyValueEntries []struct{ Name, Value string } `json:"keyValueEntries"`
		NextPageToken   string                         `json:"nextPageToken"`
	}
	m.call("GET", m.orgPath("/environments/test/keyvaluemaps/kvm1/entries?pageSize=1"), nil, http.StatusOK, &list)
	require.Len(t, list.KeyValueEntries, 1)
	require.Equal(t, "k2", list.NextPageToken)
	list.NextPageToken = ""
	m.call("GET", m.orgPath("/environments/test/keyvaluemaps/kvm1/entries?pageSize=1&pageToken=k2"), nil, http.StatusOK, &list)
	require.Equal(t, "v2", list.KeyValueEntries[0].Value)
	require.Empty(t, list.NextPageToken)

	// Hand-written requests send int64 fields as numbers; both forms work.
	m.call("POST", m.orgPath("/developers/dev@example.com/apps"), map[string]any{"name": "app2", "keyExpiresIn": 60000}, http.StatusCreated, nil)
	m.call("POST", m.orgPath("/developers/dev@example.com/apps"), map[string]any{"name": "app3", "keyExpiresIn": "-1"}, http.StatusCreated, nil)
}

// The Connect agent's calls are logged with its user agent, so `grep
// connect` on MART's log finds them (the seed's "Test the installation"
// step 3), including the UI's trailing-slash developer listing.
func TestRequestLogShowsConnectAgent(t *testing.T) {
	m := startMART(t, true)
	m.seed()
	var devs struct {
		Developer []struct {
			DeveloperID string `json:"developerId"`
		} `json:"developer"`
	}
	m.call("GET", m.orgPath("/developers?expand=true"), nil, http.StatusOK, &devs)

	query := "count=100&expand=true&startKey=" + devs.Developer[0].DeveloperID
	code, body := m.do(m.http, "GET", m.orgPath("/developers/?"+query), nil,
		"User-Agent", "apigee-connect-agent-1.0", "X-Apigee-Principal", "apigee-mart@hybrid.iam.gserviceaccount.com")
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), "dev@example.com")

	var found bool
	for _, e := range m.logs.FilterMessage("request").All() {
		f := e.ContextMap()
		if f["userAgent"] != "apigee-connect-agent-1.0" {
			continue
		}
		found = true
		require.Equal(t, "GET", f["method"])
		require.Equal(t, m.orgPath("/developers/"), f["path"])
		require.Equal(t, query, f["query"])
		require.EqualValues(t, 200, f["status"])
		require.Equal(t, "apigee-mart@hybrid.iam.gserviceaccount.com", f["principal"])
		require.Equal(t, "127.0.0.1", f["clientIP"])
		require.Equal(t, m.org, f["org"])
	}
	require.True(t, found, "the agent's call is logged")
}

// Only callers with the shared secret reach /v1; probes and metrics stay
// open. A MART with no secret configured refuses every call.
func TestSharedSecret(t *testing.T) {
	m := startMART(t, true)
	path := m.orgPath("/developers")
	for _, tc := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"no secret", nil, http.StatusUnauthorized},
		{"wrong secret", []string{mart.SecretHeader, "guess"}, http.StatusUnauthorized},
		{"bearer is not the secret header", []string{"Authorization", "Bearer " + secret}, http.StatusUnauthorized},
		{"right secret", []string{mart.SecretHeader, secret}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := m.do(m.plain, "GET", path, nil, tc.hdr...)
			require.Equal(t, tc.want, code, string(body))
			if tc.want == http.StatusUnauthorized {
				var ge googleError
				require.NoError(t, json.Unmarshal(body, &ge))
				require.Equal(t, "UNAUTHENTICATED", ge.Error.Status)
				require.Contains(t, ge.Error.Message, mart.SecretHeader)
			}
		})
	}
	for _, p := range []string{service.LivePath, service.ReadyPath, "/metrics"} {
		require.Equal(t, http.StatusOK, m.status(m.plain, "GET", p, nil), p)
	}
	_, metrics := m.do(m.plain, "GET", "/metrics", nil)
	require.Contains(t, string(metrics), `mart_requests_total{code="401",method="GET"}`)
}

func TestNoSecretConfiguredRefusesEverything(t *testing.T) {
	first := startMART(t, true)
	m := startMART(t, false, func(c *mart.Config) { c.Org = first.org; c.Auth.SharedSecret = "" })
	for _, hdr := range [][]string{nil, {mart.SecretHeader, ""}, {mart.SecretHeader, secret}} {
		code, body := m.do(m.plain, "GET", m.orgPath("/developers"), nil, hdr...)
		require.Equal(t, http.StatusUnauthorized, code)
		require.Contains(t, string(body), "no shared secret configured")
	}
	require.Equal(t, http.StatusOK, m.status(m.plain, "GET", service.ReadyPath, nil), "probes stay open")
}

// Readiness waits for the org's schema, so MART never serves a half-made
// keyspace.
func TestReadinessNeedsSchema(t *testing.T) {
	m := startMART(t, false)
	code, body := m.do(m.plain, "GET", service.ReadyPath, nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, string(body), "Schema")
	_, err := schema.Apply(m.ctx, m.session, schema.Options{Orgs: []string{m.org}, WaitForLease: true}, zap.NewNop())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return m.status(m.plain, "GET", service.ReadyPath, nil) == http.StatusOK },
		30*time.Second, 20*time.Millisecond)
}

// Every kind of bad input gets the right 4xx in Google's error shape and
// writes nothing.
func TestBadInputIsRejectedAndWritesNothing(t *testing.T) {
	m := startMART(t, true)
	key := m.seed()
	huge := `{"email":"big@example.com","firstName":"` + strings.Repeat("x", 2<<20) + `","lastName":"l","userName":"u"}`
	dev := m.orgPath("/developers")
	apps := m.orgPath("/developers/dev@example.com/apps")

	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    string
		noAuth  bool
		chunked bool
		want    int
		status  string
		msg     string
	}{
		{"missing secret", "POST", dev, `{"email":"a@example.com","firstName":"a","lastName":"b","userName":"c"}`, true, false, 401, "UNAUTHENTICATED", "secret"},
		{"malformed JSON", "POST", dev, `{"email": "a@example.com",`, false, false, 400, "INVALID_ARGUMENT", "Invalid JSON"},
		{"wrong JSON type", "POST", dev, `{"email":"a@example.com","firstName":5,"lastName":"b","userName":"c"}`, false, false, 400, "INVALID_ARGUMENT", "Invalid JSON"},
		{"huge body", "POST", dev, huge, false, false, 413, "INVALID_ARGUMENT", "larger than"},
		{"huge chunked body", "POST", dev, huge, false, true, 413, "INVALID_ARGUMENT", "larger than"},
		{"empty body", "POST", dev, ``, false, false, 400, "INVALID_ARGUMENT", "email is required"},
		{"bad email", "POST", dev, `{"email":"not-an-email","firstName":"a","lastName":"b","userName":"c"}`, false, false, 400, "INVALID_ARGUMENT", "Invalid developer email"},
		{"missing firstName", "POST", dev, `{"email":"a@example.com","lastName":"b","userName":"c"}`, false, false, 400, "INVALID_ARGUMENT", "firstName"},
		{"too many attributes", "POST", dev, `{"email":"a@example.com","firstName":"a","lastName":"b","userName":"c","attributes":[` +
			strings.TrimSuffix(strings.Repeat(`{"name":"n","value":"v"},`, 19), ",") + `]}`, false, false, 400, "INVALID_ARGUMENT", "attributes"},
		{"duplicate developer", "POST", dev, `{"email":"DEV@example.com","firstName":"a","lastName":"b","userName":"c"}`, false, false, 409, "ALREADY_EXISTS", "already exists"},
		{"app of unknown developer", "POST", m.orgPath("/developers/ghost@example.com/apps"), `{"name":"x","apiProducts":["p1"]}`, false, false, 404, "NOT_FOUND", "ghost@example.com"},
		{"duplicate app", "POST", apps, `{"name":"app1","apiProducts":["p1"]}`, false, false, 409, "ALREADY_EXISTS", "app1"},
		{"app with unknown product", "POST", apps, `{"name":"new","apiProducts":["p1","missing"]}`, false, false, 400, "INVALID_ARGUMENT", "missing"},
		{"app name with slash", "POST", apps, `{"name":"a/b"}`, false, false, 400, "INVALID_ARGUMENT", "Invalid App name"},
		{"app without name", "POST", apps, `{"apiProducts":["p1"]}`, false, false, 400, "INVALID_ARGUMENT", "name is required"},
		{"bad app status", "POST", apps, `{"name":"new","status":"maybe"}`, false, false, 400, "INVALID_ARGUMENT", "status"},
		{"duplicate key import", "POST", apps + "/app1/keys", fmt.Sprintf(`{"consumerKey":%q,"consumerSecret":"s"}`, key), false, false, 409, "ALREADY_EXISTS", key},
		{"key with bad characters", "POST", apps + "/app1/keys/create", `{"consumerKey":"bad key!","consumerSecret":"s"}`, false, false, 400, "INVALID_ARGUMENT", "consumer key"},
		{"key for unknown app", "POST", apps + "/nope/keys", `{"consumerKey":"k","consumerSecret":"s"}`, false, false, 404, "NOT_FOUND", "nope"},
		{"unknown key action", "POST", apps + "/app1/keys/" + key + "?action=explode", ``, false, false, 400, "INVALID_ARGUMENT", "action"},
		{"unknown developer action", "POST", m.orgPath("/developers/dev@example.com?action=sleep"), ``, false, false, 400, "INVALID_ARGUMENT", "action"},
		{"duplicate product", "POST", m.orgPath("/apiproducts"), `{"name":"p1"}`, false, false, 409, "ALREADY_EXISTS", "p1"},
		{"bad approval type", "POST", m.orgPath("/apiproducts"), `{"name":"p2","approvalType":"sometimes"}`, false, false, 400, "INVALID_ARGUMENT", "approvalType"},
		{"bad quota time unit", "POST", m.orgPath("/apiproducts"), `{"name":"p2","quota":"10","quotaInterval":"1","quotaTimeUnit":"fortnight"}`, false, false, 400, "INVALID_ARGUMENT", "quotaTimeUnit"},
		{"bad quota", "POST", m.orgPath("/apiproducts"), `{"name":"p2","quota":"lots"}`, false, false, 400, "INVALID_ARGUMENT", "quota"},
		{"unknown product", "GET", m.orgPath("/apiproducts/nope"), ``, false, false, 404, "NOT_FOUND", "nope"},
		{"duplicate map", "POST", m.orgPath("/environments/test/keyvaluemaps"), `{"name":"kvm1","encrypted":true}`, false, false, 409, "ALREADY_EXISTS", "kvm1"},
		{"entry in unknown map", "POST", m.orgPath("/environments/test/keyvaluemaps/nope/entries"), `{"name":"k","value":"v"}`, false, false, 404, "NOT_FOUND", "nope"},
		{"duplicate entry", "POST", m.orgPath("/environments/test/keyvaluemaps/kvm1/entries"), `{"name":"k1","value":"other"}`, false, false, 409, "ALREADY_EXISTS", "k1"},
		{"entry without value", "POST", m.orgPath("/environments/test/keyvaluemaps/kvm1/entries"), `{"name":"k9"}`, false, false, 400, "INVALID_ARGUMENT", "value is required"},
		{"update of missing entry", "PUT", m.orgPath("/environments/test/keyvaluemaps/kvm1/entries/k9"), `{"name":"k9","value":"v"}`, false, false, 404, "NOT_FOUND", "k9"},
		{"bad environment name", "POST", m.orgPath("/environments/te$t/keyvaluemaps"), `{"name":"m"}`, false, false, 400, "INVALID_ARGUMENT", "environment"},
		{"other organization", "POST", "/v1/organizations/someone-else/developers", `{"email":"a@example.com","firstName":"a","lastName":"b","userName":"c"}`, false, false, 404, "NOT_FOUND", "someone-else"},
		{"unknown path", "GET", m.orgPath("/nothing/here"), ``, false, false, 404, "NOT_FOUND", "not found"},
		{"unsupported method", "PATCH", dev, `{}`, false, false, 405, "UNIMPLEMENTED", "PATCH"},
		{"bad count", "GET", dev + "?count=-3", ``, false, false, 400, "INVALID_ARGUMENT", "count"},
		{"bad expand", "GET", dev + "?expand=maybe", ``, false, false, 400, "INVALID_ARGUMENT", "expand"},
		{"bad filter", "GET", m.orgPath("/apps?filter=color=blue"), ``, false, false, 400, "INVALID_ARGUMENT", "filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := m.rowCounts()
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(strings.NewReader(tc.body)) // unknown length: sent chunked
			} else if tc.body == "" {
				rd = nil
			}
			req, err := http.NewRequestWithContext(m.ctx, tc.method, m.url+tc.path, rd)
			require.NoError(t, err)
			if !tc.chunked && tc.body != "" {
				req.ContentLength = int64(len(tc.body))
			}
			req.Header.Set("Content-Type", "application/json")
			client := m.http
			if tc.noAuth {
				client = m.plain
			}
			resp, err := client.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, tc.want, resp.StatusCode, string(body))
			var ge googleError
			require.NoError(t, json.Unmarshal(body, &ge), string(body))
			require.Equal(t, tc.want, ge.Error.Code)
			require.Equal(t, tc.status, ge.Error.Status)
			require.Contains(t, ge.Error.Message, tc.msg)
			require.Equal(t, before, m.rowCounts(), "nothing was written")
		})
	}
}
