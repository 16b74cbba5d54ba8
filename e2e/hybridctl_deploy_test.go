//go:build integration

package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// hybridctl deploy takes a bundle folder to READY on the real stack and
// prints where it serves; the proxy then answers through the message
// processor; hybridctl undeploy takes it away again.
func TestHybridctlDeployUndeploy(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	const host = "cli.e2e.example.com"
	attachHost(t, svc, c, "cli-group", host)
	hybridctl := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), append(args[:1:1],
			append([]string{"--url", c.APIURL(), "--org", c.Org, "--env", c.Env}, args[1:]...)...)...)
		cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := hybridctl("deploy", filepath.Join(h.Root, "examples", "hello"))
	require.NoError(t, err, out)
	require.Contains(t, out, "hello revision 1 in "+c.Env+": READY")
	require.Contains(t, out, "/hello\n")
	// The sample forwards to 127.0.0.1:9000, where nothing listens here:
	// the proxy is found (not ApplicationNotFound) and the target fails.
	r := eventuallyStatus(t, c, host, "/hello/", http.StatusServiceUnavailable)
	require.NotContains(t, r.body, "ApplicationNotFound")

	// The import's lint warnings are printed; they do not stop the deploy.
	out, err = hybridctl("deploy", filepath.Join(h.Root, "pkg", "lint", "testdata", "mixed"))
	require.NoError(t, err, out)
	require.Contains(t, out, ": READY")
	require.Contains(t, out, "  lint BN005 apiproxy/policies/")

	out, err = hybridctl("undeploy", "hello")
	require.NoError(t, err, out)
	require.Contains(t, out, "hello revision 1 undeployed from "+c.Env)
	eventuallyStatus(t, c, host, "/hello/", http.StatusNotFound)
	out, err = hybridctl("undeploy", "hello")
	require.Error(t, err)
	require.True(t, strings.Contains(out, "is not deployed"), out)
}
