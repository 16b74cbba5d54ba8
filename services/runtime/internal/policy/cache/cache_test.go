package cache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func newMC(tb testing.TB, state flow.State) *flow.MessageContext {
	tb.Helper()
	r := httptest.NewRequest(http.MethodGet, "/weather/forecast?w=2442", nil)
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Accept-Language", "fr")
	mc := flow.New(&flow.Proxy{Org: "apifactory", Env: "test", Name: "weatherapi", Revision: "16", Endpoint: "default", BasePath: "/weather"},
		message.FromRequest(r), "127.0.0.1:1", zap.NewNop())
	mc.State = state
	mc.TargetName = "backend"
	return mc
}

func TestScopePrefix(t *testing.T) {
	k := KeyContext{Org: "apifactory", Env: "test", APIProxy: "weatherapi", Revision: "16", ProxyEndpoint: "default", TargetEndpoint: "backend"}
	onTarget := k
	onTarget.OnTarget = true
	tests := []struct {
		scope Scope
		kc    KeyContext
		want  string
	}{
		{Global, k, "apifactory__test__"},
		{Application, k, "apifactory__test__weatherapi__"},
		{Proxy, k, "apifactory__test__weatherapi__16__default__"},
		{Proxy, onTarget, "apifactory__test__weatherapi__16__default__"},
		{Target, k, "apifactory__test__weatherapi__16__backend__"},
		{Exclusive, k, "apifactory__test__weatherapi__16__default__"},
		{Exclusive, onTarget, "apifactory__test__weatherapi__16__backend__"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ScopePrefix(tt.scope, tt.kc), "scope %d on target %v", tt.scope, tt.kc.OnTarget)
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		prefix, scope string
		fragments     []string
		want          string
	}{
		// Apigee's documented examples.
		{"UserToken", "ignored__", []string{"apiAccessToken", "c1"}, "UserToken__apiAccessToken__c1"},
		{"", "apifactory__test__weatherapi__16__default__", []string{"apiAccessToken"}, "apifactory__test__weatherapi__16__default__apiAccessToken"},
		{"", "apifactory__test__", []string{"apiAccessToken"}, "apifactory__test__apiAccessToken"},
		{"p", "", nil, "p"},
		{"", "o__e__", []string{"a", "", "b"}, "o__e__a____b"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Key(tt.prefix, tt.scope, tt.fragments))
	}
}

func TestKeySpecBuild(t *testing.T) {
	tests := []struct {
		name  string
		spec  keySpec
		state flow.State
		want  string
	}{
		{"exclusive on the proxy", keySpec{fragments: []fragment{{lit: "a"}, {ref: "request.queryparam.w"}}}, flow.ProxyRequest,
			"apifactory__test__weatherapi__16__default__a__2442"},
		{"exclusive on the target", keySpec{fragments: []fragment{{ref: "request.queryparam.w"}}}, flow.TargetResponse,
			"apifactory__test__weatherapi__16__backend__2442"},
		{"prefix overrides scope", keySpec{prefix: "P", scope: Global, fragments: []fragment{{ref: "request.queryparam.w"}}}, flow.ProxyRequest, "P__2442"},
		{"unresolved ref falls back to the literal", keySpec{scope: Global, fragments: []fragment{{ref: "nope", lit: "dflt"}, {lit: "x"}}}, flow.ProxyRequest,
			"apifactory__test__dflt__x"},
		{"unresolved ref without literal is left out", keySpec{scope: Global, fragments: []fragment{{ref: "nope"}, {lit: "x"}}}, flow.ProxyRequest,
			"apifactory__test__x"},
		{"cache context names another proxy's entries", keySpec{scope: Exclusive, apiProxy: "other", targetEndpoint: "t2", fragments: []fragment{{lit: "k"}}},
			flow.ProxyRequest, "apifactory__test__other__16__t2__k"},
		{"cache context proxy endpoint", keySpec{scope: Exclusive, proxyEndpoint: "pe2", fragments: []fragment{{lit: "k"}}}, flow.TargetRequest,
			"apifactory__test__weatherapi__16__pe2__k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.spec.build(newMC(t, tt.state)))
		})
	}
}

func TestExpiryParsers(t *testing.T) {
	d, err := parseTimeout("600")
	require.NoError(t, err)
	require.Equal(t, 10*time.Minute, d)
	for _, bad := range []string{"-1", "ten", "1.5", ""} {
		_, err := parseTimeout(bad)
		require.Error(t, err, bad)
	}
	tod, err := parseTimeOfDay("14:30:00")
	require.NoError(t, err)
	require.Equal(t, 14*time.Hour+30*time.Minute, tod)
	for _, bad := range []string{"24:00:00", "12:60:00", "12:00", "1:2:3:4", "aa:bb:cc", "12:00:60", "-1:00:00"} {
		_, err := parseTimeOfDay(bad)
		require.Error(t, err, bad)
	}
	date, err := parseExpiryDate("08-03-2030")
	require.NoError(t, err)
	require.Equal(t, time.Date(2030, 8, 3, 0, 0, 0, 0, time.UTC), date)
	for _, bad := range []string{"2030-08-03", "13-01-2030", "08/03/2030", "8-3-2030"} {
		_, err := parseExpiryDate(bad)
		require.Error(t, err, bad)
	}

	now := time.Date(2030, 1, 1, 15, 0, 0, 0, time.UTC)
	require.Equal(t, time.Date(2030, 1, 1, 16, 0, 0, 0, time.UTC), nextTimeOfDay(now, 16*time.Hour))
	require.Equal(t, time.Date(2030, 1, 2, 14, 30, 0, 0, time.UTC), nextTimeOfDay(now, tod), "a time already past today is tomorrow")
	require.Equal(t, time.Date(2030, 1, 2, 15, 0, 0, 0, time.UTC), nextTimeOfDay(now, 15*time.Hour))
}

func TestExpiryResolution(t *testing.T) {
	now := time.Date(2030, 1, 1, 15, 0, 0, 0, time.UTC)
	mc := newMC(t, flow.ProxyRequest)
	mc.SetVar("ttl", "42")
	mc.SetVar("bad", "soon")
	tests := []struct {
		name string
		e    expiry
		want time.Time
		set  bool
	}{
		{"nothing", expiry{}, time.Time{}, false},
		{"timeout literal", expiry{timeout: setting{lit: "60", present: true}}, now.Add(time.Minute), true},
		{"timeout ref wins over literal", expiry{timeout: setting{ref: "ttl", lit: "60", present: true}}, now.Add(42 * time.Second), true},
		{"unresolved ref falls back to literal", expiry{timeout: setting{ref: "nope", lit: "60", present: true}}, now.Add(time.Minute), true},
		{"unparsable ref and no literal: unset", expiry{timeout: setting{ref: "bad", present: true}}, time.Time{}, false},
		{"timeout overrides time of day and date", expiry{timeout: setting{lit: "1", present: true}, timeOfDay: setting{lit: "16:00:00", present: true},
			date: setting{lit: "01-05-2030", present: true}}, now.Add(time.Second), true},
		{"time of day before date", expiry{timeOfDay: setting{lit: "16:00:00", present: true}, date: setting{lit: "01-05-2030", present: true}},
			time.Date(2030, 1, 1, 16, 0, 0, 0, time.UTC), true},
		{"date", expiry{date: setting{lit: "01-05-2030", present: true}}, time.Date(2030, 1, 5, 0, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, set := tt.e.at(mc, now)
			require.Equal(t, tt.set, set)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestValueRoundTrip(t *testing.T) {
	for _, v := range []any{"text", "", true, int64(42), 3.5, map[string]any{"a": "b"}, []any{"x", 1.0}} {
		b, err := encodeValue(v)
		require.NoError(t, err)
		got, ok := decodeValue(b)
		require.True(t, ok, "%v", v)
		require.Equal(t, v, got)
	}
	b, err := encodeValue(7)
	require.NoError(t, err)
	got, ok := decodeValue(b)
	require.True(t, ok)
	require.Equal(t, int64(7), got)
	_, err = encodeValue(message.NewResponse())
	require.ErrorIs(t, err, errNotCacheable, "a message is not a value")
	_, err = encodeValue(func() {})
	require.ErrorIs(t, err, errNotCacheable)
	for _, bad := range [][]byte{nil, []byte("?x"), []byte("bmaybe"), []byte("i1.5"), []byte("j{"), []byte("Rjunk")} {
		_, ok := decodeValue(bad)
		require.False(t, ok, "%q", bad)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	h := http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}, "X-Empty": {""}}
	b := encodeResponse(203, "Non-Authoritative", h, []byte(`{"ok":true}`))
	r, err := decodeResponse(b)
	require.NoError(t, err)
	require.Equal(t, 203, r.status)
	require.Equal(t, "Non-Authoritative", r.reason)
	require.Equal(t, h, r.header)
	require.Equal(t, `{"ok":true}`, string(r.body))
	require.Equal(t, b, encodeResponse(r.status, r.reason, r.header, r.body), "deterministic")

	// A LookupCache over a ResponseCache entry reads its payload.
	v, ok := decodeValue(b)
	require.True(t, ok)
	require.Equal(t, `{"ok":true}`, v)

	for _, bad := range [][]byte{nil, {'s'}, {tagResponse}, {tagResponse, 0x80}, {tagResponse, 42, 0, 0}, append([]byte{tagResponse, 200, 1, 0, 5}, "ab"...)} {
		_, err := decodeResponse(bad)
		require.ErrorIs(t, err, errBadEntry, "%q", bad)
	}
}

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		in   []string
		want map[string]string
	}{
		{[]string{"max-age=60"}, map[string]string{"max-age": "60"}},
		{[]string{"public, S-MaxAge=30, max-age=60"}, map[string]string{"public": "", "s-maxage": "30", "max-age": "60"}},
		{[]string{`private="x, y", max-age=5`}, map[string]string{"private": "x, y", "max-age": "5"}},
		{[]string{"max-age=1", "max-age=2"}, map[string]string{"max-age": "1"}},
		{[]string{" , ,"}, map[string]string{}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ParseCacheControl(tt.in), "%q", tt.in)
	}
}

func TestHeaderExpiry(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    http.Header
		want time.Time
		ok   bool
	}{
		{"none", http.Header{}, time.Time{}, false},
		{"s-maxage first", http.Header{"Cache-Control": {"max-age=60, s-maxage=10"}, "Expires": {"Tue, 01 Jan 2030 01:00:00 GMT"}}, now.Add(10 * time.Second), true},
		{"max-age", http.Header{"Cache-Control": {"max-age=60"}}, now.Add(time.Minute), true},
		{"expires", http.Header{"Expires": {"Tue, 01 Jan 2030 01:00:00 GMT"}}, now.Add(time.Hour), true},
		{"bad expires is expired", http.Header{"Expires": {"0"}}, now, true},
		{"bad max-age falls to expires", http.Header{"Cache-Control": {"max-age=x"}, "Expires": {"Tue, 01 Jan 2030 00:00:30 GMT"}}, now.Add(30 * time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := headerExpiry(tt.h, now)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestCompileErrors: what cannot run fails the deployment naming the
// element (runtime data is checked last, so these need no Cassandra).
func TestCompileErrors(t *testing.T) {
	const key = `<CacheKey><KeyFragment>k</KeyFragment></CacheKey>`
	tests := []struct {
		typ, xml, want string
	}{
		{"PopulateCache", `<PopulateCache name="P"><CacheKey>`, "PopulateCache: malformed XML"},
		{"PopulateCache", `<LookupCache name="P"/>`, "root element is <LookupCache>"},
		{"PopulateCache", `<PopulateCache name="P">` + key + `<Source>v</Source><Bogus/></PopulateCache>`, "PopulateCache/Bogus: element <Bogus> is not allowed in <PopulateCache>"},
		{"PopulateCache", `<PopulateCache name="P">` + key + `</PopulateCache>`, "PopulateCache/Source: <Source>"},
		{"PopulateCache", `<PopulateCache name="P"><Source>v</Source></PopulateCache>`, "PopulateCache/CacheKey: <CacheKey> with at least one <KeyFragment> is required"},
		{"PopulateCache", `<PopulateCache name="P"><CacheKey><Prefix>p</Prefix></CacheKey><Source>v</Source></PopulateCache>`, "PopulateCache/CacheKey: <CacheKey> needs at least one <KeyFragment>"},
		{"PopulateCache", `<PopulateCache name="P"><CacheKey><KeyFragment/></CacheKey><Source>v</Source></PopulateCache>`, "PopulateCache/CacheKey/KeyFragment: a <KeyFragment> needs"},
		{"PopulateCache", `<PopulateCache name="P"><CacheKey><KeyFragment>k</KeyFragment><Suffix/></CacheKey><Source>v</Source></PopulateCache>`, "PopulateCache/CacheKey/Suffix"},
		{"PopulateCache", `<PopulateCache name="P">` + key + `<Scope>Everywhere</Scope><Source>v</Source></PopulateCache>`, `PopulateCache/Scope: scope "Everywhere" is not one of`},
		{"PopulateCache", `<PopulateCache name="P">` + key + `<ExpirySettings><TimeoutInSeconds>-5</TimeoutInSeconds></ExpirySettings><Source>v</Source></PopulateCache>`,
			"PopulateCache/ExpirySettings/TimeoutInSeconds: InvalidTimeout"},
		{"PopulateCache", `<PopulateCache name="P">` + key + `<ExpirySettings><TimeoutInSec>soon</TimeoutInSec></ExpirySettings><Source>v</Source></PopulateCache>`,
			"PopulateCache/ExpirySettings/TimeoutInSec"},
		{"PopulateCache", `<PopulateCache name="P">` + key + `<ExpirySettings><TimeOfDay>25:00:00</TimeOfDay></ExpirySettings><Source>v</Source></PopulateCache>`,
			"PopulateCache/ExpirySettings/TimeOfDay: TimeOfDay \"25:00:00\" is not hh:mm:ss"},
		{"PopulateCache", `<PopulateCache name="P">` + key + `<ExpirySettings><ExpiryDate>2030-01-01</ExpiryDate></ExpirySettings><Source>v</Source></PopulateCache>`,
			"PopulateCache/ExpirySettings/ExpiryDate: ExpiryDate \"2030-01-01\" is not mm-dd-yyyy"},
		{"PopulateCache", `<PopulateCache name="P">` + key + `<ExpirySettings><Timeout>1</Timeout></ExpirySettings><Source>v</Source></PopulateCache>`,
			"PopulateCache/ExpirySettings/Timeout: element <Timeout> is not allowed in <ExpirySettings>"},
		{"LookupCache", `<LookupCache name="L">` + key + `</LookupCache>`, "LookupCache/AssignTo"},
		{"LookupCache", `<LookupCache name="L">` + key + `<AssignTo>v</AssignTo><CacheLookupTimeoutInSeconds>-1</CacheLookupTimeoutInSeconds></LookupCache>`,
			"LookupCache/CacheLookupTimeoutInSeconds: InvalidTimeout: CacheLookupTimeoutInSeconds -1 value should be greater than zero."},
		{"LookupCache", `<LookupCache name="L">` + key + `<AssignTo>v</AssignTo><ExpirySettings/></LookupCache>`, "LookupCache/ExpirySettings: element <ExpirySettings> is not allowed"},
		{"InvalidateCache", `<InvalidateCache name="I">` + key + `<PurgeChildEntries>yes</PurgeChildEntries></InvalidateCache>`, "InvalidateCache/PurgeChildEntries"},
		{"InvalidateCache", `<InvalidateCache name="I">` + key + `<CacheContext><Revision>1</Revision></CacheContext></InvalidateCache>`, "InvalidateCache/CacheContext/Revision"},
		{"ResponseCache", `<ResponseCache name="R">` + key + `<SkipCacheLookup>request.header.bypass === "true"</SkipCacheLookup></ResponseCache>`,
			"ResponseCache/SkipCacheLookup: InvalidMessagePatternForErrorCode: Invalid message pattern found for error code steps.cache.InvalidSkipCacheLookUpCondition"},
		{"ResponseCache", `<ResponseCache name="R">` + key + `<SkipCachePopulation>(</SkipCachePopulation></ResponseCache>`,
			"steps.cache.InvalidSkipCachePopulationCondition"},
		{"ResponseCache", `<ResponseCache name="R">` + key + `<ExcludeErrorResponse>sometimes</ExcludeErrorResponse></ResponseCache>`, "ResponseCache/ExcludeErrorResponse"},
		{"ResponseCache", `<ResponseCache name="R">` + key + `<CacheLookupTimeoutInSeconds>-1</CacheLookupTimeoutInSeconds></ResponseCache>`, "InvalidTimeout"},
		{"ResponseCache", `<ResponseCache name="R">` + key + `<Source>x</Source></ResponseCache>`, "ResponseCache/Source"},
		{"ResponseCache", `<ResponseCache name="R">` + key + `</ResponseCache>`, "policy type ResponseCache needs the runtime data store"},
	}
	compilers := map[string]func(*flow.CompileContext) (flow.Policy, error){
		"PopulateCache": CompilePopulate, "LookupCache": CompileLookup, "InvalidateCache": CompileInvalidate, "ResponseCache": CompileResponse,
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.want, func(t *testing.T) {
			_, err := compilers[tt.typ](&flow.CompileContext{Bundle: &bundle.Bundle{Name: "p"}, Env: "test",
				Policy: &bundle.Policy{Type: tt.typ, Name: "X", XML: []byte(tt.xml)}})
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := CompileResponse(&flow.CompileContext{Bundle: &bundle.Bundle{Name: "sf", Kind: bundle.KindSharedFlow}, Env: "test",
		Policy: &bundle.Policy{Type: "ResponseCache", Name: "R", XML: []byte(`<ResponseCache name="R">` + key + `</ResponseCache>`)}})
	require.ErrorContains(t, err, "cannot be used in a shared flow")
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(encodeResponse(200, "OK", http.Header{"A": {"b"}}, []byte("body")))
	f.Add([]byte{tagResponse, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})
	f.Add([]byte("R\xc8\x01\x00\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeResponse(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a decodable entry with the same parts.
		again, err := decodeResponse(encodeResponse(r.status, r.reason, r.header, r.body))
		require.NoError(t, err)
		require.Equal(t, r.status, again.status)
		require.Equal(t, r.reason, again.reason)
		require.Equal(t, string(r.body), string(again.body))
		require.Equal(t, len(r.header), len(again.header))
	})
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", `private="a,b", s-maxage=1`, `"`, ",,=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name := range ParseCacheControl([]string{s}) {
			require.Equal(t, strings.ToLower(name), name)
			require.NotEmpty(t, name)
		}
	})
}
