//go:build integration

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// (a) + (b): with Google's Go client unchanged, create an envgroup, attach
// the environment, import and deploy a bundle, call it through the message
// processor; then undeploy and get Apigee's 404 fault.
func TestDeployCallUndeploy(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "api.e2e.example.com"

	attachHost(t, svc, c, "e2e-group", host)
	rev := importProxy(t, svc, c, "hello", proxyZip(t, "hello", "/hello", be.URL+"/backend"))
	require.Equal(t, "1", rev)
	deployAndWait(t, svc, c, "hello", rev)

	got := eventuallyStatus(t, c, host, "/hello/world?x=1", 200)
	body := decode(t, got.body)
	require.Equal(t, "echo", body["backend"])
	require.Equal(t, "/backend/world", body["path"], "target path = target URL path + proxy.pathsuffix")
	require.Equal(t, "x=1", body["query"])
	require.NotEmpty(t, body["xff"], "X-Forwarded-For carries the client address")

	// The deployment is visible in the lists real clients read.
	list, err := svc.Organizations.Environments.Deployments.List("organizations/" + c.Org + "/environments/" + c.Env).Do()
	require.NoError(t, err)
	require.Len(t, list.Deployments, 1)
	require.Equal(t, "hello", list.Deployments[0].ApiProxy)

	// A host no envgroup serves is not routed.
	other := call(t, c, "unknown.example.com", "/hello/world")
	require.Equal(t, 404, other.status)

	_, err = svc.Organizations.Environments.Apis.Revisions.Undeploy(revisionPath(c, "hello", rev)).Do()
	require.NoError(t, err)
	gone := eventuallyStatus(t, c, host, "/hello/world", 404)
	require.JSONEq(t, `{"fault":{"faultstring":"Unable to identify proxy for host: api.e2e.example.com and url: /hello/world","detail":{"errorcode":"messaging.adaptors.http.flow.ApplicationNotFound"}}}`, gone.body)
	require.Equal(t, "application/json", gone.header.Get("Content-Type"))
}

// A second revision deployed with override replaces the first without a
// gap in service.
func TestRedeployNewRevision(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "redeploy.e2e.example.com"
	attachHost(t, svc, c, "g", host)

	r1 := importProxy(t, svc, c, "orders", proxyZip(t, "orders", "/orders", be.URL+"/v1"))
	deployAndWait(t, svc, c, "orders", r1)
	require.Equal(t, "/v1/list", decode(t, eventuallyStatus(t, c, host, "/orders/list", 200).body)["path"])

	r2 := importProxy(t, svc, c, "orders", proxyZip(t, "orders", "/orders", be.URL+"/v2"))
	require.Equal(t, "2", r2)
	deployAndWait(t, svc, c, "orders", r2)
	require.Eventually(t, func() bool {
		got := call(t, c, host, "/orders/list")
		return got.status == 200 && decode(t, got.body)["path"] == "/v2/list"
	}, 30*time.Second, 20*time.Millisecond)

	deps, err := svc.Organizations.Environments.Deployments.List("organizations/" + c.Org + "/environments/" + c.Env).Do()
	require.NoError(t, err)
	require.Len(t, deps.Deployments, 1)
	require.Equal(t, "2", deps.Deployments[0].Revision)
}
