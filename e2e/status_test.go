//go:build integration

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// Every service starts on the shared runtime and reports ready, and
// `hybridctl status` says so (exit 0); with one service gone it exits 1.
func TestAllServicesReadyAndHybridctlStatus(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	telemetry := c.StartTelemetry(t, []string{c.Runtime.LogPath})
	telemetry.WaitReady(t, time.Minute)
	endpoints := strings.Join([]string{
		"controlplane=" + c.ControlPlane.URL("main"),
		"synchronizer=" + c.Synchronizer.URL("main"),
		"runtime=" + c.Runtime.URL("main"),
		"mart=" + c.MART.URL("main"),
		"udca=" + c.UDCA.URL("main"),
		"watcher=" + c.Watcher.URL("main"),
		"connect-agent=" + c.ConnectAgent.URL("main"),
		"telemetry=" + telemetry.URL("main"),
	}, ",")
	hybridctl := filepath.Join(h.BinDir, "hybridctl")

	out, err := exec.Command(hybridctl, "status", "--endpoints", endpoints).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "connect-agent")
	require.Contains(t, string(out), "telemetry")

	c.UDCA.Stop(t)
	out, err = exec.Command(hybridctl, "status", "--endpoints", endpoints).CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, string(out))
	require.Equal(t, 1, exitErr.ExitCode())
	require.Contains(t, string(out), "unreachable")
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
