package engine

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// uriRecorder is a backend that records the raw request URI (r.RequestURI,
// exactly as it came over the wire) and the headers the proxy set.
type uriRecorder struct {
	mu   sync.Mutex
	seen []http.Header
	uris []string
}

func (b *uriRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.uris = append(b.uris, r.RequestURI)
	b.seen = append(b.seen, r.Header.Clone())
	b.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// take returns what the backend saw since the last call ("" = nothing).
func (b *uriRecorder) take() (string, http.Header) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.uris) == 0 {
		return "", nil
	}
	uri, h := b.uris[len(b.uris)-1], b.seen[len(b.seen)-1]
	b.uris, b.seen = nil, nil
	return uri, h
}

// rawGet sends target byte for byte (no client-side cleaning) and returns
// the status and the fault's error code, if any.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var f struct {
		Fault struct {
			Detail struct {
				Errorcode string `json:"errorcode"`
			} `json:"detail"`
		} `json:"fault"`
	}
	_ = json.Unmarshal(body, &f)
	return resp.StatusCode, f.Fault.Detail.Errorcode
}

// TestPathTraversal runs every spelling of a dot segment and of an
// encoded slash through a real engine, on the pass-through path, on the
// full path (a policy step), through LocalTargetConnection, and asserts
// the exact request URI the backend receives, and that proxy.pathsuffix
// and request.path agree with it.
func TestPathTraversal(t *testing.T) {
	rec := &uriRecorder{}
	backend := httptest.NewServer(rec)
	t.Cleanup(backend.Close)
	target := `<URL>` + backend.URL + `/svc/base</URL>`

	stepped := proxyWithTarget("stepped", "/stepped", target)
	stepped["apiproxy/policies/AM-Vars.xml"] = `<AssignMessage name="AM-Vars"><Set><Headers>` +
		`<Header name="X-Suffix">{proxy.pathsuffix}</Header><Header name="X-Path">{request.path}</Header>` +
		`</Headers></Set></AssignMessage>`
	stepped["apiproxy/proxies/default.xml"] = strings.Replace(stepped["apiproxy/proxies/default.xml"], "<Request/>", "<Request><Step><Name>AM-Vars</Name></Step></Request>", 1)

	local := proxyWithTarget("local", "/local", target)
	local["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><LocalTargetConnection><Path>/plain</Path></LocalTargetConnection></TargetEndpoint>`

	// target.url from a policy, built from a client header.
	dyn := proxyWithTarget("dyn", "/dyn", target)
	dyn["apiproxy/policies/AM-URL.xml"] = `<AssignMessage name="AM-URL">` +
		`<AssignVariable><Name>target.url</Name><Template>` + backend.URL + `/svc/files/{request.header.file}</Template></AssignVariable>` +
		`<AssignVariable><Name>target.copy.pathsuffix</Name><Value>false</Value></AssignVariable></AssignMessage>`
	dyn["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><PreFlow><Request><Step><Name>AM-URL</Name></Step></Request></PreFlow>` +
		`<HTTPTargetConnection>` + target + `</HTTPTargetConnection></TargetEndpoint>`

	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	env := e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261204.100000.000", Hostnames: []string{"127.0.0.1"},
		APIProxies: []contract.Deployment{
			deployment(t, "plain", "1", proxyWithTarget("plain", "/plain", target)),
			deployment(t, "stepped", "1", stepped),
			deployment(t, "local", "1", local),
			deployment(t, "dyn", "1", dyn),
		}}, nil)
	for _, st := range env.Status {
		require.Equal(t, "READY", st.State, st.Errors)
	}
	e.SetEnvironment(env)
	require.True(t, env.Proxies[0].Endpoints[0].plain, "plain is served by the pass-through path")
	require.False(t, env.Proxies[1].Endpoints[0].plain)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")

	const (
		refused  = "protocol.http.InvalidPath"
		notFound = "messaging.adaptors.http.flow.ApplicationNotFound"
	)
	tests := []struct {
		name, suffix string // request: /<proxy><suffix>
		// backend: the URI the backend sees ("" = the request never
		// reaches it); pathsuffix: proxy.pathsuffix on the full path.
		backend, pathsuffix string
		status              int
		code                string
	}{
		{"plain path", "/a/b", "/svc/base/a/b", "/a/b", 200, ""},
		{"no suffix", "", "/svc/base", "", 200, ""},
		{"query kept", "/a/../b?q=1&r=%2F", "/svc/base/b?q=1&r=%2F", "/b", 200, ""},
		{"raw dot segment", "/./a/./b", "/svc/base/a/b", "/a/b", 200, ""},
		{"raw dot-dot inside the suffix", "/a/../b", "/svc/base/b", "/b", 200, ""},
		{"encoded dot-dot inside the suffix", "/a/%2e%2e/b", "/svc/base/b", "/b", 200, ""},
		{"upper-case encoded dot-dot", "/a/%2E%2E/b", "/svc/base/b", "/b", 200, ""},
		{"mixed dot-dot", "/a/.%2e/b", "/svc/base/b", "/b", 200, ""},
		{"mixed dot-dot reversed", "/a/%2E./b", "/svc/base/b", "/b", 200, ""},
		{"encoded single dot", "/a/%2e/b", "/svc/base/a/b", "/a/b", 200, ""},
		{"trailing dot keeps the slash", "/a/%2e", "/svc/base/a/", "/a/", 200, ""},
		{"trailing dot-dot keeps the slash", "/a/b/..", "/svc/base/a/", "/a/", 200, ""},
		{"dot-dot to the root and beyond", "/%2e%2e/%2e%2e", "", "", 400, refused},
		{"encoded dot-dot climbing to another path", "/%2e%2e/admin", "", "", 404, notFound},
		{"raw dot-dot climbing to another path", "/../admin", "", "", 404, notFound},
		{"encoded dot-dot above the root", "/%2e%2e/%2e%2e/admin", "", "", 400, refused},
		{"raw dot-dot above the root", "/../../admin", "", "", 400, refused},
		{"upper-case dot-dot above the root", "/%2E%2E/%2E%2E/%2E%2E/admin", "", "", 400, refused},
		{"dot-dot behind an encoded slash", "/..%2f..%2fadmin", "", "", 400, refused},
		{"upper-case dot-dot and encoded slash", "/%2E%2E%2Fadmin", "", "", 400, refused},
		{"encoded slash then dot-dot", "/a%2F..", "", "", 400, refused},
		{"dot behind an encoded slash", "/.%2fadmin", "", "", 400, refused},
		{"dot-dot behind an encoded backslash", "/..%5cadmin", "", "", 400, refused},
		{"raw backslash", `/..\admin`, "", "", 400, refused},
		{"encoded slash stays encoded", "/a%2fb", "/svc/base/a%2fb", "/a%2Fb", 200, ""},
		{"encoded slash upper case", "/a%2Fb/c", "/svc/base/a%2Fb/c", "/a%2Fb/c", 200, ""},
		{"other escapes kept as sent", "/a%20b/%C3%A9", "/svc/base/a%20b/%C3%A9", "/a b/é", 200, ""},
		{"double-encoded dots are data", "/%252e%252e/admin", "/svc/base/%252e%252e/admin", "/%2e%2e/admin", 200, ""},
		{"empty segments kept", "//a", "/svc/base//a", "//a", 200, ""},
	}
	for _, tt := range tests {
		for _, proxy := range []string{"/plain", "/stepped", "/local"} {
			t.Run(proxy+"/"+tt.name, func(t *testing.T) {
				rec.take()
				code, errcode := rawGet(t, addr, proxy+tt.suffix)
				uri, h := rec.take()
				require.Equal(t, tt.backend, uri, "backend request URI")
				require.Equal(t, tt.status, code)
				require.Equal(t, tt.code, errcode)
				if proxy == "/stepped" && uri != "" {
					require.Equal(t, tt.pathsuffix, h.Get("X-Suffix"), "proxy.pathsuffix")
					require.Equal(t, "/stepped"+tt.pathsuffix, h.Get("X-Path"), "request.path")
				}
			})
		}
	}
	// An encoded slash is not a segment boundary for routing either.
	code, errcode := rawGet(t, addr, "/plain%2fa")
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, notFound, errcode)
	uri, _ := rec.take()
	require.Empty(t, uri)

	// target.url set by a policy: a dot segment in it is never forwarded.
	for _, tt := range []struct{ file, backend string }{
		{"report.pdf", "/svc/files/report.pdf"},
		{"../../admin", ""},
		{"%2e%2e/admin", ""},
		{"a/./b", ""},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/dyn", nil)
		require.NoError(t, err)
		req.Header.Set("File", tt.file)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		uri, _ := rec.take()
		require.Equal(t, tt.backend, uri, tt.file)
		if tt.backend == "" {
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode, tt.file)
			require.Contains(t, string(body), `"errorcode":"protocol.http.BadPath"`)
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	for _, tt := range []struct{ in, wire, vars, bad string }{
		{"/", "/", "/", ""},
		{"", "/", "/", ""},
		{"/a/b", "/a/b", "/a/b", ""},
		{"/a/./b/../c", "/a/c", "/a/c", ""},
		{"/a/%2E%2e/c", "/c", "/c", ""},
		{"/a/b/.", "/a/b/", "/a/b/", ""},
		{"/a/..", "/", "/", ""},
		{"/..", "", "", "dot segment above the root"},
		{"/a%2Fb", "/a%2Fb", "/a%2Fb", ""},
		{"/a%2fb%20c", "/a%2fb%20c", "/a%2Fb c", ""},
		{"/a%252Fb", "/a%252Fb", "/a%2Fb", ""},
		{"/x%2F%2e%2e", "", "", "dot segment behind an encoded slash"},
		{"/.a/..b/...", "/.a/..b/...", "/.a/..b/...", ""},
	} {
		p, bad := canonicalPath(tt.in)
		require.Equal(t, tt.bad, bad, tt.in)
		if bad == "" {
			require.Equal(t, tt.wire, p.wire, tt.in)
			require.Equal(t, tt.vars, p.vars, tt.in)
		}
	}
	for _, tt := range []struct{ p, bp, want string }{
		{"/v1/w", "/v1/w", ""},
		{"/v1/w/x/y", "/v1/w", "/x/y"},
		{"/v1/w/", "/v1/w", "/"},
		{"/a%2Fb/c", "/", "/a%2Fb/c"},
	} {
		require.Equal(t, tt.want, suffixOf(tt.p, tt.bp), "%s - %s", tt.p, tt.bp)
	}
}
