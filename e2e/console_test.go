//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// consoleChromium is the browser the console test drives: Debian's
// chromium package (playwright-core never downloads one here).
func consoleChromium() string {
	if p := os.Getenv("HYBRID_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// requireConsoleTools fails, saying how to install them, when the browser,
// node or the test's node_modules are missing: a console that is not
// tested must not look like one that passed.
func requireConsoleTools(tb testing.TB, dir string) string {
	tb.Helper()
	node, err := exec.LookPath("node")
	require.NoError(tb, err, "the console test needs Node.js 20 or newer: apt-get install -y nodejs npm")
	_, err = os.Stat(consoleChromium())
	require.NoError(tb, err, "the console test needs Chromium at %s: apt-get install -y chromium (or set HYBRID_CHROMIUM)", consoleChromium())
	_, err = os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	require.NoError(tb, err, "the console test needs playwright-core: npm ci --prefix e2e/console (from the repository root)")
	return node
}

// The web console, end to end: a real stack (control plane, synchronizer,
// message processor, UDCA, MART, Connect agent, watcher over Cassandra)
// with a deployed proxy, traffic, analytics and a debug session; then
// e2e/console/console.test.mjs drives the console in headless Chromium and
// asserts on its DOM (deployment READY on its instance, the tether, one
// chart bar per minute adding up to the calls, the captured transaction's
// steps and variables, the outage table following the switch).
func TestConsoleInHeadlessChromium(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs("console")
	require.NoError(t, err)
	node := requireConsoleTools(t, dir)

	c := h.StartCluster(t, harness.Options{All: true, UDCAArgs: []string{"--files.maxAge", "200ms"}})
	svc := apigeeClient(t, c)
	const host = "console.e2e.example.com"
	attachHost(t, svc, c, "console", host)
	be := backend(t)
	b := bundletest.Proxy("traced", "/traced", be.URL)
	b["apiproxy/proxies/default.xml"] = strings.Replace(b["apiproxy/proxies/default.xml"], "<Request/>",
		`<Request><Step><Name>AM-Always</Name></Step><Step><Name>AM-Never</Name><Condition>request.queryparam.never = "true"</Condition></Step></Request>`, 1)
	b["apiproxy/policies/AM-Always.xml"] = `<AssignMessage name="AM-Always"><AssignVariable><Name>traced.seen</Name><Value>yes</Value></AssignVariable></AssignMessage>`
	b["apiproxy/policies/AM-Never.xml"] = `<AssignMessage name="AM-Never"><AssignVariable><Name>traced.never</Name><Value>yes</Value></AssignVariable></AssignMessage>`
	rev := importProxy(t, svc, c, "traced", bundletest.Zip(t, b))
	deployAndWait(t, svc, c, "traced", rev)

	// Every call to the proxy is counted: the chart must add up to them.
	calls := 0
	require.Eventually(t, func() bool {
		calls++
		return call(t, c, host, "/traced/warmup").status == 200
	}, 30*time.Second, 20*time.Millisecond, "the proxy never answered")

	dep, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, "traced", rev)).Do()
	require.NoError(t, err)
	require.NotEmpty(t, dep.Instances, "a READY deployment names its instance")
	instance := dep.Instances[0].Instance

	// A debug session capturing the calls with ?debug=yes.
	parent := revisionPath(c, "traced", rev)
	before := runtimeContractVersion(t, c)
	s, err := svc.Organizations.Environments.Apis.Revisions.Debugsessions.Create(parent,
		&apigee.GoogleCloudApigeeV1DebugSession{Count: 2, Filter: `request.queryparam.debug = "yes"`}).Do()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return runtimeContractVersion(t, c) != before }, 30*time.Second, 20*time.Millisecond,
		"the session's contract never reached the message processor")
	for i := range 3 {
		require.Equal(t, 200, call(t, c, host, fmt.Sprintf("/traced/m%d?debug=yes", i)).status)
		require.Equal(t, 200, call(t, c, host, fmt.Sprintf("/traced/n%d?debug=no", i)).status)
		calls += 2
	}
	var last [2]float64
	require.Eventually(t, func() bool {
		last = statsByProxy(t, svc, c)["traced"]
		return last == [2]float64{float64(calls), 0}
	}, 60*time.Second, 100*time.Millisecond, "stats never counted %d calls (last %v)", calls, func() any { return last })
	var ids []string
	require.Eventually(t, func() bool {
		ids = nil
		getJSON(t, c.APIURL()+"/v1/"+parent+"/debugsessions/"+s.Name+"/data", &ids)
		return len(ids) == 2
	}, 60*time.Second, 100*time.Millisecond, "the captures never reached the data endpoint (got %v)", func() any { return ids })
	// The Connect agent's tether, as the console lists it.
	var conns struct {
		Connections []struct{ StreamCount int } `json:"connections"`
	}
	require.Eventually(t, func() bool {
		getJSON(t, c.APIURL()+"/v1/projects/"+c.Org+"/endpoints/apigee_mart/connections", &conns)
		return len(conns.Connections) > 0
	}, 30*time.Second, 100*time.Millisecond, "the Connect agent never tethered")

	// Both listeners serve the console's files to anyone, while the API
	// the page calls still wants a token: the console bypasses nothing.
	for _, l := range []struct {
		name   string
		client *http.Client
		base   string
	}{
		{"main", http.DefaultClient, c.APIURL()},
		{"https", apigeecliClient(t, c).http, c.HTTPSURL()},
	} {
		resp, err := l.client.Get(l.base + "/console/")
		require.NoError(t, err, l.name)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, l.name)
		require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), l.name)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'", l.name)
		resp, err = l.client.Get(l.base + "/v1/organizations")
		require.NoError(t, err, l.name)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, l.name)
	}

	shots, err := filepath.Abs(filepath.Join("..", ".run", "console-screenshots"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(shots, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test-reporter=tap", "console.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CONSOLE_URL="+c.APIURL()+"/console/",
		"CONSOLE_TOKEN="+harness.AdminToken,
		"CONSOLE_ORG="+c.Org,
		"CONSOLE_ENV="+c.Env,
		"CONSOLE_HOST="+host,
		"CONSOLE_PROXY=traced",
		"CONSOLE_REVISION="+rev,
		"CONSOLE_INSTANCE="+instance,
		fmt.Sprintf("CONSOLE_CALLS=%d", calls),
		"CONSOLE_SESSION="+s.Name,
		"CONSOLE_TRANSACTIONS=2",
		"CONSOLE_SCREENSHOTS="+shots,
		"CHROMIUM="+consoleChromium(),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node console.test.mjs:\n%s", out)
	require.NoError(t, err, "the console's browser test failed (screenshots in %s)", shots)
	require.Contains(t, string(out), "# fail 0")
	for _, name := range []string{"deployments.png", "trace.png", "outage.png"} {
		_, err := os.Stat(filepath.Join(shots, name))
		require.NoError(t, err, "screenshot %s", name)
	}
}
