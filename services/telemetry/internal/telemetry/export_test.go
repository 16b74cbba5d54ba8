package telemetry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/api/googleapi"
	logging "google.golang.org/api/logging/v2"
	monitoring "google.golang.org/api/monitoring/v3"
)

var (
	errUnavailable = &googleapi.Error{Code: http.StatusServiceUnavailable, Message: "The service is currently unavailable."}
	errInvalid     = &googleapi.Error{Code: http.StatusBadRequest, Message: "Field timeSeries[0].points[0] is invalid"}
)

// fakeMonitoring records what it accepts and fails while told to.
type fakeMonitoring struct {
	mu     sync.Mutex
	fail   error
	calls  [][]*monitoring.TimeSeries
	reject int // refuse this many calls for their content first
}

func (f *fakeMonitoring) CreateTimeSeries(_ context.Context, _ string, series []*monitoring.TimeSeries) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.reject > 0 {
		f.reject--
		return errInvalid
	}
	f.calls = append(f.calls, series)
	return nil
}

func (f *fakeMonitoring) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeMonitoring) accepted() [][]*monitoring.TimeSeries {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]*monitoring.TimeSeries(nil), f.calls...)
}

func testMetrics(tb testing.TB) *selfMetrics {
	tb.Helper()
	m, err := newSelfMetrics(prometheus.NewRegistry())
	require.NoError(tb, err)
	return m
}

// counterServer serves proxy_request_count at the value it is set to.
func counterServer(tb testing.TB) (*httptest.Server, func(n int)) {
	tb.Helper()
	var mu sync.Mutex
	value := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write([]byte("# TYPE proxy_request_count counter\n" +
			`proxy_request_count{env="test",method="GET",org="hybrid",proxy_name="hello"} ` + strconv.Itoa(value) + "\n"))
	}))
	tb.Cleanup(srv.Close)
	return srv, func(n int) { mu.Lock(); value = n; mu.Unlock() }
}

func newTestCollector(tb testing.TB, targets []string, w metricWriter, queue int) *collector {
	tb.Helper()
	return &collector{cfg: MetricsConfig{Interval: time.Hour, QueueSize: queue}, project: "hybrid", labels: testLabels,
		scraper: &scraper{http: http.DefaultClient, targets: targets}, writer: w, log: zap.NewNop(), m: testMetrics(tb),
		now: time.Now, cum: newCumulative()}
}

// TestCollectorBuffersThroughAnOutage: while Cloud Monitoring is down the
// scrapes queue up (bounded: the oldest go, counted); on recovery they
// are sent oldest first, so each series' points arrive in order.
func TestCollectorBuffersThroughAnOutage(t *testing.T) {
	ctx := context.Background()
	srv, set := counterServer(t)
	fake := &fakeMonitoring{}
	c := newTestCollector(t, []string{srv.URL}, fake, 3)

	set(1)
	c.collect(ctx)
	c.flush(ctx)
	require.Len(t, fake.accepted(), 1)

	fake.setFail(errUnavailable)
	for i := 2; i <= 6; i++ {
		set(i)
		c.collect(ctx)
		c.flush(ctx)
	}
	require.Len(t, fake.accepted(), 1, "nothing reaches Cloud Monitoring during the outage")
	require.Equal(t, 3, c.status().QueuedScrapes)
	require.NotNil(t, c.status().Upstream.FailingSince)
	require.InDelta(t, 2.0, testutil.ToFloat64(c.m.pointsDropped.WithLabelValues("queue_full")), 0, "scrapes 2 and 3 fell out of the queue")

	fake.setFail(nil)
	set(7)
	c.collect(ctx)
	c.flush(ctx)
	var values []int64
	for _, call := range fake.accepted() {
		values = append(values, *call[0].Points[0].Value.Int64Value)
	}
	require.Equal(t, []int64{1, 5, 6, 7}, values, "the queue drains oldest first, then the new scrape")
	require.Equal(t, 0, c.status().QueuedScrapes)
	require.Nil(t, c.status().Upstream.FailingSince)
}

// TestCollectorDropsRefusedPoints: points Cloud Monitoring refuses for
// their content are dropped (counted) so they do not block the rest.
func TestCollectorDropsRefusedPoints(t *testing.T) {
	ctx := context.Background()
	srv, set := counterServer(t)
	fake := &fakeMonitoring{reject: 1}
	c := newTestCollector(t, []string{srv.URL}, fake, 10)
	set(1)
	c.collect(ctx)
	set(2)
	c.collect(ctx)
	c.flush(ctx)
	require.Len(t, fake.accepted(), 1)
	require.Equal(t, int64(2), *fake.accepted()[0][0].Points[0].Value.Int64Value)
	require.InDelta(t, 1.0, testutil.ToFloat64(c.m.pointsDropped.WithLabelValues("rejected")), 0)
}

// TestCollectorChunksLargeScrapes: at most 200 series per call, and a
// failure part-way resumes after the chunk that was taken.
func TestCollectorChunksLargeScrapes(t *testing.T) {
	var b strings.Builder
	b.WriteString("# TYPE proxy_request_count counter\n")
	for i := range 450 {
		b.WriteString(`proxy_request_count{env="test",method="GET",org="hybrid",proxy_name="p` + strconv.Itoa(i+1) + `"} 1` + "\n")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(b.String())) }))
	t.Cleanup(srv.Close)
	fake := &fakeMonitoring{}
	c := newTestCollector(t, []string{srv.URL}, fake, 10)
	c.collect(context.Background())
	c.flush(context.Background())
	var sizes []int
	for _, call := range fake.accepted() {
		sizes = append(sizes, len(call))
	}
	require.Equal(t, []int{200, 200, 50}, sizes)
}

// TestCollectorSkipsAnUnreachableTarget: a message processor that does
// not answer leaves out its series; the others still go.
func TestCollectorSkipsAnUnreachableTarget(t *testing.T) {
	srv, set := counterServer(t)
	set(3)
	fake := &fakeMonitoring{}
	c := newTestCollector(t, []string{"http://127.0.0.1:1", srv.URL}, fake, 10)
	c.collect(context.Background())
	c.flush(context.Background())
	require.Len(t, fake.accepted(), 1)
	require.InDelta(t, 1.0, testutil.ToFloat64(c.m.scrapeErrors), 0)
}

// fakeLogging records accepted entries and fails while told to.
type fakeLogging struct {
	mu      sync.Mutex
	fail    error
	entries []*logging.LogEntry
}

func (f *fakeLogging) WriteEntries(_ context.Context, req *logging.WriteLogEntriesRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.entries = append(f.entries, req.Entries...)
	return nil
}

func (f *fakeLogging) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeLogging) got() []*logging.LogEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*logging.LogEntry(nil), f.entries...)
}

func newTestLogger(tb testing.TB, cfg LoggingConfig, w logWriter) *logger {
	tb.Helper()
	l, err := newLogger(cfg)
	require.NoError(tb, err)
	l.project, l.location, l.cluster, l.writer, l.log, l.m = "hybrid", "local", "local-1", w, zap.NewNop(), testMetrics(tb)
	return l
}

func appendFile(tb testing.TB, path, text string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(tb, err)
	_, err = f.WriteString(text)
	require.NoError(tb, err)
	require.NoError(tb, f.Close())
}

const zapLine = `{"level":"warn","formattedDate":"2026-12-05T04:37:00.195Z","logger":"synchronizer","message":"Error in connecting to control plane","severity":"WARNING"}`

// TestLoggerEntries: each complete line is one entry of the file's
// container; JSON lines keep their payload, severity and time.
func TestLoggerEntries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "synchronizer-2.log")
	appendFile(t, path, zapLine+"\nplain text from a panic\n{\"half\":")
	fake := &fakeLogging{}
	l := newTestLogger(t, LoggingConfig{Paths: []string{filepath.Join(dir, "*.log")}, BatchEntries: 100}, fake)
	l.round(context.Background())

	got := fake.got()
	require.Len(t, got, 2, "the partial last line waits for its newline")
	require.Equal(t, "projects/hybrid/logs/stdout", got[0].LogName)
	require.Equal(t, "k8s_container", got[0].Resource.Type)
	require.Equal(t, map[string]string{"project_id": "hybrid", "location": "local", "cluster_name": "local-1",
		"namespace_name": "apigee", "pod_name": "synchronizer-2", "container_name": "apigee-synchronizer"}, got[0].Resource.Labels)
	require.Equal(t, "WARNING", got[0].Severity)
	require.Equal(t, "2026-12-05T04:37:00.195Z", got[0].Timestamp)
	require.JSONEq(t, zapLine, string(got[0].JsonPayload))
	require.Equal(t, "plain text from a panic", got[1].TextPayload)
	require.Equal(t, "DEFAULT", got[1].Severity)

	appendFile(t, path, "\"line\"}\n")
	l.round(context.Background())
	require.Len(t, fake.got(), 3)
	require.JSONEq(t, `{"half":"line"}`, string(fake.got()[2].JsonPayload))
}

// TestLoggerHoldsLinesThroughAnOutage: offsets advance only when Cloud
// Logging took the lines; a restart resumes from the positions file; a
// truncated file starts again from its top.
func TestLoggerHoldsLinesThroughAnOutage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runtime.log")
	positions := filepath.Join(dir, "positions.json")
	cfg := LoggingConfig{Paths: []string{path}, BatchEntries: 2, PositionsFile: positions}
	fake := &fakeLogging{}
	l := newTestLogger(t, cfg, fake)

	appendFile(t, path, "one\ntwo\nthree\n")
	fake.setFail(errUnavailable)
	require.False(t, l.round(context.Background()))
	require.Empty(t, fake.got())
	require.NotNil(t, l.status().Upstream.FailingSince)

	fake.setFail(nil)
	require.True(t, l.round(context.Background()), "a full batch: more is waiting")
	require.False(t, l.round(context.Background()))
	require.Equal(t, []string{"one", "two", "three"}, texts(fake.got()))
	require.Nil(t, l.status().Upstream.FailingSince)

	// A new forwarder over the same positions sends only what is new.
	appendFile(t, path, "four\n")
	fake2 := &fakeLogging{}
	l2 := newTestLogger(t, cfg, fake2)
	l2.round(context.Background())
	require.Equal(t, []string{"four"}, texts(fake2.got()))

	// Truncated (make clean, a new run): from the top.
	require.NoError(t, os.WriteFile(path, []byte("fresh\n"), 0o600))
	l2.round(context.Background())
	require.Equal(t, []string{"four", "fresh"}, texts(fake2.got()))
}

func texts(entries []*logging.LogEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.TextPayload)
	}
	return out
}

func TestSeverity(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{`{"severity":"INFO"}`, "INFO"},
		{`{"level":"warn"}`, "WARNING"},
		{`{"level":"SEVERE","message":"ProbeAPI"}`, "ERROR"},
		{`{"level":"fatal"}`, "CRITICAL"},
		{`{"level":"debug"}`, "DEBUG"},
		{`{"msg":"no level"}`, "DEFAULT"},
	} {
		l := &logger{project: "p", now: time.Now}
		require.Equal(t, tc.want, l.entry([]byte(tc.line), nil).Severity, tc.line)
	}
}

func TestTimestampFromZapTS(t *testing.T) {
	l := &logger{project: "p", now: time.Now}
	e := l.entry([]byte(`{"level":"info","ts":1715752630.5,"msg":"Updating retry count"}`), nil)
	require.Equal(t, "2024-05-15T05:57:10.5Z", e.Timestamp)
}

func TestPermanent(t *testing.T) {
	require.True(t, permanent(errInvalid))
	require.False(t, permanent(errUnavailable))
	require.False(t, permanent(errors.New("dial tcp: connection refused")))
	require.False(t, permanent(&googleapi.Error{Code: http.StatusForbidden}))
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no org", func(c *Config) { c.Org = "" }, "org: required"},
		{"no control plane", func(c *Config) { c.ControlPlane.URL = "" }, "controlPlane.url"},
		{"bad interval", func(c *Config) { c.Metrics.Interval = 0 }, "metrics.interval"},
		{"empty queue", func(c *Config) { c.Metrics.QueueSize = 0 }, "metrics.queueSize"},
		{"bad target", func(c *Config) { c.Metrics.Targets = []string{"127.0.0.1:8843"} }, "metrics.targets"},
		{"batch too big", func(c *Config) { c.Logging.BatchEntries = 5000 }, "logging.batchEntries"},
		{"bad log interval", func(c *Config) { c.Logging.Interval = -time.Second }, "logging.interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	cfg := DefaultConfig()
	require.NoError(t, cfg.validate())
	require.Equal(t, "hybrid", cfg.Project, "the project defaults to the org")
}

// TestLoggerLongLines: a line longer than a small batch's read still goes
// (the read is never shorter than the longest line), and a line beyond
// maxLine is cut there rather than stalling the file.
func TestLoggerLongLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runtime.log")
	long := strings.Repeat("x", 10_000)
	huge := strings.Repeat("y", maxLine+10)
	appendFile(t, path, long+"\n"+huge+"\nafter\n")
	fake := &fakeLogging{}
	l := newTestLogger(t, LoggingConfig{Paths: []string{path}, BatchEntries: 1}, fake)
	for range 5 {
		l.round(context.Background())
	}
	require.Equal(t, []string{long, huge[:maxLine], huge[maxLine:], "after"}, texts(fake.got()))
}
