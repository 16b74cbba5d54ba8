package storage

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

func TestSignedURLs(t *testing.T) {
	now := time.Date(2026, 5, 15, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := Open(t.TempDir(), zaptest.NewLogger(t), clock)
	require.NoError(t, err)
	srv := httptest.NewServer(st)
	defer srv.Close()

	sign := func() string {
		u, _, err := st.SignedURL(srv.URL, "PUT", "org-apigee-analytics", "api/f.gz", time.Minute)
		require.NoError(t, err)
		return u
	}
	put := func(u string) (int, string) {
		req, err := http.NewRequest(http.MethodPut, u, strings.NewReader("data"))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	tamper := func(key, value string) func(string) string {
		return func(s string) string {
			u, _ := url.Parse(s)
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	tests := []struct {
		name    string
		mutate  func(string) string
		advance time.Duration
		code    int
		want    string
	}{
		{"valid", func(s string) string { return s }, 0, 200, ""},
		{"expired", func(s string) string { return s }, 2 * time.Minute, 403, "<Code>ExpiredToken</Code>"},
		{"longer expiry", tamper("X-Goog-Expires", "604800"), 0, 403, "<Code>SignatureDoesNotMatch</Code>"},
		{"another object", func(s string) string { return strings.Replace(s, "/f.gz", "/g.gz", 1) }, 0, 403, "SignatureDoesNotMatch"},
		{"bad signature", tamper("X-Goog-Signature", strings.Repeat("0", 64)), 0, 403, "SignatureDoesNotMatch"},
		{"unsigned", func(s string) string { return strings.SplitN(s, "?", 2)[0] }, 0, 403, "<Code>AccessDenied</Code>"},
		{"other credential", tamper("X-Goog-Credential", "GOOG1X/20260515/auto/storage/goog4_request"), 0, 403, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.mutate(sign())
			now = now.Add(tt.advance)
			defer func() { now = now.Add(-tt.advance) }()
			code, body := put(u)
			require.Equal(t, tt.code, code, body)
			require.Contains(t, body, tt.want)
		})
	}
	data, err := os.ReadFile(filepath.Join(st.Dir(), "org-apigee-analytics", "api", "f.gz"))
	require.NoError(t, err)
	require.Equal(t, "data", string(data))

	// The test switch: every request to the bucket fails until cleared.
	st.SetFault("org-apigee-analytics", 500)
	code, body := put(sign())
	require.Equal(t, 500, code)
	require.Contains(t, body, "InternalError")
	st.SetFault("org-apigee-analytics", 0)
	code, _ = put(sign())
	require.Equal(t, 200, code)
}

func TestValidObject(t *testing.T) {
	for _, tt := range []struct {
		bucket, object string
		ok             bool
	}{
		{"b-apigee-analytics", "api/1.api.o.e.x.gz", true},
		{"b", "x", false},
		{"bucket", "../x", false},
		{"bucket", "a/./b", false},
		{"bucket", "a//b", false},
		{"bucket", "", false},
	} {
		require.Equal(t, tt.ok, ValidObject(tt.bucket, tt.object), "%s/%s", tt.bucket, tt.object)
	}
}
