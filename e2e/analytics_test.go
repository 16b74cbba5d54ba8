//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// analyticsCluster is a cluster whose message processor streams to UDCA,
// with buffer files rolled every 200ms and the given upload policy.
func analyticsCluster(t *testing.T, udcaArgs ...string) (*harness.Cluster, *apigee.Service, string) {
	t.Helper()
	c := h.StartCluster(t, harness.Options{Analytics: true,
		UDCAArgs: append([]string{"--files.maxAge", "200ms"}, udcaArgs...)})
	svc := apigeeClient(t, c)
	const host = "analytics.e2e.example.com"
	attachHost(t, svc, c, "analytics", host)
	be := backend(t)
	rev := importProxy(t, svc, c, "hello", proxyZip(t, "hello", "/hello", be.URL))
	deployAndWait(t, svc, c, "hello", rev)
	// A target nobody listens on: every call is a 503 target error.
	rev = importProxy(t, svc, c, "broken", proxyZip(t, "broken", "/broken", "http://127.0.0.1:1"))
	deployAndWait(t, svc, c, "broken", rev)
	eventuallyStatus(t, c, host, "/hello/warmup", 200)
	eventuallyStatus(t, c, host, "/broken/warmup", 503)
	return c, svc, host
}

// statsRange is a timeRange around now, in the API's format.
func statsRange() string {
	f := "01/02/2006 15:04"
	now := time.Now().UTC()
	return now.Add(-time.Hour).Format(f) + "~" + now.Add(time.Hour).Format(f)
}

// statsByProxy reads sum(message_count) and sum(is_error) per proxy with
// Google's Go client.
func statsByProxy(tb testing.TB, svc *apigee.Service, c *harness.Cluster) map[string][2]float64 {
	tb.Helper()
	st, err := svc.Organizations.Environments.Stats.Get("organizations/" + c.Org + "/environments/" + c.Env + "/stats/apiproxy").
		Select("sum(message_count),sum(is_error)").TimeRange(statsRange()).Do()
	require.NoError(tb, err)
	require.Len(tb, st.Environments, 1)
	require.Equal(tb, c.Env, st.Environments[0].Name)
	out := map[string][2]float64{}
	for _, d := range st.Environments[0].Dimensions {
		require.Len(tb, d.Metrics, 2)
		var v [2]float64
		for i, m := range d.Metrics {
			require.Len(tb, m.Values, 1)
			s, ok := m.Values[0].(string)
			require.True(tb, ok, "values are strings such as \"39.0\"")
			v[i], err = strconv.ParseFloat(s, 64)
			require.NoError(tb, err)
		}
		out[d.Name] = v
	}
	return out
}

// waitStats waits until the stats API reports exactly want (calls, errors)
// per proxy.
func waitStats(tb testing.TB, svc *apigee.Service, c *harness.Cluster, want map[string][2]float64) {
	tb.Helper()
	var last map[string][2]float64
	require.Eventually(tb, func() bool {
		last = statsByProxy(tb, svc, c)
		return fmt.Sprint(last) == fmt.Sprint(want)
	}, 60*time.Second, 100*time.Millisecond, "stats never reported %v (last %v)", want, func() any { return last })
	// Exactly: nothing more arrives afterwards either (files already
	// uploaded are not loaded twice).
	require.Equal(tb, want, statsByProxy(tb, svc, c))
}

func callN(tb testing.TB, c *harness.Cluster, host, path string, n, want int) {
	tb.Helper()
	for i := range n {
		got := call(tb, c, host, fmt.Sprintf("%s/%d", path, i))
		require.Equal(tb, want, got.status, got.body)
	}
}

func setStorageFault(tb testing.TB, c *harness.Cluster, status int) {
	tb.Helper()
	method, body := http.MethodPut, fmt.Sprintf(`{"httpStatus": %d}`, status)
	if status == 0 {
		method, body = http.MethodDelete, ""
	}
	req, err := http.NewRequest(method, c.APIURL()+"/v1/organizations/"+c.Org+"/emulator/faults/storage", strings.NewReader(body))
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+harness.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode)
}

// N calls → the stats API, through Google's Go client, reports N exactly,
// with the errors counted; bad queries are 400s in Google's shape.
func TestAnalyticsStatsCountEveryCall(t *testing.T) {
	t.Parallel()
	c, svc, host := analyticsCluster(t)
	callN(t, c, host, "/hello/x", 25, 200)
	callN(t, c, host, "/broken/x", 5, 503)
	// The warm-up calls count too: they were API calls.
	waitStats(t, svc, c, map[string][2]float64{"hello": {26, 0}, "broken": {6, 6}})
	require.Equal(t, 0.0, metric(t, c.Runtime, "analytics_records_dropped_total"))
	require.Positive(t, metric(t, c.UDCA, "uploaded_file_count", `dataset="api"`))

	// hybridctl stats shows the same, as a table.
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "stats", "--url", c.APIURL(), "--org", c.Org, "--env", c.Env, "--minutes", "10")
	cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Regexp(t, `(?m)^\s*hello\s+26\s+0\s`, string(out))
	require.Regexp(t, `(?m)^\s*broken\s+6\s+6\s`, string(out))

	name := "organizations/" + c.Org + "/environments/" + c.Env + "/stats/"
	for _, tt := range []struct {
		name, dims, sel, rng string
	}{
		{"unknown dimension", "nope", "sum(message_count)", statsRange()},
		{"unknown metric", "apiproxy", "sum(bogus)", statsRange()},
		{"bad timeRange", "apiproxy", "sum(message_count)", "last week"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Organizations.Environments.Stats.Get(name + tt.dims).Select(tt.sel).TimeRange(tt.rng).Do()
			var gerr *googleapi.Error
			require.ErrorAs(t, err, &gerr)
			require.Equal(t, http.StatusBadRequest, gerr.Code)
			require.Contains(t, string(gerr.Body), `"status":"INVALID_ARGUMENT"`)
		})
	}
}

// Storage answers 500 for a while: UDCA keeps the files, retries them on
// schedule (logging hybrid's lines, counting CLOUD_STORAGE errors) and
// uploads them once storage recovers; nothing is lost.
func TestAnalyticsUploadRetriedUntilStorageRecovers(t *testing.T) {
	t.Parallel()
	c, svc, host := analyticsCluster(t, "--upload.retryInterval", "300ms", "--upload.maxRetries", "1000")
	setStorageFault(t, c, http.StatusInternalServerError)
	callN(t, c, host, "/hello/x", 10, 200)
	require.Eventually(t, func() bool {
		return metric(t, c.UDCA, "upstream_http_error_count", `service="CLOUD_STORAGE"`, `response_code="500"`) >= 3 &&
			strings.Contains(c.UDCA.Log(), "Updating retry count for file") && strings.Contains(c.UDCA.Log(), "to 2")
	}, 30*time.Second, 50*time.Millisecond, "uploads were not retried")
	require.Positive(t, metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`))
	setStorageFault(t, c, 0)
	waitStats(t, svc, c, map[string][2]float64{"hello": {11, 0}, "broken": {1, 1}})
	require.Eventually(t, func() bool {
		return metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`) == 0
	}, 30*time.Second, 50*time.Millisecond)
}

// Seed mode: after 3 failed retries a file is discarded, as hybrid's UDCA
// does, and its records never reach the stats API.
func TestAnalyticsDiscardedAfterThreeRetries(t *testing.T) {
	t.Parallel()
	c, svc, host := analyticsCluster(t, "--upload.retryInterval", "100ms")
	// The warm-up calls' records may already be uploaded.
	waitStats(t, svc, c, map[string][2]float64{"hello": {1, 0}, "broken": {1, 1}})
	setStorageFault(t, c, http.StatusInternalServerError)
	callN(t, c, host, "/hello/x", 10, 200)
	require.Eventually(t, func() bool {
		return metric(t, c.UDCA, "records_received_count", `dataset="api"`) == 12 &&
			metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`) == 0 &&
			metric(t, c.UDCA, "discarded_file_count") >= 1
	}, 30*time.Second, 50*time.Millisecond, "files were not discarded")
	log := c.UDCA.Log()
	for _, line := range []string{"Updating retry count for file", "to 3", "Discarding file", "after 3 failed retries",
		`Details: http error received with code = 500 for service = \"CLOUD_STORAGE\"`} {
		require.Contains(t, log, line)
	}
	require.NotContains(t, log, "to 4\"")
	setStorageFault(t, c, 0)
	require.Equal(t, map[string][2]float64{"hello": {1, 0}, "broken": {1, 1}}, statsByProxy(t, svc, c))
}

// UDCA restarts while it holds files it could not upload and while calls
// go on: the files survive the restart, the message processor holds and
// resends its records, and the stats API ends up with every call.
func TestAnalyticsUDCARestartLosesNothing(t *testing.T) {
	t.Parallel()
	c, svc, host := analyticsCluster(t, "--upload.retryInterval", "200ms", "--upload.maxRetries", "1000")
	setStorageFault(t, c, http.StatusInternalServerError)
	callN(t, c, host, "/hello/x", 10, 200)
	require.Eventually(t, func() bool {
		return metric(t, c.UDCA, "records_received_count", `dataset="api"`) == 12
	}, 30*time.Second, 50*time.Millisecond)
	c.UDCA.Stop(t) // SIGTERM: one last upload attempt, which fails; the files stay
	callN(t, c, host, "/hello/y", 5, 200)
	c.UDCA = c.StartUDCA(t)
	c.UDCA.WaitReady(t, 60*time.Second)
	setStorageFault(t, c, 0)
	waitStats(t, svc, c, map[string][2]float64{"hello": {16, 0}, "broken": {1, 1}})
	require.Equal(t, 0.0, metric(t, c.Runtime, "analytics_records_dropped_total"))
}
