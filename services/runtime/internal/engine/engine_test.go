package engine

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func echoBackend(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "query": r.URL.RawQuery, "host": r.Host})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func deployment(t *testing.T, name, rev string, files map[string]string) contract.Deployment {
	return contract.Deployment{Name: name, Revision: rev, Bundle: bundletest.Zip(t, files)}
}

func newEngine(t *testing.T, c *contract.Contract) *Engine {
	e := New(zaptest.NewLogger(t), DefaultOptions())
	env := Compile(c, nil)
	e.SetEnvironment(env)
	return e
}

func serve(t *testing.T, e *Engine, host, target string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var body map[string]any
	if rec.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	}
	return rec.Code, body
}

func TestRouting(t *testing.T) {
	be := echoBackend(t)
	c := &contract.Contract{
		Organization: "org", Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"api.example.com"},
		APIProxies: []contract.Deployment{
			deployment(t, "root", "1", bundletest.Proxy("root", "/", be.URL+"/root")),
			deployment(t, "orders", "3", bundletest.Proxy("orders", "/orders", be.URL+"/svc/orders/")),
			deployment(t, "orders-v2", "1", bundletest.Proxy("orders-v2", "/orders/v2", be.URL)),
		},
	}
	e := newEngine(t, c)
	tests := []struct {
		name, host, target string
		wantCode           int
		wantPath           string
	}{
		{"longest base path wins", "api.example.com", "/orders/v2/list", 200, "/list"},
		{"base path prefix", "api.example.com", "/orders/42?x=1", 200, "/svc/orders/42"},
		{"base path exactly keeps target path", "api.example.com", "/orders", 200, "/svc/orders/"},
		{"segment boundary: /ordersX is not /orders", "api.example.com", "/ordersX", 200, "/root/ordersX"},
		{"host port is ignored", "api.example.com:8998", "/orders/v2", 200, "/"},
		{"host is case-insensitive", "API.example.com", "/orders/v2", 200, "/"},
		{"unknown host", "other.example.com", "/orders", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := serve(t, e, tt.host, tt.target)
			require.Equal(t, tt.wantCode, code, body)
			if tt.wantPath != "" {
				require.Equal(t, tt.wantPath, body["path"])
			}
		})
	}
	code, body := serve(t, e, "api.example.com", "/orders/42?x=1")
	require.Equal(t, 200, code)
	require.Equal(t, "x=1", body["query"])
	require.Equal(t, strings.TrimPrefix(be.URL, "http://"), body["host"], "the target sees its own host")
}

func TestNotFoundFault(t *testing.T) {
	e := New(zaptest.NewLogger(t), DefaultOptions())
	req := httptest.NewRequest(http.MethodGet, "/missing/path", nil)
	req.Host = "h.example.com"
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"fault":{"faultstring":"Unable to identify proxy for host: h.example.com and url: /missing/path","detail":{"errorcode":"messaging.adaptors.http.flow.ApplicationNotFound"}}}`, rec.Body.String())
}

func TestTargetUnavailable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	e := newEngine(t, &contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{deployment(t, "p", "1", bundletest.Proxy("p", "/p", deadURL))}})
	code, body := serve(t, e, "h", "/p")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, map[string]any{"fault": map[string]any{"faultstring": "The Service is temporarily unavailable",
		"detail": map[string]any{"errorcode": "messaging.adaptors.http.flow.ServiceUnavailable"}}}, body)
}

func TestTargetTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(func() { close(release); slow.Close() })
	opts := DefaultOptions()
	opts.IOTimeout = 50 * time.Millisecond
	e := New(zaptest.NewLogger(t), opts)
	e.SetEnvironment(Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{deployment(t, "p", "1", bundletest.Proxy("p", "/p", slow.URL))}}, nil))
	code, body := serve(t, e, "h", "/p")
	require.Equal(t, http.StatusGatewayTimeout, code)
	require.Equal(t, CodeGatewayTimeout, body["fault"].(map[string]any)["detail"].(map[string]any)["errorcode"])
}

func TestConditionalFlowsAndRouteRules(t *testing.T) {
	be := echoBackend(t)
	files := bundletest.Proxy("cond", "/cond", be.URL+"/default")
	files["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default">
  <Flows>
    <Flow name="get-items"><Condition>(proxy.pathsuffix MatchesPath "/items/*") and (request.verb = "GET")</Condition></Flow>
  </Flows>
  <HTTPProxyConnection><BasePath>/cond</BasePath></HTTPProxyConnection>
  <RouteRule name="none"><Condition>request.queryparam.route = "none"</Condition></RouteRule>
  <RouteRule name="alt"><Condition>request.header.X-Route = "alt"</Condition><URL>` + be.URL + `/alt</URL></RouteRule>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`
	e := newEngine(t, &contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{deployment(t, "cond", "1", files)}})

	code, body := serve(t, e, "h", "/cond/items/1")
	require.Equal(t, 200, code)
	require.Equal(t, "/default/items/1", body["path"])

	req := httptest.NewRequest(http.MethodGet, "/cond/x", nil)
	req.Host, req.Header = "h", http.Header{"X-Route": {"alt"}}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Contains(t, rec.Body.String(), `"/alt/x"`, "first matching RouteRule with a URL")

	req = httptest.NewRequest(http.MethodGet, "/cond/x?route=none", nil)
	req.Host = "h"
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	require.Empty(t, rec.Body.String(), "a RouteRule without a target makes no backend call")
}

func TestCompileReportsFailuresPerRevision(t *testing.T) {
	be := echoBackend(t)
	withPolicy := bundletest.Proxy("withpolicy", "/wp", be.URL)
	withPolicy["apiproxy/policies/JC-1.xml"] = `<JavaCallout name="JC-1"><ClassName>com.example.X</ClassName><ResourceURL>java://x.jar</ResourceURL></JavaCallout>`
	withPolicy["apiproxy/resources/java/x.jar"] = "PK"
	withPolicy["apiproxy/proxies/default.xml"] = strings.Replace(withPolicy["apiproxy/proxies/default.xml"], "<Request/>", "<Request><Step><Name>JC-1</Name></Step></Request>", 1)
	badCond := bundletest.Proxy("badcond", "/bc", be.URL)
	badCond["apiproxy/proxies/default.xml"] = strings.Replace(badCond["apiproxy/proxies/default.xml"], "<Flows/>", `<Flows><Flow name="f"><Condition>request.verb = </Condition></Flow></Flows>`, 1)

	env := Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
		APIProxies: []contract.Deployment{
			deployment(t, "good", "1", bundletest.Proxy("good", "/good", be.URL)),
			deployment(t, "withpolicy", "2", withPolicy),
			deployment(t, "badcond", "1", badCond),
			{Name: "notzip", Revision: "1", Bundle: []byte("nope")},
		}}, nil)
	byName := map[string]DeploymentStatus{}
	for _, s := range env.Status {
		byName[s.Name] = s
	}
	require.Equal(t, "READY", byName["good"].State)
	require.Equal(t, "ERROR", byName["withpolicy"].State)
	require.Contains(t, byName["withpolicy"].Errors[0], "apiproxy/policies/JC-1.xml JavaCallout: policy type JavaCallout is not supported by this runtime")
	require.Equal(t, "ERROR", byName["badcond"].State)
	require.Contains(t, byName["badcond"].Errors[0], "apiproxy/proxies/default.xml Flow f/Condition")
	require.Equal(t, "ERROR", byName["notzip"].State)
	require.Len(t, env.Proxies, 1, "only the good revision serves")
}

func TestCompileReusesUnchangedRevisions(t *testing.T) {
	be := echoBackend(t)
	d := deployment(t, "p", "1", bundletest.Proxy("p", "/p", be.URL))
	first := Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000", APIProxies: []contract.Deployment{d}}, nil)
	second := Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100001.000", APIProxies: []contract.Deployment{d}}, first)
	require.Same(t, first.Proxies[0], second.Proxies[0])
	changed := deployment(t, "p", "1", bundletest.Proxy("p", "/p", be.URL+"/other"))
	third := Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100002.000", APIProxies: []contract.Deployment{changed}}, second)
	require.NotSame(t, second.Proxies[0], third.Proxies[0], "same revision with different content is recompiled")
	withSA := changed
	withSA.ServiceAccount = "proxy-sa@o.iam.gserviceaccount.com"
	again := Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100002.500", APIProxies: []contract.Deployment{withSA}}, third)
	require.NotSame(t, third.Proxies[0], again.Proxies[0], "redeployed with another service account: recompiled")

	// Environment inputs count by content: equal target servers (TLS
	// settings included) keep the compiled proxy, a changed one does not.
	withTS := func(version string, enabled bool) *contract.Contract {
		return &contract.Contract{Organization: "o", Environment: "test", Version: version, APIProxies: []contract.Deployment{changed},
			TargetServers: []contract.TargetServer{{Name: "ts", Host: "127.0.0.1", Port: 1, IsEnabled: true, SSLInfo: &contract.SSLInfo{Enabled: enabled}}}}
	}
	fourth := Compile(withTS("20261122.100003.000", true), third)
	fifth := Compile(withTS("20261122.100004.000", true), fourth)
	require.Same(t, fourth.Proxies[0], fifth.Proxies[0], "an equal target server (fresh SSLInfo pointer) must not force a recompile")
	sixth := Compile(withTS("20261122.100005.000", false), fifth)
	require.NotSame(t, fifth.Proxies[0], sixth.Proxies[0])
}

func TestJoinTargetPath(t *testing.T) {
	tests := []struct{ target, suffix, want string }{
		{"", "", "/"},
		{"", "/a", "/a"},
		{"/", "/a", "/a"},
		{"/base", "", "/base"},
		{"/base/", "/a/b", "/base/a/b"},
		{"/base", "/a", "/base/a"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, joinTargetPath(tt.target, tt.suffix), "%q + %q", tt.target, tt.suffix)
	}
}
