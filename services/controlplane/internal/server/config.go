package server

import (
	"time"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/analytics"

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
	IAM   IAMConfig   `yaml:"iam"`
	// Connect tunes the Apigee Connect service; MART says how MART paths
	// reach MART.
	Connect ConnectConfig `yaml:"connect"`
	MART    MARTConfig    `yaml:"mart"`

	StateDir   string `yaml:"stateDir" usage:"directory of the control plane's own state (snapshot, bundles, TLS CA)"`
	AdminToken string `yaml:"adminToken" secret:"true" usage:"bearer token with full access (default: $HYBRID_ADMIN_TOKEN, else hybrid-admin-token)"`
	// Tokens maps extra bearer tokens to principals (YAML only): a value
	// with a colon is an IAM member ("user:alice@example.com") authorized by
	// the project policies, a bare name a legacy full-access principal.
	Tokens map[string]string `yaml:"tokens"`
	// Orgs are created at start when missing (YAML only).
	Orgs []apigee.OrgSeed `yaml:"orgs"`

	MaxBundleBytes int64 `yaml:"maxBundleBytes" usage:"largest bundle zip accepted on import (0: 15 MiB, Apigee's limit)"`
	// Analytics tunes the ingest of what UDCA uploads.
	Analytics AnalyticsConfig `yaml:"analytics"`
	// OutageReport names the runtime components the web console's outage
	// report reads (outagereport.go).
	OutageReport OutageReportConfig `yaml:"outageReport"`
}

// HTTPSConfig is the TLS listener serving the same API for apigeecli.
type HTTPSConfig struct {
	Listen    string   `yaml:"listen" usage:"address of the HTTPS Apigee API (empty disables it)"`
	Hostnames []string `yaml:"hostnames" usage:"extra names for the server certificate (localhost, 127.0.0.1 and ::1 are always in)"`
}

// GRPCConfig is the gRPC listener of the Apigee Connect service
// (google.cloud.apigeeconnect.v1 Tether and ConnectionService).
type GRPCConfig struct {
	Listen string `yaml:"listen" usage:"address of the Apigee Connect gRPC service, plaintext (empty disables it)"`
}

// ConnectConfig tunes how the control plane uses Apigee Connect tethers.
type ConnectConfig struct {
	RequestTimeout       time.Duration `yaml:"requestTimeout" usage:"bound of one request sent through a tether (504 when exceeded)"`
	InFlightPerStream    int           `yaml:"inFlightPerStream" usage:"requests in flight per stream at which a cluster is asked for one more stream (OPEN_NEW_STREAM)"`
	MaxStreamsPerCluster int           `yaml:"maxStreamsPerCluster" usage:"streams per cluster beyond which no more are asked for"`
}

// MARTConfig is how MART paths reach MART when an org has
// features.mart.connect.enabled off (with it on, only Apigee Connect is
// used).
type MARTConfig struct {
	HostAlias    string        `yaml:"hostAlias" usage:"MART base URL for orgs with Apigee Connect off, e.g. http://127.0.0.1:8845 (empty: such orgs get 503)"`
	SharedSecret string        `yaml:"sharedSecret" secret:"true" usage:"secret sent to MART in X-Apigee-MART-Secret on direct calls"`
	Timeout      time.Duration `yaml:"timeout" usage:"bound of one direct MART call"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Common:    service.DefaultCommon("127.0.0.1:8080"),
		HTTPS:     HTTPSConfig{Listen: "127.0.0.1:8082"},
		GRPC:      GRPCConfig{Listen: "127.0.0.1:8081"},
		StateDir:  ".run/controlplane",
		Orgs:      apigee.DefaultSeed(),
		IAM:       DefaultIAMConfig(),
		Connect:   ConnectConfig{RequestTimeout: 60 * time.Second, InFlightPerStream: 4, MaxStreamsPerCluster: 16},
		MART:      MARTConfig{Timeout: 60 * time.Second},
		Analytics: AnalyticsConfig{IngestInterval: 10 * time.Second, DebugDataRetention: analytics.DefaultTraceRetention, DebugDataSweep: time.Hour},
	}
}
