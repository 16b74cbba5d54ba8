package telemetry

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	monitoring "google.golang.org/api/monitoring/v3"
)

// The monitored resources and metrics of the seed's table: what hybrid's
// collector sends to the customer's project.
const (
	ProxyResource  = "apigee.googleapis.com/Proxy"
	TargetResource = "apigee.googleapis.com/Target"
	metricPrefix   = "apigee.googleapis.com/"
)

// customerMetric maps one Prometheus family of the message processor to
// its Cloud Monitoring metric ("proxy_request_count" is
// apigee.googleapis.com/proxy/request_count).
type customerMetric struct {
	family   string
	resource string
	labels   []string // the metric labels, taken from the family's labels
}

func (m customerMetric) metricType() string {
	kind, name, _ := strings.Cut(m.family, "_")
	return metricPrefix + kind + "/" + name
}

var customerMetrics = []customerMetric{
	{"proxy_request_count", ProxyResource, []string{"method"}},
	{"proxy_response_count", ProxyResource, []string{"method", "response_code"}},
	{"proxy_latencies", ProxyResource, []string{"method", "response_code"}},
	{"target_request_count", TargetResource, []string{"method"}},
	{"target_response_count", TargetResource, []string{"method", "response_code"}},
	{"target_latencies", TargetResource, []string{"method", "response_code"}},
}

// CustomerMetricTypes are the metric types the forwarder sends.
func CustomerMetricTypes() []string {
	out := make([]string, len(customerMetrics))
	for i, m := range customerMetrics {
		out[i] = m.metricType()
	}
	return out
}

// resourceLabels identify where a series comes from: Google's labels of
// the Proxy and Target monitored resources.
type resourceLabels struct {
	project, location, instance, runtimeVersion string
}

func (r resourceLabels) of(resource string, l map[string]string) map[string]string {
	out := map[string]string{
		"resource_container": r.project,
		"org":                l["org"],
		"env":                l["env"],
		"location":           r.location,
		"proxy_name":         l["proxy_name"],
		"runtime_version":    r.runtimeVersion,
		"instance_id":        r.instance,
	}
	if resource == TargetResource {
		// The runtime labels a target call with its TargetEndpoint.
		out["type"] = "http"
		out["endpoint"] = l["target"]
	}
	return out
}

// sample is one series' value in a scrape: a counter, or a histogram as
// per-bucket (not cumulative) counts over the bounds.
type sample struct {
	metric    customerMetric
	labels    map[string]string // the family's labels
	count     float64           // counter value, or histogram count
	sum       float64
	bounds    []float64
	buckets   []int64 // len(bounds)+1: the last is the overflow bucket
	histogram bool
}

// seriesKey names a sample's series: its metric and every label, in order.
func (s sample) seriesKey() string {
	keys := make([]string, 0, len(s.labels))
	for k := range s.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(s.metric.family)
	for _, k := range keys {
		b.WriteString("|" + k + "=" + s.labels[k])
	}
	return b.String()
}

// parseScrape picks the customer-facing samples out of a Prometheus text
// exposition.
func parseScrape(r io.Reader) ([]sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	var out []sample
	for _, cm := range customerMetrics {
		f := families[cm.family]
		if f == nil {
			continue
		}
		for _, m := range f.GetMetric() {
			s := sample{metric: cm, labels: labelMap(m.GetLabel())}
			switch {
			case f.GetType() == dto.MetricType_COUNTER && m.GetCounter() != nil:
				s.count = m.GetCounter().GetValue()
			case f.GetType() == dto.MetricType_HISTOGRAM && m.GetHistogram() != nil:
				h := m.GetHistogram()
				s.histogram, s.count, s.sum = true, float64(h.GetSampleCount()), h.GetSampleSum()
				var prev uint64
				for _, b := range h.GetBucket() {
					if math.IsInf(b.GetUpperBound(), 1) {
						continue
					}
					s.bounds = append(s.bounds, b.GetUpperBound())
					s.buckets = append(s.buckets, int64(b.GetCumulativeCount()-prev))
					prev = b.GetCumulativeCount()
				}
				s.buckets = append(s.buckets, int64(h.GetSampleCount()-prev))
			default:
				continue
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func labelMap(pairs []*dto.LabelPair) map[string]string {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.GetName()] = p.GetValue()
	}
	return m
}

// merge adds b's sample into a (the same series from another message
// processor of the instance: the Proxy resource has no pod label, so
// the instance's pods add up, as the collector's aggregation does).
func merge(a, b sample) sample {
	a.count += b.count
	a.sum += b.sum
	if a.histogram && slices.Equal(a.bounds, b.bounds) {
		sum := slices.Clone(a.buckets)
		for i := range sum {
			sum[i] += b.buckets[i]
		}
		a.buckets = sum
	}
	return a
}

// cumulative keeps each series' start time: a CUMULATIVE point covers
// [start, now]. A series starts when first seen, and again when its
// value drops (a message processor restarted and its counters reset).
type cumulative struct {
	start map[string]time.Time
	last  map[string]float64
}

func newCumulative() *cumulative {
	return &cumulative{start: map[string]time.Time{}, last: map[string]float64{}}
}

// timeSeries turns one scrape of every target into Cloud Monitoring time
// series, one point each, ending at now.
func (c *cumulative) timeSeries(rl resourceLabels, samples []sample, now time.Time) []*monitoring.TimeSeries {
	merged := map[string]sample{}
	var order []string
	for _, s := range samples {
		k := s.seriesKey()
		if prev, ok := merged[k]; ok {
			merged[k] = merge(prev, s)
			continue
		}
		merged[k] = s
		order = append(order, k)
	}
	sort.Strings(order)
	end := now.UTC()
	out := make([]*monitoring.TimeSeries, 0, len(order))
	for _, k := range order {
		s := merged[k]
		start, seen := c.start[k]
		if !seen || s.count < c.last[k] {
			// Cloud Monitoring wants start < end for a cumulative point.
			start = end.Add(-time.Millisecond)
			c.start[k] = start
		}
		c.last[k] = s.count
		ts := &monitoring.TimeSeries{
			Metric:     &monitoring.Metric{Type: s.metric.metricType(), Labels: metricLabels(s)},
			Resource:   &monitoring.MonitoredResource{Type: s.metric.resource, Labels: rl.of(s.metric.resource, s.labels)},
			MetricKind: "CUMULATIVE",
			Points: []*monitoring.Point{{
				Interval: &monitoring.TimeInterval{StartTime: start.Format(time.RFC3339Nano), EndTime: end.Format(time.RFC3339Nano)},
			}},
		}
		if s.histogram {
			ts.ValueType = "DISTRIBUTION"
			d := &monitoring.Distribution{Count: int64(s.count), BucketCounts: s.buckets,
				BucketOptions: &monitoring.BucketOptions{ExplicitBuckets: &monitoring.Explicit{Bounds: s.bounds}}}
			if s.count > 0 {
				d.Mean = s.sum / s.count
			}
			ts.Points[0].Value = &monitoring.TypedValue{DistributionValue: d}
		} else {
			ts.ValueType = "INT64"
			v := int64(s.count)
			ts.Points[0].Value = &monitoring.TypedValue{Int64Value: &v}
		}
		out = append(out, ts)
	}
	return out
}

func metricLabels(s sample) map[string]string {
	out := make(map[string]string, len(s.metric.labels))
	for _, l := range s.metric.labels {
		if v, ok := s.labels[l]; ok {
			out[l] = v
		}
	}
	return out
}

// scraper reads the message processors' Prometheus endpoints.
type scraper struct {
	http    *http.Client
	targets []string
}

// scrape reads every target; a target that does not answer is skipped
// (a restarting pod), and reported in the error alongside what was read.
func (s *scraper) scrape(ctx context.Context) ([]sample, error) {
	var all []sample
	var failed []string
	for _, t := range s.targets {
		got, err := s.scrapeOne(ctx, strings.TrimRight(t, "/")+"/metrics")
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		all = append(all, got...)
	}
	if len(failed) > 0 {
		return all, fmt.Errorf("scrape: %s", strings.Join(failed, "; "))
	}
	return all, nil
}

func (s *scraper) scrapeOne(ctx context.Context, url string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	out, err := parseScrape(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return out, nil
}
