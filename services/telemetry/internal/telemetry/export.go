package telemetry

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/api/googleapi"
	logging "google.golang.org/api/logging/v2"
	monitoring "google.golang.org/api/monitoring/v3"
)

// The APIs' own limits on one call.
const (
	maxSeriesPerCreate = 200  // projects.timeSeries.create
	maxEntriesPerWrite = 1000 // entries.write
)

// metricWriter is Cloud Monitoring's time series create.
type metricWriter interface {
	CreateTimeSeries(ctx context.Context, project string, series []*monitoring.TimeSeries) error
}

// logWriter is Cloud Logging's entries.write.
type logWriter interface {
	WriteEntries(ctx context.Context, req *logging.WriteLogEntriesRequest) error
}

// googleMonitoring and googleLogging are Google's generated clients,
// pointed at the control plane.
type googleMonitoring struct{ svc *monitoring.Service }

func (g googleMonitoring) CreateTimeSeries(ctx context.Context, project string, series []*monitoring.TimeSeries) error {
	_, err := g.svc.Projects.TimeSeries.Create("projects/"+project,
		&monitoring.CreateTimeSeriesRequest{TimeSeries: series}).Context(ctx).Do()
	return err
}

type googleLogging struct{ svc *logging.Service }

func (g googleLogging) WriteEntries(ctx context.Context, req *logging.WriteLogEntriesRequest) error {
	_, err := g.svc.Entries.Write(req).Context(ctx).Do()
	return err
}

// permanent reports whether a failed call can never succeed as sent (the
// API refused its content), so retrying it would block what follows:
// like the collector's and fluent-bit's, such data is dropped. Anything
// else (unreachable, 5xx, 429, a missing permission an admin may yet
// grant) is retried.
func permanent(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusBadRequest
}

// health is one exporter's view of its upstream, for the status
// endpoint and the outage report.
type health struct {
	mu           sync.Mutex
	lastSuccess  time.Time
	failingSince time.Time
	lastError    string
	failures     int
}

// HealthView is health on the wire.
type HealthView struct {
	LastSuccess  *time.Time `json:"lastSuccess,omitempty"`
	FailingSince *time.Time `json:"failingSince,omitempty"`
	LastError    string     `json:"lastError,omitempty"`
	Failures     int        `json:"consecutiveFailures"`
}

// ok records a success; it returns whether the upstream had been failing.
func (h *health) ok(now time.Time) (recovered bool, down time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	recovered = !h.failingSince.IsZero()
	if recovered {
		down = now.Sub(h.failingSince)
	}
	h.lastSuccess, h.failingSince, h.lastError, h.failures = now, time.Time{}, "", 0
	return recovered, down
}

// fail records a failure; it returns whether it is the first of a run.
func (h *health) fail(now time.Time, err error) (first bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	first = h.failingSince.IsZero()
	if first {
		h.failingSince = now
	}
	h.lastError = err.Error()
	h.failures++
	return first
}

func (h *health) view() HealthView {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := HealthView{LastError: h.lastError, Failures: h.failures}
	if !h.lastSuccess.IsZero() {
		t := h.lastSuccess
		v.LastSuccess = &t
	}
	if !h.failingSince.IsZero() {
		t := h.failingSince
		v.FailingSince = &t
	}
	return v
}

// logUpstream logs an upstream's state changes only (the first failure of
// a run and the recovery), so an outage does not flood the logs that the
// logger itself forwards.
func logUpstream(log *zap.Logger, h *health, what string, err error, buffered zap.Field) {
	now := time.Now()
	if err == nil {
		if recovered, down := h.ok(now); recovered {
			log.Info(what+" reachable again; sending what was buffered", zap.Duration("unreachableFor", down), buffered)
		}
		return
	}
	if h.fail(now, err) {
		log.Warn(what+" unreachable; buffering and retrying", zap.Error(err), buffered)
	}
}
