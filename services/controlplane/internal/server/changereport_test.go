package server_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
)

// TestDeployChangeReports drives generateDeployChangeReport and
// generateUndeployChangeReport with Google's Go client, as apigeecli and
// the Maven plugin call them before a deploy.
func TestDeployChangeReports(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"
	deps := api.Organizations.Environments.Apis.Revisions.Deployments
	importProxy := func(name, basePath string) {
		t.Helper()
		_, err := api.Organizations.Apis.Create(org, &apigee.GoogleApiHttpBody{
			ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(proxyZip(t, name, basePath)),
		}).Action("import").Name(name).Do()
		require.NoError(t, err)
	}
	rd := func(proxy, basePath, env, rev string) *apigee.GoogleCloudApigeeV1DeploymentChangeReportRoutingDeployment {
		return &apigee.GoogleCloudApigeeV1DeploymentChangeReportRoutingDeployment{ApiProxy: proxy, Basepath: basePath, Environment: env, Revision: rev}
	}
	rev := func(env, proxy, n string) string {
		return org + "/environments/" + env + "/apis/" + proxy + "/revisions/" + n
	}

	// A second environment in the seeded group "default", beside "test".
	_, err := api.Organizations.Environments.Create(org, &apigee.GoogleCloudApigeeV1Environment{Name: "dev"}).Do()
	require.NoError(t, err)
	_, err = api.Organizations.Envgroups.Attachments.Create(org+"/envgroups/default",
		&apigee.GoogleCloudApigeeV1EnvironmentGroupAttachment{Environment: "dev"}).Do()
	require.NoError(t, err)
	importProxy("hello", "/hello")
	version := c.contractVersion("hybrid", "test")

	// First deploy: /hello goes from nothing to hello 1 in test.
	rep, err := deps.GenerateDeployChangeReport(rev("test", "hello", "1")).Do()
	require.NoError(t, err)
	require.Nil(t, rep.ValidationErrors)
	require.Empty(t, rep.RoutingConflicts)
	require.Len(t, rep.RoutingChanges, 1)
	ch := rep.RoutingChanges[0]
	require.Equal(t, "default", ch.EnvironmentGroup)
	require.Nil(t, ch.FromDeployment)
	require.Equal(t, rd("hello", "/hello", "test", "1"), ch.ToDeployment)
	require.False(t, ch.ShouldSequenceRollout)
	require.Equal(t, "basepath /hello of environment group default will be routed to API proxy hello revision 1 in environment test", ch.Description)
	// A dry run changes nothing.
	list, err := api.Organizations.Deployments.List(org).Do()
	require.NoError(t, err)
	require.Empty(t, list.Deployments)
	require.Equal(t, version, c.contractVersion("hybrid", "test"))

	_, err = api.Organizations.Environments.Apis.Revisions.Deploy(rev("test", "hello", "1")).Do()
	require.NoError(t, err)

	// The same revision again: nothing would change.
	rep, err = deps.GenerateDeployChangeReport(rev("test", "hello", "1")).Do()
	require.NoError(t, err)
	require.Nil(t, rep.ValidationErrors)
	require.Empty(t, rep.RoutingChanges)

	// Revision 2 needs override; with it, /hello moves from 1 to 2.
	importProxy("hello", "/hello")
	rep, err = deps.GenerateDeployChangeReport(rev("test", "hello", "2")).Do()
	require.NoError(t, err)
	require.NotNil(t, rep.ValidationErrors)
	require.Len(t, rep.ValidationErrors.Violations, 1)
	v := rep.ValidationErrors.Violations[0]
	require.Equal(t, "FAILED_PRECONDITION", v.Type)
	require.Equal(t, rev("test", "hello", "2"), v.Subject)
	require.Contains(t, v.Description, "override=true")
	rep, err = deps.GenerateDeployChangeReport(rev("test", "hello", "2")).Override(true).Do()
	require.NoError(t, err)
	require.Nil(t, rep.ValidationErrors)
	require.Len(t, rep.RoutingChanges, 1)
	require.Equal(t, rd("hello", "/hello", "test", "1"), rep.RoutingChanges[0].FromDeployment)
	require.Equal(t, rd("hello", "/hello", "test", "2"), rep.RoutingChanges[0].ToDeployment)
	require.True(t, rep.RoutingChanges[0].ShouldSequenceRollout)

	// Revision 3 moves to /hello3: /hello3 starts, /hello stops.
	importProxy("hello", "/hello3")
	rep, err = deps.GenerateDeployChangeReport(rev("test", "hello", "3")).Override(true).Do()
	require.NoError(t, err)
	require.Len(t, rep.RoutingChanges, 2)
	require.Nil(t, rep.RoutingChanges[0].FromDeployment)
	require.Equal(t, rd("hello", "/hello3", "test", "3"), rep.RoutingChanges[0].ToDeployment)
	require.Equal(t, rd("hello", "/hello", "test", "1"), rep.RoutingChanges[1].FromDeployment)
	require.Nil(t, rep.RoutingChanges[1].ToDeployment)

	// Another proxy on /hello: in test the deploy would be refused; in dev
	// (same group) it deploys but hello keeps the traffic.
	importProxy("other", "/hello")
	rep, err = deps.GenerateDeployChangeReport(rev("test", "other", "1")).Do()
	require.NoError(t, err)
	require.NotNil(t, rep.ValidationErrors)
	require.Equal(t, "ALREADY_EXISTS", rep.ValidationErrors.Violations[0].Type)
	rep, err = deps.GenerateDeployChangeReport(rev("dev", "other", "1")).Do()
	require.NoError(t, err)
	require.Nil(t, rep.ValidationErrors)
	require.Empty(t, rep.RoutingChanges)
	require.Len(t, rep.RoutingConflicts, 1)
	require.Equal(t, "default", rep.RoutingConflicts[0].EnvironmentGroup)
	require.Equal(t, rd("hello", "/hello", "test", "1"), rep.RoutingConflicts[0].ConflictingDeployment)
	require.Contains(t, rep.RoutingConflicts[0].Description, "already served by API proxy hello revision 1 in environment test")
	// The report's conflicts are the deployment's routeConflicts.
	dep, err := api.Organizations.Environments.Apis.Revisions.Deploy(rev("dev", "other", "1")).Do()
	require.NoError(t, err)
	require.Len(t, dep.RouteConflicts, 1)
	require.Equal(t, rep.RoutingConflicts[0].ConflictingDeployment.ApiProxy, dep.RouteConflicts[0].ConflictingDeployment.ApiProxy)
	require.Equal(t, rep.RoutingConflicts[0].Description, dep.RouteConflicts[0].Description)

	// Undeploying hello hands /hello to other in dev.
	rep, err = deps.GenerateUndeployChangeReport(rev("test", "hello", "1")).Do()
	require.NoError(t, err)
	require.Nil(t, rep.ValidationErrors)
	require.Empty(t, rep.RoutingConflicts)
	require.Len(t, rep.RoutingChanges, 1)
	ch = rep.RoutingChanges[0]
	require.Equal(t, rd("hello", "/hello", "test", "1"), ch.FromDeployment)
	require.Equal(t, rd("other", "/hello", "dev", "1"), ch.ToDeployment)
	require.True(t, ch.ShouldSequenceRollout)
	// Undeploying other, which receives no traffic, changes no route.
	rep, err = deps.GenerateUndeployChangeReport(rev("dev", "other", "1")).Do()
	require.NoError(t, err)
	require.Nil(t, rep.ValidationErrors)
	require.Empty(t, rep.RoutingChanges)
	// A revision that is not deployed cannot be undeployed.
	rep, err = deps.GenerateUndeployChangeReport(rev("test", "hello", "2")).Do()
	require.NoError(t, err)
	require.NotNil(t, rep.ValidationErrors)
	require.Equal(t, "FAILED_PRECONDITION", rep.ValidationErrors.Violations[0].Type)

	// Once other is gone, undeploying hello leaves /hello to nothing.
	_, err = api.Organizations.Environments.Apis.Revisions.Undeploy(rev("dev", "other", "1")).Do()
	require.NoError(t, err)
	rep, err = deps.GenerateUndeployChangeReport(rev("test", "hello", "1")).Do()
	require.NoError(t, err)
	require.Len(t, rep.RoutingChanges, 1)
	require.Nil(t, rep.RoutingChanges[0].ToDeployment)
	require.False(t, rep.RoutingChanges[0].ShouldSequenceRollout)
	require.Contains(t, rep.RoutingChanges[0].Description, "will no longer be routed to API proxy hello revision 1 in environment test")

	// The wire shape: both lists always present, validationErrors only
	// when something fails.
	raw := c.doJSON("POST", "/v1/"+rev("dev", "hello", "1")+"/deployments:generateDeployChangeReport", nil, http.StatusOK, nil)
	require.JSONEq(t, `{"routingChanges":[],"routingConflicts":[{
		"description":"basepath /hello of environment group default is already served by API proxy hello revision 1 in environment test",
		"environmentGroup":"default",
		"conflictingDeployment":{"apiProxy":"hello","basepath":"/hello","environment":"test","revision":"1"}}]}`, string(raw.body))

	// Unknown things are errors, not reports.
	_, err = deps.GenerateDeployChangeReport(rev("test", "hello", "9")).Do()
	requireAPIError(t, err, http.StatusNotFound)
	_, err = deps.GenerateDeployChangeReport(rev("nope", "hello", "1")).Do()
	requireAPIError(t, err, http.StatusNotFound)
	_, err = deps.GenerateUndeployChangeReport(rev("test", "hello", "x")).Do()
	requireAPIError(t, err, http.StatusBadRequest)
	_, err = deps.GenerateDeployChangeReport(rev("test", "hello", "1")).Override(false).Do()
	require.NoError(t, err)
}
