package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

func TestFlowHooks(t *testing.T) {
	c := startCP(t, t.TempDir())
	const hooks = "/v1/organizations/hybrid/environments/test/flowhooks"
	var points []string
	c.doJSON("GET", hooks, nil, http.StatusOK, &points)
	require.Equal(t, []string{"PreProxyFlowHook", "PreTargetFlowHook", "PostTargetFlowHook", "PostProxyFlowHook"}, points)

	type hook struct {
		FlowHookPoint   string `json:"flowHookPoint"`
		SharedFlow      string `json:"sharedFlow"`
		ContinueOnError *bool  `json:"continueOnError"`
		Description     string `json:"description"`
	}
	var h hook
	c.doJSON("GET", hooks+"/PreProxyFlowHook", nil, http.StatusOK, &h)
	require.Equal(t, hook{FlowHookPoint: "PreProxyFlowHook"}, h)

	// Bad input: unknown point, missing shared flow, unknown or undeployed flow.
	r := c.doJSON("PUT", hooks+"/MidFlowHook", map[string]any{"sharedFlow": "common"}, http.StatusBadRequest, nil)
	require.Contains(t, r.apiError(t).Error.Message, "MidFlowHook")
	c.doJSON("PUT", hooks+"/PreProxyFlowHook", map[string]any{}, http.StatusBadRequest, nil)
	c.doJSON("PUT", hooks+"/PreProxyFlowHook", map[string]any{"sharedFlow": "common"}, http.StatusNotFound, nil)
	ct, body := multipartBody(t, "file", bundletest.Zip(t, bundletest.SharedFlow("common")))
	require.Equal(t, http.StatusOK, c.do("POST", "/v1/organizations/hybrid/sharedflows?action=import&name=common", ct, body).status)
	r = c.doJSON("PUT", hooks+"/PreProxyFlowHook", map[string]any{"sharedFlow": "common"}, http.StatusBadRequest, nil)
	require.Contains(t, r.apiError(t).Error.Message, "not deployed")
	c.doJSON("POST", "/v1/organizations/hybrid/environments/test/sharedflows/common/revisions/1/deployments", nil, http.StatusOK, nil)

	v0 := c.contractVersion("hybrid", "test")
	c.doJSON("PUT", hooks+"/PreProxyFlowHook", map[string]any{"sharedFlow": "common", "description": "d"}, http.StatusOK, &h)
	require.Equal(t, "common", h.SharedFlow)
	require.True(t, *h.ContinueOnError, "continueOnError defaults to true")
	c.doJSON("PUT", hooks+"/PostTargetFlowHook", map[string]any{"sharedFlow": "common", "continueOnError": false}, http.StatusOK, &h)
	require.False(t, *h.ContinueOnError)
	require.Greater(t, c.contractVersion("hybrid", "test"), v0)

	raw := c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	got, err := contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"PreProxyFlowHook": "common", "PostTargetFlowHook": "common"}, got.FlowHooks)
	require.Equal(t, map[string]bool{"PreProxyFlowHook": true, "PostTargetFlowHook": false}, got.FlowHookContinueOnError)

	c.doJSON("DELETE", hooks+"/PreProxyFlowHook", nil, http.StatusOK, &h)
	require.Equal(t, "common", h.SharedFlow)
	c.doJSON("DELETE", hooks+"/PreProxyFlowHook", nil, http.StatusNotFound, nil)
	h = hook{}
	c.doJSON("GET", hooks+"/PreProxyFlowHook", nil, http.StatusOK, &h)
	require.Equal(t, hook{FlowHookPoint: "PreProxyFlowHook"}, h)
}

func TestTargetServers(t *testing.T) {
	c := startCP(t, t.TempDir())
	const base = "/v1/organizations/hybrid/environments/test/targetservers"
	var names []string
	c.doJSON("GET", base, nil, http.StatusOK, &names)
	require.Empty(t, names)

	for _, bad := range []map[string]any{
		{"host": "h", "port": 80},
		{"name": "ts1", "port": 80},
		{"name": "ts1", "host": "h", "port": 70000},
		{"name": "ts1", "host": "h", "port": 80, "protocol": "FTP"},
		{"name": "bad name", "host": "h", "port": 80},
	} {
		c.doJSON("POST", base, bad, http.StatusBadRequest, nil)
	}
	type ts struct {
		Name      string `json:"name"`
		Host      string `json:"host"`
		Port      int    `json:"port"`
		IsEnabled bool   `json:"isEnabled"`
		Protocol  string `json:"protocol"`
		SSLInfo   *struct {
			Enabled    bool   `json:"enabled"`
			TrustStore string `json:"trustStore"`
		} `json:"sSLInfo"`
	}
	var got ts
	c.doJSON("POST", base, map[string]any{"name": "ts1", "host": "backend.local", "port": 8080}, http.StatusOK, &got)
	require.Equal(t, ts{Name: "ts1", Host: "backend.local", Port: 8080, IsEnabled: true, Protocol: "HTTP"}, got)
	c.doJSON("POST", base, map[string]any{"name": "ts1", "host": "x", "port": 1}, http.StatusConflict, nil)
	c.doJSON("POST", base, map[string]any{"name": "ts2", "host": "secure.local", "port": 443, "isEnabled": false,
		"sSLInfo": map[string]any{"enabled": true, "trustStore": "ref://ts"}}, http.StatusOK, &got)
	require.False(t, got.IsEnabled)
	require.Equal(t, "ref://ts", got.SSLInfo.TrustStore)

	c.doJSON("GET", base, nil, http.StatusOK, &names)
	require.Equal(t, []string{"ts1", "ts2"}, names)
	c.doJSON("PUT", base+"/ts1", map[string]any{"host": "moved.local", "port": 9090}, http.StatusOK, &got)
	require.Equal(t, "moved.local", got.Host)
	c.doJSON("PUT", base+"/ts1", map[string]any{"name": "other", "host": "h", "port": 1}, http.StatusBadRequest, nil)
	c.doJSON("PUT", base+"/nope", map[string]any{"host": "h", "port": 1}, http.StatusNotFound, nil)
	c.doJSON("GET", base+"/ts1", nil, http.StatusOK, &got)
	require.Equal(t, 9090, got.Port)

	raw := c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	ct, err := contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Len(t, ct.TargetServers, 2)
	require.Equal(t, contract.TargetServer{Name: "ts1", Host: "moved.local", Port: 9090, IsEnabled: true, Protocol: "HTTP"}, ct.TargetServers[0])
	require.True(t, ct.TargetServers[1].SSLInfo.Enabled)

	c.doJSON("DELETE", base+"/ts1", nil, http.StatusOK, &got)
	require.Equal(t, "ts1", got.Name)
	c.doJSON("GET", base+"/ts1", nil, http.StatusNotFound, nil)
	c.doJSON("GET", "/v1/organizations/hybrid/environments/nope/targetservers", nil, http.StatusNotFound, nil)
}
