package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
)

// TestEnvironmentUpdates: PUT, POST (updateEnvironment) and PATCH
// ?updateMask= (modifyEnvironment) with Google's Go client.
func TestEnvironmentUpdates(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const name = "organizations/hybrid/environments/test"
	props := func(kv ...string) *apigee.GoogleCloudApigeeV1Properties {
		p := &apigee.GoogleCloudApigeeV1Properties{}
		for i := 0; i < len(kv); i += 2 {
			p.Property = append(p.Property, &apigee.GoogleCloudApigeeV1Property{Name: kv[i], Value: kv[i+1]})
		}
		return p
	}

	v0 := c.contractVersion("hybrid", "test")
	env, err := api.Organizations.Environments.Update(name, &apigee.GoogleCloudApigeeV1Environment{
		Name: "test", DisplayName: "Put", Properties: props("a", "1"),
	}).Do()
	require.NoError(t, err)
	require.Equal(t, "Put", env.DisplayName)

	env, err = api.Organizations.Environments.UpdateEnvironment(name, &apigee.GoogleCloudApigeeV1Environment{
		Name: "test", DisplayName: "Post", Description: "by POST", Properties: props("a", "2"),
	}).Do()
	require.NoError(t, err)
	require.Equal(t, "Post", env.DisplayName)
	require.Equal(t, "by POST", env.Description)
	v1 := c.contractVersion("hybrid", "test")
	require.NotEqual(t, v0, v1)

	// modifyEnvironment: only the masked fields change; the answer is an Operation.
	op, err := api.Organizations.Environments.ModifyEnvironment(name, &apigee.GoogleCloudApigeeV1Environment{
		DisplayName: "Patched", Description: "ignored", Properties: props("b", "3"),
	}).UpdateMask("displayName,properties").Do()
	require.NoError(t, err)
	require.True(t, op.Done)
	require.Contains(t, string(op.Metadata), `"operationType":"UPDATE"`)
	require.Contains(t, string(op.Response), `"displayName":"Patched"`)
	env, err = api.Organizations.Environments.Get(name).Do()
	require.NoError(t, err)
	require.Equal(t, "Patched", env.DisplayName)
	require.Equal(t, "by POST", env.Description)
	require.Len(t, env.Properties.Property, 1)
	require.Equal(t, "b", env.Properties.Property[0].Name)
	v2 := c.contractVersion("hybrid", "test")
	require.NotEqual(t, v1, v2)

	// Unknown or missing mask: 400 in Google's shape, nothing changed.
	for _, mask := range []string{"displayName,nodeConfig", ""} {
		_, err = api.Organizations.Environments.ModifyEnvironment(name, &apigee.GoogleCloudApigeeV1Environment{
			DisplayName: "Nope",
		}).UpdateMask(mask).Do()
		ge := requireAPIError(t, err, http.StatusBadRequest)
		require.Contains(t, ge.Body, `"status":"INVALID_ARGUMENT"`)
	}
	env, err = api.Organizations.Environments.Get(name).Do()
	require.NoError(t, err)
	require.Equal(t, "Patched", env.DisplayName)
	require.Equal(t, v2, c.contractVersion("hybrid", "test"))

	_, err = api.Organizations.Environments.UpdateEnvironment("organizations/hybrid/environments/nope", &apigee.GoogleCloudApigeeV1Environment{}).Do()
	requireAPIError(t, err, http.StatusNotFound)
}

// TestDeployedConfig: GET …/deployedConfig reflects deployments, target
// servers, flow hooks, keystores, references and resource files.
func TestDeployedConfig(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const env = "organizations/hybrid/environments/test"

	cfg, err := api.Organizations.Environments.GetDeployedConfig(env + "/deployedConfig").Do()
	require.NoError(t, err)
	require.NotZero(t, cfg.RevisionId)
	require.Regexp(t, `^organizations/hybrid/environments/test/configs/\d+$`, cfg.Name)
	require.Regexp(t, `^[0-9a-f-]{36}$`, cfg.Uid)
	require.NotEmpty(t, cfg.CreateTime)
	require.Empty(t, cfg.Deployments)

	ct, body := multipartBody(t, "file", proxyZip(t, "hello", "/hello"))
	require.Equal(t, http.StatusOK, c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=hello", ct, body).status)
	_, err = api.Organizations.Environments.Apis.Revisions.Deploy(env + "/apis/hello/revisions/1").Do()
	require.NoError(t, err)
	_, err = api.Organizations.Environments.Targetservers.Create(env, &apigee.GoogleCloudApigeeV1TargetServer{
		Name: "backend", Host: "10.0.0.1", Port: 8443, SSLInfo: &apigee.GoogleCloudApigeeV1TlsInfo{Enabled: true},
	}).Do()
	require.NoError(t, err)
	c.doJSON("POST", "/v1/"+env+"/keystores", map[string]string{"name": "ks1"}, http.StatusOK, nil)
	c.doJSON("POST", "/v1/"+env+"/references", map[string]string{"name": "ref1", "resourceType": "KeyStore", "refers": "ks1"}, http.StatusOK, nil)
	require.Equal(t, http.StatusOK, c.do("POST", "/v1/"+env+"/resourcefiles?type=properties&name=p1", "application/octet-stream", []byte("k=v\n")).status)

	again, err := api.Organizations.Environments.GetDeployedConfig(env + "/deployedConfig").Do()
	require.NoError(t, err)
	require.Greater(t, again.RevisionId, cfg.RevisionId)
	require.Equal(t, cfg.Uid, again.Uid)
	require.Len(t, again.Deployments, 1)
	require.Equal(t, "organizations/hybrid/apis/hello/revisions/1", again.Deployments[0].Name)
	require.Equal(t, "/hello", again.Deployments[0].BasePath)
	require.NotEmpty(t, again.Deployments[0].ProxyUid)
	require.Len(t, again.Targets, 1)
	require.Equal(t, env+"/targetservers/backend", again.Targets[0].Name)
	require.Equal(t, int64(8443), again.Targets[0].Port)
	require.True(t, again.Targets[0].Enabled)
	require.True(t, again.Targets[0].TlsInfo.Enabled)
	require.Len(t, again.Keystores, 1)
	require.Equal(t, env+"/keystores/ks1", again.Keystores[0].Name)
	require.Len(t, again.ResourceReferences, 1)
	require.Equal(t, env+"/keystores/ks1", again.ResourceReferences[0].ResourceName)
	require.Len(t, again.Resources, 1)
	require.Equal(t, env+"/resourcefiles/properties/p1", again.Resources[0].Name)

	_, err = api.Organizations.Environments.GetDeployedConfig("organizations/hybrid/environments/nope/deployedConfig").Do()
	requireAPIError(t, err, http.StatusNotFound)
}

// TestTraceConfig: GET/PATCH …/traceConfig with and without updateMask.
func TestTraceConfig(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const name = "organizations/hybrid/environments/test/traceConfig"

	tc, err := api.Organizations.Environments.GetTraceConfig(name).Do()
	require.NoError(t, err)
	require.Empty(t, tc.Exporter)

	tc, err = api.Organizations.Environments.UpdateTraceConfig(name, &apigee.GoogleCloudApigeeV1TraceConfig{
		Exporter: "JAEGER", Endpoint: "http://jaeger:14268/api/traces",
		SamplingConfig: &apigee.GoogleCloudApigeeV1TraceSamplingConfig{Sampler: "PROBABILITY", SamplingRate: 0.25},
	}).Do()
	require.NoError(t, err)
	require.Equal(t, "JAEGER", tc.Exporter)
	require.Equal(t, 0.25, tc.SamplingConfig.SamplingRate)

	// Masked: only the sampling rate changes.
	tc, err = api.Organizations.Environments.UpdateTraceConfig(name, &apigee.GoogleCloudApigeeV1TraceConfig{
		Exporter: "CLOUD_TRACE", SamplingConfig: &apigee.GoogleCloudApigeeV1TraceSamplingConfig{SamplingRate: 0.5},
	}).UpdateMask("samplingConfig.samplingRate").Do()
	require.NoError(t, err)
	require.Equal(t, "JAEGER", tc.Exporter)
	require.Equal(t, "PROBABILITY", tc.SamplingConfig.Sampler)
	require.Equal(t, 0.5, tc.SamplingConfig.SamplingRate)

	// Refused: unknown mask path, bad rate, bad exporter; nothing changes.
	bad := []struct {
		mask string
		in   *apigee.GoogleCloudApigeeV1TraceConfig
	}{
		{"exporter,colour", &apigee.GoogleCloudApigeeV1TraceConfig{Exporter: "CLOUD_TRACE"}},
		{"samplingConfig.samplingRate", &apigee.GoogleCloudApigeeV1TraceConfig{SamplingConfig: &apigee.GoogleCloudApigeeV1TraceSamplingConfig{SamplingRate: 0.9}}},
		{"exporter", &apigee.GoogleCloudApigeeV1TraceConfig{Exporter: "ZIPKIN"}},
	}
	for _, b := range bad {
		_, err = api.Organizations.Environments.UpdateTraceConfig(name, b.in).UpdateMask(b.mask).Do()
		ge := requireAPIError(t, err, http.StatusBadRequest)
		require.Contains(t, ge.Body, `"status":"INVALID_ARGUMENT"`)
	}
	tc, err = api.Organizations.Environments.GetTraceConfig(name).Do()
	require.NoError(t, err)
	require.Equal(t, "JAEGER", tc.Exporter)
	require.Equal(t, 0.5, tc.SamplingConfig.SamplingRate)

	// It shows in the deployed configuration.
	cfg, err := api.Organizations.Environments.GetDeployedConfig("organizations/hybrid/environments/test/deployedConfig").Do()
	require.NoError(t, err)
	require.Equal(t, "JAEGER", cfg.TraceConfig.Exporter)
	require.Equal(t, name, cfg.TraceConfig.Name)
}
