package httproute

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChiPath(t *testing.T) {
	for _, tc := range []struct{ in, path, rest string }{
		{"/v1/organizations/{org}", "/v1/organizations/{org}", ""},
		{"/v1/organizations/{org}/apiproducts/{rest...}", "/v1/organizations/{org}/apiproducts/*", "rest"},
		{"/v1/organizations/{org}/environments/{env}/stats/{$}", "/v1/organizations/{org}/environments/{env}/stats/", ""},
	} {
		path, rest := chiPath(tc.in)
		require.Equal(t, tc.path, path, tc.in)
		require.Equal(t, tc.rest, rest, tc.in)
	}
}

func TestRoutingPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/v1/organizations/o", "/v1/organizations/o"},
		{"/v1/organizations/o%3AgetSyncAuthorization", "/v1/organizations/o:getSyncAuthorization"},
		{"/v1/organizations/o/developers/a%2540b.com", "/v1/organizations/o/developers/a%2540b.com"},
		{"/v1/organizations/o/developers/a%40b.com", "/v1/organizations/o/developers/a@b.com"},
		{"/v1/organizations/o/entries/a%2Fb", "/v1/organizations/o/entries/a%2Fb"},
	} {
		u, err := url.Parse(tc.in)
		require.NoError(t, err)
		require.Equal(t, tc.want, RoutingPath(u), tc.in)
	}
}

func TestRouter(t *testing.T) {
	r := New(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	echo := func(names ...string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			for _, n := range names {
				_, _ = io.WriteString(w, n+"="+req.PathValue(n)+";")
			}
		})
	}
	r.Handle("GET /v1/organizations/{org}", echo("org"))
	r.Handle("POST /v1/organizations/{org}:getSyncAuthorization", echo("org"))
	r.Handle("GET /v1/organizations/{org}/developers/{developer}", echo("org", "developer"))
	r.Handle("GET /v1/files/{path...}", echo("path"))
	r.Handle("DELETE /v1/organizations/{org}", echo("org"))

	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/v1/organizations/hybrid", 200, "org=hybrid;"},
		{"HEAD", "/v1/organizations/hybrid", 200, "org=hybrid;"}, // the server drops a HEAD body
		{"POST", "/v1/organizations/hybrid:getSyncAuthorization", 200, "org=hybrid;"},
		{"POST", "/v1/organizations/hybrid%3AgetSyncAuthorization", 200, "org=hybrid;"},
		{"GET", "/v1/organizations/o/developers/a%2540b.com", 200, "org=o;developer=a%40b.com;"},
		{"GET", "/v1/files/a/b/c", 200, "path=a/b/c;"},
		{"PUT", "/v1/organizations/hybrid", http.StatusTeapot, ""},
		{"GET", "/v1/nowhere", http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, nil)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		require.Equal(t, tt.code, rec.Code, "%s %s", tt.method, tt.path)
		if tt.code == 200 {
			require.Equal(t, tt.body, rec.Body.String(), "%s %s", tt.method, tt.path)
		}
	}
	require.Equal(t, []string{"GET", "HEAD", "DELETE"}, r.Allowed(httptest.NewRequest("PUT", "/v1/organizations/hybrid", nil)))
	require.Empty(t, r.Allowed(httptest.NewRequest("GET", "/v1/nowhere", nil)))
}
