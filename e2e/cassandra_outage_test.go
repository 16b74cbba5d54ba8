//go:build integration

package e2e

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// cutter is a TCP forwarder to Cassandra that can be cut (every connection
// dropped, new ones closed at once) and restored: to the message processor
// behind it, that is Cassandra going away and coming back, without
// disturbing the other tests that share the node.
type cutter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newCutter(tb testing.TB, target string) *cutter {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	c := &cutter{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go c.serve()
	tb.Cleanup(func() { ln.Close(); c.cut() })
	return c
}

func (c *cutter) port() string { return strconv.Itoa(c.ln.Addr().(*net.TCPAddr).Port) }

func (c *cutter) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		down := c.down
		c.mu.Unlock()
		if down {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			in.Close()
			continue
		}
		c.track(in, out)
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

func (c *cutter) track(conns ...net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range conns {
		c.conns[x] = true
	}
}

// cut drops every connection and refuses new ones until restore.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = true
	for x := range c.conns {
		x.Close()
	}
	c.conns = map[net.Conn]bool{}
}

func (c *cutter) restore() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = false
}

func readiness(tb testing.TB, p *harness.Process) (int, string) {
	tb.Helper()
	resp, err := http.Get(p.URL("main") + "/v1/probes/ready")
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMessageProcessorRidesOutCassandraOutage: while Cassandra is away the
// MP's readiness names it; when Cassandra is back the same MP process finds
// it again and reads runtime data, with no restart.
func TestMessageProcessorRidesOutCassandraOutage(t *testing.T) {
	t.Parallel()
	cass := newCutter(t, net.JoinHostPort(h.CassandraHost, strconv.Itoa(h.CassandraPort)))
	c := h.StartCluster(t, harness.Options{RuntimeArgs: []string{"--cassandra.port", cass.port(), "--runtimeData.keyTTL", "200ms"}})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "outage.e2e.example.com"
	attachHost(t, svc, c, "outage-group", host)
	const key = "outage-consumer-key"
	seedKey(t, c.Org, c.Env, key, "keyed")
	files := withSteps(bundletest.Proxy("keyed", "/keyed", be.URL), [2]string{"VA-Key", ""})
	files["apiproxy/policies/VA-Key.xml"] = `<VerifyAPIKey name="VA-Key"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
	deployAndWait(t, svc, c, "keyed", importProxy(t, svc, c, "keyed", bundletest.Zip(t, files)))
	withKey := http.Header{"X-Apikey": {key}}
	require.Equal(t, 200, send(t, c.TrafficURL(), "GET", host, "/keyed/x", withKey, "").status)

	cass.cut()
	var body string
	require.Eventually(t, func() bool {
		var code int
		code, body = readiness(t, c.Runtime)
		return code != 200 && strings.Contains(body, "Probe Cassandra failed")
	}, 60*time.Second, 50*time.Millisecond, "readiness never reported Cassandra: %s", body)
	t.Logf("Cassandra away: %s", strings.TrimSpace(body))

	cass.restore()
	require.Eventually(t, func() bool {
		code, _ := readiness(t, c.Runtime)
		return code == 200 && send(t, c.TrafficURL(), "GET", host, "/keyed/x", withKey, "").status == 200
	}, 60*time.Second, 100*time.Millisecond, "the MP did not find Cassandra again")
	require.True(t, c.Runtime.Running(), "the MP kept running")
}
