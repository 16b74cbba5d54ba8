//go:build integration

package e2e

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/workspace"
)

// copySeed copies examples/seed into a temporary folder with its target
// server pointed at backendURL (the example's is 127.0.0.1:9000).
func copySeed(tb testing.TB, backendURL string) string {
	tb.Helper()
	src := filepath.Join(h.Root, "examples", "seed")
	dst := tb.TempDir()
	require.NoError(tb, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	}))
	u, err := url.Parse(backendURL)
	require.NoError(tb, err)
	ts := filepath.Join(dst, "src/main/apigee/environments/test/targetservers.json")
	data, err := os.ReadFile(ts)
	require.NoError(tb, err)
	require.NoError(tb, os.WriteFile(ts, []byte(strings.Replace(string(data), `"port": 9000`, `"port": `+u.Port(), 1)), 0o644))
	return dst
}

// applyDir runs hybridctl apply DIR --json against the cluster.
func applyDir(tb testing.TB, c *harness.Cluster, dir string) workspace.Result {
	tb.Helper()
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "apply", dir, "--url", c.APIURL(), "--org", c.Org, "--json")
	cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken, "HYBRID_ENV="+c.Env)
	out, err := cmd.Output()
	require.NoError(tb, err, "%s", out)
	var res workspace.Result
	require.NoError(tb, json.Unmarshal(out, &res), "%s", out)
	return res
}

func findChange(res workspace.Result, kind, name string) workspace.Change {
	for _, ch := range res.Changes {
		if ch.Kind == kind && ch.Name == name {
			return ch
		}
	}
	return workspace.Change{}
}

// A seed folder (the example in examples/seed) applied with hybridctl
// apply DIR deploys its proxy and loads its target server, product,
// developer, app and map; the app's key from developerapps.json then
// passes the proxy's VerifyAPIKey through the message processor. Applied
// again, nothing changes (no new revision); a changed bundle file makes
// one new revision, a changed target server port one update.
func TestSeedFolderApply(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{All: true})
	svc := apigeeClient(t, c)
	const host = "seed.e2e.example.com"
	attachHost(t, svc, c, "seed-group", host)
	be := backend(t)
	dir := copySeed(t, be.URL)

	res := applyDir(t, c, dir)
	proxy := findChange(res, "proxy", "hello-seed")
	require.Equal(t, workspace.Change{Kind: "proxy", Name: "hello-seed", Env: c.Env, Action: "imported", Revision: "1", State: "READY"}, proxy)
	for _, want := range [][2]string{{"targetserver", "hello-backend"}, {"product", "hello-product"},
		{"developer", "ada@example.com"}, {"app", "hello-app"}, {"kvm", "hello-config"}, {"kvmentry", "hello-config/greeting"}} {
		require.Equal(t, "created", findChange(res, want[0], want[1]).Action, "%v in %+v", want, res.Changes)
	}

	// The key is the one developerapps.json names.
	var apps []struct {
		Credentials []struct {
			ConsumerKey string `json:"consumerKey"`
		} `json:"credentials"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "src/tests/seed/developerapps.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &apps))
	key := apps[0].Credentials[0].ConsumerKey
	mp := c.TrafficURL()
	var got reply
	require.Eventually(t, func() bool {
		got = send(t, mp, http.MethodGet, host, "/hello-seed/greet", http.Header{"X-Apikey": {key}}, "")
		return got.status == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "last reply: %+v", got)
	require.Equal(t, "/greet", decode(t, got.body)["path"], "forwarded to the target server's backend")
	noKey := send(t, mp, http.MethodGet, host, "/hello-seed/greet", nil, "")
	require.Equal(t, "steps.oauth.v2.FailedToResolveAPIKey", faultCode(t, noKey.body))
	// The app holds only the workspace's key (no generated one beside it).
	app, err := svc.Organizations.Developers.Apps.Get("organizations/" + c.Org + "/developers/ada@example.com/apps/hello-app").Do()
	require.NoError(t, err)
	require.Len(t, app.Credentials, 1)
	require.Equal(t, key, app.Credentials[0].ConsumerKey)

	// Again: nothing changes.
	again := applyDir(t, c, dir)
	require.Zero(t, again.Changed(), "%+v", again.Changes)
	require.Equal(t, "1", findChange(again, "proxy", "hello-seed").Revision)
	api, err := svc.Organizations.Apis.Get("organizations/" + c.Org + "/apis/hello-seed").Do()
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, api.Revision)

	// A changed policy file: one new revision, deployed; a changed port:
	// the target server updated; the rest unchanged.
	policy := filepath.Join(dir, "src/main/apigee/apiproxies/hello-seed/apiproxy/policies/VA-Key.xml")
	data, err = os.ReadFile(policy)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(policy, []byte(strings.Replace(string(data), "VA-Key</DisplayName>", "Verify the key</DisplayName>", 1)), 0o644))
	third := applyDir(t, c, dir)
	require.Equal(t, workspace.Change{Kind: "proxy", Name: "hello-seed", Env: c.Env, Action: "imported", Revision: "2", State: "READY"},
		findChange(third, "proxy", "hello-seed"))
	require.Equal(t, 1, third.Changed(), "%+v", third.Changes)
}

// A bad seed folder is refused before anything is sent, naming the file
// and the field.
func TestSeedFolderApplyBadFile(t *testing.T) {
	t.Parallel()
	dir := copySeed(t, "http://127.0.0.1:9000")
	ts := filepath.Join(dir, "src/main/apigee/environments/test/targetservers.json")
	require.NoError(t, os.WriteFile(ts, []byte(`[{"name": "hello-backend", "host": "127.0.0.1", "port": "nine"}]`), 0o644))
	// Nothing listens at the URL: the error must come from reading the folder.
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "apply", dir, "--url", "http://127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), `src/main/apigee/environments/test/targetservers.json: [0].port: want a number from 1 to 65535, got the string "nine"`)
}
