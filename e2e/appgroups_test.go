//go:build integration

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// TestAppGroupAppKeyThroughControlPlane: an AppGroup and its app are
// created with Google's Go client through the control plane (Connect →
// MART → Cassandra); a proxy's VerifyAPIKey accepts the app's key and
// names the group, and deactivating the group through the control plane
// stops the key within the message processor's key cache TTL.
func TestAppGroupAppKeyThroughControlPlane(t *testing.T) {
	t.Parallel()
	const keyTTL = time.Second
	c := h.StartCluster(t, harness.Options{All: true, RuntimeArgs: []string{"--runtimeData.keyTTL", keyTTL.String()}})
	svc := orgAdminClient(t, c)
	org := "organizations/" + c.Org
	be := backend(t)
	const host = "groups.e2e.example.com"
	attachHost(t, svc, c, "groups-group", host)

	_, err := svc.Organizations.Apiproducts.Create(org, &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "partner-apis", ApprovalType: "auto", Environments: []string{c.Env}, Proxies: []string{"partners"}, ApiResources: []string{"/**"},
	}).Do()
	require.NoError(t, err)
	group, err := svc.Organizations.Appgroups.Create(org, &apigee.GoogleCloudApigeeV1AppGroup{
		Name: "acme", DisplayName: "ACME Corp", ChannelId: "portal",
	}).Do()
	require.NoError(t, err)
	require.Equal(t, "active", group.Status)
	app, err := svc.Organizations.Appgroups.Apps.Create(org+"/appgroups/acme", &apigee.GoogleCloudApigeeV1AppGroupApp{
		Name: "acme-app", ApiProducts: []string{"partner-apis"},
	}).Do()
	require.NoError(t, err)
	require.Equal(t, "acme", app.AppGroup)
	key := app.Credentials[0].ConsumerKey
	got, err := svc.Organizations.Appgroups.Apps.Keys.Get(org + "/appgroups/acme/apps/acme-app/keys/" + key).Do()
	require.NoError(t, err)
	require.Equal(t, "partner-apis", got.ApiProducts[0].Apiproduct)

	files := withSteps(bundletest.Proxy("partners", "/v1/partners", be.URL), [2]string{"VA-Key", ""})
	files["apiproxy/policies/VA-Key.xml"] = `<VerifyAPIKey name="VA-Key"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
	files["apiproxy/policies/AM-Owner.xml"] = `<AssignMessage name="AM-Owner"><AssignTo>response</AssignTo><Set><Headers>
  <Header name="X-App-Group">{verifyapikey.VA-Key.appgroup.name}</Header>
  <Header name="X-App">{verifyapikey.VA-Key.app.name}</Header>
  <Header name="X-Developer">{verifyapikey.VA-Key.developer.email}</Header>
</Headers></Set><IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables></AssignMessage>`
	files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], "<Response/>",
		"<Response><Step><Name>AM-Owner</Name></Step></Response>", 1)
	rev := importProxy(t, svc, c, "partners", bundletest.Zip(t, files))
	deployAndWait(t, svc, c, "partners", rev)

	mp := c.TrafficURL()
	withKey := http.Header{"X-Apikey": {key}}
	ok := send(t, mp, "GET", host, "/v1/partners/orders", withKey, "")
	require.Equal(t, 200, ok.status, ok.body)
	require.Equal(t, "/orders", decode(t, ok.body)["path"])
	require.Equal(t, "acme", ok.header.Get("X-App-Group"))
	require.Equal(t, "acme-app", ok.header.Get("X-App"))
	require.Empty(t, ok.header.Get("X-Developer"), "no developer behind an AppGroup app")
	bad := send(t, mp, "GET", host, "/v1/partners/orders", http.Header{"X-Apikey": {"no-such-key"}}, "")
	require.Equal(t, 401, bad.status)
	require.Equal(t, "oauth.v2.InvalidApiKey", faultCode(t, bad.body))

	// Deactivating the group through the control plane reaches the MP
	// within its key cache TTL.
	_, err = svc.Organizations.Appgroups.Update(org+"/appgroups/acme", &apigee.GoogleCloudApigeeV1AppGroup{}).Action("inactive").Do()
	require.NoError(t, err)
	var last reply
	require.Eventually(t, func() bool {
		last = send(t, mp, "GET", host, "/v1/partners/orders", withKey, "")
		return last.status == 401
	}, keyTTL+5*time.Second, 20*time.Millisecond, "inactive group's key still accepted: %s", last.body)
	require.Equal(t, "keymanagement.service.CompanyStatusNotActive", faultCode(t, last.body))
}
