//go:build integration

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// (e) apigeecli only speaks HTTPS and cannot be installed here, so this
// replays the requests it sends, over TLS with the control plane's
// generated CA: `apis create bundle` (multipart field "proxy"), envgroup
// creation with --wait (polling GET operations/{id} until done), `envs list`
// (a JSON array), deploy with override=true&sequencedRollout=false, and
// polling the deployment until READY.
func TestApigeecliRequestShapesOverHTTPS(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	be := backend(t)
	cli := apigeecliClient(t, c)
	base := c.HTTPSURL()
	org := "/v1/organizations/" + c.Org

	var envs []string
	cli.doJSON(t, http.MethodGet, base+org+"/environments", "", http.StatusOK, &envs)
	require.Equal(t, []string{c.Env}, envs)

	var op struct {
		Name string `json:"name"`
		Done bool   `json:"done"`
	}
	cli.doJSON(t, http.MethodPost, base+org+"/envgroups", `{"name":"cli-group","hostnames":["cli.e2e.example.com"]}`, http.StatusOK, &op)
	require.True(t, strings.HasPrefix(op.Name, "organizations/"+c.Org+"/operations/"), op.Name)
	cli.waitOperation(t, base, op.Name)
	cli.doJSON(t, http.MethodPost, base+org+"/envgroups/cli-group/attachments", `{"environment":"`+c.Env+`"}`, http.StatusOK, &op)
	cli.waitOperation(t, base, op.Name)

	status, body := importMultipartWith(t, cli.http, base, c.Org, "cli-proxy", "proxy", proxyZip(t, "cli-proxy", "/cli", be.URL))
	require.Equal(t, http.StatusOK, status, body)
	var rev struct {
		Name      string   `json:"name"`
		Revision  string   `json:"revision"`
		Basepaths []string `json:"basepaths"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &rev))
	require.Equal(t, "1", rev.Revision)
	require.Equal(t, []string{"/cli"}, rev.Basepaths)

	deployment := base + org + "/environments/" + c.Env + "/apis/cli-proxy/revisions/1/deployments"
	cli.doJSON(t, http.MethodPost, deployment+"?override=true&sequencedRollout=false", "", http.StatusOK, nil)
	require.Eventually(t, func() bool {
		var d struct {
			State string `json:"state"`
		}
		cli.doJSON(t, http.MethodGet, deployment, "", http.StatusOK, &d)
		return d.State == "READY"
	}, 30*time.Second, 20*time.Millisecond)

	got := eventuallyStatus(t, c, "cli.e2e.example.com", "/cli/ping", 200)
	require.Equal(t, "/ping", decode(t, got.body)["path"])

	// Without a token the API refuses, over TLS too.
	req, err := http.NewRequest(http.MethodGet, base+org+"/environments", nil)
	require.NoError(t, err)
	resp, err := cli.http.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

type apigeecli struct{ http *http.Client }

// apigeecliClient trusts only the control plane's CA, as a user who set
// SSL_CERT_FILE to it would.
func apigeecliClient(tb testing.TB, c *harness.Cluster) *apigeecli {
	tb.Helper()
	pem, err := os.ReadFile(c.CACertPath())
	require.NoError(tb, err)
	pool := x509.NewCertPool()
	require.True(tb, pool.AppendCertsFromPEM(pem))
	return &apigeecli{http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}
}

func (a *apigeecli) doJSON(tb testing.TB, method, url, body string, want int, out any) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+harness.AdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	require.Equal(tb, want, resp.StatusCode, "%s %s: %s", method, url, data)
	if out != nil {
		require.NoError(tb, json.Unmarshal(data, out), string(data))
	}
}

// waitOperation polls GET /v1/{operation name} until done, as apigeecli --wait does.
func (a *apigeecli) waitOperation(tb testing.TB, base, name string) {
	tb.Helper()
	require.Eventually(tb, func() bool {
		var op struct {
			Done bool `json:"done"`
		}
		a.doJSON(tb, http.MethodGet, base+"/v1/"+name, "", http.StatusOK, &op)
		return op.Done
	}, 30*time.Second, 20*time.Millisecond)
}
