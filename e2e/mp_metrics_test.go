//go:build integration

package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// The message processor's /metrics counts every call through a deployed
// proxy under hybrid's names (proxy_request_count, target_response_count,
// server_fault_count, …), and an unreachable target as a target error.
func TestMPPrometheusMetrics(t *testing.T) {
	t.Parallel()
	// With analytics on, the MP's observer is the fan-out of both.
	c := h.StartCluster(t, harness.Options{Analytics: true})
	svc := apigeeClient(t, c)
	const host = "metrics.e2e.example.com"
	attachHost(t, svc, c, "metrics", host)
	be := backend(t)
	rev := importProxy(t, svc, c, "hello", proxyZip(t, "hello", "/hello", be.URL))
	deployAndWait(t, svc, c, "hello", rev)
	// Nobody listens on port 1: every call is a 503 target error.
	rev = importProxy(t, svc, c, "broken", proxyZip(t, "broken", "/broken", "http://127.0.0.1:1"))
	deployAndWait(t, svc, c, "broken", rev)
	eventuallyStatus(t, c, host, "/hello/warmup", http.StatusOK)
	eventuallyStatus(t, c, host, "/broken/warmup", http.StatusServiceUnavailable)

	org := `org="` + c.Org + `"`
	hello, broken := []string{org, `proxy_name="hello"`}, []string{org, `proxy_name="broken"`}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	const calls, failures = 25, 7
	checks := []struct {
		name   string
		labels []string
		want   float64 // added by the calls below
	}{
		{"proxy_request_count", with(hello, `method="GET"`), calls},
		{"proxy_response_count", with(hello, `response_code="200"`), calls},
		{"proxy_latencies_count", with(hello, `response_code="200"`), calls},
		{"target_request_count", with(hello, `target="default"`), calls},
		{"target_response_count", with(hello, `target="default"`, `response_code="200"`), calls},
		{"target_latencies_count", with(hello, `target="default"`), calls},
		{"server_fault_count", hello, 0},
		{"proxy_request_count", broken, failures},
		{"proxy_response_count", with(broken, `response_code="503"`), failures},
		{"target_request_count", broken, failures},
		{"target_response_count", broken, 0}, // it never answered
		{"server_fault_count", with(broken, `source="target_errors"`), failures},
		{"server_fault_count", with(broken, `source="policy_errors"`), 0},
	}
	// The warm-up calls are the baseline. The observer runs after the
	// response went out, so counts are read once the last one is in.
	require.Eventually(t, func() bool {
		return metric(t, c.Runtime, "proxy_request_count", hello...) == metric(t, c.Runtime, "target_response_count", hello...) &&
			metric(t, c.Runtime, "proxy_request_count", broken...) == metric(t, c.Runtime, "server_fault_count", broken...)
	}, 10*time.Second, 20*time.Millisecond)
	before := make([]float64, len(checks))
	for i, ch := range checks {
		before[i] = metric(t, c.Runtime, ch.name, ch.labels...)
	}

	for range calls {
		require.Equal(t, http.StatusOK, call(t, c, host, "/hello/x").status)
	}
	for range failures {
		require.Equal(t, http.StatusServiceUnavailable, call(t, c, host, "/broken/x").status)
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		for i, ch := range checks {
			assert.Equal(ct, ch.want, metric(t, c.Runtime, ch.name, ch.labels...)-before[i], "%s %v", ch.name, ch.labels)
		}
	}, 10*time.Second, 50*time.Millisecond)
}
