// Package udca is the analytics collection agent. So far it prepares its
// buffer directory and reports ready; collection and upload come with the
// analytics work.
package udca

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is UDCA's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string          `yaml:"org" usage:"Apigee organization"`
	DataDir        string          `yaml:"dataDir" usage:"where dataset files are buffered before upload"`
	ControlPlane   cpclient.Config `yaml:"controlPlane"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	return Config{Common: service.DefaultCommon("127.0.0.1:8846"), Org: "hybrid", DataDir: ".run/udca", ControlPlane: cpclient.DefaultConfig()}
}

// Run starts UDCA and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("udca", cfg.Common)
	if err != nil {
		return err
	}
	for _, dataset := range []string{"api", "trace", "event"} {
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, dataset), 0o755); err != nil {
			svc.Close()
			return fmt.Errorf("udca: data dir: %w", err)
		}
	}
	svc.ReadyWhen("DataDir", func(context.Context) error {
		f, err := os.CreateTemp(cfg.DataDir, ".probe")
		if err != nil {
			return fmt.Errorf("data dir not writable: %w", err)
		}
		f.Close()
		return os.Remove(f.Name())
	})
	return svc.Run(ctx)
}
