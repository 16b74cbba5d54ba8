package synchronizer

import (
	"os"
	"strconv"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// Config is the synchronizer's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string   `yaml:"org" usage:"Apigee organization"`
	Environments   []string `yaml:"environments" usage:"environments to synchronize"`
	InstanceID     string   `yaml:"instanceID" usage:"name recorded with the contracts this synchronizer stores"`
	// RuntimeListen serves the contract endpoint to message processors,
	// over TLS only, to clients presenting a certificate from
	// RuntimeTLS.ClientCAFile for one of RuntimeTLS.ClientNames (hybrid's
	// internal mTLS with apigee-ca). The main listener keeps the probes and
	// metrics in plain HTTP, for the kubelet.
	RuntimeListen string           `yaml:"runtimeListen" usage:"address of the contract endpoint for message processors (mutual TLS: a client certificate is required)"`
	RuntimeTLS    RuntimeTLS       `yaml:"runtimeTLS"`
	ControlPlane  cpclient.Config  `yaml:"controlPlane"`
	Cassandra     cassandra.Config `yaml:"cassandra"`
	// PollInterval is hybrid's synchronizer.pollInterval (60 s by default
	// there). With LongPoll on, the synchronizer instead holds a request
	// open and sees a deploy within milliseconds; PollInterval then only
	// paces retries after errors.
	PollInterval time.Duration `yaml:"pollInterval" usage:"time between contract polls (hybrid's default is 60s)"`
	LongPoll     bool          `yaml:"longPoll" usage:"long-poll the control plane instead of polling every pollInterval"`
	LongPollWait time.Duration `yaml:"longPollWait" usage:"how long one long-poll may wait for a change"`
	// MaxControlPlaneErrors is how many consecutive failed calls turn
	// readiness red, like hybrid's ControlPlaneErrorMonitor probe.
	MaxControlPlaneErrors int `yaml:"maxControlPlaneErrors" usage:"consecutive control plane errors before readiness fails"`
	// DownloadClaimWait is how long a synchronizer that lost the claim on
	// a new contract version (another region's synchronizer claimed it
	// first) waits for the claimant to store it before downloading it
	// itself.
	DownloadClaimWait time.Duration `yaml:"downloadClaimWait" usage:"how long to wait for another synchronizer that claimed a new contract version to store it before downloading it anyway"`
	// RetryMaxInterval caps the wait between retries after control plane
	// errors (exponential from 1 s, equal jitter). Hybrid exposes no such
	// setting: its synchronizer tries again at its next poll
	// (synchronizer.pollInterval, 60 s), so a real runtime plane may take
	// up to a minute to notice the control plane is back. The local
	// default is short so a deploy made during an outage is live within
	// seconds of the return; set it to pollInterval to see hybrid's pace.
	RetryMaxInterval time.Duration `yaml:"retryMaxInterval" usage:"longest wait between retries after control plane errors (exponential back-off with jitter; 0 means pollInterval, hybrid's pace)"`
}

// retryMax is the back-off cap: RetryMaxInterval, or PollInterval when
// unset (hybrid's pace).
func (c Config) retryMax() time.Duration {
	if c.RetryMaxInterval > 0 {
		return c.RetryMaxInterval
	}
	return c.PollInterval
}

// RuntimeTLS are the files of the contract endpoint's mutual TLS (paths,
// never the secrets themselves).
type RuntimeTLS struct {
	CertFile     string   `yaml:"certFile" usage:"the synchronizer's server certificate (PEM file) for runtimeListen"`
	KeyFile      string   `yaml:"keyFile" usage:"the server certificate's private key (PEM file)"`
	ClientCAFile string   `yaml:"clientCAFile" usage:"CA certificate (PEM file) that issues the message processors' client certificates"`
	ClientNames  []string `yaml:"clientNames" usage:"client certificate identities (common name, DNS or URI SAN) given contracts"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Common:                service.DefaultCommon("127.0.0.1:8844"),
		Org:                   "hybrid",
		Environments:          []string{"test"},
		InstanceID:            "synchronizer-" + host + "-" + strconv.Itoa(os.Getpid()),
		RuntimeListen:         "127.0.0.1:8848",
		RuntimeTLS:            RuntimeTLS{ClientNames: []string{tlsca.RuntimeIdentity}},
		ControlPlane:          cpclient.DefaultConfig(),
		Cassandra:             cassandra.DefaultConfig(),
		PollInterval:          60 * time.Second,
		LongPoll:              true,
		LongPollWait:          30 * time.Second,
		MaxControlPlaneErrors: 5,
		RetryMaxInterval:      3 * time.Second,
		DownloadClaimWait:     10 * time.Second,
	}
}
