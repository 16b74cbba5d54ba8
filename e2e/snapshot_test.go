//go:build integration

package e2e

import (
	"archive/zip"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/workspace"
)

// A snapshot carries one organization's setup to another: the seed
// folder applied to cluster A, exported with hybridctl snapshot export,
// imported into cluster B (another organization on its own control
// plane), and B's message processor then serves the proxy to the same
// API key through the same target server and KVM. Imported back into A,
// it changes nothing.
func TestSnapshotExportImport(t *testing.T) {
	t.Parallel()
	be := backend(t)
	const host = "snapshot.e2e.example.com"
	a := h.StartCluster(t, harness.Options{All: true})
	attachHost(t, apigeeClient(t, a), a, "snap", host)
	applyDir(t, a, copySeed(t, be.URL))

	file := filepath.Join(t.TempDir(), "a.zip")
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "snapshot", "export", "-o", file, "--url", a.APIURL(), "--org", a.Org)
	cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "apiproxies 1")
	st, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the snapshot holds consumer secrets")

	zr, err := zip.OpenReader(file)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	zr.Close()
	for _, want := range []string{workspace.SnapshotManifest,
		"src/main/apigee/apiproxies/hello-seed/apiproxy/hello-seed.xml",
		"src/main/apigee/environments/test/deployments.json", "src/main/apigee/environments/test/targetservers.json",
		"src/tests/snapshot/developerapps.json", "src/tests/snapshot/products.json"} {
		require.True(t, names[want], "%s in the snapshot: %v", want, names)
	}

	b := h.StartCluster(t, harness.Options{All: true})
	attachHost(t, apigeeClient(t, b), b, "snap", host)
	res := importSnapshot(t, b, file)
	require.Equal(t, "READY", findChange(res, "proxy", "hello-seed").State, "%+v", res.Changes)
	var got reply
	require.Eventually(t, func() bool {
		got = send(t, b.TrafficURL(), http.MethodGet, host, "/hello-seed/greet", http.Header{"X-Apikey": {"hello-seed-key"}}, "")
		return got.status == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "last reply: %+v", got)
	require.Equal(t, "/greet", decode(t, got.body)["path"])

	again := importSnapshot(t, a, file)
	require.Zero(t, again.Changed(), "importing A's snapshot into A changes nothing: %+v", again.Changes)
}

func importSnapshot(tb testing.TB, c *harness.Cluster, file string) workspace.Result {
	tb.Helper()
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "snapshot", "import", file, "--url", c.APIURL(), "--org", c.Org, "--json")
	cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken, "HYBRID_ENV="+c.Env)
	out, err := cmd.Output()
	require.NoError(tb, err, "%s", out)
	var res workspace.Result
	require.NoError(tb, json.Unmarshal(out, &res), "%s", out)
	return res
}
