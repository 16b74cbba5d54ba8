package apigee

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRoutingOnChi pins what handlers and clients rely on now that chi
// routes: r.PathValue answers as net/http's mux did (each segment decoded
// once, {name...} the decoded rest), custom methods are chi routes with
// their own permission, a GET route takes HEAD, and misses are Google's
// 404 or 405 with Allow.
func TestRoutingOnChi(t *testing.T) {
	k := newKSAPI(t)
	a := k.api
	values := func(names ...string) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			got := map[string]string{}
			for _, n := range names {
				got[n] = r.PathValue(n)
			}
			return ok(w, got)
		}
	}
	a.handle("GET /v1/test/{org}/developers/{developer}", "p", values("org", "developer"))
	a.handle("GET /v1/test/{org}/files/{type}/{name...}", "p", values("type", "name"))
	a.handle("POST /v1/test/{org}/things/{thing}:frob", "p", values("org", "thing"))

	get := func(method, path string) (int, http.Header, map[string]string) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+ksToken)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		var got map[string]string
		if rec.Code == http.StatusOK && method != http.MethodHead {
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got), rec.Body.String())
		}
		return rec.Code, rec.Header(), got
	}

	for _, tc := range []struct {
		path string
		want map[string]string
	}{
		{"/v1/test/o/developers/a@b.com", map[string]string{"org": "o", "developer": "a@b.com"}},
		{"/v1/test/o/developers/a%40b.com", map[string]string{"org": "o", "developer": "a@b.com"}},
		// apigeecli's double escape is decoded once here (MART decodes it again).
		{"/v1/test/o/developers/a%252Bb%2540example.com", map[string]string{"org": "o", "developer": "a%2Bb%40example.com"}},
		{"/v1/test/o/developers/a%2Fb", map[string]string{"org": "o", "developer": "a/b"}},
		{"/v1/test/%6F/developers/x", map[string]string{"org": "o", "developer": "x"}},
		{"/v1/test/o/files/properties/a/b%2Fc", map[string]string{"type": "properties", "name": "a/b/c"}},
		{"/v1/test/o/files/properties/a%20b", map[string]string{"type": "properties", "name": "a b"}},
	} {
		code, _, got := get(http.MethodGet, tc.path)
		require.Equal(t, http.StatusOK, code, tc.path)
		require.Equal(t, tc.want, got, tc.path)
	}
	code, _, _ := get(http.MethodHead, "/v1/test/o/developers/x")
	require.Equal(t, http.StatusOK, code, "a GET route takes HEAD")

	// Custom methods, also when the colon comes escaped.
	for _, p := range []string{"/v1/test/o/things/t:frob", "/v1/test/o/things/t%3Afrob"} {
		code, _, got := get(http.MethodPost, p)
		require.Equal(t, http.StatusOK, code, p)
		require.Equal(t, map[string]string{"org": "o", "thing": "t"}, got, p)
	}
	code, hdr, _ := get(http.MethodGet, "/v1/test/o/things/t:frob")
	require.Equal(t, http.StatusMethodNotAllowed, code)
	require.Equal(t, "POST", hdr.Get("Allow"))
	code, _, _ = get(http.MethodPost, "/v1/test/o/things/t:unknown")
	require.Equal(t, http.StatusNotFound, code)

	// The organization's own custom methods: permission checked on the
	// organization, an unknown verb a 404, a plain POST a 405.
	code, _, _ = get(http.MethodPost, "/v1/organizations/o:getSyncAuthorization")
	require.Equal(t, http.StatusOK, code)
	code, hdr, _ = get(http.MethodPost, "/v1/organizations/o:getSyncAuthorizations")
	require.Equal(t, http.StatusNotFound, code)
	require.Empty(t, hdr.Get("Allow"))
	code, hdr, _ = get(http.MethodPost, "/v1/organizations/o")
	require.Equal(t, http.StatusMethodNotAllowed, code)
	require.Equal(t, "GET, HEAD, PUT, DELETE", hdr.Get("Allow"))
	code, hdr, _ = get(http.MethodPatch, "/v1/organizations/o:setSyncAuthorization")
	require.Equal(t, http.StatusMethodNotAllowed, code)
	require.Equal(t, "GET, HEAD, POST, PUT, DELETE", hdr.Get("Allow"))

	var perms []string
	for _, r := range a.Routes() {
		if r.Path == "/v1/organizations/{org}:getSyncAuthorization" || r.Path == "/v1/organizations/{org}:setSyncAuthorization" {
			perms = append(perms, r.Method+" "+r.Permission)
		}
	}
	require.Equal(t, []string{"POST " + PermGetSyncAuthorization, "POST " + PermSetSyncAuthorization}, perms)
}
