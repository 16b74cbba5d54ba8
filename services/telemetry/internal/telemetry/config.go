package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is the forwarder's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string `yaml:"org" usage:"Apigee organization (the org label of the metrics)"`
	Project        string `yaml:"project" usage:"Google Cloud project metrics and logs are written to (default: the org)"`
	InstanceID     string `yaml:"instanceID" usage:"the runtime instance (instance_id label; the logs' cluster_name)"`
	Location       string `yaml:"location" usage:"the instance's region (location label)"`
	RuntimeVersion string `yaml:"runtimeVersion" usage:"runtime_version label of the metrics"`
	// ControlPlane is where Cloud Monitoring and Cloud Logging are (the
	// mock control plane serves both); its serviceAccountPath, if set, is
	// the identity of a role that names none of its own.
	ControlPlane cpclient.Config `yaml:"controlPlane"`
	Metrics      MetricsConfig   `yaml:"metrics"`
	Logging      LoggingConfig   `yaml:"logging"`
}

// MetricsConfig is the metrics collector: hybrid's OpenTelemetry collector
// scrapes the pods' Prometheus endpoints and exports the customer-facing
// metrics to Cloud Monitoring.
type MetricsConfig struct {
	Enabled            bool          `yaml:"enabled" usage:"send the customer-facing metrics to Cloud Monitoring"`
	ServiceAccountPath string        `yaml:"serviceAccountPath" usage:"key file of the metrics identity (hybrid's apigee-metrics, roles/monitoring.metricWriter)"`
	Targets            []string      `yaml:"targets" usage:"message processors' Prometheus endpoints to scrape, as base URLs (/metrics is appended)"`
	Interval           time.Duration `yaml:"interval" usage:"time between scrapes; each scrape is one point per series"`
	QueueSize          int           `yaml:"queueSize" usage:"scrapes kept while Cloud Monitoring is unreachable (the oldest are dropped beyond it)"`
}

// LoggingConfig is the logger: hybrid's fluent-bit daemonset tails the
// containers' log files and writes them to Cloud Logging.
type LoggingConfig struct {
	Enabled            bool          `yaml:"enabled" usage:"send the services' logs to Cloud Logging"`
	ServiceAccountPath string        `yaml:"serviceAccountPath" usage:"key file of the logging identity (hybrid's apigee-logger, roles/logging.logWriter)"`
	Paths              []string      `yaml:"paths" usage:"log files to tail (glob patterns); a file's name before .log names its container"`
	Interval           time.Duration `yaml:"interval" usage:"time between reads of the files when they have nothing new"`
	BatchEntries       int           `yaml:"batchEntries" usage:"most entries in one entries.write call"`
	PositionsFile      string        `yaml:"positionsFile" usage:"where read offsets are kept, so a restart neither resends nor skips lines (empty: kept in memory)"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Common:         service.DefaultCommon("127.0.0.1:8849"),
		Org:            "hybrid",
		InstanceID:     "local-" + host,
		Location:       "local",
		RuntimeVersion: "1.15.0",
		ControlPlane:   cpclient.DefaultConfig(),
		Metrics: MetricsConfig{Enabled: true, Targets: []string{"http://127.0.0.1:8843"},
			Interval: 10 * time.Second, QueueSize: 360},
		Logging: LoggingConfig{Enabled: true, Interval: time.Second, BatchEntries: 500},
	}
}

func (c *Config) validate() error {
	if c.Org == "" {
		return fmt.Errorf("org: required")
	}
	if c.Project == "" {
		c.Project = c.Org
	}
	if c.ControlPlane.URL == "" {
		return fmt.Errorf("controlPlane.url: required")
	}
	if c.Metrics.Enabled {
		if c.Metrics.Interval <= 0 {
			return fmt.Errorf("metrics.interval %s: must be positive", c.Metrics.Interval)
		}
		if c.Metrics.QueueSize < 1 {
			return fmt.Errorf("metrics.queueSize %d: must be at least 1", c.Metrics.QueueSize)
		}
		for _, t := range c.Metrics.Targets {
			if !strings.HasPrefix(t, "http://") && !strings.HasPrefix(t, "https://") {
				return fmt.Errorf("metrics.targets: %q is not an http(s) URL", t)
			}
		}
	}
	if c.Logging.Enabled {
		if c.Logging.Interval <= 0 {
			return fmt.Errorf("logging.interval %s: must be positive", c.Logging.Interval)
		}
		if c.Logging.BatchEntries < 1 || c.Logging.BatchEntries > maxEntriesPerWrite {
			return fmt.Errorf("logging.batchEntries %d: must be 1 to %d (entries.write's limit)", c.Logging.BatchEntries, maxEntriesPerWrite)
		}
	}
	return nil
}

// httpClient authenticates a role's calls: with its own key file, else
// the control plane's, else the static token. ctx bounds the token
// source's lifetime.
func (c *Config) httpClient(ctx context.Context, roleKey string) (*http.Client, error) {
	key := roleKey
	if key == "" {
		key = c.ControlPlane.ServiceAccountPath
	}
	var ts oauth2.TokenSource
	if key != "" {
		var err error
		if ts, err = gcpauth.TokenSourceFromFile(ctx, key, gcpauth.CloudPlatformScope); err != nil {
			return nil, fmt.Errorf("credentials %s: %w", key, err)
		}
	} else {
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: c.ControlPlane.Token, TokenType: "Bearer"})
	}
	hc := gcpauth.HTTPClient(ts, nil)
	hc.Timeout = c.ControlPlane.Timeout
	return hc, nil
}
