//go:build integration

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// syncBuffer is a bytes.Buffer a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runtimeContractVersion is the contract version the message processor
// runs for the cluster's environment.
func runtimeContractVersion(tb testing.TB, c *harness.Cluster) string {
	tb.Helper()
	var st struct {
		Environments map[string]struct {
			ContractVersion string `json:"contractVersion"`
		} `json:"environments"`
	}
	getJSON(tb, c.Runtime.URL("main")+"/v1/runtime/status", &st)
	return st.Environments[c.Env].ContractVersion
}

// A debug session, through Google's Go client: the message processor
// captures exactly count matching transactions with the steps that ran;
// calls the filter does not match are not captured; the captures travel
// MP → UDCA (trace dataset) → upload → the session's data endpoints.
func TestDebugSessionCapturesMatchingTransactions(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{Analytics: true, UDCAArgs: []string{"--files.maxAge", "200ms"}})
	svc := apigeeClient(t, c)
	const host = "debug.e2e.example.com"
	attachHost(t, svc, c, "debug", host)
	be := backend(t)
	b := bundletest.Proxy("traced", "/traced", be.URL)
	b["apiproxy/proxies/default.xml"] = strings.Replace(b["apiproxy/proxies/default.xml"], "<Request/>",
		`<Request><Step><Name>AM-Always</Name></Step><Step><Name>AM-Never</Name><Condition>request.queryparam.never = "true"</Condition></Step></Request>`, 1)
	b["apiproxy/policies/AM-Always.xml"] = `<AssignMessage name="AM-Always"><AssignVariable><Name>traced.seen</Name><Value>yes</Value></AssignVariable></AssignMessage>`
	b["apiproxy/policies/AM-Never.xml"] = `<AssignMessage name="AM-Never"><AssignVariable><Name>traced.never</Name><Value>yes</Value></AssignVariable></AssignMessage>`
	// AM-Body reads the response, so that its payload is captured.
	b["apiproxy/proxies/default.xml"] = strings.Replace(b["apiproxy/proxies/default.xml"], "<Response/>",
		`<Response><Step><Name>AM-Body</Name></Step></Response>`, 1)
	b["apiproxy/policies/AM-Body.xml"] = `<AssignMessage name="AM-Body"><AssignVariable><Name>traced.body</Name><Ref>response.content</Ref></AssignVariable></AssignMessage>`
	rev := importProxy(t, svc, c, "traced", bundletest.Zip(t, b))
	deployAndWait(t, svc, c, "traced", rev)
	eventuallyStatus(t, c, host, "/traced/warmup", 200)

	parent := revisionPath(c, "traced", rev)
	sessions := svc.Organizations.Environments.Apis.Revisions.Debugsessions
	// A filter that does not parse is refused.
	_, err := sessions.Create(parent, &apigee.GoogleCloudApigeeV1DebugSession{Filter: `request.queryparam.debug ==`}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "filter")

	// The environment's debug mask hides variables and a JSONPath of the
	// response before the capture leaves the message processor; a
	// malformed expression is refused.
	maskName := "organizations/" + c.Org + "/environments/" + c.Env + "/debugmask"
	_, err = svc.Organizations.Environments.UpdateDebugmask(maskName,
		&apigee.GoogleCloudApigeeV1DebugMask{ResponseJSONPaths: []string{"$.path["}}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "$.path[")
	_, err = svc.Organizations.Environments.UpdateDebugmask(maskName,
		&apigee.GoogleCloudApigeeV1DebugMask{Variables: []string{"traced.seen", "traced.body"}, ResponseJSONPaths: []string{"$.path"}}).Do()
	require.NoError(t, err)

	before := runtimeContractVersion(t, c)
	const count = 3
	s, err := sessions.Create(parent, &apigee.GoogleCloudApigeeV1DebugSession{Count: count, Tracesize: 8,
		Filter: `request.queryparam.debug = "yes"`}).Do()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return runtimeContractVersion(t, c) != before }, 30*time.Second, 20*time.Millisecond,
		"the session's contract never reached the message processor")

	// Interleaved: 2*count matching calls, count non-matching ones.
	for i := range 2 * count {
		require.Equal(t, 200, call(t, c, host, fmt.Sprintf("/traced/m%d?debug=yes", i)).status)
		require.Equal(t, 200, call(t, c, host, fmt.Sprintf("/traced/n%d?debug=no", i)).status)
	}
	// Every call's analytics record has been uploaded and loaded: the
	// captures, sent on the same stream before them, have been too.
	waitStats(t, svc, c, map[string][2]float64{"traced": {1 + 4*count, 0}})

	var ids []string
	dataURL := c.APIURL() + "/v1/" + parent + "/debugsessions/" + s.Name + "/data"
	require.Eventually(t, func() bool {
		ids = nil
		getJSON(t, dataURL, &ids)
		return len(ids) >= count
	}, 60*time.Second, 100*time.Millisecond, "the captures never reached the data endpoint (got %v)", func() any { return ids })
	require.Len(t, ids, count, "exactly count transactions are captured")

	for _, id := range ids {
		tx, err := sessions.Data.Get(parent + "/debugsessions/" + s.Name + "/data/" + id).Do()
		require.NoError(t, err)
		require.True(t, tx.Completed)
		var points, executed []string
		var uri, condition, seen string
		for _, p := range tx.Point {
			points = append(points, p.Id)
			for _, r := range p.Results {
				if r.ActionResult == "RequestMessage" && uri == "" {
					uri = r.URI
				}
				for _, a := range r.AccessList {
					if a.Set != nil && a.Set.Name == "traced.seen" {
						seen = a.Set.Value
					}
				}
				if r.ActionResult != "DebugInfo" || r.Properties == nil {
					continue
				}
				for _, pr := range r.Properties.Property {
					switch {
					case p.Id == "Execution" && pr.Name == "stepDefinition-name":
						executed = append(executed, pr.Value)
					case p.Id == "Condition" && pr.Name == "ExpressionResult":
						condition = pr.Value
					}
				}
			}
		}
		require.Contains(t, uri, "debug=yes", "only matching requests are captured")
		require.Equal(t, []string{"AM-Always", "AM-Body"}, executed, "the steps that ran")
		require.Equal(t, "false", condition, "AM-Never's condition was evaluated and did not hold")
		require.Equal(t, "**********", seen, "the variable AM-Always set is recorded, masked")
		require.Equal(t, "StateChange", points[0])
		require.Equal(t, "StateChange", points[len(points)-1])
		last := tx.Point[len(tx.Point)-1].Results[1]
		require.Equal(t, "200", last.StatusCode)
		require.LessOrEqual(t, len(last.Content), 8, "payloads are cut at tracesize")
	}

	// hybridctl trace get shows the same transactions.
	cmd := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "trace", "get", "--url", c.APIURL(), "--org", c.Org, "--env", c.Env,
		"--api", "traced", "--rev", rev, "--session", s.Name)
	cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, id := range ids {
		require.Regexp(t, `(?m)^`+regexp.QuoteMeta(id)+`  GET /traced/m\d\?debug=yes  -> 200  steps: AM-Always, AM-Body$`, string(out))
	}

	// hybridctl trace start opens a session and prints its transactions
	// as they arrive, until it has count.
	before = runtimeContractVersion(t, c)
	start := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "trace", "start", "--url", c.APIURL(), "--org", c.Org, "--env", c.Env,
		"--api", "traced", "--rev", rev, "--count", "1", "--poll", "100ms", "--filter", `request.queryparam.debug = "cli"`)
	start.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+harness.AdminToken)
	var startOut syncBuffer
	start.Stdout, start.Stderr = &startOut, &startOut
	require.NoError(t, start.Start())
	done := make(chan error, 1)
	go func() { done <- start.Wait() }()
	waited := false
	t.Cleanup(func() {
		if !waited { // the test failed first: stop the CLI
			_ = start.Process.Kill()
			<-done
		}
	})
	require.Eventually(t, func() bool { return runtimeContractVersion(t, c) != before }, 30*time.Second, 20*time.Millisecond,
		"the CLI's session never reached the message processor (output %q)", func() any { return startOut.String() })
	require.Equal(t, 200, call(t, c, host, "/traced/skip?debug=no").status)
	require.Equal(t, 200, call(t, c, host, "/traced/cli?debug=cli").status)
	select {
	case err := <-done:
		waited = true
		require.NoError(t, err, "%s", startOut.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("hybridctl trace start never saw its transaction: %s", startOut.String())
	}
	require.Contains(t, startOut.String(), "started on "+c.Org+"/"+c.Env+" traced revision "+rev)
	require.Regexp(t, `(?m)^\S+  GET /traced/cli\?debug=cli  -> 200  steps: AM-Always, AM-Body$`, startOut.String())
	require.NotContains(t, startOut.String(), "debug=no")

	// The CLI's session (tracesize 5120) shows the response payload with
	// the JSONPath masked.
	list, err := sessions.List(parent).Do()
	require.NoError(t, err)
	var cli string
	for _, ref := range list.Sessions {
		if ref.Id != s.Name {
			cli = ref.Id
		}
	}
	require.NotEmpty(t, cli)
	var cliIDs []string
	getJSON(t, c.APIURL()+"/v1/"+parent+"/debugsessions/"+cli+"/data", &cliIDs)
	require.Len(t, cliIDs, 1)
	tx, err := sessions.Data.Get(parent + "/debugsessions/" + cli + "/data/" + cliIDs[0]).Do()
	require.NoError(t, err)
	last := tx.Point[len(tx.Point)-1].Results[1]
	require.Equal(t, "ResponseMessage", last.ActionResult)
	require.Contains(t, last.Content, `"path":"**********"`)
	require.NotContains(t, last.Content, "/cli", "the masked value never leaves the message processor")
	require.Contains(t, last.Content, `"backend":"echo"`, "what the mask does not name is shown")

	// deleteData deletes the session's data; the session stays (the API
	// reference: it does not cancel the session).
	_, err = sessions.DeleteData(parent + "/debugsessions/" + s.Name).Do()
	require.NoError(t, err)
	_, err = sessions.Get(parent + "/debugsessions/" + s.Name).Do()
	require.NoError(t, err)
	ids = nil
	getJSON(t, dataURL, &ids)
	require.Empty(t, ids)
	_, err = sessions.Data.Get(parent + "/debugsessions/" + cli + "/data/" + cliIDs[0]).Do()
	require.NoError(t, err, "another session's data stays")
}
