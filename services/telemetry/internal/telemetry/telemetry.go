// Package telemetry is the runtime plane's telemetry forwarder, hybrid's
// apigee-telemetry in one process with its two roles: the metrics
// collector (an OpenTelemetry collector in hybrid) scrapes the message
// processors and sends the seed's customer-facing metrics to Cloud
// Monitoring, and the logger (fluent-bit in hybrid) tails the services'
// log files and sends them to Cloud Logging. Both buffer and retry while
// the control plane is unreachable, and neither is on any API call's
// path, so an outage costs telemetry a delay and traffic nothing.
package telemetry

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	logging "google.golang.org/api/logging/v2"
	monitoring "google.golang.org/api/monitoring/v3"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// selfMetrics are the forwarder's own Prometheus metrics.
type selfMetrics struct {
	pointsSent      prometheus.Counter
	pointsDropped   *prometheus.CounterVec
	queuedScrapes   prometheus.Gauge
	scrapeErrors    prometheus.Counter
	entriesSent     prometheus.Counter
	batchesRejected prometheus.Counter
	logBacklog      prometheus.Gauge
	upstreamErrors  *prometheus.CounterVec
}

func newSelfMetrics(reg prometheus.Registerer) (*selfMetrics, error) {
	m := &selfMetrics{
		pointsSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "telemetry_metric_points_sent_total",
			Help: "Metric points Cloud Monitoring accepted."}),
		pointsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "telemetry_metric_points_dropped_total",
			Help: "Metric points given up: queue_full (an outage outlasted the queue) or rejected (Cloud Monitoring refused them)."}, []string{"reason"}),
		queuedScrapes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "telemetry_metric_queued_scrapes",
			Help: "Scrapes waiting to be sent to Cloud Monitoring."}),
		scrapeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "telemetry_scrape_errors_total",
			Help: "Scrapes in which a message processor's metrics could not be read."}),
		entriesSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "telemetry_log_entries_sent_total",
			Help: "Log entries Cloud Logging accepted."}),
		batchesRejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "telemetry_log_batches_rejected_total",
			Help: "entries.write calls Cloud Logging refused for their content (valid entries of them were written)."}),
		logBacklog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "telemetry_log_backlog_bytes",
			Help: "Bytes of the tailed log files not yet in Cloud Logging."}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "telemetry_upstream_errors_total",
			Help: "Failed calls to Cloud Monitoring or Cloud Logging, to be retried."}, []string{"service"}),
	}
	for _, c := range []prometheus.Collector{m.pointsSent, m.pointsDropped, m.queuedScrapes, m.scrapeErrors,
		m.entriesSent, m.batchesRejected, m.logBacklog, m.upstreamErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Run starts the forwarder and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	svc, err := service.New("telemetry", cfg.Common)
	if err != nil {
		return err
	}
	log := svc.Logger().With(zap.String("org", cfg.Org))
	m, err := newSelfMetrics(svc.Registry())
	if err != nil {
		svc.Close()
		return err
	}
	var col *collector
	var lg *logger
	endpoint := strings.TrimRight(cfg.ControlPlane.URL, "/") + "/"
	if cfg.Metrics.Enabled {
		col = &collector{cfg: cfg.Metrics, project: cfg.Project, log: log.Named("metrics"), m: m, now: time.Now, cum: newCumulative(),
			labels:  resourceLabels{project: cfg.Project, location: cfg.Location, instance: cfg.InstanceID, runtimeVersion: cfg.RuntimeVersion},
			scraper: &scraper{http: &http.Client{Timeout: 5 * time.Second}, targets: cfg.Metrics.Targets}}
		svc.Init("CloudMonitoringCredentials", func(ctx context.Context) error {
			hc, err := cfg.httpClient(ctx, cfg.Metrics.ServiceAccountPath)
			if err != nil {
				return err
			}
			ms, err := monitoring.NewService(ctx, option.WithEndpoint(endpoint), option.WithHTTPClient(hc))
			if err != nil {
				return err
			}
			col.writer = googleMonitoring{ms}
			svc.Go("metrics", col.run)
			return nil
		})
	}
	if cfg.Logging.Enabled {
		if lg, err = newLogger(cfg.Logging); err != nil {
			svc.Close()
			return err
		}
		lg.project, lg.location, lg.cluster, lg.log, lg.m = cfg.Project, cfg.Location, cfg.InstanceID, log.Named("logging"), m
		svc.Init("CloudLoggingCredentials", func(ctx context.Context) error {
			hc, err := cfg.httpClient(ctx, cfg.Logging.ServiceAccountPath)
			if err != nil {
				return err
			}
			ls, err := logging.NewService(ctx, option.WithEndpoint(endpoint), option.WithHTTPClient(hc))
			if err != nil {
				return err
			}
			lg.writer = googleLogging{ls}
			svc.Go("logging", lg.run)
			return nil
		})
	}
	svc.Handle("GET /v1/telemetry/status", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st := Status{Project: cfg.Project}
		if col != nil {
			s := col.status()
			st.Metrics = &s
		}
		if lg != nil {
			s := lg.status()
			st.Logging = &s
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	}))
	return svc.Run(ctx)
}

// Status is GET /v1/telemetry/status: each role's upstream and buffer.
type Status struct {
	Project string         `json:"project"`
	Metrics *MetricsStatus `json:"metrics,omitempty"`
	Logging *LoggingStatus `json:"logging,omitempty"`
}
