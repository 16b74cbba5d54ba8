package engine

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// traceSink keeps the captures a DebugSink is handed.
type traceSink struct {
	mu   sync.Mutex
	recs []traceRecord
}

func (s *traceSink) OfferTrace(org, env string, rec []byte) {
	var r traceRecord
	if err := json.Unmarshal(rec, &r); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
}

func (s *traceSink) all() []traceRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]traceRecord(nil), s.recs...)
}

// debugProxy is a proxy with an AssignMessage that always runs and one
// whose condition holds only for ?skip=no.
func debugProxy(target string) map[string]string {
	p := bundletest.Proxy("dbg", "/dbg", target)
	p["apiproxy/proxies/default.xml"] = strings.Replace(p["apiproxy/proxies/default.xml"], "<Request/>",
		`<Request><Step><Name>AM-Set</Name></Step><Step><Name>AM-Cond</Name><Condition>request.queryparam.skip = "no"</Condition></Step></Request>`, 1)
	p["apiproxy/policies/AM-Set.xml"] = `<AssignMessage name="AM-Set"><AssignVariable><Name>my.var</Name><Value>hello</Value></AssignVariable>` +
		`<Set><Headers><Header name="x-set">1</Header></Headers></Set></AssignMessage>`
	p["apiproxy/policies/AM-Cond.xml"] = `<AssignMessage name="AM-Cond"><AssignVariable><Name>cond.var</Name><Value>x</Value></AssignVariable></AssignMessage>`
	return p
}

func TestDebugSessionCapture(t *testing.T) {
	be := echoBackend(t)
	mk := func(sessions ...contract.DebugSession) *contract.Contract {
		return &contract.Contract{Organization: "org", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
			APIProxies:    []contract.Deployment{deployment(t, "dbg", "1", debugProxy(be.URL)), deployment(t, "plain", "1", bundletest.Proxy("plain", "/plain", be.URL))},
			DebugSessions: sessions}
	}
	call := func(t *testing.T, e *Engine, path, hdr string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = "h"
		if hdr != "" {
			req.Header.Set("x-debug", hdr)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		require.Equal(t, http.StatusOK, w.Code)
	}
	future := time.Now().Add(time.Hour)

	tests := []struct {
		name    string
		session contract.DebugSession
		calls   func(t *testing.T, e *Engine)
		want    int
	}{
		{"count bounds the captures", contract.DebugSession{Name: "s1", APIProxy: "dbg", Revision: "1", Count: 2, TraceSize: 3, Expires: future},
			func(t *testing.T, e *Engine) {
				for range 4 {
					call(t, e, "/dbg/a?skip=no", "")
				}
			}, 2},
		{"filter over request variables", contract.DebugSession{Name: "s2", APIProxy: "dbg", Revision: "1", Count: 5, TraceSize: 10,
			Filter: `request.header.x-debug = "yes"`, Expires: future},
			func(t *testing.T, e *Engine) {
				call(t, e, "/dbg/a", "no")
				call(t, e, "/dbg/a", "yes")
				call(t, e, "/dbg/a", "")
			}, 2}, // one per round
		{"other proxies and revisions are not captured", contract.DebugSession{Name: "s3", APIProxy: "dbg", Revision: "2", Count: 5, Expires: future},
			func(t *testing.T, e *Engine) {
				call(t, e, "/dbg/a", "")
				call(t, e, "/plain/a", "")
			}, 0},
		{"a policy-free proxy leaves the pass-through path to be captured", contract.DebugSession{Name: "s5", APIProxy: "plain", Revision: "1", Count: 1, Expires: future},
			func(t *testing.T, e *Engine) {
				call(t, e, "/plain/a", "")
				call(t, e, "/dbg/a", "")
			}, 1},
		{"an expired session captures nothing", contract.DebugSession{Name: "s4", APIProxy: "dbg", Revision: "1", Count: 5, Expires: time.Now().Add(-time.Second)},
			func(t *testing.T, e *Engine) { call(t, e, "/dbg/a", "") }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &traceSink{}
			opts := DefaultOptions()
			opts.DebugSink = sink
			e := New(zaptest.NewLogger(t), opts)
			defer e.Close()
			env := Compile(mk(tt.session), nil)
			e.SetEnvironment(env)
			tt.calls(t, e)
			// A new contract version keeps the session's count.
			e.SetEnvironment(Compile(mk(tt.session), env))
			tt.calls(t, e)
			recs := sink.all()
			require.Len(t, recs, tt.want)
			for _, r := range recs {
				require.Equal(t, tt.session.Name, r.DebugSession)
				require.Equal(t, tt.session.APIProxy, r.APIProxy)
				require.NotEmpty(t, r.ID)
			}
		})
	}

	t.Run("points", func(t *testing.T) {
		sink := &traceSink{}
		opts := DefaultOptions()
		opts.DebugSink = sink
		e := New(zaptest.NewLogger(t), opts)
		defer e.Close()
		e.SetEnvironment(Compile(mk(contract.DebugSession{Name: "p", APIProxy: "dbg", Revision: "1", Count: 1, TraceSize: 4, Expires: future}), nil))
		call(t, e, "/dbg/a?skip=maybe", "")
		recs := sink.all()
		require.Len(t, recs, 1)
		var ids []string
		var executed []string
		var sets []string
		for _, p := range recs[0].Point {
			ids = append(ids, p.ID)
			if p.ID != "Execution" {
				continue
			}
			for _, r := range p.Results {
				switch r.ActionResult {
				case "DebugInfo":
					for _, pr := range r.Properties.Property {
						if pr.Name == "stepDefinition-name" {
							executed = append(executed, pr.Value)
						}
					}
				case "VariableAccess":
					for _, a := range r.AccessList {
						sets = append(sets, a.Set.Name+"="+a.Set.Value)
					}
				}
			}
		}
		require.Equal(t, []string{"StateChange", "Execution", "Condition", "StateChange"}, ids)
		require.Equal(t, []string{"AM-Set"}, executed, "AM-Cond's condition did not hold")
		require.Contains(t, sets, "my.var=hello")
		last := recs[0].Point[len(recs[0].Point)-1].Results[1]
		require.Equal(t, "ResponseMessage", last.ActionResult)
		require.Equal(t, "200", last.StatusCode)
		require.LessOrEqual(t, len(last.Content), 4, "payload cut at tracesize")
	})
}

// maskProxy reads both payloads into variables (so that they are loaded,
// and captured) and echoes the request's body back from its target.
func maskProxy(target string) map[string]string {
	p := bundletest.Proxy("dbg", "/dbg", target)
	p["apiproxy/proxies/default.xml"] = strings.Replace(p["apiproxy/proxies/default.xml"], "<Request/>",
		`<Request><Step><Name>AM-Req</Name></Step></Request>`, 1)
	p["apiproxy/proxies/default.xml"] = strings.Replace(p["apiproxy/proxies/default.xml"], "<Response/>",
		`<Response><Step><Name>AM-Resp</Name></Step></Response>`, 1)
	p["apiproxy/policies/AM-Req.xml"] = `<AssignMessage name="AM-Req"><AssignVariable><Name>my.var</Name><Value>hello</Value></AssignVariable>` +
		`<AssignVariable><Name>req.copy</Name><Ref>request.content</Ref></AssignVariable></AssignMessage>`
	p["apiproxy/policies/AM-Resp.xml"] = `<AssignMessage name="AM-Resp"><AssignVariable><Name>resp.copy</Name><Ref>response.content</Ref></AssignVariable></AssignMessage>`
	return p
}

// bodyEcho answers with the X-Reply header as the body, in the request's
// content type.
func bodyEcho(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		_, _ = w.Write([]byte(r.Header.Get("X-Reply")))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDebugMask: what the mask names never leaves the message processor,
// in message contents, headers or variables, and what it does not name
// is captured as it was.
func TestDebugMask(t *testing.T) {
	be := bodyEcho(t)
	tests := []struct {
		name        string
		mask        contract.DebugMask
		ctype, body string
		reply       string
		hidden      []string // never in the capture
		shown       []string // in the capture
	}{
		{"variables and headers",
			contract.DebugMask{Variables: []string{"my.var", "request.header.X-Secret"}},
			"application/json", `{"a":1}`, `{"b":2}`,
			[]string{"s3cret", `"hello"`},
			[]string{`{"name":"X-Secret","value":"**********"}`, `{"name":"X-Plain","value":"shown"}`, `{"name":"my.var","value":"**********","success":true}`}},
		{"request JSONPaths, as Jayway reads them",
			contract.DebugMask{RequestJSONPaths: []string{"$.card.number", "$.users[*].pw", "$..token"}},
			"application/json", `{"card":{"number":"4111-1111","cvv":"123"},"users":[{"pw":"pw-one"},{"pw":"pw-two"}],"deep":{"x":{"token":"tok-1"}}}`, `{"ok":true}`,
			[]string{"4111-1111", "pw-one", "pw-two", "tok-1"},
			[]string{`\"cvv\":\"123\"`, `\"number\":\"**********\"`, `\"pw\":\"**********\"`}},
		{"a JSONPath with a filter",
			contract.DebugMask{RequestJSONPaths: []string{"$.cards[?(@.type == 'visa')].number"}},
			"application/json", `{"cards":[{"type":"visa","number":"4111-visa"},{"type":"amex","number":"3782-amex"}]}`, `{}`,
			[]string{"4111-visa"}, []string{"3782-amex"}},
		{"a JSONPath selecting an object",
			contract.DebugMask{ResponseJSONPaths: []string{"$.secret"}},
			"application/json", `{}`, `{"secret":{"k":"inner-value"},"open":"visible-value"}`,
			[]string{"inner-value"}, []string{"visible-value", `\"secret\":\"**********\"`}},
		{"request JSONPaths leave the response alone",
			contract.DebugMask{RequestJSONPaths: []string{"$.pw"}},
			"application/json", `{"pw":"req-pw"}`, `{"pw":"resp-pw"}`,
			[]string{"req-pw"}, []string{"resp-pw"}},
		{"XPaths with namespaces, elements and attributes",
			contract.DebugMask{Namespaces: map[string]string{"myco": "http://example.com"},
				RequestXPaths:  []string{"/myco:Greeting/myco:User", "//myco:Card/@number"},
				ResponseXPaths: []string{"/Reply/Token"}},
			"application/xml", `<Greeting xmlns="http://example.com"><User>jane-doe</User><Card number="4111-attr"/><Note>kept-note</Note></Greeting>`,
			`<Reply><Token>tok-xml</Token><Id>kept-id</Id></Reply>`,
			[]string{"jane-doe", "4111-attr", "tok-xml"},
			[]string{"kept-note", "kept-id", `\u003cUser\u003e**********\u003c/User\u003e`, `number=\"**********\"`}},
		{"content variables hide the whole body",
			contract.DebugMask{Variables: []string{"request.content", "response.content"}},
			"application/json", `{"whole":"req-body"}`, `{"whole":"resp-body"}`,
			[]string{"req-body", "resp-body"}, []string{`"content":"**********"`}},
		{"a mask that does not compile captures no payloads",
			contract.DebugMask{RequestJSONPaths: []string{"$."}},
			"application/json", `{"a":"req-a"}`, `{"a":"resp-a"}`,
			[]string{"req-a", "resp-a"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &traceSink{}
			opts := DefaultOptions()
			opts.DebugSink = sink
			e := New(zaptest.NewLogger(t), opts)
			defer e.Close()
			// The reply travels in a header and the payloads are copied
			// into variables to load them: those are masked by name.
			mask := tt.mask
			mask.Variables = append(append([]string(nil), mask.Variables...), "request.header.x-reply", "req.copy", "resp.copy")
			e.SetEnvironment(Compile(&contract.Contract{Organization: "org", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
				APIProxies:    []contract.Deployment{deployment(t, "dbg", "1", maskProxy(be.URL))},
				DebugSessions: []contract.DebugSession{{Name: "m", APIProxy: "dbg", Revision: "1", Count: 1, TraceSize: 5120, Expires: time.Now().Add(time.Hour)}},
				DebugMask:     &mask}, nil))
			req := httptest.NewRequest(http.MethodPost, "/dbg/a", strings.NewReader(tt.body))
			req.Host = "h"
			req.Header.Set("Content-Type", tt.ctype)
			req.Header.Set("X-Reply", tt.reply)
			req.Header.Set("X-Secret", "s3cret")
			req.Header.Set("X-Plain", "shown")
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.Equal(t, tt.reply, w.Body.String(), "the mask changes the capture, never the call")
			recs := sink.all()
			require.Len(t, recs, 1)
			raw, err := json.Marshal(recs[0].Point)
			require.NoError(t, err)
			for _, h := range tt.hidden {
				require.NotContains(t, string(raw), h)
			}
			for _, s := range tt.shown {
				require.Contains(t, string(raw), s)
			}
		})
	}
}

func TestMaskJSON(t *testing.T) {
	tests := []struct {
		name, in string
		paths    []string
		want     string
	}{
		{"nested key", `{"a":{"pw":"x","k":1}}`, []string{"$.a.pw"}, `{"a":{"pw":"**********","k":1}}`},
		{"bracket and array", `{"users":[{"pw":"x"},{"pw":"y"}]}`, []string{"$['users'][*].pw"}, `{"users":[{"pw":"**********"},{"pw":"**********"}]}`},
		{"index and number", `{"a":[1,2,3]}`, []string{"$.a[1]"}, `{"a":[1,"**********",3]}`},
		{"deep scan", `{"a":{"k":"x"},"b":[{"k":"y"}],"k":"z"}`, []string{"$..k"}, `{"a":{"k":"**********"},"b":[{"k":"**********"}],"k":"**********"}`},
		{"an equal value elsewhere stays without a filter", `{"pw":"x","user":"x"}`, []string{"$.pw"}, `{"pw":"**********","user":"x"}`},
		{"filter", `{"c":[{"t":"v","n":"1"},{"t":"a","n":"2"}]}`, []string{"$.c[?(@.t=='v')].n"}, `{"c":[{"t":"v","n":"**********"},{"t":"a","n":"2"}]}`},
		{"whole array", `{"a":[1,2],"b":3}`, []string{"$.a"}, `{"a":"**********","b":3}`},
		{"absent path leaves the payload", `{"a":1}`, []string{"$.b"}, `{"a":1}`},
		{"not JSON", `pw=x`, []string{"$.pw"}, `pw=x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compileDebugMask(&contract.DebugMask{RequestJSONPaths: tt.paths})
			require.NoError(t, m.broken)
			require.Equal(t, tt.want, string(m.payload(false, false).apply([]byte(tt.in))))
		})
	}
}

func TestMaskXML(t *testing.T) {
	ns := map[string]string{"n": "urn:x"}
	tests := []struct {
		name, in string
		paths    []string
		want     string
	}{
		{"element text", `<a><pw>x</pw><k>1</k></a>`, []string{"/a/pw"}, `<a><pw>**********</pw><k>1</k></a>`},
		{"element with children", `<a><card><n>4111</n><c>123</c></card></a>`, []string{"/a/card"}, `<a><card>**********</card></a>`},
		{"attribute", `<a><card number="4111" kind="v"/></a>`, []string{"//card/@number"}, `<a><card number="**********" kind="v"></card></a>`},
		{"namespaces", `<a xmlns="urn:x"><pw>x</pw></a>`, []string{"/n:a/n:pw"}, `<a xmlns="urn:x"><pw>**********</pw></a>`},
		{"text node", `<a><pw>x</pw></a>`, []string{"/a/pw/text()"}, `<a><pw>**********</pw></a>`},
		{"absent path leaves the payload", `<a><b>1</b></a>`, []string{"/a/c"}, `<a><b>1</b></a>`},
		{"not XML", `<a><b>`, []string{"/a/b"}, `<a><b>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compileDebugMask(&contract.DebugMask{Namespaces: ns, ResponseXPaths: tt.paths})
			require.NoError(t, m.broken)
			require.Equal(t, tt.want, string(m.payload(true, false).apply([]byte(tt.in))))
		})
	}
}

// Fault paths apply to messages of an error flow only.
func TestMaskFaultPaths(t *testing.T) {
	m := compileDebugMask(&contract.DebugMask{FaultJSONPaths: []string{"$.detail"}, FaultXPaths: []string{"/f/detail"}})
	require.Equal(t, `{"detail":"x"}`, string(m.payload(true, false).apply([]byte(`{"detail":"x"}`))))
	require.Equal(t, `{"detail":"**********"}`, string(m.payload(true, true).apply([]byte(`{"detail":"x"}`))))
	require.Equal(t, `<f><detail>**********</detail></f>`, string(m.payload(false, true).apply([]byte(`<f><detail>x</detail></f>`))))
}

func TestCompileDebugMaskRefusesBadExpressions(t *testing.T) {
	for _, m := range []contract.DebugMask{
		{RequestJSONPaths: []string{"$."}},
		{ResponseXPaths: []string{"/a/b["}},
		{FaultXPaths: []string{"//"}},
	} {
		require.Error(t, compileDebugMask(&m).broken, "%+v", m)
	}
}

// TestDebugSessionLimits: the message processor enforces a session's
// count and expiry itself, whatever the contract says later.
func TestDebugSessionLimits(t *testing.T) {
	be := echoBackend(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	now := t0
	debugNow = func() time.Time { return now }
	t.Cleanup(func() { debugNow = time.Now })
	mk := func(s contract.DebugSession) *contract.Contract {
		return &contract.Contract{Organization: "org", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
			APIProxies: []contract.Deployment{deployment(t, "dbg", "1", debugProxy(be.URL))}, DebugSessions: []contract.DebugSession{s}}
	}
	call := func(e *Engine, n int) {
		for range n {
			req := httptest.NewRequest(http.MethodGet, "/dbg/a", nil)
			req.Host = "h"
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code)
		}
	}
	session := contract.DebugSession{Name: "s", APIProxy: "dbg", Revision: "1", Count: 3, TraceSize: 10, Expires: t0.Add(10 * time.Second)}
	tests := []struct {
		name string
		run  func(e *Engine) // calls made
		want int
	}{
		{"count", func(e *Engine) { call(e, 5) }, 3},
		{"expiry on the MP's clock, the contract unchanged", func(e *Engine) {
			call(e, 1)
			now = t0.Add(10 * time.Second) // expires is exclusive
			call(e, 3)
		}, 1},
		{"count across contract versions", func(e *Engine) {
			call(e, 2)
			e.SetEnvironment(Compile(mk(session), e.Environment("test")))
			call(e, 2)
		}, 3},
		{"a name reused for a new session counts afresh", func(e *Engine) {
			call(e, 4)
			now = t0.Add(20 * time.Second)
			fresh := session
			fresh.Expires = t0.Add(30 * time.Second)
			e.SetEnvironment(Compile(mk(fresh), e.Environment("test")))
			call(e, 4)
		}, 6},
		{"concurrent calls claim count exactly", func(e *Engine) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { call(e, 5) })
			}
			wg.Wait()
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = t0
			sink := &traceSink{}
			opts := DefaultOptions()
			opts.DebugSink = sink
			e := New(zaptest.NewLogger(t), opts)
			defer e.Close()
			e.SetEnvironment(Compile(mk(session), nil))
			tt.run(e)
			require.Len(t, sink.all(), tt.want)
		})
	}
}
