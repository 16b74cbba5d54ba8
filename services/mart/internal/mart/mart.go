// Package mart is the Management API for Runtime data: it serves
// developers, developer apps and their keys, API products and key value
// maps from the runtime plane's Cassandra over the Apigee API's paths and
// JSON shapes. The control plane reaches it through the Apigee Connect agent
// (or, with Connect off, directly at mart.hostAlias); it binds loopback and
// demands a shared secret on every /v1 call (see README.md).
package mart

import (
	"context"
	"fmt"
	"net"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Config is MART's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string           `yaml:"org" usage:"Apigee organization"`
	Cassandra      cassandra.Config `yaml:"cassandra"`
	Auth           AuthConfig       `yaml:"auth"`
	MaxBodyBytes   int64            `yaml:"maxBodyBytes" usage:"largest request body accepted (larger: 413)"`
	// EncryptionKeysPath names the org's data encryption keys (hybrid's
	// kmsEncryptionKey/kvmEncryptionKey), kept out of Cassandra.
	EncryptionKeysPath string `yaml:"encryptionKeysPath" usage:"0600 file with the org's data encryption keys, which seal consumer secrets and KVM values (hybridctl keys makes one)"`
}

// AuthConfig says who may call MART's /v1 API.
type AuthConfig struct {
	SharedSecret string `yaml:"sharedSecret" secret:"true" usage:"secret every /v1 call must carry in the X-Apigee-MART-Secret header; empty refuses all /v1 calls"`
}

// DefaultMaxBodyBytes bounds request bodies (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	return Config{
		Common:       service.DefaultCommon("127.0.0.1:8845"),
		Org:          "hybrid",
		Cassandra:    cassandra.DefaultConfig(),
		MaxBodyBytes: DefaultMaxBodyBytes,
	}
}

// Run starts MART and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	keys, err := store.ReadEncryptionKeys(cfg.EncryptionKeysPath)
	if err != nil {
		return fmt.Errorf("encryptionKeysPath: %w", err)
	}
	svc, err := service.New("mart", cfg.Common)
	if err != nil {
		return err
	}
	svc.Init("Cassandra", func(ctx context.Context) error {
		session, err := cassandra.Connect(ctx, cfg.Cassandra)
		if err != nil {
			return err
		}
		svc.OnStop("cassandra session", session.Close)
		_, err = New(svc, cfg, session, keys)
		return err
	})
	return svc.Run(ctx)
}

// New attaches MART's API and readiness checks to svc (whose main listener
// is bound); the caller runs svc. keys seal consumer secrets and KVM values.
func New(svc *service.Service, cfg *Config, session *gocql.Session, keys store.EncryptionKeys) (*API, error) {
	log := svc.Logger().With(zap.String("org", cfg.Org))
	api, err := NewAPI(Options{
		Org:          cfg.Org,
		SharedSecret: cfg.Auth.SharedSecret,
		KMS:          store.NewKMS(session, keys),
		KVM:          store.NewKVM(session, keys),
		Log:          log,
		Registerer:   svc.Registry(),
		MaxBodyBytes: cfg.MaxBodyBytes,
	})
	if err != nil {
		return nil, err
	}
	svc.Handle("/v1/organizations/", api)
	svc.ReadyWhen("Cassandra", func(ctx context.Context) error { return cassandra.Ping(ctx, session) })
	svc.ReadyWhen("Schema", func(ctx context.Context) error { return schema.Check(ctx, session, cfg.Org) })
	if cfg.Auth.SharedSecret == "" {
		log.Warn("no shared secret configured (auth.sharedSecret / HYBRID_MART_AUTH_SHAREDSECRET): every /v1 call will be refused with 401")
	}
	if addr := svc.Addr("main"); !isLoopback(addr) {
		log.Warn("MART listens beyond loopback; only the Connect agent should reach it", zap.String("addr", addr))
	}
	return api, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
