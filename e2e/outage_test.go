//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
)

// (c) The control plane goes away; the synchronizer and the message
// processor restart; deployed proxies keep answering from what Cassandra
// holds ("Hybrid off the Grid": existing configuration continues to work,
// and restarted pods pull it from Cassandra).
func TestProxiesSurviveControlPlaneOutageAndRestarts(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "offgrid.e2e.example.com"
	attachHost(t, svc, c, "g", host)
	rev := importProxy(t, svc, c, "weather", proxyZip(t, "weather", "/weather", be.URL+"/forecast"))
	deployAndWait(t, svc, c, "weather", rev)
	eventuallyStatus(t, c, host, "/weather/today", 200)

	// The contract that carries the deployment is in Cassandra, written by
	// the synchronizer.
	var version, storedBy string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.Session().Query(
		"SELECT version, stored_by FROM "+cassandra.Keyspace("rtc", c.Org)+".contracts WHERE environment = ? LIMIT 1", c.Env).
		ScanContext(ctx, &version, &storedBy))
	require.Regexp(t, `^\d{8}\.\d{6}\.\d{3}$`, version)
	require.Contains(t, storedBy, "synchronizer")

	c.ControlPlane.Stop(t)

	syncAddr := c.Synchronizer.Addr("main")
	c.Synchronizer.Stop(t)
	c.Synchronizer = c.StartSynchronizer(t, syncAddr)
	c.Runtime.Stop(t)
	c.Runtime = c.StartRuntime(t)
	c.Runtime.WaitReady(t, time.Minute)

	got := call(t, c, host, "/weather/today")
	require.Equal(t, 200, got.status, got.body)
	require.Equal(t, "/forecast/today", decode(t, got.body)["path"])
	require.Eventually(t, func() bool {
		return containsAll(c.Synchronizer.Log(), "Error in connecting to control plane", `"action":"CONTRACT-SYNC"`)
	}, 30*time.Second, 50*time.Millisecond, "the synchronizer logs its failed control plane calls")
}

// seedProbeLine is the synchronizer's SEVERE probe line from the seed
// (hybrid-off-the-grid), less its timestamp.
const seedProbeLine = `{"level":"SEVERE","thread":"NIOThread@1","mdc":{},"className":"com.apigee.probe.ProbeAPI","method":"getResponse","severity":"SEVERE",` +
	`"message":"probe failed with details ProbeStatusResponse{isProbeSuccessful=false, failureMessages=[Probe ControlPlaneErrorMonitor failed due to Error in connecting to control plane more than 5 times consecutively.]}"`

// (d) `hybridctl outage start` takes every upstream service of the mock
// control plane down (the seed's "internet goes away") and the impact
// table's synchronizer, message processor, MART and Connect rows hold:
// contract downloads fail and, after 5 consecutive errors, the
// synchronizer's probe fails with the seed's SEVERE line; deployed proxies
// keep serving; a restarted synchronizer serves the stored contract from
// Cassandra; management calls for runtime data fail while MART stays up;
// the Connect tether drops. `hybridctl outage stop` brings it all back
// with no restarts by hand.
func TestOutageSwitchOffTheGrid(t *testing.T) {
	t.Parallel()
	// A short retry cap so 6 consecutive errors take a second or two,
	// not the minute hybrid's pace (pollInterval) would.
	c := h.StartCluster(t, harness.Options{All: true, SynchronizerArgs: []string{"--retryMaxInterval", "200ms"}})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "outage.e2e.example.com"
	attachHost(t, svc, c, "g", host)
	rev := importProxy(t, svc, c, "weather", proxyZip(t, "weather", "/weather", be.URL+"/forecast"))
	deployAndWait(t, svc, c, "weather", rev)
	eventuallyStatus(t, c, host, "/weather/today", 200)
	developers := c.APIURL() + "/v1/organizations/" + c.Org + "/developers"
	code, body := adminCallURL(t, developers)
	require.Equal(t, 200, code, "runtime data through Connect and MART before the outage: %s", body)

	// The agent again, with a short reconnect cap, so recovery is quick.
	c.ConnectAgent.Stop(t)
	c.ConnectAgent = c.StartConnectAgent(t, c.KeyFile("apigee-mart"), "--maxReconnectBackoff", "500ms")
	c.ConnectAgent.WaitReady(t, time.Minute)
	require.Eventually(t, func() bool { return strings.Contains(c.ConnectAgent.Log(), "listening on tether") },
		30*time.Second, 50*time.Millisecond)
	tethersBefore := strings.Count(c.ConnectAgent.Log(), "listening on tether")

	// Bad input is a clear 400 and applies nothing.
	for _, args := range [][]string{
		{"--service", "bigquery"},
		{"--service", "apigee", "--error-rate", "1.5"},
		{"--service", "apigee", "--mode", "explode"},
	} {
		cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), append([]string{"outage", "start", "--url", c.APIURL()}, args...)...)
		cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%v: %s", args, out)
	}
	require.NotContains(t, hybridctlOutage(t, c, "status"), "FAULTED")

	out := hybridctlOutage(t, c, "start")
	require.Contains(t, out, "FAULTED")
	require.Contains(t, c.ControlPlane.Log(), `"message":"fault injected"`)
	for _, s := range []string{"apigee", "iamcredentials", "apigeeconnect", "storage"} {
		require.Regexp(t, `"level":"warn".*"message":"fault injected".*"service":"`+s+`","mode":"unavailable"`, c.ControlPlane.Log())
	}

	t.Run("synchronizer probe fails after 5 consecutive errors with the seed's line", func(t *testing.T) {
		require.Eventually(t, func() bool { return probe(t, c.Synchronizer) == 503 }, time.Minute, 50*time.Millisecond,
			"readiness never failed:\n%s", c.Synchronizer.Log())
		require.Eventually(t, func() bool { return strings.Contains(c.Synchronizer.Log(), seedProbeLine) },
			10*time.Second, 50*time.Millisecond, "no SEVERE probe line:\n%s", c.Synchronizer.Log())
		require.Contains(t, c.Synchronizer.Log(), `"consecutiveErrors":6`)
	})
	t.Run("deployed proxies keep serving", func(t *testing.T) {
		for range 5 {
			got := call(t, c, host, "/weather/today")
			require.Equal(t, 200, got.status, got.body)
		}
	})
	t.Run("management of runtime data fails while MART stays up", func(t *testing.T) {
		code, body := adminCallURL(t, developers)
		require.Equal(t, 503, code)
		require.Contains(t, body, `"status":"UNAVAILABLE"`)
		require.Equal(t, 200, probe(t, c.MART), "MART reads Cassandra, not the control plane")
	})
	t.Run("the Connect tether drops", func(t *testing.T) {
		require.Eventually(t, func() bool {
			return strings.Contains(c.ConnectAgent.Log(), "tether stream failed, reconnecting")
		}, 30*time.Second, 50*time.Millisecond)
	})
	outer := t // the restarted synchronizer lives past this subtest
	t.Run("a restarted synchronizer serves the stored contract", func(t *testing.T) {
		addr := c.Synchronizer.Addr("main")
		c.Synchronizer.Stop(t)
		c.Synchronizer = c.StartSynchronizer(outer, addr)
		require.Eventually(t, func() bool {
			return containsAll(c.Synchronizer.Log(), "serving stored contract", "Error in connecting to control plane")
		}, 30*time.Second, 50*time.Millisecond, c.Synchronizer.Log())
		got := call(t, c, host, "/weather/today")
		require.Equal(t, 200, got.status, got.body)
	})

	var st struct {
		Services []struct {
			Service string `json:"service"`
			Active  bool   `json:"active"`
		} `json:"services"`
	}
	require.NoError(t, json.Unmarshal([]byte(hybridctlOutage(t, c, "status", "--json")), &st))
	require.Len(t, st.Services, 6)
	for _, s := range st.Services {
		require.True(t, s.Active, s.Service)
	}

	require.Contains(t, hybridctlOutage(t, c, "stop"), "up")
	require.Contains(t, c.ControlPlane.Log(), `"mode":"restored"`)
	t.Run("recovery needs no restarts", func(t *testing.T) {
		c.Synchronizer.WaitReady(t, time.Minute)
		require.Eventually(t, func() bool {
			return strings.Count(c.ConnectAgent.Log(), "listening on tether") > tethersBefore
		}, 30*time.Second, 50*time.Millisecond, "the agent did not reconnect:\n%s", c.ConnectAgent.Log())
		// Management of runtime data works again once the tether is back.
		require.Eventually(t, func() bool {
			code, _ := adminCallURL(t, developers)
			return code == 200
		}, 30*time.Second, 50*time.Millisecond)
		metrics := httpGet(t, c.ControlPlane.URL("main")+"/metrics")
		require.Regexp(t, `controlplane_faults_injected_total\{mode="unavailable",service="apigee"\} [1-9]`, metrics)
	})
}

// hybridctlOutage runs `hybridctl outage ARGS…` against c's control plane.
func hybridctlOutage(tb testing.TB, c *harness.Cluster, args ...string) string {
	tb.Helper()
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), append([]string{"outage"}, append(args, "--url", c.APIURL())...)...)
	cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken)
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, string(out))
	return string(out)
}

// probe is the status of p's readiness probe (what a kubelet sees).
func probe(tb testing.TB, p *harness.Process) int {
	tb.Helper()
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get(p.URL("main") + "/v1/probes/ready")
	require.NoError(tb, err)
	res.Body.Close()
	return res.StatusCode
}

func httpGet(tb testing.TB, url string) string {
	tb.Helper()
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	require.NoError(tb, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	return string(b)
}
