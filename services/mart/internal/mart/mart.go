// Package mart is the Management API for Runtime data. So far it connects
// to the runtime plane's Cassandra and reports ready; the runtime-data API
// comes with the MART/Apigee Connect work.
package mart

import (
	"context"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is MART's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string           `yaml:"org" usage:"Apigee organization"`
	Cassandra      cassandra.Config `yaml:"cassandra"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	return Config{Common: service.DefaultCommon("127.0.0.1:8845"), Org: "hybrid", Cassandra: cassandra.DefaultConfig()}
}

// Run starts MART and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("mart", cfg.Common)
	if err != nil {
		return err
	}
	session, err := cassandra.Connect(ctx, cfg.Cassandra)
	if err != nil {
		return err
	}
	defer session.Close()
	svc.ReadyWhen("Cassandra", func(ctx context.Context) error { return cassandra.Ping(ctx, session) })
	svc.ReadyWhen("Schema", func(ctx context.Context) error { return schema.Check(ctx, session, cfg.Org) })
	return svc.Run(ctx)
}
