package emulator

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// stubAPI stands for the Apigee API: nothing exists (GET is a 404) and
// every write succeeds; it records the calls it got.
type stubAPI struct {
	mu    sync.Mutex
	calls []string
	auth  []string
}

func (s *stubAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	if r.Method == http.MethodGet {
		apierr.Write(w, apierr.NotFound("nothing here"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{}`))
}

func newTestEmulator(api http.Handler) *Emulator {
	return New(Options{API: api, Org: "hybrid", Env: "test", Authorize: func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer good" {
			return apierr.Unauthenticated("Request is missing required authentication credential.")
		}
		return nil
	}})
}

func zipOf(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		require.NoError(tb, err)
		_, err = w.Write([]byte(content))
		require.NoError(tb, err)
	}
	require.NoError(tb, zw.Close())
	return buf.Bytes()
}

func do(tb testing.TB, h http.Handler, method, target, token, contentType string, body []byte) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRequests(t *testing.T) {
	badTS := zipOf(t, map[string]string{
		"src/main/apigee/environments/test/targetservers.json": `[{"name": "a", "host": "h", "port": -1}]`,
	})
	cases := []struct {
		name, method, target, token, contentType string
		body                                     []byte
		status                                   int
		contains                                 string
	}{
		{"no token", "GET", "/v1/emulator/healthz", "", "", nil, 401, "authentication"},
		{"wrong token", "GET", "/v1/emulator/version", "bad", "", nil, 401, ""},
		{"healthz", "GET", "/v1/emulator/healthz", "good", "", nil, 200, "ok"},
		{"version", "GET", "/v1/emulator/version", "good", "", nil, 200, "version"},
		{"unknown endpoint", "GET", "/v1/emulator/nope", "good", "", nil, 404, "No such emulator endpoint"},
		{"deploy without environment", "POST", "/v1/emulator/deploy", "good", "application/zip", []byte("x"), 400, "environment"},
		{"deploy of no zip", "POST", "/v1/emulator/deploy?environment=test", "good", "application/zip", []byte("x"), 400, "not a zip"},
		{"deploy of an empty body", "POST", "/v1/emulator/deploy?environment=test", "good", "application/zip", nil, 400, "empty"},
		{"deploy with a bad file", "POST", "/v1/emulator/deploy?environment=test", "good", "application/zip", badTS, 400,
			"src/main/apigee/environments/test/targetservers.json: [0].port: want a number from 1 to 65535"},
		{"deploy of an environment the zip lacks", "POST", "/v1/emulator/deploy?environment=test", "good", "application/zip",
			zipOf(t, map[string]string{"src/main/apigee/environments/dev/deployments.json": `{}`}), 400, "no environments/test/ in the workspace (it has dev)"},
		{"setup of a bad file", "POST", "/v1/emulator/setup/tests", "good", "application/zip",
			zipOf(t, map[string]string{"products.json": `{}`}), 400, "products.json: want a JSON array, got an object"},
		{"no test data loaded", "GET", "/v1/emulator/test/developerapps", "good", "", nil, 200, "[]"},
		{"trace without proxy", "POST", "/v1/emulator/trace", "good", "", nil, 400, "proxyName"},
		{"unknown trace session", "GET", "/v1/emulator/trace/transactions?sessionid=x", "good", "", nil, 404, "x not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, newTestEmulator(&stubAPI{}), tc.method, tc.target, tc.token, tc.contentType, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.contains)
		})
	}
}

// setup/tests takes the zip as a multipart file part (curl -F) and applies
// it with the Apigee API, in-process, with the caller's credentials;
// test/maps then shows the keys but not the values.
func TestSetupTestsMultipart(t *testing.T) {
	api := &stubAPI{}
	e := newTestEmulator(api)
	data := zipOf(t, map[string]string{
		"bundle/products.json":   `[{"name": "p"}]`,
		"bundle/developers.json": `[{"email": "ada@example.com"}]`,
		"bundle/maps.json":       `[{"name": "m", "entry": [{"name": "k", "value": "secret"}]}]`,
	})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", "testdata.zip")
	require.NoError(t, err)
	_, err = part.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	rec := do(t, e, "POST", "/v1/emulator/setup/tests", "good", mw.FormDataContentType(), body.Bytes())
	require.Equal(t, 200, rec.Code, rec.Body.String())

	require.Contains(t, api.calls, "POST /v1/organizations/hybrid/apiproducts")
	require.Contains(t, api.calls, "POST /v1/organizations/hybrid/developers")
	require.Contains(t, api.calls, "POST /v1/organizations/hybrid/environments/test/keyvaluemaps/m/entries")
	for _, a := range api.auth {
		require.Equal(t, "Bearer good", a, "every API call carries the caller's credentials")
	}

	rec = do(t, e, "GET", "/v1/emulator/test/maps", "good", "", nil)
	require.Equal(t, 200, rec.Code)
	require.NotContains(t, rec.Body.String(), "secret")
	var maps []map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &maps))
	require.Equal(t, []map[string]any{{"name": "m", "scope": "environment", "environment": "test", "entry": []any{map[string]any{"name": "k"}}}}, maps)

	// clear/test deletes what was loaded.
	api.calls = nil
	rec = do(t, e, "DELETE", "/v1/emulator/clear/test", "good", "", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Contains(t, api.calls, "DELETE /v1/organizations/hybrid/apiproducts/p")
	rec = do(t, e, "GET", "/v1/emulator/test/maps", "good", "", nil)
	require.Equal(t, "[]", strings.TrimSpace(rec.Body.String()))
}

func TestReadZipRaw(t *testing.T) {
	req := httptest.NewRequest("POST", "/", io.NopCloser(strings.NewReader("PK")))
	got, err := readZip(req)
	require.NoError(t, err)
	require.Equal(t, []byte("PK"), got)
}
