package metrics

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

var (
	t0    = time.UnixMilli(1715752630190)
	hello = &flow.Proxy{Org: "org", Env: "test", Name: "hello", Revision: "3", Endpoint: "default", BasePath: "/hello"}
)

// call is a finished transaction: method, client status, and when
// target >= 0 a target call that answered target (0: no answer).
func call(tb testing.TB, method string, status, target int, fault *flow.Fault, targetFault bool) *engine.Transaction {
	tb.Helper()
	tx := &engine.Transaction{Proxy: hello, Request: httptest.NewRequest(method, "http://api.example.com/hello/x", nil),
		StatusCode: status, ClientReceivedStart: t0, ClientSentEnd: t0.Add(30 * time.Millisecond),
		Fault: fault, TargetFault: targetFault}
	if target >= 0 {
		tx.TargetName, tx.TargetSentStart = "default", t0.Add(time.Millisecond)
		if target > 0 {
			tx.TargetStatus = target
			tx.TargetReceivedStart, tx.TargetReceivedEnd = t0.Add(20*time.Millisecond), t0.Add(21*time.Millisecond)
		}
	}
	return tx
}

// newObserver returns an observer on a fresh registry.
func newObserver(tb testing.TB) (*Observer, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	o, err := New(reg)
	require.NoError(tb, err)
	return o, reg
}

func TestObserveTransaction(t *testing.T) {
	policyFault := &flow.Fault{Code: "steps.raisefault.RaiseFault", Status: 500, Policy: "RF-Fail"}
	tests := []struct {
		name string
		txs  []*engine.Transaction
		// want is the exposition of the counters (histograms are checked
		// through their sample counts below).
		want string
		// latencies are the expected sample counts per histogram.
		proxyLatencies, targetLatencies int
	}{
		{"successful calls through a target", []*engine.Transaction{
			call(t, http.MethodGet, 200, 200, nil, false), call(t, http.MethodGet, 200, 200, nil, false),
			call(t, http.MethodPost, 201, 201, nil, false),
		}, `
proxy_request_count{env="test",method="GET",org="org",proxy_name="hello"} 2
proxy_request_count{env="test",method="POST",org="org",proxy_name="hello"} 1
proxy_response_count{env="test",method="GET",org="org",proxy_name="hello",response_code="200"} 2
proxy_response_count{env="test",method="POST",org="org",proxy_name="hello",response_code="201"} 1
target_request_count{env="test",method="GET",org="org",proxy_name="hello",target="default"} 2
target_request_count{env="test",method="POST",org="org",proxy_name="hello",target="default"} 1
target_response_count{env="test",method="GET",org="org",proxy_name="hello",response_code="200",target="default"} 2
target_response_count{env="test",method="POST",org="org",proxy_name="hello",response_code="201",target="default"} 1
`, 3, 3},
		{"an unreachable target: a request without a response, a target error", []*engine.Transaction{
			call(t, http.MethodGet, 503, 0, &flow.Fault{Code: "messaging.adaptors.http.flow.ServiceUnavailable", Status: 503}, true),
		}, `
proxy_request_count{env="test",method="GET",org="org",proxy_name="hello"} 1
proxy_response_count{env="test",method="GET",org="org",proxy_name="hello",response_code="503"} 1
server_fault_count{env="test",org="org",proxy_name="hello",source="target_errors"} 1
target_request_count{env="test",method="GET",org="org",proxy_name="hello",target="default"} 1
`, 1, 0},
		{"a target error status", []*engine.Transaction{
			call(t, http.MethodGet, 500, 500, &flow.Fault{Code: "messaging.adaptors.http.flow.ErrorResponseCode", Status: 500}, true),
		}, `
proxy_request_count{env="test",method="GET",org="org",proxy_name="hello"} 1
proxy_response_count{env="test",method="GET",org="org",proxy_name="hello",response_code="500"} 1
server_fault_count{env="test",org="org",proxy_name="hello",source="target_errors"} 1
target_request_count{env="test",method="GET",org="org",proxy_name="hello",target="default"} 1
target_response_count{env="test",method="GET",org="org",proxy_name="hello",response_code="500",target="default"} 1
`, 1, 1},
		{"a policy fault before the target and a runtime fault", []*engine.Transaction{
			call(t, http.MethodGet, 500, -1, policyFault, false),
			call(t, http.MethodGet, 504, -1, &flow.Fault{Code: "messaging.adaptors.http.flow.GatewayTimeout", Status: 504}, false),
		}, `
proxy_request_count{env="test",method="GET",org="org",proxy_name="hello"} 2
proxy_response_count{env="test",method="GET",org="org",proxy_name="hello",response_code="500"} 1
proxy_response_count{env="test",method="GET",org="org",proxy_name="hello",response_code="504"} 1
server_fault_count{env="test",org="org",proxy_name="hello",source="apigee_errors"} 1
server_fault_count{env="test",org="org",proxy_name="hello",source="policy_errors"} 1
`, 2, 0},
		{"odd methods and statuses keep cardinality bounded", []*engine.Transaction{
			call(t, "PROPFIND", 200, -1, nil, false), call(t, "BREW", 999, -1, nil, false),
		}, `
proxy_request_count{env="test",method="OTHER",org="org",proxy_name="hello"} 2
proxy_response_count{env="test",method="OTHER",org="org",proxy_name="hello",response_code="200"} 1
proxy_response_count{env="test",method="OTHER",org="org",proxy_name="hello",response_code="other"} 1
`, 2, 0},
	}
	counters := []string{"proxy_request_count", "proxy_response_count", "target_request_count", "target_response_count", "server_fault_count"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, reg := newObserver(t)
			for _, tx := range tt.txs {
				o.ObserveTransaction(tx)
			}
			require.Equal(t, strings.TrimSpace(tt.want), strings.Join(exposed(t, reg, counters...), "\n"))
			require.Equal(t, tt.proxyLatencies, samples(t, reg, "proxy_latencies"))
			require.Equal(t, tt.targetLatencies, samples(t, reg, "target_latencies"))
		})
	}
}

// TestSeedMetricNames: the message processor exports the customer-facing
// metrics of the "Hybrid off the Grid" seed's table (Proxy: proxy/
// request_count, response_count, latencies; Target: target/request_count,
// response_count, latencies), under Prometheus names, which cannot hold
// the '/' of the Cloud Monitoring names, and server_fault_count with the
// label "source" and the values a hybrid runtime's scrape shows
// (server_fault_count{source="apigee_errors"|"policy_errors"|"target_errors"}).
// Each family has exactly the labels named here.
func TestSeedMetricNames(t *testing.T) {
	tests := []struct {
		seed, name string // the seed's name, the exported one
		kind       string
		labels     []string
	}{
		{"apigee.googleapis.com/proxy/request_count", "proxy_request_count", "COUNTER", []string{"env", "method", "org", "proxy_name"}},
		{"apigee.googleapis.com/proxy/response_count", "proxy_response_count", "COUNTER", []string{"env", "method", "org", "proxy_name", "response_code"}},
		{"apigee.googleapis.com/proxy/latencies", "proxy_latencies", "HISTOGRAM", []string{"env", "method", "org", "proxy_name", "response_code"}},
		{"apigee.googleapis.com/target/request_count", "target_request_count", "COUNTER", []string{"env", "method", "org", "proxy_name", "target"}},
		{"apigee.googleapis.com/target/response_count", "target_response_count", "COUNTER", []string{"env", "method", "org", "proxy_name", "response_code", "target"}},
		{"apigee.googleapis.com/target/latencies", "target_latencies", "HISTOGRAM", []string{"env", "method", "org", "proxy_name", "response_code", "target"}},
		{"server_fault_count", "server_fault_count", "COUNTER", []string{"env", "org", "proxy_name", "source"}},
	}
	o, reg := newObserver(t)
	o.ObserveTransaction(call(t, http.MethodGet, 500, 500, &flow.Fault{Code: "messaging.adaptors.http.flow.ErrorResponseCode", Status: 500}, true))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	families := map[string][]string{}
	kinds := map[string]string{}
	for _, mf := range mfs {
		kinds[mf.GetName()] = mf.GetType().String()
		for _, m := range mf.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
			}
			families[mf.GetName()] = names
		}
	}
	require.Len(t, families, len(tests), "no family besides the seed's and server_fault_count")
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			want := strings.ReplaceAll(strings.TrimPrefix(tt.seed, "apigee.googleapis.com/"), "/", "_")
			require.Equal(t, want, tt.name, "the Prometheus name is the seed's with '/' as '_'")
			require.Contains(t, families, tt.name)
			require.Equal(t, tt.kind, kinds[tt.name])
			require.Equal(t, tt.labels, families[tt.name])
		})
	}
	require.ElementsMatch(t, []string{"apigee_errors", "policy_errors", "target_errors"}, []string{SourceApigee, SourcePolicy, SourceTarget})
}

// The histograms are in milliseconds: a 30 ms call whose target answered
// in 20 ms lands in the buckets le=50 and le=20 (bounds are inclusive).
func TestLatencies(t *testing.T) {
	o, reg := newObserver(t)
	o.ObserveTransaction(call(t, http.MethodGet, 200, 200, nil, false))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	sums, first := map[string]float64{}, map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil {
				continue
			}
			sums[mf.GetName()] = h.GetSampleSum()
			for _, b := range h.GetBucket() {
				if b.GetCumulativeCount() == 1 {
					first[mf.GetName()] = b.GetUpperBound()
					break
				}
			}
		}
	}
	require.Equal(t, map[string]float64{"proxy_latencies": 30, "target_latencies": 20}, sums)
	require.Equal(t, map[string]float64{"proxy_latencies": 50, "target_latencies": 20}, first)
}

// Calls observed at once on many goroutines are all counted, including
// those racing to create a kind of call's series.
func TestConcurrentCalls(t *testing.T) {
	o, reg := newObserver(t)
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				o.ObserveTransaction(call(t, http.MethodGet, 200, 200, nil, false))
			}
		})
	}
	wg.Wait()
	require.Equal(t, float64(goroutines*each), testutil.ToFloat64(o.proxyRequests))
	require.Equal(t, float64(goroutines*each), testutil.ToFloat64(o.targetResponses))
	require.Equal(t, goroutines*each, samples(t, reg, "proxy_latencies"))
}

// A second registration on one registry is an error, not a panic: the
// message processor reports it at start.
func TestNewRegistersOnce(t *testing.T) {
	_, reg := newObserver(t)
	_, err := New(reg)
	require.Error(t, err)
}

// exposed lists the samples of the named counters in the text format's
// order (name, then labels sorted by name), one "name{labels} value" each.
func exposed(tb testing.TB, reg *prometheus.Registry, names ...string) []string {
	tb.Helper()
	var out []string
	for _, name := range names {
		if testutil.CollectAndCount(reg, name) == 0 {
			continue
		}
		mfs, err := reg.Gather()
		require.NoError(tb, err)
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
				}
				out = append(out, name+"{"+strings.Join(labels, ",")+"} "+strconv.FormatFloat(m.GetCounter().GetValue(), 'f', -1, 64))
			}
		}
	}
	sort.Strings(out)
	return out
}

// samples is the total sample count of a histogram across its labels.
func samples(tb testing.TB, reg *prometheus.Registry, name string) int {
	tb.Helper()
	mfs, err := reg.Gather()
	require.NoError(tb, err)
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += int(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return n
}

// BenchmarkObserveTransaction is the cost the metrics add to a call that
// went through a target (go test -bench ObserveTransaction -benchmem).
func BenchmarkObserveTransaction(b *testing.B) {
	o, _ := newObserver(b)
	tx := call(b, http.MethodGet, 200, 200, nil, false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o.ObserveTransaction(tx)
		}
	})
}
