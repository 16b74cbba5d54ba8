//go:build integration

package e2e

import (
	"encoding/base64"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// A flow hook attached through the Apigee API and a target server created
// through it reach the message processor through the contract: the hook's
// shared flow runs around a proxy whose target load-balances over the
// target server.
func TestFlowHookAndTargetServer(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "engine.e2e.example.com"
	attachHost(t, svc, c, "engine-group", host)
	envName := "organizations/" + c.Org + "/environments/" + c.Env

	// Shared flow: sets a response header; deployed, then attached.
	sf := bundletest.SharedFlow("sf-mark")
	sf["sharedflowbundle/policies/AM-MarkSharedFlow.xml"] = `<AssignMessage name="AM-MarkSharedFlow">
  <AssignTo>response</AssignTo>
  <Set><Headers><Header name="X-Hook">{environment.name}</Header></Headers></Set>
</AssignMessage>`
	rev, err := svc.Organizations.Sharedflows.Create("organizations/"+c.Org, &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(bundletest.Zip(t, sf)),
	}).Action("import").Name("sf-mark").Do()
	require.NoError(t, err)
	sfPath := envName + "/sharedflows/sf-mark/revisions/" + rev.Revision
	_, err = svc.Organizations.Environments.Sharedflows.Revisions.Deploy(sfPath).Override(true).Do()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := svc.Organizations.Environments.Sharedflows.Revisions.GetDeployments(sfPath).Do()
		return err == nil && d.State == "READY"
	}, 30*time.Second, 20*time.Millisecond)

	u, err := url.Parse(be.URL)
	require.NoError(t, err)
	hostName, portStr, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)
	port, _ := strconv.Atoi(portStr)
	ts, err := svc.Organizations.Environments.Targetservers.Create(envName, &apigee.GoogleCloudApigeeV1TargetServer{
		Name: "backend-1", Host: hostName, Port: int64(port), IsEnabled: true}).Do()
	require.NoError(t, err)
	require.Equal(t, "HTTP", ts.Protocol)

	files := bundletest.Proxy("balanced", "/balanced", "http://unused.invalid")
	files["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><HTTPTargetConnection>
  <LoadBalancer><Server name="backend-1"/></LoadBalancer><Path>/via-lb</Path>
</HTTPTargetConnection></TargetEndpoint>`
	prev := importProxy(t, svc, c, "balanced", bundletest.Zip(t, files))
	deployAndWait(t, svc, c, "balanced", prev)
	got := eventuallyStatus(t, c, host, "/balanced/items", 200)
	require.Equal(t, "/via-lb/items", decode(t, got.body)["path"])

	hook, err := svc.Organizations.Environments.Flowhooks.AttachSharedFlowToFlowHook(envName+"/flowhooks/PostProxyFlowHook",
		&apigee.GoogleCloudApigeeV1FlowHook{SharedFlow: "sf-mark", ContinueOnError: true}).Do()
	require.NoError(t, err)
	require.Equal(t, "sf-mark", hook.SharedFlow)
	require.Eventually(t, func() bool {
		return call(t, c, host, "/balanced/items").header.Get("X-Hook") == c.Env
	}, 30*time.Second, 20*time.Millisecond, "the PostProxyFlowHook's shared flow runs once the contract reaches the runtime")

	_, err = svc.Organizations.Environments.Flowhooks.DetachSharedFlowFromFlowHook(envName + "/flowhooks/PostProxyFlowHook").Do()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r := call(t, c, host, "/balanced/items")
		return r.status == 200 && r.header.Get("X-Hook") == ""
	}, 30*time.Second, 20*time.Millisecond)
}
