package server_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

func goClient(tb testing.TB, c *cp, token string) *apigee.Service {
	tb.Helper()
	svc, err := apigee.NewService(context.Background(),
		option.WithEndpoint(c.url+"/"), option.WithHTTPClient(authClient(token, nil)))
	require.NoError(tb, err)
	return svc
}

// TestGoClientLifecycle drives the whole deploy cycle with Google's
// generated Go client for the Apigee API.
func TestGoClientLifecycle(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"

	// Seeded org.
	o, err := api.Organizations.Get(org).Do()
	require.NoError(t, err)
	require.Equal(t, "hybrid", o.Name)
	require.Equal(t, "HYBRID", o.RuntimeType)
	require.Equal(t, []string{"test"}, o.Environments)
	require.NotZero(t, o.CreatedAt)
	props := map[string]string{}
	for _, p := range o.Properties.Property {
		props[p.Name] = p.Value
	}
	require.Equal(t, "true", props["features.mart.connect.enabled"])
	list, err := api.Organizations.List("organizations").Do()
	require.NoError(t, err)
	require.Len(t, list.Organizations, 1)
	require.Equal(t, []string{"hybrid"}, list.Organizations[0].ProjectIds)

	// Environment: a finished long-running operation, retrievable later.
	op, err := api.Organizations.Environments.Create(org, &apigee.GoogleCloudApigeeV1Environment{
		Name: "dev", DisplayName: "Development",
		Properties: &apigee.GoogleCloudApigeeV1Properties{Property: []*apigee.GoogleCloudApigeeV1Property{{Name: "k", Value: "v"}}},
	}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	require.Regexp(t, `^organizations/hybrid/operations/[0-9a-f-]{36}$`, op.Name)
	require.Contains(t, string(op.Metadata), `"state":"FINISHED"`)
	require.Contains(t, string(op.Response), `"@type":"type.googleapis.com/google.cloud.apigee.v1.Environment"`)
	again, err := api.Organizations.Operations.Get(op.Name).Do()
	require.NoError(t, err)
	require.Equal(t, op.Name, again.Name)
	require.True(t, again.Done)
	ops, err := api.Organizations.Operations.List(org).Do()
	require.NoError(t, err)
	require.NotEmpty(t, ops.Operations)

	env, err := api.Organizations.Environments.Get(org + "/environments/dev").Do()
	require.NoError(t, err)
	require.Equal(t, "dev", env.Name)
	require.Equal(t, "ACTIVE", env.State)
	require.Equal(t, "PROGRAMMABLE", env.ApiProxyType)
	o, err = api.Organizations.Get(org).Do()
	require.NoError(t, err)
	require.Equal(t, []string{"dev", "test"}, o.Environments)

	_, err = api.Organizations.Environments.Create(org, &apigee.GoogleCloudApigeeV1Environment{Name: "dev"}).Do()
	requireAPIError(t, err, http.StatusConflict)

	// Environment group and attachment.
	_, err = api.Organizations.Envgroups.Create(org, &apigee.GoogleCloudApigeeV1EnvironmentGroup{
		Name: "dev-group", Hostnames: []string{"dev.hybrid.local"},
	}).Do()
	require.NoError(t, err)
	_, err = api.Organizations.Envgroups.Create(org, &apigee.GoogleCloudApigeeV1EnvironmentGroup{
		Name: "other", Hostnames: []string{"dev.hybrid.local"},
	}).Do()
	requireAPIError(t, err, http.StatusConflict)
	op, err = api.Organizations.Envgroups.Attachments.Create(org+"/envgroups/dev-group",
		&apigee.GoogleCloudApigeeV1EnvironmentGroupAttachment{Environment: "dev"}).Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	atts, err := api.Organizations.Envgroups.Attachments.List(org + "/envgroups/dev-group").Do()
	require.NoError(t, err)
	require.Len(t, atts.EnvironmentGroupAttachments, 1)
	require.Equal(t, "dev", atts.EnvironmentGroupAttachments[0].Environment)
	groups, err := api.Organizations.Envgroups.List(org).Do()
	require.NoError(t, err)
	require.Len(t, groups.EnvironmentGroups, 2)
	_, err = api.Organizations.Envgroups.Patch(org+"/envgroups/dev-group", &apigee.GoogleCloudApigeeV1EnvironmentGroup{
		Hostnames: []string{"dev.hybrid.local", "dev2.hybrid.local"},
	}).UpdateMask("hostnames").Do()
	require.NoError(t, err)
	g, err := api.Organizations.Envgroups.Get(org + "/envgroups/dev-group").Do()
	require.NoError(t, err)
	require.Equal(t, []string{"dev.hybrid.local", "dev2.hybrid.local"}, g.Hostnames)

	// Import through the client's JSON HttpBody form.
	zip := proxyZip(t, "hello", "/hello")
	rev, err := api.Organizations.Apis.Create(org, &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(zip),
	}).Action("import").Name("hello").Do()
	require.NoError(t, err)
	require.Equal(t, "hello", rev.Name)
	require.Equal(t, "1", rev.Revision)
	require.Equal(t, []string{"/hello"}, rev.Basepaths)
	require.Equal(t, []string{"default"}, rev.Proxies)
	require.Equal(t, []string{"default"}, rev.Targets)
	require.Equal(t, int64(4), rev.ConfigurationVersion.MajorVersion)
	require.Equal(t, "Proxy", rev.EntityMetaDataAsProperties["subType"])
	proxy, err := api.Organizations.Apis.Get(org + "/apis/hello").Do()
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, proxy.Revision)
	require.Equal(t, "1", proxy.LatestRevisionId)
	proxies, err := api.Organizations.Apis.List(org).Do()
	require.NoError(t, err)
	require.Len(t, proxies.Proxies, 1)

	// Deploy: PROGRESSING until the runtime reports.
	revName := org + "/environments/dev/apis/hello/revisions/1"
	dep, err := api.Organizations.Environments.Apis.Revisions.Deploy(revName).Override(true).Do()
	require.NoError(t, err)
	require.Equal(t, "PROGRESSING", dep.State)
	require.Equal(t, "dev", dep.Environment)
	require.Equal(t, "hello", dep.ApiProxy)
	require.NotZero(t, dep.DeployStartTime)
	dep, err = api.Organizations.Environments.Apis.Revisions.GetDeployments(revName).Do()
	require.NoError(t, err)
	require.Equal(t, "PROGRESSING", dep.State)

	version := c.contractVersion("hybrid", "dev")
	c.report("hybrid", "dev", version, "hello", "apiproxy", "1", "READY")
	dep, err = api.Organizations.Environments.Apis.Revisions.GetDeployments(revName).Do()
	require.NoError(t, err)
	require.Equal(t, "READY", dep.State)
	require.Len(t, dep.Pods, 1)
	require.Equal(t, "runtime-0", dep.Pods[0].PodName)
	require.Equal(t, "deployed", dep.Pods[0].DeploymentStatus)
	require.Equal(t, "200", dep.Pods[0].StatusCode)
	require.Len(t, dep.Instances, 1)
	require.Equal(t, "/hello", dep.Instances[0].DeployedRoutes[0].Basepath)

	deps, err := api.Organizations.Deployments.List(org).Do()
	require.NoError(t, err)
	require.Len(t, deps.Deployments, 1)
	deps, err = api.Organizations.Environments.Deployments.List(org + "/environments/dev").Do()
	require.NoError(t, err)
	require.Len(t, deps.Deployments, 1)
	deps, err = api.Organizations.Apis.Deployments.List(org + "/apis/hello").Do()
	require.NoError(t, err)
	require.Len(t, deps.Deployments, 1)
	deps, err = api.Organizations.Apis.Revisions.Deployments.List(org + "/apis/hello/revisions/1").Do()
	require.NoError(t, err)
	require.Len(t, deps.Deployments, 1)

	// Deleting a deployed revision or its environment is refused.
	_, err = api.Organizations.Apis.Revisions.Delete(org + "/apis/hello/revisions/1").Do()
	requireAPIError(t, err, http.StatusBadRequest)
	_, err = api.Organizations.Environments.Delete(org + "/environments/dev").Do()
	requireAPIError(t, err, http.StatusBadRequest)

	// Undeploy.
	_, err = api.Organizations.Environments.Apis.Revisions.Undeploy(revName).Do()
	require.NoError(t, err)
	deps, err = api.Organizations.Deployments.List(org).Do()
	require.NoError(t, err)
	require.Empty(t, deps.Deployments)
	_, err = api.Organizations.Environments.Apis.Revisions.GetDeployments(revName).Do()
	requireAPIError(t, err, http.StatusNotFound)
	require.NotEqual(t, version, c.contractVersion("hybrid", "dev"))

	// Now the revision and the environment can go.
	_, err = api.Organizations.Apis.Revisions.Delete(org + "/apis/hello/revisions/1").Do()
	require.NoError(t, err)
	op, err = api.Organizations.Environments.Delete(org + "/environments/dev").Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	_, err = api.Organizations.Environments.Get(org + "/environments/dev").Do()
	requireAPIError(t, err, http.StatusNotFound)
}

func requireAPIError(tb testing.TB, err error, code int) *googleapi.Error {
	tb.Helper()
	require.Error(tb, err)
	var ge *googleapi.Error
	require.True(tb, errors.As(err, &ge), "not a googleapi.Error: %v", err)
	require.Equal(tb, code, ge.Code, "%v", err)
	require.NotEmpty(tb, ge.Message)
	return ge
}
