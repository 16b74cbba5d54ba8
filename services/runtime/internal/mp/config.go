// Package mp wires the message processor: contract polling, the
// engine and its traffic and admin endpoints.
package mp

import (
	"os"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/contractsync"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Config is the message processor's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string   `yaml:"org" usage:"Apigee organization"`
	Environments   []string `yaml:"environments" usage:"environments this message processor serves"`
	PodName        string   `yaml:"podName" usage:"name reported in deployment status"`
	// InstanceID is the runtime instance (organizations.instances name;
	// hybrid's overrides instanceID) this message processor belongs to:
	// an environment whose contract names other instances only is held,
	// not served. Empty: serve every environment given.
	InstanceID    string `yaml:"instanceID" usage:"the runtime instance this message processor belongs to (organizations.instances name): environments not attached to it are not served"`
	TrafficListen string `yaml:"trafficListen" usage:"address for API traffic"`
	// TrafficTLS is API traffic over TLS with a certificate per
	// environment group (virtualhosts.go).
	TrafficTLS   TrafficTLSConfig `yaml:"trafficTLS"`
	Synchronizer string           `yaml:"synchronizer" usage:"synchronizer contract endpoint base URL (its runtimeListen; https for mutual TLS)"`
	PollWait     time.Duration    `yaml:"pollWait" usage:"long-poll wait for contract changes"`
	// PollRetryMaxInterval caps the back-off after failed polls of the
	// synchronizer, which may be restarting during a control plane outage
	// (its CrashLoopBackOff): short, so a contract is picked up soon after
	// it is back.
	PollRetryMaxInterval time.Duration `yaml:"pollRetryMaxInterval" usage:"longest wait between retries after failed synchronizer polls (exponential back-off with jitter)"`
	ConnectTimeout       time.Duration `yaml:"connectTimeout" usage:"target connect timeout"`
	IOTimeout            time.Duration `yaml:"ioTimeout" usage:"default io.timeout.millis: the longest a target may stay silent (response headers, each read of its payload, each write of the request payload); Apigee's default is 55s"`
	// ClientIOTimeout bounds each pause of a client sending its request
	// payload (an inactivity deadline, so streamed uploads are not cut).
	ClientIOTimeout time.Duration    `yaml:"clientIOTimeout" usage:"the longest a client may pause while sending a request payload"`
	Cassandra       cassandra.Config `yaml:"cassandra"`
	// SynchronizerTLS is the message processor's identity towards the
	// synchronizer (a client certificate for apigee-runtime from the
	// runtime plane's CA) and the CA it trusts for the synchronizer.
	SynchronizerTLS SynchronizerTLS `yaml:"synchronizerTLS"`
	// ContractEncryptionKeyPath is the org's contract encryption key (hybrid's
	// defaults.org.contractEncryptionKey): base64 AES-256, which opens the
	// keystore private keys the contract carries sealed.
	ContractEncryptionKeyPath string `yaml:"contractEncryptionKeyPath" usage:"file holding the org's base64 contract encryption key, which opens keystore private keys in contracts"`
	// EncryptionKeysPath names the org's data encryption keys (hybrid's
	// kmsEncryptionKey/kvmEncryptionKey), kept out of Cassandra; the same
	// file as MART's.
	EncryptionKeysPath string `yaml:"encryptionKeysPath" usage:"0600 file with the org's data encryption keys, which open consumer secrets and KVM values (hybridctl keys makes one)"`
	// RuntimeData tunes the caches in front of Cassandra.
	RuntimeData RuntimeDataConfig `yaml:"runtimeData"`
	// ControlPlane is where the message processor mints the Google tokens
	// proxies send with <Authentication>: the control plane's IAM
	// Credentials API, called with the apigee-runtime key file (hybrid's
	// runtime calls Google's with that identity). Without a URL, revisions
	// that use <Authentication> fail to deploy.
	ControlPlane cpclient.Config `yaml:"controlPlane"`
	// Analytics is the record stream to UDCA.
	Analytics AnalyticsConfig `yaml:"analytics"`
}

// AnalyticsConfig is where and how the message processor sends analytics
// records. Sending never holds up an API call: records wait in a bounded
// buffer and are dropped (analytics_records_dropped_total) when it is full.
type AnalyticsConfig struct {
	Enabled       bool          `yaml:"enabled" usage:"send an analytics record of every API call to UDCA"`
	UDCA          string        `yaml:"udca" usage:"UDCA's record intake, host:port (hybrid's port 20001)"`
	BufferSize    int           `yaml:"bufferSize" usage:"most records held for UDCA (queued or unacknowledged); beyond it records are dropped and counted"`
	BatchSize     int           `yaml:"batchSize" usage:"most records in one message to UDCA"`
	FlushInterval time.Duration `yaml:"flushInterval" usage:"longest a record waits for its batch to fill"`
}

// SynchronizerTLS are the files of the mutual TLS towards the synchronizer
// (paths, never the secrets themselves).
type SynchronizerTLS struct {
	CAFile   string `yaml:"caFile" usage:"CA certificate (PEM file) that issued the synchronizer's server certificate"`
	CertFile string `yaml:"certFile" usage:"this message processor's client certificate (PEM file, CN apigee-runtime)"`
	KeyFile  string `yaml:"keyFile" usage:"the client certificate's private key (PEM file)"`
}

// RuntimeDataConfig tunes the message processor's runtime data caches.
type RuntimeDataConfig struct {
	KeyTTL     time.Duration `yaml:"keyTTL" usage:"how long API key lookups and API products are cached (a revoked key stops working within this)"`
	MaxEntries int           `yaml:"maxEntries" usage:"largest number of entries in each runtime data cache"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Common:               service.DefaultCommon("127.0.0.1:8843"),
		Org:                  "hybrid",
		Environments:         []string{"test"},
		PodName:              "apigee-runtime-" + host,
		TrafficListen:        "127.0.0.1:8998",
		Synchronizer:         "https://127.0.0.1:8848",
		PollWait:             30 * time.Second,
		PollRetryMaxInterval: contractsync.DefaultRetryMaxInterval,
		ConnectTimeout:       3 * time.Second,
		IOTimeout:            engine.DefaultIOTimeout,
		ClientIOTimeout:      engine.DefaultIOTimeout,
		Cassandra:            cassandra.DefaultConfig(),
		RuntimeData:          RuntimeDataConfig{KeyTTL: rtdata.DefaultKeyTTL, MaxEntries: rtdata.DefaultMaxEntries},
		ControlPlane:         cpclient.Config{Timeout: 10 * time.Second},
		Analytics:            AnalyticsConfig{Enabled: true, UDCA: "127.0.0.1:20001", BufferSize: 10000, BatchSize: 500, FlushInterval: 100 * time.Millisecond},
	}
}
