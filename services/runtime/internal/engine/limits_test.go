package engine

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// TestRequestLimits: a request over Apigee's request line or header limits
// is answered with Apigee's fault and never forwarded.
func TestRequestLimits(t *testing.T) {
	var calls atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(backend.Close)
	srv := plainAndStepped(t, backend.URL)

	const line = len("GET  HTTP/1.1") // the request line around the URI
	manyHeaders := func(n int) http.Header {
		h := http.Header{}
		for i := 0; i < n; i++ {
			h.Set("X-H"+strconv.Itoa(i), "v")
		}
		return h
	}
	bigHeader := func(size int) http.Header {
		return http.Header{"X-Big": {strings.Repeat("a", size)}}
	}
	tests := []struct {
		name    string
		uri     func(path string) string
		header  http.Header
		status  int
		code    string
		message string
	}{
		{"request line at the limit", func(p string) string { return p + "?q=" + strings.Repeat("a", 7168-line-len(p)-3) }, nil, 200, "", ""},
		{"request line over the limit", func(p string) string { return p + "?q=" + strings.Repeat("a", 7168-line-len(p)-2) }, nil,
			http.StatusRequestURITooLong, CodeTooBigLine, "request line size exceeding 7,168"},
		{"headers under the limit", func(p string) string { return p }, bigHeader(20000), 200, "", ""},
		{"headers over the limit", func(p string) string { return p }, bigHeader(25600), http.StatusRequestHeaderFieldsTooLarge, CodeTooBigHeaders, "request headers size exceeding 25,600"},
		{"many headers", func(p string) string { return p }, manyHeaders(90), 200, "", ""},
		{"too many headers", func(p string) string { return p }, manyHeaders(101), http.StatusRequestHeaderFieldsTooLarge, CodeTooBigHeaders, "request headers count exceeding 100"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/plain", "/stepped"} {
			t.Run(tt.name+path, func(t *testing.T) {
				before := calls.Load()
				req, err := http.NewRequest(http.MethodGet, srv.URL+tt.uri(path), nil)
				require.NoError(t, err)
				for k, v := range tt.header {
					req.Header[k] = v
				}
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.Equal(t, tt.status, resp.StatusCode, string(body))
				if tt.code == "" {
					require.Equal(t, before+1, calls.Load())
					return
				}
				require.Equal(t, before, calls.Load(), "never forwarded")
				require.JSONEq(t, `{"fault":{"faultstring":"`+tt.message+`","detail":{"errorcode":"`+tt.code+`"}}}`, string(body))
			})
		}
	}
}

// serveProxies deploys proxies (served on Host 127.0.0.1) into a real
// engine behind a real HTTP server.
func serveProxies(t *testing.T, proxies ...contract.Deployment) *httptest.Server {
	t.Helper()
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	e.SetEnvironment(e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261204.100000.000", Hostnames: []string{"127.0.0.1"},
		APIProxies: proxies}, nil))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// plainAndStepped serves /plain (pass-through) and /stepped (one
// AssignMessage step) in front of target.
func plainAndStepped(t *testing.T, target string) *httptest.Server {
	t.Helper()
	stepped := proxyWithTarget("stepped", "/stepped", `<URL>`+target+`</URL>`)
	stepped["apiproxy/policies/AM-H.xml"] = `<AssignMessage name="AM-H"><Set><Headers><Header name="X-Step">yes</Header></Headers></Set></AssignMessage>`
	stepped["apiproxy/proxies/default.xml"] = strings.Replace(stepped["apiproxy/proxies/default.xml"], "<Request/>", "<Request><Step><Name>AM-H</Name></Step></Request>", 1)
	return serveProxies(t,
		deployment(t, "plain", "1", proxyWithTarget("plain", "/plain", `<URL>`+target+`</URL>`)),
		deployment(t, "stepped", "1", stepped))
}
