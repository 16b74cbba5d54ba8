// Package mp wires the message processor: contract polling, the
// engine and its traffic and admin endpoints.
package mp

import (
	"os"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Config is the message processor's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string           `yaml:"org" usage:"Apigee organization"`
	Environments   []string         `yaml:"environments" usage:"environments this message processor serves"`
	PodName        string           `yaml:"podName" usage:"name reported in deployment status"`
	TrafficListen  string           `yaml:"trafficListen" usage:"address for API traffic"`
	Synchronizer   string           `yaml:"synchronizer" usage:"synchronizer base URL"`
	PollWait       time.Duration    `yaml:"pollWait" usage:"long-poll wait for contract changes"`
	ConnectTimeout time.Duration    `yaml:"connectTimeout" usage:"target connect timeout"`
	IOTimeout      time.Duration    `yaml:"ioTimeout" usage:"target response timeout"`
	Cassandra      cassandra.Config `yaml:"cassandra"`
	// RuntimeData tunes the caches in front of Cassandra.
	RuntimeData RuntimeDataConfig `yaml:"runtimeData"`
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
		Common:         service.DefaultCommon("127.0.0.1:8843"),
		Org:            "hybrid",
		Environments:   []string{"test"},
		PodName:        "apigee-runtime-" + host,
		TrafficListen:  "127.0.0.1:8998",
		Synchronizer:   "http://127.0.0.1:8844",
		PollWait:       30 * time.Second,
		ConnectTimeout: 3 * time.Second,
		IOTimeout:      120 * time.Second,
		Cassandra:      cassandra.DefaultConfig(),
		RuntimeData:    RuntimeDataConfig{KeyTTL: rtdata.DefaultKeyTTL, MaxEntries: rtdata.DefaultMaxEntries},
	}
}
