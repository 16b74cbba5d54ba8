//go:build integration

package e2e

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// An OASValidation spec that takes part of itself from an environment
// resource file of type oas, all through the control plane's API with
// Google's Go client: the proxy deploys, validates requests against the
// environment's part, and follows an update of that file (a new contract)
// without a redeployment. One proxy's <OASResource> names a spec in the
// bundle whose $ref reaches the environment file; another names an
// environment-only spec directly (the import accepts a reference the bundle
// does not hold; the deployment resolves it).
func TestOASValidationWithEnvironmentSpec(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "oas.e2e.example.com"
	attachHost(t, svc, c, "oas-group", host)

	env := "organizations/" + c.Org + "/environments/" + c.Env
	rf := svc.Organizations.Environments.Resourcefiles
	params := func(max int) *apigee.GoogleApiHttpBody {
		spec := "components:\n  parameters:\n    Limit: {name: limit, in: query, required: true, schema: {type: integer, maximum: " +
			strconv.Itoa(max) + "}}\n"
		return &apigee.GoogleApiHttpBody{ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString([]byte(spec))}
	}
	created, err := rf.Create(env, params(10)).Type("oas").Name("params.yaml").Do()
	require.NoError(t, err)
	require.Equal(t, "oas", created.Type)

	files := bundletest.Proxy("oas", "/oas", be.URL)
	files["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default">
    <PreFlow name="PreFlow"><Request><Step><Name>OAS-Validate</Name></Step></Request></PreFlow>
    <HTTPProxyConnection><BasePath>/oas</BasePath></HTTPProxyConnection>
    <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`
	files["apiproxy/policies/OAS-Validate.xml"] = `<OASValidation name="OAS-Validate">
    <Source>request</Source>
    <OASResource>oas://items.yaml</OASResource>
</OASValidation>`
	files["apiproxy/resources/oas/items.yaml"] = `openapi: 3.0.3
info: {title: items, version: "1"}
paths:
  /items:
    get:
      parameters:
        - $ref: "params.yaml#/components/parameters/Limit"
      responses:
        "200": {description: items}
`
	rev := importProxy(t, svc, c, "oas", bundletest.Zip(t, files))
	deployAndWait(t, svc, c, "oas", rev)

	ok := eventuallyStatus(t, c, host, "/oas/items?limit=5", http.StatusOK)
	require.Equal(t, "/items", decode(t, ok.body)["path"])
	bad := call(t, c, host, "/oas/items?limit=50")
	require.Equal(t, http.StatusBadRequest, bad.status, bad.body)
	fault := decode(t, bad.body)["fault"].(map[string]any)
	require.Equal(t, "steps.oasvalidation.Failed", fault["detail"].(map[string]any)["errorcode"])
	require.Contains(t, fault["faultstring"], `OASValidation OAS-Validate with resource "oas://items.yaml": failed with reason: "[ERROR - parameter "limit" in query has an error: number must be at most 10: []]"`)
	require.Equal(t, http.StatusBadRequest, call(t, c, host, "/oas/items").status, "the environment's spec makes limit required")

	// The environment file changes: the next contract recompiles the
	// proxy, no redeployment.
	_, err = rf.Update(env, "oas", "params.yaml", params(100)).Do()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return call(t, c, host, "/oas/items?limit=50").status == http.StatusOK },
		30*time.Second, 20*time.Millisecond, "the updated environment spec never reached the message processor")
	require.Equal(t, http.StatusBadRequest, call(t, c, host, "/oas/items?limit=500").status)

	// A policy that names an environment-only spec imports and deploys.
	whole := "openapi: 3.0.3\ninfo: {title: direct, version: \"1\"}\npaths:\n  /ping:\n    get:\n      responses:\n        \"200\": {description: pong}\n"
	_, err = rf.Create(env, &apigee.GoogleApiHttpBody{ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString([]byte(whole))}).
		Type("oas").Name("direct.yaml").Do()
	require.NoError(t, err)
	direct := bundletest.Proxy("oasdirect", "/oasdirect", be.URL)
	direct["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default">
    <PreFlow name="PreFlow"><Request><Step><Name>OAS-Direct</Name></Step></Request></PreFlow>
    <HTTPProxyConnection><BasePath>/oasdirect</BasePath></HTTPProxyConnection>
    <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`
	direct["apiproxy/policies/OAS-Direct.xml"] = `<OASValidation name="OAS-Direct"><Source>request</Source><OASResource>oas://direct.yaml</OASResource></OASValidation>`
	rev = importProxy(t, svc, c, "oasdirect", bundletest.Zip(t, direct))
	deployAndWait(t, svc, c, "oasdirect", rev)
	eventuallyStatus(t, c, host, "/oasdirect/ping", http.StatusOK)
	require.Equal(t, http.StatusBadRequest, call(t, c, host, "/oasdirect/other").status)
}
