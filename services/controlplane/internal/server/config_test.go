package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
listen: 127.0.0.1:9080
https:
  listen: ""
stateDir: /tmp/x
adminToken: secret
tokens:
  sync-token: synchronizer
orgs:
  - name: acme
    projectId: acme-project
    properties: {features.hybrid.enabled: "true"}
    environments: [dev, prod]
    envGroups:
      - name: public
        hostnames: [api.acme.test]
        environments: [prod]
`), 0o600))
	cfg := server.DefaultConfig()
	require.NoError(t, service.LoadConfig("controlplane", "HYBRID_CONTROLPLANE", []string{"--config", path}, &cfg))
	require.Equal(t, "127.0.0.1:9080", cfg.Listen)
	require.Empty(t, cfg.HTTPS.Listen)
	require.Equal(t, "127.0.0.1:8081", cfg.GRPC.Listen)
	require.Equal(t, "secret", cfg.AdminToken)
	require.Equal(t, map[string]string{"sync-token": "synchronizer"}, cfg.Tokens)
	require.Len(t, cfg.Orgs, 1)
	require.Equal(t, "acme", cfg.Orgs[0].Name)
	require.Equal(t, []string{"prod"}, cfg.Orgs[0].EnvGroups[0].Environments)
}

func TestAdminToken(t *testing.T) {
	tests := []struct {
		name, config, env, want string
	}{
		{"default", "", "", server.DefaultAdminToken},
		{"env", "", "from-env", "from-env"},
		{"config wins", "from-config", "from-env", "from-config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(server.AdminTokenEnv, tt.env)
			cfg := server.DefaultConfig()
			cfg.AdminToken = tt.config
			require.Equal(t, tt.want, server.EffectiveAdminToken(&cfg))
		})
	}
}

func TestSeededConfigOrg(t *testing.T) {
	c := startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.HTTPS.Listen = ""
		cfg.Orgs = append(cfg.Orgs, server.DefaultConfig().Orgs[0])
		cfg.Orgs[0].Name, cfg.Orgs[0].ProjectID = "acme", "acme-project"
		cfg.Orgs[0].EnvGroups[0].Hostnames = []string{"api.acme.test"}
	})
	require.Empty(t, c.httpsURL)
	var list struct {
		Organizations []struct {
			Organization string   `json:"organization"`
			ProjectIDs   []string `json:"projectIds"`
		} `json:"organizations"`
	}
	c.doJSON("GET", "/v1/organizations", nil, http.StatusOK, &list)
	require.Len(t, list.Organizations, 2)
	require.Equal(t, "acme", list.Organizations[0].Organization)
	require.Equal(t, []string{"acme-project"}, list.Organizations[0].ProjectIDs)
}

func TestConcurrentImports(t *testing.T) {
	c := startCP(t, t.TempDir())
	zip := proxyZip(t, "busy", "/busy")
	const n = 8
	var wg sync.WaitGroup
	revs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := sendAsync(authClient(testToken, nil), "POST", c.url+"/v1/organizations/hybrid/apis?action=import&name=busy", "application/zip", zip)
			var rev revision
			if err == nil && r.status == http.StatusOK {
				_ = json.Unmarshal(r.body, &rev)
			}
			revs <- rev.Revision
		}()
	}
	wg.Wait()
	close(revs)
	seen := map[string]bool{}
	for r := range revs {
		seen[r] = true
	}
	for i := 1; i <= n; i++ {
		require.True(t, seen[fmt.Sprint(i)], "revision %d missing: %v", i, seen)
	}
}
