//go:build integration

package engine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// cacheProxy is a proxy with every cache policy: ResponseCache on /item
// (keyed by ?id), InvalidateCache of that entry on /invalidate, and
// PopulateCache, LookupCache and InvalidateCache (with PurgeChildEntries)
// of a named cache at Global scope on /put, /get and /del.
func cacheProxy(target string) map[string]string {
	return map[string]string{
		"apiproxy/c.xml": `<APIProxy name="c" revision="1"/>`,
		"apiproxy/proxies/default.xml": `<ProxyEndpoint name="default">
  <PreFlow><Request><Step><Name>RC</Name><Condition>proxy.pathsuffix = "/item"</Condition></Step></Request></PreFlow>
  <Flows>
    <Flow name="put"><Condition>proxy.pathsuffix = "/put"</Condition><Request><Step><Name>PC</Name></Step></Request></Flow>
    <Flow name="get"><Condition>proxy.pathsuffix = "/get"</Condition><Request><Step><Name>LC</Name></Step><Step><Name>AM-Out</Name></Step></Request></Flow>
    <Flow name="del"><Condition>proxy.pathsuffix = "/del"</Condition><Request><Step><Name>IC</Name></Step></Request></Flow>
    <Flow name="invalidate"><Condition>proxy.pathsuffix = "/invalidate"</Condition><Request><Step><Name>IC-RC</Name></Step></Request></Flow>
  </Flows>
  <PostFlow><Response><Step><Name>AM-Hit</Name><Condition>proxy.pathsuffix = "/item"</Condition></Step></Response></PostFlow>
  <HTTPProxyConnection><BasePath>/c</BasePath></HTTPProxyConnection>
  <RouteRule name="backend"><Condition>proxy.pathsuffix = "/item"</Condition><TargetEndpoint>default</TargetEndpoint></RouteRule>
  <RouteRule name="none"/>
</ProxyEndpoint>`,
		"apiproxy/targets/default.xml": `<TargetEndpoint name="default">
  <PostFlow><Response><Step><Name>RC</Name></Step></Response></PostFlow>
  <HTTPTargetConnection><URL>` + target + `</URL></HTTPTargetConnection>
</TargetEndpoint>`,
		"apiproxy/policies/RC.xml": `<ResponseCache name="RC"><CacheKey><KeyFragment ref="request.queryparam.id"/></CacheKey>
  <ExpirySettings><TimeoutInSeconds>300</TimeoutInSeconds></ExpirySettings></ResponseCache>`,
		"apiproxy/policies/IC-RC.xml": `<InvalidateCache name="IC-RC"><CacheKey><KeyFragment ref="request.queryparam.id"/></CacheKey></InvalidateCache>`,
		"apiproxy/policies/PC.xml": `<PopulateCache name="PC"><CacheKey><KeyFragment ref="request.queryparam.k"/></CacheKey>
  <CacheResource>shared</CacheResource><Scope>Global</Scope>
  <ExpirySettings><TimeoutInSeconds>300</TimeoutInSeconds></ExpirySettings><Source>request.queryparam.v</Source></PopulateCache>`,
		"apiproxy/policies/LC.xml": `<LookupCache name="LC"><CacheKey><KeyFragment ref="request.queryparam.k"/></CacheKey>
  <CacheResource>shared</CacheResource><Scope>Global</Scope><AssignTo>v</AssignTo></LookupCache>`,
		"apiproxy/policies/IC.xml": `<InvalidateCache name="IC"><CacheKey><KeyFragment ref="request.queryparam.k"/></CacheKey>
  <CacheResource>shared</CacheResource><Scope>Global</Scope><PurgeChildEntries>true</PurgeChildEntries></InvalidateCache>`,
		"apiproxy/policies/AM-Out.xml": `<AssignMessage name="AM-Out"><AssignTo>response</AssignTo><IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables>
  <Set><Payload contentType="text/plain">v=[{v}] hit=[{lookupcache.LC.cachehit}]</Payload></Set></AssignMessage>`,
		"apiproxy/policies/AM-Hit.xml": `<AssignMessage name="AM-Hit"><AssignTo>response</AssignTo>
  <Set><Headers><Header name="X-Cache-Hit">{responsecache.RC.cachehit}</Header></Headers></Set></AssignMessage>`,
	}
}

// cacheMP is one message processor: its own engine and runtime data store
// (so its own in-memory cache level) over the shared Cassandra.
func cacheMP(t *testing.T, data *rtdata.Store, org string, files map[string]string) http.Handler {
	t.Helper()
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	e.SetRuntimeData(data)
	env := e.Compile(&contract.Contract{Organization: org, Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{{Name: "c", Revision: "1", Bundle: bundletest.Zip(t, files)}}}, nil)
	require.Equal(t, "READY", env.Status[0].State, "%v", env.Status[0].Errors)
	e.SetEnvironment(env)
	return e
}

func serveCache(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "h"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, "%s: %s", path, rec.Body)
	return rec
}

// TestCachesAcrossMessageProcessors runs two message processors over one
// Cassandra: what one caches is a hit on the other, and an invalidation on
// one is seen by the other once its in-memory copy lapses (rtdata.L1TTL),
// driven by the clock both share, never by sleeping.
func TestCachesAcrossMessageProcessors(t *testing.T) {
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	clock := &testClock{now: time.Now()}
	var calls atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Call", strconv.FormatInt(calls.Add(1), 10))
		_, _ = io.WriteString(w, "payload")
	}))
	t.Cleanup(backend.Close)
	files := cacheProxy(backend.URL)
	mp1 := cacheMP(t, rtdata.New(session, org, rtdata.Options{Now: clock.Now}), org, files)
	mp2 := cacheMP(t, rtdata.New(session, org, rtdata.Options{Now: clock.Now}), org, files)

	item := func(mp http.Handler) (call, hit string) {
		rec := serveCache(t, mp, "/c/item?id=1")
		require.Equal(t, "payload", rec.Body.String())
		return rec.Header().Get("X-Call"), rec.Header().Get("X-Cache-Hit")
	}
	requireItem := func(mp http.Handler, wantCall, wantHit string) {
		t.Helper()
		call, hit := item(mp)
		require.Equal(t, wantCall, call, "the response of target call #%s", wantCall)
		require.Equal(t, wantHit, hit)
	}

	// ResponseCache: the response MP1 cached is MP2's hit, the target is
	// called once.
	requireItem(mp1, "1", "false")
	requireItem(mp2, "1", "true")
	require.EqualValues(t, 1, calls.Load())

	// InvalidateCache on MP2: MP2 misses at once and caches call 2.
	serveCache(t, mp2, "/c/invalidate?id=1")
	requireItem(mp2, "2", "false")
	// MP1 may serve its in-memory copy for at most L1TTL: Apigee's L1 is
	// eventually consistent the same way.
	requireItem(mp1, "1", "true")
	clock.Advance(rtdata.L1TTL)
	requireItem(mp1, "2", "true")
	require.EqualValues(t, 2, calls.Load())

	// PopulateCache on MP1, LookupCache on MP2.
	serveCache(t, mp1, "/c/put?k=a&v=one")
	serveCache(t, mp1, "/c/put?k=a__child&v=two")
	require.Equal(t, "v=[one] hit=[true]", serveCache(t, mp2, "/c/get?k=a").Body.String())
	require.Equal(t, "v=[two] hit=[true]", serveCache(t, mp2, "/c/get?k=a__child").Body.String())
	// InvalidateCache with PurgeChildEntries on MP2 clears the key and its
	// child for MP2 at once and for MP1 within the bound.
	serveCache(t, mp2, "/c/del?k=a")
	require.Equal(t, "v=[] hit=[false]", serveCache(t, mp2, "/c/get?k=a").Body.String())
	require.Equal(t, "v=[] hit=[false]", serveCache(t, mp2, "/c/get?k=a__child").Body.String())
	require.Equal(t, "v=[one] hit=[true]", serveCache(t, mp1, "/c/get?k=a").Body.String(), "MP1's in-memory copy, within L1TTL")
	clock.Advance(rtdata.L1TTL)
	require.Equal(t, "v=[] hit=[false]", serveCache(t, mp1, "/c/get?k=a").Body.String())
	require.Equal(t, "v=[] hit=[false]", serveCache(t, mp1, "/c/get?k=a__child").Body.String())

	// Clearing the named cache as MART does (caches.delete) reaches both
	// within the bound.
	serveCache(t, mp1, "/c/put?k=b&v=three")
	require.Equal(t, "v=[three] hit=[true]", serveCache(t, mp2, "/c/get?k=b").Body.String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, store.NewCaches(session).Clear(ctx, org, "test", "shared"))
	clock.Advance(rtdata.L1TTL)
	require.Equal(t, "v=[] hit=[false]", serveCache(t, mp1, "/c/get?k=b").Body.String())
	require.Equal(t, "v=[] hit=[false]", serveCache(t, mp2, "/c/get?k=b").Body.String())
}
