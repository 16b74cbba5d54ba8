package engine

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// The gateway benchmarks drive the same real backend, through the same
// in-process call (ServeHTTP with a recorder), via three front ends: a
// bare httputil.ReverseProxy tuned like the engine's pass-through, the
// engine with a pass-through proxy, and the engine with a five-policy
// chain. BenchmarkGatewayRatios runs all three in one run and reports
// throughput as a ratio of the bare proxy (higher is better; 1.0 = same).

func benchBackend(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"items":[1,2,3]}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// chainBundle is a proxy running five policies per request: three on the
// request path, two on the response path (plus a skipped conditional one).
func chainBundle(target string) map[string]string {
	files := bundletest.Proxy("chain", "/p", target)
	files["apiproxy/policies/AM-ReqHeader.xml"] = `<AssignMessage name="AM-ReqHeader"><Set><Headers><Header name="X-Client">{client.ip}</Header></Headers></Set></AssignMessage>`
	files["apiproxy/policies/EV-Query.xml"] = `<ExtractVariables name="EV-Query"><Source>request</Source><QueryParam name="id"><Pattern>{id}</Pattern></QueryParam><VariablePrefix>q</VariablePrefix></ExtractVariables>`
	files["apiproxy/policies/AM-Var.xml"] = `<AssignMessage name="AM-Var"><AssignVariable><Name>route.key</Name><Template>{request.verb}:{q.id}</Template></AssignVariable></AssignMessage>`
	files["apiproxy/policies/RF-Never.xml"] = `<RaiseFault name="RF-Never"/>`
	files["apiproxy/policies/SC-Stats.xml"] = `<StatisticsCollector name="SC-Stats"><Statistics><Statistic name="id" ref="q.id" type="string">none</Statistic></Statistics></StatisticsCollector>`
	files["apiproxy/policies/AM-RespHeader.xml"] = `<AssignMessage name="AM-RespHeader"><AssignTo>response</AssignTo><Set><Headers><Header name="X-Route-Key">{route.key}</Header></Headers></Set></AssignMessage>`
	files["apiproxy/proxies/default.xml"] = strings.Replace(strings.Replace(files["apiproxy/proxies/default.xml"],
		"<Request/>", `<Request><Step><Name>AM-ReqHeader</Name></Step><Step><Name>EV-Query</Name></Step><Step><Name>AM-Var</Name></Step><Step><Name>RF-Never</Name><Condition>request.header.X-Fail = "yes"</Condition></Step></Request>`, 1),
		"<Response/>", `<Response><Step><Name>SC-Stats</Name></Step><Step><Name>AM-RespHeader</Name></Step></Response>`, 1)
	return files
}

func benchEngine(b *testing.B, files map[string]string) http.Handler {
	e := New(zap.NewNop(), DefaultOptions())
	b.Cleanup(e.Close)
	env := e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{{Name: "p", Revision: "1", Bundle: bundletest.Zip(b, files)}}}, nil)
	if env.Status[0].State != "READY" {
		b.Fatal(env.Status[0].Errors)
	}
	e.SetEnvironment(env)
	return e
}

// bareProxy is the baseline: a ReverseProxy with the engine's transport
// tuning and buffer pool.
func bareProxy(b *testing.B, target string) http.Handler {
	u, _ := url.Parse(target)
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2048,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     32 << 10,
		ReadBufferSize:      32 << 10,
	}
	b.Cleanup(tr.CloseIdleConnections)
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = ""
			pr.SetXForwarded()
		},
		Transport:  tr,
		BufferPool: newBufferPool(32 << 10),
	}
}

func drive(b *testing.B, h http.Handler, check func(*httptest.ResponseRecorder)) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/p/items?id=42", nil)
		req.Host = "h"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		if check != nil {
			check(rec)
		}
	}
}

func benchBare(b *testing.B) {
	drive(b, bareProxy(b, benchBackend(b).URL), nil)
}

func benchPassThrough(b *testing.B) {
	drive(b, benchEngine(b, bundletest.Proxy("p", "/p", benchBackend(b).URL)), nil)
}

func benchChain(b *testing.B) {
	drive(b, benchEngine(b, chainBundle(benchBackend(b).URL)), func(rec *httptest.ResponseRecorder) {
		if rec.Header().Get("X-Route-Key") != "GET:42" {
			b.Fatalf("chain did not run: %v", rec.Header())
		}
	})
}

func BenchmarkBareReverseProxy(b *testing.B) { benchBare(b) }
func BenchmarkPassThrough(b *testing.B)      { benchPassThrough(b) }
func BenchmarkFivePolicyChain(b *testing.B)  { benchChain(b) }

// BenchmarkGatewayRatios reports, from one run, the engine's throughput as
// a fraction of the bare proxy's (passthrough/bare, chain/bare): each
// iteration sends one request through each of the three front ends in turn,
// so machine noise and drift hit all three alike.
func BenchmarkGatewayRatios(b *testing.B) {
	be := benchBackend(b)
	handlers := []http.Handler{bareProxy(b, be.URL), benchEngine(b, bundletest.Proxy("p", "/p", be.URL)), benchEngine(b, chainBundle(be.URL))}
	var spent [3]time.Duration
	b.ResetTimer()
	for b.Loop() {
		for i, h := range handlers {
			req := httptest.NewRequest(http.MethodGet, "/p/items?id=42", nil)
			req.Host = "h"
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			spent[i] += time.Since(start)
			if rec.Code != http.StatusOK {
				b.Fatalf("handler %d: status %d", i, rec.Code)
			}
		}
	}
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "passthrough/bare")
	b.ReportMetric(float64(spent[0])/float64(spent[2]), "chain/bare")
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "bare-ns/req")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "passthrough-ns/req")
	b.ReportMetric(float64(spent[2].Nanoseconds())/float64(b.N), "chain-ns/req")
}
