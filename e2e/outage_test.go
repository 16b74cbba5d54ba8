package e2e

import (
	"context"
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
