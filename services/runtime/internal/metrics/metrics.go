// Package metrics counts the message processor's API calls in Prometheus
// under the names Apigee hybrid's runtime publishes (proxy_request_count,
// proxy_response_count, proxy_latencies, their target_ counterparts and
// server_fault_count), built from the engine's per-call Observer hook.
//
// The six proxy_ and target_ families are the customer-facing metrics of
// the "Hybrid off the Grid" seed's table (apigee.googleapis.com/proxy/
// request_count … target/latencies, '/' being '_' in Prometheus), and
// server_fault_count{source="apigee_errors"|"policy_errors"|"target_errors"}
// is what a hybrid runtime's Prometheus endpoint shows. The other label
// names (org, env, proxy_name, method, response_code, target) are the
// emulator's: Google documents the metrics' labels for Cloud Monitoring,
// after the collector has mapped them, not the runtime's exposition.
// TestSeedMetricNames holds the names.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
)

// Fault sources of server_fault_count, as Apigee hybrid names them.
const (
	SourceApigee = "apigee_errors" // the runtime itself: routing, limits, timeouts in a flow
	SourcePolicy = "policy_errors" // a policy raised the fault
	SourceTarget = "target_errors" // the target was unreachable, timed out or answered an error status
)

// LatencyBuckets are the histograms' upper bounds in milliseconds, Apigee's
// unit for latencies: fine below 100 ms where a gateway's own time lies,
// then coarse up to the 55 s default I/O timeout.
var LatencyBuckets = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000}

// Observer is an engine.Observer that counts every call. It takes no lock
// of its own: a call costs one lookup in a sync.Map (lock-free once its
// kind of call has been seen) and atomic adds in the Prometheus client;
// the label values are strings the engine already holds, so nothing is
// allocated on the hot path.
type Observer struct {
	proxyRequests   *prometheus.CounterVec
	proxyResponses  *prometheus.CounterVec
	proxyLatencies  *prometheus.HistogramVec
	targetRequests  *prometheus.CounterVec
	targetResponses *prometheus.CounterVec
	targetLatencies *prometheus.HistogramVec
	faults          *prometheus.CounterVec
	cache           sync.Map // seriesKey → *series
}

// Label names. Cardinality is bounded by configuration: org, env, proxy
// and target names come from deployed revisions, method is one of the
// standard verbs or OTHER, and response_code a status code (100–599) or
// "other"; nothing comes from the request's path or headers.
var (
	proxyLabels      = []string{"org", "env", "proxy_name", "method"}
	proxyCodeLabels  = []string{"org", "env", "proxy_name", "method", "response_code"}
	targetLabels     = []string{"org", "env", "proxy_name", "target", "method"}
	targetCodeLabels = []string{"org", "env", "proxy_name", "target", "method", "response_code"}
	faultLabels      = []string{"org", "env", "proxy_name", "source"}
)

// New returns an Observer whose metrics are registered with reg.
func New(reg prometheus.Registerer) (*Observer, error) {
	o := &Observer{
		proxyRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "proxy_request_count",
			Help: "Requests received by API proxies."}, proxyLabels),
		proxyResponses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "proxy_response_count",
			Help: "Responses sent by API proxies, by status code."}, proxyCodeLabels),
		proxyLatencies: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "proxy_latencies",
			Help:    "Time in milliseconds from the proxy receiving the request to the last byte of its response.",
			Buckets: LatencyBuckets}, proxyCodeLabels),
		targetRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "target_request_count",
			Help: "Requests sent to targets."}, targetLabels),
		targetResponses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "target_response_count",
			Help: "Responses received from targets, by status code."}, targetCodeLabels),
		targetLatencies: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "target_latencies",
			Help:    "Time in milliseconds from sending the request to the target to the last byte of its response.",
			Buckets: LatencyBuckets}, targetCodeLabels),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "server_fault_count",
			Help: "API calls that ended in a fault, by source: apigee_errors, policy_errors or target_errors."}, faultLabels),
	}
	for _, c := range []prometheus.Collector{o.proxyRequests, o.proxyResponses, o.proxyLatencies,
		o.targetRequests, o.targetResponses, o.targetLatencies, o.faults} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// series are the label children one kind of call updates, looked up
// once: Prometheus hashes every label value on each WithLabelValues, six
// times per call, where the cache hashes one key.
type series struct {
	proxyRequests, proxyResponses   prometheus.Counter
	proxyLatencies                  prometheus.Observer
	targetRequests, targetResponses prometheus.Counter
	targetLatencies                 prometheus.Observer
}

// seriesKey names a kind of call. Its values are bounded as the labels
// are (see above), so the cache is too.
type seriesKey struct {
	org, env, proxy, target, method string
	code, targetCode                int
}

// series returns the children of k, creating them on first use. A race
// between two first uses creates the same children twice, which
// Prometheus returns as one.
func (o *Observer) series(k seriesKey) *series {
	if s, ok := o.cache.Load(k); ok {
		return s.(*series)
	}
	code := Code(k.code)
	s := &series{
		proxyRequests:  o.proxyRequests.WithLabelValues(k.org, k.env, k.proxy, k.method),
		proxyResponses: o.proxyResponses.WithLabelValues(k.org, k.env, k.proxy, k.method, code),
		proxyLatencies: o.proxyLatencies.WithLabelValues(k.org, k.env, k.proxy, k.method, code),
	}
	if k.targetCode >= 0 {
		s.targetRequests = o.targetRequests.WithLabelValues(k.org, k.env, k.proxy, k.target, k.method)
	}
	if k.targetCode > 0 {
		tcode := Code(k.targetCode)
		s.targetResponses = o.targetResponses.WithLabelValues(k.org, k.env, k.proxy, k.target, k.method, tcode)
		s.targetLatencies = o.targetLatencies.WithLabelValues(k.org, k.env, k.proxy, k.target, k.method, tcode)
	}
	o.cache.Store(k, s)
	return s
}

// ObserveTransaction implements engine.Observer.
func (o *Observer) ObserveTransaction(tx *engine.Transaction) {
	p := tx.Proxy
	// A target request counts once it was sent (targetCode 0 when the
	// target did not answer, -1 without a target call); a response only
	// when the target answered, so an unreachable target shows as requests
	// without responses (and as target_errors).
	k := seriesKey{org: p.Org, env: p.Env, proxy: p.Name, method: Method(tx.Request.Method), code: tx.StatusCode, targetCode: -1}
	if !tx.TargetSentStart.IsZero() {
		k.target, k.targetCode = tx.TargetName, tx.TargetStatus
	}
	s := o.series(k)
	s.proxyRequests.Inc()
	s.proxyResponses.Inc()
	s.proxyLatencies.Observe(millis(tx.ClientSentEnd.Sub(tx.ClientReceivedStart)))
	if s.targetRequests != nil {
		s.targetRequests.Inc()
	}
	if s.targetResponses != nil {
		s.targetResponses.Inc()
		end := tx.TargetReceivedEnd
		if end.IsZero() {
			end = tx.TargetReceivedStart
		}
		s.targetLatencies.Observe(millis(end.Sub(tx.TargetSentStart)))
	}
	if tx.Fault != nil {
		o.faults.WithLabelValues(p.Org, p.Env, p.Name, FaultSource(tx)).Inc()
	}
}

// FaultSource classifies a call's fault as Apigee does for analytics
// (is_target_error, is_policy_error, else the runtime's own).
func FaultSource(tx *engine.Transaction) string {
	switch {
	case tx.TargetFault:
		return SourceTarget
	case tx.Fault.Policy != "":
		return SourcePolicy
	default:
		return SourceApigee
	}
}

// Method is the method label: a client may send any token as a method,
// so only the standard ones are kept apart.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch,
		http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return m
	}
	return "OTHER"
}

// codes holds the labels of every valid status code, so that labelling a
// call does not format (and allocate) a string.
var codes = func() (c [600]string) {
	for i := 100; i < len(c); i++ {
		c[i] = strconv.Itoa(i)
	}
	return c
}()

// Code is the response_code label of a status.
func Code(status int) string {
	if status >= 100 && status < len(codes) {
		return codes[status]
	}
	return "other"
}

// millis is d in (fractional) milliseconds, never negative: a step that
// did not happen leaves a zero time behind.
func millis(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond)
}
