package telemetry

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	monitoring "google.golang.org/api/monitoring/v3"

	"github.com/hybrid-emulator/hybrid/pkg/golden"
)

var testLabels = resourceLabels{project: "hybrid", location: "local", instance: "local-1", runtimeVersion: "1.15.0"}

func readFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/runtime_metrics.txt")
	require.NoError(tb, err)
	return b
}

// TestTimeSeriesGolden: a message processor's exposition becomes the
// seed's customer-facing metrics on the Proxy and Target resources (the
// server fault and Go runtime families stay behind).
func TestTimeSeriesGolden(t *testing.T) {
	samples, err := parseScrape(bytes.NewReader(readFixture(t)))
	require.NoError(t, err)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	series := newCumulative().timeSeries(testLabels, samples, now)
	got, err := json.MarshalIndent(series, "", "  ")
	require.NoError(t, err)
	golden.Check(t, "testdata/timeseries.golden.json", append(got, '\n'))

	types := map[string]bool{}
	for _, s := range series {
		types[s.Metric.Type] = true
		require.Contains(t, []string{ProxyResource, TargetResource}, s.Resource.Type)
		require.NotContains(t, s.Metric.Labels, "org", "org is a resource label, not a metric label")
	}
	require.True(t, types["apigee.googleapis.com/proxy/request_count"])
	require.True(t, types["apigee.googleapis.com/proxy/latencies"])
	require.True(t, types["apigee.googleapis.com/target/response_count"])
	require.Subset(t, CustomerMetricTypes(), mapsKeys(types))
}

func mapsKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func find(tb testing.TB, series []*monitoring.TimeSeries, metricType string, labels map[string]string) *monitoring.TimeSeries {
	tb.Helper()
	for _, s := range series {
		if s.Metric.Type != metricType {
			continue
		}
		match := true
		for k, v := range labels {
			if s.Metric.Labels[k] != v {
				match = false
			}
		}
		if match {
			return s
		}
	}
	tb.Fatalf("no %s series with %v", metricType, labels)
	return nil
}

// TestHistogramBuckets: Prometheus's cumulative buckets become Cloud
// Monitoring's per-bucket counts, with the overflow bucket last.
func TestHistogramBuckets(t *testing.T) {
	samples, err := parseScrape(bytes.NewReader(readFixture(t)))
	require.NoError(t, err)
	series := newCumulative().timeSeries(testLabels, samples, time.Now())
	lat := find(t, series, "apigee.googleapis.com/proxy/latencies", map[string]string{"method": "GET", "response_code": "200"})
	require.Equal(t, "DISTRIBUTION", lat.ValueType)
	d := lat.Points[0].Value.DistributionValue
	require.Equal(t, []float64{1, 5, 50}, d.BucketOptions.ExplicitBuckets.Bounds)
	require.Equal(t, []int64{1, 3, 2, 0}, []int64(d.BucketCounts))
	require.Equal(t, int64(6), d.Count)
	require.InDelta(t, 7.0, d.Mean, 1e-9)
}

// TestCumulativeStartTimes: a series keeps its start time across scrapes
// and starts again when its counter drops (the message processor
// restarted); the instance's message processors add up.
func TestCumulativeStartTimes(t *testing.T) {
	c := newCumulative()
	scrape := func(v string) []sample {
		s, err := parseScrape(strings.NewReader("# TYPE proxy_request_count counter\n" +
			`proxy_request_count{env="test",method="GET",org="hybrid",proxy_name="hello"} ` + v + "\n"))
		require.NoError(t, err)
		return s
	}
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	value := func(ts *monitoring.TimeSeries) int64 { return *ts.Points[0].Value.Int64Value }

	first := c.timeSeries(testLabels, scrape("5"), t0)
	require.Len(t, first, 1)
	start := first[0].Points[0].Interval.StartTime
	require.Less(t, start, first[0].Points[0].Interval.EndTime)

	second := c.timeSeries(testLabels, scrape("9"), t0.Add(10*time.Second))
	require.Equal(t, start, second[0].Points[0].Interval.StartTime, "same run, same start")
	require.Equal(t, int64(9), value(second[0]))

	// Two message processors of the instance: one series, the sum.
	both := c.timeSeries(testLabels, append(scrape("9"), scrape("4")...), t0.Add(20*time.Second))
	require.Len(t, both, 1)
	require.Equal(t, int64(13), value(both[0]))

	reset := c.timeSeries(testLabels, scrape("2"), t0.Add(30*time.Second))
	require.NotEqual(t, start, reset[0].Points[0].Interval.StartTime, "a reset starts a new cumulative run")
	require.Equal(t, int64(2), value(reset[0]))
}

func TestParseScrapeRejectsGarbage(t *testing.T) {
	_, err := parseScrape(strings.NewReader("proxy_request_count{oops 1\n"))
	require.Error(t, err)
}
