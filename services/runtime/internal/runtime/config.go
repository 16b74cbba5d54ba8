// Package runtime wires the message processor: contract polling, the
// engine and its traffic and admin endpoints.
package runtime

import (
	"os"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is the message processor's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string        `yaml:"org" usage:"Apigee organization"`
	Environments   []string      `yaml:"environments" usage:"environments this message processor serves"`
	PodName        string        `yaml:"podName" usage:"name reported in deployment status"`
	TrafficListen  string        `yaml:"trafficListen" usage:"address for API traffic"`
	Synchronizer   string        `yaml:"synchronizer" usage:"synchronizer base URL"`
	PollWait       time.Duration `yaml:"pollWait" usage:"long-poll wait for contract changes"`
	ConnectTimeout time.Duration `yaml:"connectTimeout" usage:"target connect timeout"`
	IOTimeout      time.Duration `yaml:"ioTimeout" usage:"target response timeout"`
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
	}
}
