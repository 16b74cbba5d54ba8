//go:build integration

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The seed's UDCA row: while the control plane is unreachable, API calls
// are unaffected, their analytics stay buffered in UDCA's files and are
// retried with hybrid's "Updating retry count" lines and upstream error
// counts; when it returns, the buffered files upload and the stats API
// counts every call. The outage is runtime-scoped, so the stats API (an
// operator's call) answers throughout and shows the gap.
func TestUDCABuffersThroughOutage(t *testing.T) {
	t.Parallel()
	c, svc, host := analyticsCluster(t, "--upload.retryInterval", "300ms", "--upload.maxRetries", "1000")
	waitStats(t, svc, c, map[string][2]float64{"hello": {1, 0}, "broken": {1, 1}})

	hybridctlOutage(t, c, "start", "--scope", "runtime")
	callN(t, c, host, "/hello/x", 10, 200) // traffic is unaffected
	require.Eventually(t, func() bool {
		return metric(t, c.UDCA, "upstream_http_error_count") >= 2 &&
			strings.Contains(c.UDCA.Log(), "Updating retry count for file") && strings.Contains(c.UDCA.Log(), "to 2")
	}, 30*time.Second, 50*time.Millisecond, "UDCA did not retry its uploads during the outage:\n%s", c.UDCA.Log())
	require.Positive(t, metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`), "the records stay buffered")
	require.Equal(t, map[string][2]float64{"hello": {1, 0}, "broken": {1, 1}}, statsByProxy(t, svc, c),
		"nothing new reaches the control plane during the outage")

	hybridctlOutage(t, c, "stop")
	waitStats(t, svc, c, map[string][2]float64{"hello": {11, 0}, "broken": {1, 1}})
	require.Eventually(t, func() bool {
		return metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`) == 0
	}, 30*time.Second, 50*time.Millisecond)
	require.Zero(t, metric(t, c.UDCA, "local_file_count", `state="FAILED"`), "nothing was discarded")
}

// The seed's UDCA row with hybrid's own retry policy (3 retries, then the
// file is discarded) under the outage switch: traffic is unaffected, the
// buffered files are retried 3 times and dropped with the seed's line, so
// the calls made during a long outage never reach the stats API, while
// calls after it do.
func TestUDCADiscardsAfterThreeRetriesThroughOutage(t *testing.T) {
	t.Parallel()
	c, svc, host := analyticsCluster(t, "--upload.retryInterval", "200ms", "--upload.maxRetries", "3")
	waitStats(t, svc, c, map[string][2]float64{"hello": {1, 0}, "broken": {1, 1}})

	hybridctlOutage(t, c, "start", "--scope", "runtime")
	callN(t, c, host, "/hello/x", 4, 200) // traffic is unaffected
	require.Eventually(t, func() bool {
		return metric(t, c.UDCA, "discarded_file_count") >= 1 &&
			metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`) == 0
	}, time.Minute, 50*time.Millisecond, "UDCA did not give up its files after 3 retries:\n%s", c.UDCA.Log())
	log := c.UDCA.Log()
	require.Contains(t, log, "to 3")
	require.Contains(t, log, "after 3 failed retries")
	require.NotContains(t, log, "to 4", "no fourth retry")

	hybridctlOutage(t, c, "stop")
	callN(t, c, host, "/hello/y", 2, 200)
	waitStats(t, svc, c, map[string][2]float64{"hello": {3, 0}, "broken": {1, 1}})
	require.Zero(t, metric(t, c.UDCA, "local_file_count", `state="FAILED"`), "nothing kept: the seed discards")
}
