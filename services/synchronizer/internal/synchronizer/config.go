package synchronizer

import (
	"os"
	"strconv"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is the synchronizer's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string           `yaml:"org" usage:"Apigee organization"`
	Environments   []string         `yaml:"environments" usage:"environments to synchronize"`
	InstanceID     string           `yaml:"instanceID" usage:"name recorded with the contracts this synchronizer stores"`
	ControlPlane   cpclient.Config  `yaml:"controlPlane"`
	Cassandra      cassandra.Config `yaml:"cassandra"`
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
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Common:                service.DefaultCommon("127.0.0.1:8844"),
		Org:                   "hybrid",
		Environments:          []string{"test"},
		InstanceID:            "synchronizer-" + host + "-" + strconv.Itoa(os.Getpid()),
		ControlPlane:          cpclient.DefaultConfig(),
		Cassandra:             cassandra.DefaultConfig(),
		PollInterval:          60 * time.Second,
		LongPoll:              true,
		LongPollWait:          30 * time.Second,
		MaxControlPlaneErrors: 5,
	}
}
