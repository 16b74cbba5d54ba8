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

func TestDebugMask(t *testing.T) {
	be := echoBackend(t)
	sink := &traceSink{}
	opts := DefaultOptions()
	opts.DebugSink = sink
	e := New(zaptest.NewLogger(t), opts)
	defer e.Close()
	e.SetEnvironment(Compile(&contract.Contract{Organization: "org", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
		APIProxies:    []contract.Deployment{deployment(t, "dbg", "1", debugProxy(be.URL))},
		DebugSessions: []contract.DebugSession{{Name: "m", APIProxy: "dbg", Revision: "1", Count: 1, TraceSize: 100, Expires: time.Now().Add(time.Hour)}},
		DebugMask:     &contract.DebugMask{Variables: []string{"my.var", "request.header.X-Secret"}}}, nil))
	req := httptest.NewRequest(http.MethodGet, "/dbg/a", nil)
	req.Host = "h"
	req.Header.Set("X-Secret", "s3cret")
	req.Header.Set("X-Plain", "shown")
	e.ServeHTTP(httptest.NewRecorder(), req)
	recs := sink.all()
	require.Len(t, recs, 1)
	raw, err := json.Marshal(recs[0].Point)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "s3cret")
	require.NotContains(t, string(raw), "hello", "my.var's value is masked")
	require.Contains(t, string(raw), `{"name":"X-Secret","value":"*****"}`)
	require.Contains(t, string(raw), `{"name":"X-Plain","value":"shown"}`)
	require.Contains(t, string(raw), `{"name":"my.var","value":"*****","success":true}`)
}

func TestMaskJSON(t *testing.T) {
	tests := []struct {
		name, in string
		paths    []string
		want     string
	}{
		{"nested key", `{"a":{"pw":"x","k":1}}`, []string{"$.a.pw"}, `{"a":{"k":1,"pw":"*****"}}`},
		{"bracket and array", `{"users":[{"pw":"x"},{"pw":"y"}]}`, []string{"$['users'][*].pw"}, `{"users":[{"pw":"*****"},{"pw":"*****"}]}`},
		{"absent path leaves the payload", `{"a":1}`, []string{"$.b"}, `{"a":1}`},
		{"not JSON", `pw=x`, []string{"$.pw"}, `pw=x`},
		{"bad path ignored", `{"a":1}`, []string{"a.b"}, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compileDebugMask(&contract.DebugMask{RequestJSONPaths: tt.paths})
			require.Equal(t, tt.want, string(maskJSON([]byte(tt.in), m.requestPaths())))
		})
	}
}
