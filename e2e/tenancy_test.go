//go:build integration

package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Two organizations over one Cassandra never see each other's runtime
// data: an API key of one is unknown to the other, each proxy reads its
// own org's KVM under the same map and entry names, and one quota
// identifier counts separately per org.
func TestOrganizationsAreIsolated(t *testing.T) {
	t.Parallel()
	be := backend(t)
	const host = "tenant.e2e.example.com"
	type tenant struct {
		c      *harness.Cluster
		secret string
	}
	var tenants []tenant
	for _, secret := range []string{"alpha-secret", "beta-secret"} {
		c := h.StartCluster(t, harness.Options{})
		svc := apigeeClient(t, c)
		attachHost(t, svc, c, "tenant", host)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		kvm := store.NewKVM(h.Session(), h.EncryptionKeys(t, c.Org))
		_, err := kvm.CreateMap(ctx, c.Org, store.OrgScope(), "settings", true)
		require.NoError(t, err)
		_, err = kvm.CreateEntry(ctx, c.Org, store.OrgScope(), "settings", "secret", secret)
		require.NoError(t, err)
		cancel()

		files := withSteps(bundletest.Proxy("tenant", "/tenant", be.URL),
			[2]string{"VA-Key", `proxy.pathsuffix = "/keyed"`},
			[2]string{"KVM-Read", ""}, [2]string{"AM-Secret", ""},
			[2]string{"Q-Everyone", `proxy.pathsuffix = "/metered"`})
		files["apiproxy/policies/VA-Key.xml"] = `<VerifyAPIKey name="VA-Key"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
		files["apiproxy/policies/KVM-Read.xml"] = `<KeyValueMapOperations name="KVM-Read" mapIdentifier="settings"><Scope>organization</Scope>
  <Get assignTo="private.secret"><Key><Parameter>secret</Parameter></Key></Get></KeyValueMapOperations>`
		files["apiproxy/policies/AM-Secret.xml"] = `<AssignMessage name="AM-Secret"><Set><QueryParams><QueryParam name="secret">{private.secret}</QueryParam></QueryParams></Set>
  <AssignTo createNew="false" type="request"/></AssignMessage>`
		files["apiproxy/policies/Q-Everyone.xml"] = `<Quota name="Q-Everyone"><Allow count="2"/><Interval>1</Interval><TimeUnit>hour</TimeUnit>
  <Identifier ref="request.header.x-tenant-id"/><Distributed>true</Distributed><Synchronous>true</Synchronous></Quota>`
		rev := importProxy(t, svc, c, "tenant", bundletest.Zip(t, files))
		deployAndWait(t, svc, c, "tenant", rev)
		tenants = append(tenants, tenant{c: c, secret: secret})
	}
	alpha, beta := tenants[0], tenants[1]
	seedKey(t, alpha.c.Org, alpha.c.Env, "alpha-only-key", "tenant")

	// The key is alpha's alone.
	withKey := http.Header{"X-Apikey": {"alpha-only-key"}}
	got := send(t, alpha.c.TrafficURL(), "GET", host, "/tenant/keyed", withKey, "")
	require.Equal(t, 200, got.status, got.body)
	got = send(t, beta.c.TrafficURL(), "GET", host, "/tenant/keyed", withKey, "")
	require.Equal(t, 401, got.status, got.body)
	require.Equal(t, "oauth.v2.InvalidApiKey", faultCode(t, got.body))

	// Same map, same entry name: each org reads its own value.
	for _, tn := range tenants {
		got := send(t, tn.c.TrafficURL(), "GET", host, "/tenant/plain", nil, "")
		require.Equal(t, 200, got.status, got.body)
		require.Equal(t, "secret="+tn.secret, decode(t, got.body)["query"], "the backend saw another org's KVM value")
	}

	// Alpha spends the quota of identifier "shared"; beta's is untouched.
	metered := http.Header{"X-Tenant-Id": {"shared"}}
	for i := range 2 {
		got := send(t, alpha.c.TrafficURL(), "GET", host, "/tenant/metered", metered, "")
		require.Equal(t, 200, got.status, "call %d: %s", i+1, got.body)
	}
	require.Equal(t, 429, send(t, alpha.c.TrafficURL(), "GET", host, "/tenant/metered", metered, "").status)
	got = send(t, beta.c.TrafficURL(), "GET", host, "/tenant/metered", metered, "")
	require.Equal(t, 200, got.status, "another org's quota counter leaked: %s", got.body)
}

// The seed's environment group rules, through Google's Go client and the
// running message processor: an environment in two groups is served under
// both groups' hostnames; a hostname belongs to one group (409 naming it);
// an unknown host gets Apigee's ApplicationNotFound; a base path deployed in
// two environments of one group is reported as a route conflict.
func TestEnvironmentGroupRules(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)
	attachHost(t, svc, c, "public", "public.e2e.example.com")
	attachHost(t, svc, c, "partners", "partners.e2e.example.com")
	rev := importProxy(t, svc, c, "groups", proxyZip(t, "groups", "/groups", be.URL))
	deployAndWait(t, svc, c, "groups", rev)
	for _, host := range []string{"public.e2e.example.com", "partners.e2e.example.com"} {
		got := eventuallyStatus(t, c, host, "/groups/x", 200)
		require.Equal(t, "/x", decode(t, got.body)["path"], host)
	}

	_, err := svc.Organizations.Envgroups.Create("organizations/"+c.Org,
		&apigee.GoogleCloudApigeeV1EnvironmentGroup{Name: "thief", Hostnames: []string{"PUBLIC.e2e.example.com"}}).Do()
	var gerr *googleapi.Error
	require.ErrorAs(t, err, &gerr)
	require.Equal(t, http.StatusConflict, gerr.Code)
	require.Contains(t, gerr.Message, "public", "the conflict names the group that holds the hostname")

	unknown := call(t, c, "nowhere.e2e.example.com", "/groups/x")
	require.Equal(t, http.StatusNotFound, unknown.status)
	require.Equal(t, "messaging.adaptors.http.flow.ApplicationNotFound", faultCode(t, unknown.body))
	require.Contains(t, unknown.body, "Unable to identify proxy for host: nowhere.e2e.example.com and url: /groups/x")

	op, err := svc.Organizations.Environments.Create("organizations/"+c.Org, &apigee.GoogleCloudApigeeV1Environment{Name: "other"}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	op, err = svc.Organizations.Envgroups.Attachments.Create("organizations/"+c.Org+"/envgroups/public",
		&apigee.GoogleCloudApigeeV1EnvironmentGroupAttachment{Environment: "other"}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	_, err = svc.Organizations.Environments.Apis.Revisions.Deploy("organizations/" + c.Org + "/environments/other/apis/groups/revisions/" + rev).Do()
	require.NoError(t, err)
	d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments("organizations/" + c.Org + "/environments/other/apis/groups/revisions/" + rev).Do()
	require.NoError(t, err)
	require.Len(t, d.RouteConflicts, 1, "%+v", d)
	require.Equal(t, "public", d.RouteConflicts[0].EnvironmentGroup)
	require.Equal(t, c.Env, d.RouteConflicts[0].ConflictingDeployment.Environment)
	// The first deployment keeps the base path.
	require.Equal(t, 200, call(t, c, "public.e2e.example.com", "/groups/x").status)
}
