package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// TestEnvironmentCachesDelete: organizations.environments.caches.delete —
// the only method Apigee has on environment caches — is authorized here
// (apigee.caches.delete) and forwarded to MART, which clears the entries in
// the runtime plane's Cassandra. Driven with Google's Go client.
func TestEnvironmentCachesDelete(t *testing.T) {
	type seen struct{ Method, Path, Secret string }
	var mu sync.Mutex
	var got []seen
	mart := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("X-Apigee-MART-Secret")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(mart.Close)
	c := startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.MART.HostAlias = mart.URL
		cfg.MART.SharedSecret = "cp-secret"
	})
	// Straight to mart.hostAlias (no Connect agent in this test).
	c.doJSON("PUT", "/v1/organizations/hybrid", map[string]any{"name": "hybrid", "properties": map[string]any{
		"property": []map[string]string{{"name": "features.mart.connect.enabled", "value": "false"}},
	}}, http.StatusOK, nil)

	const name = "organizations/hybrid/environments/test/caches/items"
	resp, err := goClient(t, c, testToken).Organizations.Environments.Caches.Delete(name).Do()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.HTTPStatusCode)
	require.Equal(t, []seen{{"DELETE", "/v1/" + name, "cp-secret"}}, got)

	// The seeded runtime account has no apigee.caches.delete: refused
	// here, MART never sees it.
	_, err = c.apigeeAs(c.seededKey("apigee-runtime")).Organizations.Environments.Caches.Delete(name).Do()
	requireDenied(t, err, "apigee.caches.delete", "//apigee.googleapis.com/"+name)
	// Apigee has no get (nor list, nor create) on caches.
	r := c.do("GET", "/v1/"+name, "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.status, "there is no get: %s", r.body)
	require.Contains(t, r.apiError(t).Error.Message, "it takes DELETE")
	require.Len(t, got, 1)
}
