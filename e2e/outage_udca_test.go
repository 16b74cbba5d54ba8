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
