package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/services/connect-agent/agenttest"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// TestMARTThroughConnect wires the whole control plane: the seeded org has
// Apigee Connect on, so its MART paths answer 503 until an agent — holding
// the seeded apigee-mart key, so the IAM mints its token and grants
// roles/apigeeconnect.Agent — dials the gRPC listener; then they reach the
// MART stand-in through the tether. Turning the org property off sends them
// to mart.hostAlias with the control plane's shared secret.
func TestMARTThroughConnect(t *testing.T) {
	type seen struct {
		Method, Path, Query, Body, UserAgent, Secret, Auth string
	}
	mart := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.UserAgent(),
			r.Header.Get("X-Apigee-MART-Secret"), r.Header.Get("Authorization")})
	}))
	t.Cleanup(mart.Close)
	c := startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.MART.HostAlias = mart.URL
		cfg.MART.SharedSecret = "cp-secret"
	})
	devs := "/v1/organizations/hybrid/developers"

	r := c.do("GET", devs, "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
	require.Contains(t, r.apiError(t).Error.Message, "no Apigee Connect agent is connected for project hybrid")

	grpcAddr := c.srv.Service.Addr("grpc")
	require.NotEmpty(t, grpcAddr)
	cfg := agenttest.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.ServerAddr = grpcAddr
	cfg.TargetServer = mart.URL
	cfg.Project = "projects/hybrid"
	cfg.ClusterName, cfg.ClusterRegion = "cluster-1", "us-west2"
	cfg.Token = ""
	cfg.ServiceAccountPath = filepath.Join(c.srv.KeyDir, "hybrid-apigee-mart.json")
	cfg.MARTSecret = "agent-secret"
	a := agenttest.Start(t, cfg, zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)))
	require.Eventually(t, func() bool { return a.OpenStreams() == 2 }, 10*time.Second, 5*time.Millisecond)

	var got seen
	c.doJSON("GET", devs+"?count=100&expand=true", nil, http.StatusOK, &got)
	require.Equal(t, seen{Method: "GET", Path: devs, Query: "count=100&expand=true", UserAgent: "apigee-connect-agent-1.0", Secret: "agent-secret"}, got)
	c.doJSON("POST", "/v1/organizations/hybrid/apis/p/keyvaluemaps", map[string]string{"name": "m"}, http.StatusOK, &got)
	require.Equal(t, `{"name":"m"}`, got.Body)

	var conns struct {
		Connections []struct {
			Endpoint string `json:"endpoint"`
			Cluster  struct {
				Name   string `json:"name"`
				Region string `json:"region"`
			} `json:"cluster"`
			StreamCount int `json:"streamCount"`
		} `json:"connections"`
	}
	c.doJSON("GET", "/v1/projects/hybrid/endpoints/apigee_mart/connections", nil, http.StatusOK, &conns)
	require.Len(t, conns.Connections, 1)
	require.Equal(t, "projects/hybrid/endpoints/apigee_mart", conns.Connections[0].Endpoint)
	require.Equal(t, "cluster-1", conns.Connections[0].Cluster.Name)
	require.Equal(t, "us-west2", conns.Connections[0].Cluster.Region)
	require.Equal(t, 2, conns.Connections[0].StreamCount)
	require.Equal(t, http.StatusUnauthorized, send(t, c.client, "GET", c.url+"/v1/projects/hybrid/endpoints/apigee_mart/connections", "", nil).status)

	// Connect off: straight to mart.hostAlias.
	c.doJSON("PUT", "/v1/organizations/hybrid", map[string]any{"name": "hybrid", "properties": map[string]any{
		"property": []map[string]string{{"name": "features.mart.connect.enabled", "value": "false"}},
	}}, http.StatusOK, nil)
	c.doJSON("GET", devs, nil, http.StatusOK, &got)
	require.Equal(t, "cp-secret", got.Secret)
	require.NotEqual(t, "apigee-connect-agent-1.0", got.UserAgent)
	require.Empty(t, got.Auth)
}
