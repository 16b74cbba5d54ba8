//go:build integration

package engine

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// BenchmarkResponseCacheHit compares a ResponseCache hit (the request
// PreFlow answers from the cache: the in-memory level, read through to
// Cassandra once per rtdata.L1TTL) with the engine's pass-through proxy to
// the same local backend, one request through each per iteration, and
// reports throughput as hit/passthrough (above 1: the hit is faster).
//
//	HYBRID_CASSANDRA=127.0.0.1:9042 go test -tags integration -run '^$' \
//	  -bench ResponseCacheHit -benchmem ./internal/engine/
func BenchmarkResponseCacheHit(b *testing.B) {
	session := cassandratest.Session(b)
	org := cassandratest.NewOrg(b, session)
	be := benchBackend(b)
	// The cached proxy's own backend counts its calls: one, the miss.
	var calls atomic.Int64
	counted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		be.Config.Handler.ServeHTTP(w, r)
	}))
	b.Cleanup(counted.Close)

	files := bundletest.Proxy("p", "/p", counted.URL)
	files["apiproxy/policies/RC.xml"] = `<ResponseCache name="RC"><CacheKey><KeyFragment ref="request.uri"/></CacheKey>
  <ExpirySettings><TimeoutInSeconds>3600</TimeoutInSeconds></ExpirySettings></ResponseCache>`
	files["apiproxy/proxies/default.xml"] = replaceOnce(b, files["apiproxy/proxies/default.xml"], "<Request/>", `<Request><Step><Name>RC</Name></Step></Request>`)
	files["apiproxy/targets/default.xml"] = replaceOnce(b, files["apiproxy/targets/default.xml"], "<Response/>", `<Response><Step><Name>RC</Name></Step></Response>`)
	e := New(zap.NewNop(), DefaultOptions())
	b.Cleanup(e.Close)
	e.SetRuntimeData(rtdata.New(session, org, rtdata.Options{}))
	env := e.Compile(&contract.Contract{Organization: org, Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{{Name: "p", Revision: "1", Bundle: bundletest.Zip(b, files)}}}, nil)
	if env.Status[0].State != "READY" {
		b.Fatal(env.Status[0].Errors)
	}
	e.SetEnvironment(env)
	handlers := []http.Handler{benchEngine(b, bundletest.Proxy("p", "/p", be.URL)), e}

	one := func(h http.Handler) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/p/items?id=42", nil)
		req.Host = "h"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.String() != `{"ok":true,"items":[1,2,3]}` {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		return rec
	}
	one(e) // the miss that fills the cache

	var spent [2]time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, h := range handlers {
			start := time.Now()
			one(h)
			spent[i] += time.Since(start)
		}
	}
	if n := calls.Load(); n != 1 {
		b.Fatalf("the cached proxy called its backend %d times, want 1 (the first miss)", n)
	}
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "hit/passthrough")
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "passthrough-ns/req")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "hit-ns/req")
}

func replaceOnce(tb testing.TB, s, old, repl string) string {
	tb.Helper()
	if !strings.Contains(s, old) {
		tb.Fatalf("%q not found", old)
	}
	return strings.Replace(s, old, repl, 1)
}
