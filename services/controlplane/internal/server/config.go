package server

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
)

// DefaultAdminToken is the bearer token accepted when neither the config
// nor HYBRID_ADMIN_TOKEN sets one.
const DefaultAdminToken = "hybrid-admin-token"

// AdminTokenEnv is read when the config leaves adminToken empty.
const AdminTokenEnv = "HYBRID_ADMIN_TOKEN"

// Config is the control plane's configuration (YAML file, HYBRID_CONTROLPLANE_*
// environment variables, flags).
type Config struct {
	service.Common `yaml:",inline"`

	HTTPS HTTPSConfig `yaml:"https"`
	GRPC  GRPCConfig  `yaml:"grpc"`

	StateDir   string `yaml:"stateDir" usage:"directory of the control plane's own state (snapshot, bundles, TLS CA)"`
	AdminToken string `yaml:"adminToken" usage:"bearer token with full access (default: $HYBRID_ADMIN_TOKEN, else hybrid-admin-token)"`
	// Tokens maps extra bearer tokens to principal names for runtime
	// services (YAML only).
	Tokens map[string]string `yaml:"tokens"`
	// Orgs are created at start when missing (YAML only).
	Orgs []apigee.OrgSeed `yaml:"orgs"`

	MaxBundleBytes int64 `yaml:"maxBundleBytes" usage:"largest bundle zip accepted on import (0: 15 MiB, Apigee's limit)"`
}

// HTTPSConfig is the TLS listener serving the same API for apigeecli.
type HTTPSConfig struct {
	Listen    string   `yaml:"listen" usage:"address of the HTTPS Apigee API (empty disables it)"`
	Hostnames []string `yaml:"hostnames" usage:"extra names for the server certificate (localhost, 127.0.0.1 and ::1 are always in)"`
}

// GRPCConfig is reserved for the Apigee Connect gRPC service.
type GRPCConfig struct {
	Listen string `yaml:"listen" usage:"address reserved for the Apigee Connect gRPC service (not bound yet)"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Common:   service.DefaultCommon("127.0.0.1:8080"),
		HTTPS:    HTTPSConfig{Listen: "127.0.0.1:8082"},
		GRPC:     GRPCConfig{Listen: "127.0.0.1:8081"},
		StateDir: ".run/controlplane",
		Orgs:     apigee.DefaultSeed(),
	}
}
