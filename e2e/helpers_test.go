//go:build integration

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// bearer adds the control plane token to every request, as gcloud's
// application-default credentials would.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// apigeeClient is Google's generated Apigee client, unchanged, pointed at
// the mock control plane.
func apigeeClient(tb testing.TB, c *harness.Cluster) *apigee.Service {
	tb.Helper()
	svc, err := apigee.NewService(context.Background(),
		option.WithEndpoint(c.APIURL()+"/"),
		option.WithHTTPClient(&http.Client{Transport: bearer{harness.AdminToken}}))
	require.NoError(tb, err)
	return svc
}

// backend is a real HTTP server that echoes what reached it.
func backend(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"backend": "echo", "path": r.URL.Path, "query": r.URL.RawQuery, "method": r.Method,
			"xff": r.Header.Get("X-Forwarded-For"),
		})
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func proxyZip(tb testing.TB, name, basePath, target string) []byte {
	return bundletest.Zip(tb, bundletest.Proxy(name, basePath, target))
}

// attachHost creates an environment group with host and attaches the
// cluster's environment, through the Go client.
func attachHost(tb testing.TB, svc *apigee.Service, c *harness.Cluster, group, host string) {
	tb.Helper()
	op, err := svc.Organizations.Envgroups.Create("organizations/"+c.Org,
		&apigee.GoogleCloudApigeeV1EnvironmentGroup{Name: group, Hostnames: []string{host}}).Do()
	require.NoError(tb, err)
	require.True(tb, op.Done, "envgroup creation finishes immediately")
	op, err = svc.Organizations.Envgroups.Attachments.Create("organizations/"+c.Org+"/envgroups/"+group,
		&apigee.GoogleCloudApigeeV1EnvironmentGroupAttachment{Environment: c.Env}).Do()
	require.NoError(tb, err)
	require.True(tb, op.Done)
}

func importProxy(tb testing.TB, svc *apigee.Service, c *harness.Cluster, name string, zip []byte) string {
	tb.Helper()
	rev, err := svc.Organizations.Apis.Create("organizations/"+c.Org, &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream",
		Data:        base64.StdEncoding.EncodeToString(zip),
	}).Action("import").Name(name).Do()
	require.NoError(tb, err)
	return rev.Revision
}

func revisionPath(c *harness.Cluster, api, rev string) string {
	return "organizations/" + c.Org + "/environments/" + c.Env + "/apis/" + api + "/revisions/" + rev
}

// deployAndWait deploys and polls the deployment until READY, as apigeecli
// --wait does.
func deployAndWait(tb testing.TB, svc *apigee.Service, c *harness.Cluster, api, rev string) {
	tb.Helper()
	_, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, api, rev)).Override(true).Do()
	require.NoError(tb, err)
	require.Eventually(tb, func() bool {
		d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, api, rev)).Do()
		return err == nil && d.State == "READY"
	}, 30*time.Second, 20*time.Millisecond, "deployment of %s r%s never became READY", api, rev)
}

type reply struct {
	status int
	body   string
	header http.Header
}

// call sends a request through the message processor with a Host header.
func call(tb testing.TB, c *harness.Cluster, host, path string) reply {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, c.TrafficURL()+path, nil)
	require.NoError(tb, err)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return reply{status: resp.StatusCode, body: string(body), header: resp.Header}
}

// eventuallyStatus polls until the runtime answers path with want: contract
// changes reach the message processor asynchronously.
func eventuallyStatus(tb testing.TB, c *harness.Cluster, host, path string, want int) reply {
	tb.Helper()
	var last reply
	require.Eventually(tb, func() bool {
		last = call(tb, c, host, path)
		return last.status == want
	}, 30*time.Second, 20*time.Millisecond, "never got %d for %s", want, path)
	return last
}

func decode(tb testing.TB, body string) map[string]any {
	tb.Helper()
	var m map[string]any
	require.NoError(tb, json.NewDecoder(strings.NewReader(body)).Decode(&m), body)
	return m
}
