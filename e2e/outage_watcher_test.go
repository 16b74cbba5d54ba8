//go:build integration

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// The seed's watcher row: while the control plane is unreachable, newer
// ingress configuration does not reach the watcher (it keeps publishing
// the routes it had) and the deployment status in the control plane goes
// stale (a deploy made meanwhile stays PROGRESSING, the outage report
// shows the watcher STALE). When the outage ends both are corrected by
// themselves, with no restart: the new hostname is routed and the
// deployment turns READY.
func TestWatcherThroughOutage(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{SynchronizerArgs: []string{"--retryMaxInterval", "200ms"}})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host, later = "watcher-outage.e2e.example.com", "added-during-outage.e2e.example.com"
	attachHost(t, svc, c, "before", host)
	rev := importProxy(t, svc, c, "weather", proxyZip(t, "weather", "/weather", be.URL))
	deployAndWait(t, svc, c, "weather", rev)
	routed := func(h string) bool { return slices.Contains(watcherHostnames(t, c.Watcher), h) }
	require.Eventually(t, func() bool { return routed(host) }, 20*time.Second, 50*time.Millisecond)
	// Imported now: the deploy, not the import, has to reach the runtime.
	radar := importProxy(t, svc, c, "radar", proxyZip(t, "radar", "/radar", be.URL))

	hybridctlOutage(t, c, "start", "--scope", "runtime")
	// The operator keeps the management API: a new hostname and a deploy.
	attachHost(t, svc, c, "during", later)
	_, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, "radar", radar)).Override(true).Do()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return strings.Contains(c.Watcher.Log(), "could not read the deployed ingress configuration; keeping the routes published")
	}, 30*time.Second, 50*time.Millisecond, "the watcher never noticed the outage:\n%s", c.Watcher.Log())
	require.False(t, routed(later), "newer ingress configuration does not arrive during the outage")
	require.True(t, routed(host), "the routes it had stay published")
	require.Eventually(t, func() bool { return watcherReportState(t, c) == "STALE" }, 30*time.Second, 100*time.Millisecond,
		"the outage report never showed the watcher's status as stale")
	d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, "radar", radar)).Do()
	require.NoError(t, err)
	require.Equal(t, "PROGRESSING", d.State, "the control plane's deployment status is stale")

	hybridctlOutage(t, c, "stop")
	require.Eventually(t, func() bool { return routed(later) }, 30*time.Second, 50*time.Millisecond,
		"the watcher did not pick up the ingress configuration made during the outage")
	waitDeploymentState(t, svc, c, "radar", radar, "READY")
	require.Eventually(t, func() bool { return watcherReportState(t, c) == "ok" }, 30*time.Second, 100*time.Millisecond)
	eventuallyStatus(t, c, later, "/radar/now", 200)
}

// watcherHostnames are the hostnames of every ApigeeRoute the watcher
// publishes.
func watcherHostnames(tb testing.TB, w *harness.Process) []string {
	tb.Helper()
	var routes struct {
		Items []struct {
			Spec struct {
				Hostnames []string `json:"hostnames"`
			} `json:"spec"`
		} `json:"items"`
	}
	getJSON(tb, w.URL("main")+"/v1/watcher/routes", &routes)
	var out []string
	for _, r := range routes.Items {
		out = append(out, r.Spec.Hostnames...)
	}
	return out
}

// watcherReportState is the watcher row of `hybridctl outage report`.
func watcherReportState(tb testing.TB, c *harness.Cluster) string {
	tb.Helper()
	return outageReport(tb, c)["watcher"].State
}
