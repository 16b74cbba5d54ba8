package mart

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// TestRoutingOnChi pins what the move to chi must keep: path values
// decoded once per segment (the org check shows the value handle got), an
// encoded colon still naming the custom method, HEAD on GET routes, and
// 404 versus 405.
func TestRoutingOnChi(t *testing.T) {
	a, err := NewAPI(Options{Org: "org1", SharedSecret: "s", KMS: store.NewKMS(nil, store.EncryptionKeys{}), KVM: store.NewKVM(nil, store.EncryptionKeys{})})
	require.NoError(t, err)
	for _, tc := range []struct {
		method, path string
		want         int
		message      string
	}{
		{"GET", "/v1/organizations/o%2540x/developers", 404, "Organization o%40x is not served by this MART (it serves org1)."},
		{"GET", "/v1/organizations/o%2Fx/developers", 404, "Organization o/x is not served by this MART (it serves org1)."},
		{"HEAD", "/v1/organizations/zz/developers", 404, ""},
		{"POST", "/v1/organizations/zz/environments/e/apis/a/quotaCounters%3Areset", 404, "Organization zz is not served by this MART (it serves org1)."},
		{"POST", "/v1/organizations/zz/environments/e/apis/a/quotaCounters:bogus", 404, "The requested URL /v1/organizations/zz/environments/e/apis/a/quotaCounters:bogus was not found on this server."},
		{"PATCH", "/v1/organizations/zz/developers/d", 405, "Method PATCH is not supported on /v1/organizations/zz/developers/d."},
		{"FOO", "/v1/organizations/zz/widgets", 404, "The requested URL /v1/organizations/zz/widgets was not found on this server."},
		{"FOO", "/v1/organizations/zz/developers", 405, "Method FOO is not supported on /v1/organizations/zz/developers."},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set(SecretHeader, "s")
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		require.Equal(t, tc.want, rec.Code, "%s %s: %s", tc.method, tc.path, rec.Body)
		if tc.message != "" {
			var body struct {
				Error struct{ Message string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, tc.message, body.Error.Message, "%s %s", tc.method, tc.path)
		}
	}
}
