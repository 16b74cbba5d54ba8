package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// serve sends one request through a mux the console is registered on, as
// the control plane registers it.
func serve(tb testing.TB, method, target string, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	mux := http.NewServeMux()
	Register(mux.Handle)
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestServesEmbeddedFiles(t *testing.T) {
	tests := []struct {
		name, path, contentType, contains string
	}{
		{"index at the root", "/console/", "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"index by name", "/console/index.html", "text/html; charset=utf-8", "<title>hybrid console</title>"},
		{"module script", "/console/app.js", "text/javascript; charset=utf-8", "import { api"},
		{"chart module", "/console/chart.js", "text/javascript; charset=utf-8", "export function barChart"},
		{"stylesheet", "/console/style.css", "text/css; charset=utf-8", ":root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, http.MethodGet, tt.path, nil)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, tt.contentType, rec.Header().Get("Content-Type"))
			require.Contains(t, rec.Body.String(), tt.contains)
			// Revalidated every time, cheaply: a rebuilt control plane
			// serves its new console at once.
			require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
			require.Regexp(t, `^"[0-9a-f]{16}"$`, rec.Header().Get("ETag"))
			require.Equal(t, ContentSecurityPolicy, rec.Header().Get("Content-Security-Policy"))
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))

			again := serve(t, http.MethodGet, tt.path, http.Header{"If-None-Match": {rec.Header().Get("ETag")}})
			require.Equal(t, http.StatusNotModified, again.Code)
			require.Empty(t, again.Body.String())
		})
	}
}

// The policy is strict: nothing inline, nothing from another origin, and
// the page cannot be framed.
func TestContentSecurityPolicyIsStrict(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	require.Equal(t, map[string]string{
		"default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
		"connect-src": "'self'", "base-uri": "'none'", "form-action": "'self'", "frame-ancestors": "'none'",
	}, directives)
	require.NotContains(t, ContentSecurityPolicy, "unsafe")
}

// The files obey the policy: no inline scripts, styles or handlers, and
// nothing loaded from another host (no CDN).
func TestFilesNeedNoInlineCodeOrNetwork(t *testing.T) {
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\son[a-z]+=|\sstyle=`)
	remote := regexp.MustCompile(`(?i)(?:src|href)=["']?(?:https?:)?//|import[^'"]*['"]https?:|url\(\s*['"]?https?:`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		require.NoError(t, err)
		if strings.HasSuffix(p, ".html") {
			require.NotRegexp(t, inline, string(b), p)
		}
		require.NotRegexp(t, remote, string(b), p)
		return nil
	})
	require.NoError(t, err)
}

func TestRedirectsAndErrors(t *testing.T) {
	tests := []struct {
		name, method, path string
		code               int
		location           string
	}{
		{"no trailing slash", http.MethodGet, "/console", http.StatusMovedPermanently, "/console/"},
		{"no trailing slash keeps the query", http.MethodGet, "/console?org=x", http.StatusMovedPermanently, "/console/?org=x"},
		{"unknown file", http.MethodGet, "/console/nope.js", http.StatusNotFound, ""},
		{"dot segments are cleaned away by the mux", http.MethodGet, "/console/../console.go", http.StatusTemporaryRedirect, "/console.go"},
		{"embedded Go source is not served", http.MethodGet, "/console/console.go", http.StatusNotFound, ""},
		{"write", http.MethodPost, "/console/", http.StatusMethodNotAllowed, ""},
		{"head", http.MethodHead, "/console/app.js", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, tt.method, tt.path, nil)
			require.Equal(t, tt.code, rec.Code)
			if tt.location != "" {
				require.Equal(t, tt.location, rec.Header().Get("Location"))
			}
			if tt.code == http.StatusNotFound {
				require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				require.Equal(t, ContentSecurityPolicy, rec.Header().Get("Content-Security-Policy"))
			}
			if tt.method == http.MethodHead {
				require.Empty(t, rec.Body.String())
				require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
			}
			if tt.method == http.MethodPost {
				require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
			}
		})
	}
}
