// Package monitoring is the mock control plane's Cloud Monitoring v3 time
// series API (monitoring.googleapis.com), in memory: the runtime plane's
// telemetry forwarder writes Apigee's customer-facing metrics with
// projects.timeSeries.create and tests read them back with
// projects.timeSeries.list, both through google.golang.org/api/monitoring/v3
// unchanged.
//
// Requests are validated as the real API validates them (one point per
// series, points in order, values of the declared type, …) so a forwarder
// that works here is not refused by Google. Nothing outlives the process:
// the store is bounded per project and per series, oldest dropped.
package monitoring

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi"
)

// Audience is the self-signed JWT audience of Cloud Monitoring.
const Audience = "https://monitoring.googleapis.com/"

// Bounds of the store and of a request.
const (
	// DefaultMaxSeries is how many series a project keeps; the least
	// recently written is dropped for a new one.
	DefaultMaxSeries = 10000
	// DefaultMaxPoints is how many points a series keeps, oldest dropped.
	DefaultMaxPoints = 1000
	// MaxSeriesPerRequest is the real API's limit per create call.
	MaxSeriesPerRequest = 200
	// maxBody bounds a create request's body.
	maxBody = 10 << 20
	// maxPageSize is the real API's (and default) page size of list.
	maxPageSize = 100000
)

// Authorizer is the emulated IAM as the API uses it (*iam.IAM).
type Authorizer = gcpapi.Authorizer

// Projects tells which projects exist.
type Projects = gcpapi.Projects

// Options configure a Store.
type Options struct {
	// Auth authenticates and authorizes callers; nil lets every caller
	// in (unit tests of the API's behaviour).
	Auth Authorizer
	// Projects, when set, makes calls on other projects a 404.
	Projects Projects
	// Registerer, when set, gets controlplane_monitoring_points_written_total.
	Registerer prometheus.Registerer
	// MaxSeries and MaxPoints bound the store (0: the defaults).
	MaxSeries, MaxPoints int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Store holds written time series per project and serves the API. It is
// safe for concurrent use.
type Store struct {
	opts    Options
	gate    gcpapi.Gate
	written prometheus.Counter

	mu       sync.Mutex
	projects map[string]*project
}

// project is one project's series and the kinds its metric types were
// first written with (the auto-created metric descriptors).
type project struct {
	series      map[string]*series // by seriesKey
	descriptors map[string]descriptor
	clock       uint64 // write counter, for least-recently-written eviction
}

type descriptor struct{ kind, valueType string }

type series struct {
	key       string
	metric    Metric
	resource  MonitoredResource
	kind      string
	valueType string
	unit      string
	points    []storedPoint // oldest first
	lastWrite uint64
}

type storedPoint struct {
	start, end time.Time
	value      TypedValue
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = DefaultMaxSeries
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = DefaultMaxPoints
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{
		opts: opts,
		gate: gcpapi.Gate{Auth: opts.Auth, Projects: opts.Projects, Audience: Audience},
		written: gcpapi.WriteCounter(opts.Registerer, "controlplane_monitoring_points_written_total",
			"Points the mock Cloud Monitoring API stored (projects.timeSeries.create)."),
		projects: map[string]*project{},
	}
}

// TimeSeries returns a copy of every series of project with its points,
// newest first, sorted by metric type then labels: what in-process tests
// read.
func (s *Store) TimeSeries(project string) []TimeSeries {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[project]
	if p == nil {
		return nil
	}
	out := make([]TimeSeries, 0, len(p.series))
	for _, k := range p.sortedKeys() {
		sr := p.series[k]
		out = append(out, sr.view(sr.points, true))
	}
	return out
}

func (p *project) sortedKeys() []string {
	keys := make([]string, 0, len(p.series))
	for k := range p.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// view is the series on the wire with pts (oldest first) newest first.
func (sr *series) view(pts []storedPoint, withPoints bool) TimeSeries {
	ts := TimeSeries{
		Metric:     &Metric{Type: sr.metric.Type, Labels: copyLabels(sr.metric.Labels)},
		Resource:   &MonitoredResource{Type: sr.resource.Type, Labels: copyLabels(sr.resource.Labels)},
		MetricKind: sr.kind, ValueType: sr.valueType, Unit: sr.unit,
	}
	if withPoints {
		ts.Points = make([]Point, 0, len(pts))
		for i := len(pts) - 1; i >= 0; i-- {
			pt := pts[i]
			ts.Points = append(ts.Points, Point{
				Interval: &TimeInterval{StartTime: formatTime(pt.start), EndTime: formatTime(pt.end)},
				Value:    copyValue(pt.value),
			})
		}
	}
	return ts
}

func copyLabels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// copyValue copies the top level of a stored value: stored values are
// never changed after they are written, so sharing their pointers is safe.
func copyValue(v TypedValue) *TypedValue { return &v }

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
