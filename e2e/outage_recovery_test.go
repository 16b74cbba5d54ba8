//go:build integration

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// recoveryBound is issue #15's recovery requirement in local mode: a
// deploy waiting when the control plane comes back is live within 5 s.
// It is a functional bound (the synchronizer's capped back-off, 3 s by
// default, plus a long-poll round), not a benchmark.
const recoveryBound = 5 * time.Second

// (e) Recovery from an outage of the runtime plane's connection with the
// local defaults (no short intervals passed): a message processor
// restarted during the outage, while its synchronizer is restarting too,
// holds traffic with 503 until its stored contract is in and never
// answers 404; `hybridctl outage report` shows
// the outage as the seed's table describes it; a deploy made during the
// outage stays PROGRESSING, is live within recoveryBound of `outage stop`,
// and the report recovers.
func TestOutageRecovery(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "recovery.e2e.example.com"
	attachHost(t, svc, c, "g", host)
	rev := importProxy(t, svc, c, "weather", proxyZip(t, "weather", "/weather", be.URL+"/forecast"))
	deployAndWait(t, svc, c, "weather", rev)
	eventuallyStatus(t, c, host, "/weather/today", 200)
	// Imported now: the Apigee API is down during the outage, and it is
	// the deploy, not the import, that has to reach the runtime.
	radar := importProxy(t, svc, c, "radar", proxyZip(t, "radar", "/radar", be.URL+"/radar"))
	require.Equal(t, 404, call(t, c, host, "/radar/now").status, "not deployed yet")

	// The runtime plane is cut off; the operator keeps the management API
	// (a hybrid cluster losing its egress), so a deploy can be made during
	// the outage.
	hybridctlOutage(t, c, "start", "--scope", "runtime")
	require.Eventually(t, func() bool { return probe(t, c.Synchronizer) == 503 }, time.Minute, 50*time.Millisecond,
		"the synchronizer's probe never failed:\n%s", c.Synchronizer.Log())

	t.Run("report during the outage", func(t *testing.T) {
		rows := outageReport(t, c)
		require.Equal(t, "OUTAGE", rows["controlplane"].State)
		require.Equal(t, "DEGRADED", rows["synchronizer"].State, rows["synchronizer"].Observed)
		require.Contains(t, rows["synchronizer"].Observed, "consecutive control plane errors")
		require.NotNil(t, rows["synchronizer"].Since)
		require.Equal(t, "ok", rows["runtime"].State, "deployed proxies keep serving: %s", rows["runtime"].Observed)
		require.Equal(t, "ok", rows["mart"].State)
		require.Contains(t, rows["synchronizer"].Expected, "5 consecutive errors")
		// The tether and the watcher's reports follow within their own
		// intervals.
		require.Eventually(t, func() bool {
			rows := outageReport(t, c)
			return rows["connect-agent"].State == "DEGRADED" && rows["watcher"].State == "STALE"
		}, 30*time.Second, 100*time.Millisecond)
	})

	outer := t // processes restarted in subtests live past them
	t.Run("a message processor restarted during the outage never answers 404", func(t *testing.T) {
		// The synchronizer is restarting too (its CrashLoopBackOff): the
		// new message processor has no contract until it is back.
		syncAddr := c.Synchronizer.Addr("main")
		c.Synchronizer.Stop(t)
		c.Runtime.Stop(t)
		start := time.Now()
		c.Runtime = c.StartRuntime(outer)
		seen := map[int]int{}
		held := eventuallyStatus(t, c, host, "/weather/today", 503)
		seen[503]++
		require.Contains(t, held.body, `"errorcode":"messaging.adaptors.http.flow.ServiceUnavailable"`)
		require.Contains(t, held.body, `"faultstring":"The Service is temporarily unavailable"`)
		require.NotEmpty(t, held.header.Get("Retry-After"))

		t.Logf("first 503 %s after the restart", time.Since(start))
		c.Synchronizer = c.StartSynchronizer(outer, syncAddr)
		back := time.Now()
		require.Eventually(t, func() bool {
			got := call(t, c, host, "/weather/today")
			seen[got.status]++
			return got.status == 200
		}, 30*time.Second, 10*time.Millisecond, "the restarted message processor never served: %v\n%s", seen, c.Runtime.Log())
		t.Logf("served %s after the synchronizer's restart: %v", time.Since(back), seen)
		for code := range seen {
			require.Contains(t, []int{200, 503}, code, "answers while the contract loaded: %v", seen)
		}
		require.Contains(t, c.Synchronizer.Log(), "serving stored contract")
	})

	t.Run("a deploy made during the outage is live within 5s of the control plane's return", func(t *testing.T) {
		_, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, "radar", radar)).Override(true).Do()
		require.NoError(t, err, "the operator's deploy reaches the management API during a runtime-scoped outage")
		d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, "radar", radar)).Do()
		require.NoError(t, err)
		require.Equal(t, "PROGRESSING", d.State, "no runtime can load it while cut off")
		require.Equal(t, 404, call(t, c, host, "/radar/now").status, "new deployments do not arrive during the outage")

		back := time.Now()
		hybridctlOutage(t, c, "stop")
		var last reply
		require.Eventually(t, func() bool {
			last = call(t, c, host, "/radar/now")
			return last.status == 200
		}, time.Until(back.Add(recoveryBound)), 10*time.Millisecond,
			"the deploy was not live within %s of the control plane's return (last %d %s)\n%s", recoveryBound, last.status, last.body, c.Synchronizer.Log())
		require.Equal(t, "/radar/now", decode(t, last.body)["path"])
		t.Logf("live %s after the control plane's return", time.Since(back))
		// The watcher still watches the message processor restarted above
		// at its old address: one for the new one reports it READY.
		c.Watcher.Stop(t)
		c.Watcher = c.StartWatcher(outer)
		waitDeploymentState(t, svc, c, "radar", radar, "READY")
	})

	t.Run("report after recovery", func(t *testing.T) {
		require.Eventually(t, func() bool {
			rows := outageReport(t, c)
			return rows["controlplane"].State == "ok" && rows["synchronizer"].State == "ok" && rows["runtime"].State == "ok"
		}, 30*time.Second, 100*time.Millisecond, "%v", outageReport(t, c))
		rows := outageReport(t, c)
		require.Nil(t, rows["synchronizer"].Since, "no failure streak any more")
		require.Contains(t, rows["synchronizer"].Observed, "(from controlplane)")
	})
}

type reportRow struct {
	Component string     `json:"component"`
	State     string     `json:"state"`
	Expected  string     `json:"expected"`
	Observed  string     `json:"observed"`
	Since     *time.Time `json:"since"`
}

// outageReport runs `hybridctl outage report --json` against c, by
// component.
func outageReport(tb testing.TB, c *harness.Cluster) map[string]reportRow {
	tb.Helper()
	eps := []string{
		"synchronizer=" + c.Synchronizer.URL("main"),
		"runtime=" + c.Runtime.URL("main"),
		"watcher=" + c.Watcher.URL("main"),
	}
	for name, p := range map[string]*harness.Process{"mart": c.MART, "udca": c.UDCA, "connect-agent": c.ConnectAgent} {
		if p != nil {
			eps = append(eps, name+"="+p.URL("main"))
		}
	}
	out := hybridctlOutage(tb, c, "report", "--json", "--endpoints", strings.Join(eps, ","))
	var rep struct {
		Rows []reportRow `json:"rows"`
	}
	require.NoError(tb, json.Unmarshal([]byte(out), &rep), out)
	rows := map[string]reportRow{}
	for _, r := range rep.Rows {
		rows[r.Component] = r
	}
	return rows
}
