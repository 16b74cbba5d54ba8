// Package agent is the Apigee Connect agent. So far it serves its metrics
// port and checks that MART answers; the Tether streams come with the Apigee
// Connect work.
package agent

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is the agent's configuration, named after the real agent's flags.
type Config struct {
	service.Common `yaml:",inline"`
	ServerAddr     string `yaml:"serverAddr" usage:"Apigee Connect gRPC endpoint of the control plane"`
	TargetServer   string `yaml:"targetServer" usage:"MART base URL"`
	ClusterName    string `yaml:"clusterName" usage:"cluster name shown by ListConnections"`
	ClusterRegion  string `yaml:"clusterRegion" usage:"cluster region shown by ListConnections"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	return Config{
		Common:        service.DefaultCommon("127.0.0.1:7070"),
		ServerAddr:    "127.0.0.1:8081",
		TargetServer:  "http://127.0.0.1:8845",
		ClusterName:   "local",
		ClusterRegion: "local",
	}
}

// Run starts the agent and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("connect-agent", cfg.Common)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	svc.ReadyWhen("MART", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.TargetServer, "/")+service.LivePath, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("MART unreachable: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("MART liveness: %s", resp.Status)
		}
		return nil
	})
	return svc.Run(ctx)
}
