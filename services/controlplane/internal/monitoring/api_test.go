package monitoring

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi/gcpapitest"
)

var t0 = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }

// newServer serves a store with no authorization (the server package tests
// it with the IAM).
func newServer(tb testing.TB, opts Options) (*Store, *httptest.Server) {
	tb.Helper()
	s := New(opts)
	return s, gcpapitest.Serve(tb, s.Register)
}

type apiError = gcpapitest.APIError

// call sends body (a JSON string or "") and returns the status and body.
func call(tb testing.TB, method, u, body string) (int, string) {
	tb.Helper()
	return gcpapitest.Call(tb, method, u, body)
}

// gauge is a one-point INT64 GAUGE series JSON.
func gauge(metric, proxy string, end time.Duration, v int64) string {
	return fmt.Sprintf(`{"metric":{"type":%q,"labels":{"proxy_name":%q}},"resource":{"type":"apigee.googleapis.com/Proxy","labels":{"org":"hybrid"}},"metricKind":"GAUGE","valueType":"INT64","points":[{"interval":{"endTime":%q},"value":{"int64Value":"%d"}}]}`,
		metric, proxy, at(end), v)
}

func create(tb testing.TB, base string, series ...string) (int, string) {
	tb.Helper()
	return call(tb, "POST", base+"/v3/projects/hybrid/timeSeries", `{"timeSeries":[`+strings.Join(series, ",")+`]}`)
}

func TestCreateValidates(t *testing.T) {
	const m = "apigee.googleapis.com/proxy/request_count"
	point := func(interval, value string) string {
		return fmt.Sprintf(`{"metric":{"type":%q},"resource":{"type":"global"},"metricKind":"CUMULATIVE","valueType":"INT64","points":[{"interval":%s,"value":%s}]}`, m, interval, value)
	}
	okInterval := fmt.Sprintf(`{"startTime":%q,"endTime":%q}`, at(0), at(time.Minute))
	tooMany := make([]string, MaxSeriesPerRequest+1)
	for i := range tooMany {
		tooMany[i] = gauge(m, fmt.Sprint("p", i), 0, 1)
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		want   string // in the error message
	}{
		{"ok", `{"timeSeries":[` + point(okInterval, `{"int64Value":"5"}`) + `]}`, 200, ""},
		{"int64 as a number", `{"timeSeries":[` + point(okInterval, `{"int64Value":5}`) + `]}`, 200, ""},
		{"empty", `{"timeSeries":[]}`, 400, "at least one"},
		{"too many", `{"timeSeries":[` + strings.Join(tooMany, ",") + `]}`, 400, "at most 200"},
		{"unknown field", `{"timeSeries":[],"extra":1}`, 400, "Invalid JSON payload"},
		{"no metric type", `{"timeSeries":[{"resource":{"type":"global"},"points":[{"interval":{"endTime":"` + at(0) + `"},"value":{"int64Value":"1"}}]}]}`, 400, "timeSeries[0].metric.type"},
		{"no resource type", `{"timeSeries":[{"metric":{"type":"x"},"points":[{"interval":{"endTime":"` + at(0) + `"},"value":{"int64Value":"1"}}]}]}`, 400, "timeSeries[0].resource.type"},
		{"two points", `{"timeSeries":[{"metric":{"type":"x"},"resource":{"type":"global"},"points":[{"interval":{"endTime":"` + at(0) + `"},"value":{"int64Value":"1"}},{"interval":{"endTime":"` + at(time.Second) + `"},"value":{"int64Value":"1"}}]}]}`, 400, "Only one point can be written per TimeSeries"},
		{"no end time", `{"timeSeries":[` + point(`{"startTime":"`+at(0)+`"}`, `{"int64Value":"1"}`) + `]}`, 400, "timeSeries[0].points[0].interval.endTime"},
		{"bad end time", `{"timeSeries":[` + point(`{"startTime":"`+at(0)+`","endTime":"yesterday"}`, `{"int64Value":"1"}`) + `]}`, 400, "not an RFC 3339 time"},
		{"cumulative without start", `{"timeSeries":[` + point(`{"endTime":"`+at(0)+`"}`, `{"int64Value":"1"}`) + `]}`, 400, "a start time is required for a CUMULATIVE metric"},
		{"start after end", `{"timeSeries":[` + point(fmt.Sprintf(`{"startTime":%q,"endTime":%q}`, at(time.Minute), at(0)), `{"int64Value":"1"}`) + `]}`, 400, "is after the end time"},
		{"value of another type", `{"timeSeries":[` + point(okInterval, `{"doubleValue":1.5}`) + `]}`, 400, "the value type DOUBLE does not match the series' valueType INT64"},
		{"no value", `{"timeSeries":[` + point(okInterval, `{}`) + `]}`, 400, "a value is required"},
		{"two values", `{"timeSeries":[` + point(okInterval, `{"int64Value":"1","doubleValue":2}`) + `]}`, 400, "exactly one value field"},
		{"gauge with another start", `{"timeSeries":[{"metric":{"type":"g"},"resource":{"type":"global"},"points":[{"interval":{"startTime":"` + at(0) + `","endTime":"` + at(time.Second) + `"},"value":{"doubleValue":1}}]}]}`, 400, "GAUGE point"},
		{"unknown kind", `{"timeSeries":[{"metric":{"type":"g"},"resource":{"type":"global"},"metricKind":"SOMETIMES","points":[{"interval":{"endTime":"` + at(0) + `"},"value":{"doubleValue":1}}]}]}`, 400, "unknown metric kind"},
		{"distribution counts", `{"timeSeries":[{"metric":{"type":"d"},"resource":{"type":"global"},"valueType":"DISTRIBUTION","points":[{"interval":{"endTime":"` + at(0) + `"},"value":{"distributionValue":{"count":"3","bucketCounts":["1","1"]}}}]}]}`, 400, "add up to 2, not the count 3"},
		{"same series twice", `{"timeSeries":[` + gauge(m+"2", "a", 0, 1) + `,` + gauge(m+"2", "a", time.Second, 2) + `]}`, 400, "timeSeries[1] had an invalid value: Duplicate TimeSeries"},
		{"bad series names its index", `{"timeSeries":[` + gauge("ok", "a", 0, 1) + `,{"metric":{"type":"x"}}]}`, 400, "timeSeries[1].resource.type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, srv := newServer(t, Options{})
			code, body := call(t, "POST", srv.URL+"/v3/projects/hybrid/timeSeries", tc.body)
			require.Equal(t, tc.status, code, body)
			if tc.status == 200 {
				require.JSONEq(t, `{}`, body)
				require.Len(t, s.TimeSeries("hybrid"), 1)
				return
			}
			var e apiError
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			require.Equal(t, "INVALID_ARGUMENT", e.Error.Status)
			require.Contains(t, e.Error.Message, tc.want)
			require.Empty(t, s.TimeSeries("hybrid"), "nothing is stored when any series is refused")
		})
	}
}

func TestCreateInOrderAndConsistent(t *testing.T) {
	const m = "custom.googleapis.com/x"
	for _, tc := range []struct {
		name   string
		first  string
		second string
		want   string // "" accepts the second
	}{
		{"newer point", gauge(m, "a", 0, 1), gauge(m, "a", time.Second, 2), ""},
		{"same end time", gauge(m, "a", 0, 1), gauge(m, "a", 0, 2), "Points must be written in order. One or more of the points specified had an older start time than the most recent point."},
		{"older point", gauge(m, "a", time.Minute, 1), gauge(m, "a", 0, 2), "Points must be written in order."},
		{"older point of another series", gauge(m, "a", time.Minute, 1), gauge(m, "b", 0, 2), ""},
		{"value type changes", gauge(m, "a", 0, 1), strings.Replace(strings.Replace(gauge(m, "b", time.Second, 0), `"INT64"`, `"DOUBLE"`, 1), `{"int64Value":"0"}`, `{"doubleValue":0.5}`, 1), "must match the existing value type INT64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, srv := newServer(t, Options{})
			code, body := create(t, srv.URL, tc.first)
			require.Equal(t, 200, code, body)
			code, body = create(t, srv.URL, gauge(m+"/other", "z", 0, 1), tc.second)
			if tc.want == "" {
				require.Equal(t, 200, code, body)
				return
			}
			require.Equal(t, 400, code, body)
			require.Contains(t, body, tc.want)
			require.Contains(t, body, "timeSeries[1]")
			require.Len(t, s.TimeSeries("hybrid"), 1, "the good series of the refused request is not stored either")
		})
	}
}

func TestListFiltersIntervalsAndPages(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, srv := newServer(t, Options{Registerer: reg})
	const rc = "apigee.googleapis.com/proxy/request_count"
	for i := range 3 {
		d := time.Duration(i) * time.Minute
		code, body := create(t, srv.URL, gauge(rc, "hello", d, int64(i)), gauge(rc, "orders", d, int64(10+i)), gauge("apigee.googleapis.com/proxy/latencies", "hello", d, 7))
		require.Equal(t, 200, code, body)
	}
	require.Equal(t, 9.0, testutil.ToFloat64(s.written))

	list := func(params url.Values) (int, ListTimeSeriesResponse, string) {
		code, body := call(t, "GET", srv.URL+"/v3/projects/hybrid/timeSeries?"+params.Encode(), "")
		var out ListTimeSeriesResponse
		if code == 200 {
			require.NoError(t, json.Unmarshal([]byte(body), &out), body)
		}
		return code, out, body
	}
	q := func(filter, start, end string, extra ...string) url.Values {
		v := url.Values{"filter": {filter}, "interval.endTime": {end}}
		if start != "" {
			v.Set("interval.startTime", start)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	type summary struct {
		proxy  string
		values []int64
	}
	summarize := func(out ListTimeSeriesResponse) []summary {
		var got []summary
		for _, ts := range out.TimeSeries {
			sm := summary{proxy: ts.Metric.Labels["proxy_name"]}
			for _, p := range ts.Points {
				sm.values = append(sm.values, int64(*p.Value.Int64Value))
			}
			got = append(got, sm)
		}
		return got
	}
	for _, tc := range []struct {
		name   string
		params url.Values
		want   []summary
	}{
		{"newest first in (start, end]", q(`metric.type = "`+rc+`"`, at(-time.Second), at(2*time.Minute)), []summary{{"hello", []int64{2, 1, 0}}, {"orders", []int64{12, 11, 10}}}},
		{"start excluded", q(`metric.type = "`+rc+`"`, at(0), at(time.Minute)), []summary{{"hello", []int64{1}}, {"orders", []int64{11}}}},
		{"an instant", q(`metric.type="`+rc+`"`, "", at(time.Minute)), []summary{{"hello", []int64{1}}, {"orders", []int64{11}}}},
		{"metric label", q(`metric.type = "`+rc+`" AND metric.labels.proxy_name = "orders"`, at(-time.Hour), at(time.Hour)), []summary{{"orders", []int64{12, 11, 10}}}},
		{"resource label and type", q(`metric.type = "`+rc+`" AND resource.type = "apigee.googleapis.com/Proxy" AND resource.label.org = "hybrid" and metric.label.proxy_name="hello"`, at(-time.Hour), at(time.Hour)), []summary{{"hello", []int64{2, 1, 0}}}},
		{"starts_with", q(`metric.type = starts_with("apigee.googleapis.com/proxy/lat")`, at(-time.Hour), at(time.Hour)), []summary{{"hello", []int64{7, 7, 7}}}},
		{"no match", q(`metric.type = "`+rc+`" AND resource.labels.org = "other"`, at(-time.Hour), at(time.Hour)), nil},
		{"series without points in the interval omitted", q(`metric.type = "`+rc+`"`, at(time.Hour), at(2*time.Hour)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, body := list(tc.params)
			require.Equal(t, 200, code, body)
			require.Equal(t, tc.want, summarize(out))
		})
	}

	t.Run("headers", func(t *testing.T) {
		code, out, body := list(q(`metric.type = "`+rc+`"`, at(-time.Hour), at(time.Hour), "view", "HEADERS"))
		require.Equal(t, 200, code, body)
		require.Len(t, out.TimeSeries, 2)
		require.Empty(t, out.TimeSeries[0].Points)
		require.Equal(t, "GAUGE", out.TimeSeries[0].MetricKind)
		require.Equal(t, "INT64", out.TimeSeries[0].ValueType)
	})
	t.Run("pages", func(t *testing.T) {
		params := q(`metric.type = starts_with("apigee.googleapis.com/")`, at(-time.Hour), at(time.Hour), "pageSize", "2")
		var got []string
		for range 3 {
			code, out, body := list(params)
			require.Equal(t, 200, code, body)
			for _, ts := range out.TimeSeries {
				got = append(got, ts.Metric.Type+" "+ts.Metric.Labels["proxy_name"])
			}
			if out.NextPageToken == "" {
				break
			}
			params.Set("pageToken", out.NextPageToken)
		}
		require.Equal(t, []string{"apigee.googleapis.com/proxy/latencies hello", rc + " hello", rc + " orders"}, got)
		// A token is refused with another query.
		params.Set("filter", `metric.type = "`+rc+`"`)
		code, _, body := list(params)
		require.Equal(t, 400, code, body)
		require.Contains(t, body, "pageToken")
	})
	for _, tc := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"no filter", url.Values{"interval.endTime": {at(0)}}, "filter"},
		{"no metric type", q(`resource.type = "global"`, "", at(0)), "must specify a metric type"},
		{"unknown field", q(`metric.type = "x" AND project = "p"`, "", at(0)), `unsupported filter field "project"`},
		{"OR", q(`metric.type = "x" OR metric.type = "y"`, "", at(0)), `unsupported "OR"`},
		{"other function", q(`metric.type = ends_with("x")`, "", at(0)), "unsupported function ends_with"},
		{"no end time", url.Values{"filter": {`metric.type = "x"`}}, "interval.endTime"},
		{"start after end", q(`metric.type = "x"`, at(time.Hour), at(0)), "after the end time"},
		{"aggregation", q(`metric.type = "x"`, "", at(0), "aggregation.alignmentPeriod", "60s"), "aggregation.alignmentPeriod"},
		{"bad view", q(`metric.type = "x"`, "", at(0), "view", "ALL"), "view"},
		{"bad token", q(`metric.type = "x"`, "", at(0), "pageToken", "nope"), "pageToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := list(tc.params)
			require.Equal(t, 400, code, body)
			var e apiError
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			require.Equal(t, "INVALID_ARGUMENT", e.Error.Status)
			require.Contains(t, e.Error.Message, tc.want)
		})
	}
}

func TestStoreBounds(t *testing.T) {
	s := New(Options{MaxSeries: 2, MaxPoints: 3})
	write := func(proxy string, end time.Duration) {
		var ts TimeSeries
		require.NoError(t, json.Unmarshal([]byte(gauge("m", proxy, end, int64(end/time.Second))), &ts))
		_, err := s.Create("hybrid", []TimeSeries{ts})
		require.NoError(t, err)
	}
	for i := range 5 {
		write("a", time.Duration(i)*time.Second)
	}
	write("b", 0)
	write("a", 10*time.Second) // a is now the most recently written
	write("c", 0)              // evicts b
	got := map[string][]int64{}
	for _, ts := range s.TimeSeries("hybrid") {
		for _, p := range ts.Points {
			got[ts.Metric.Labels["proxy_name"]] = append(got[ts.Metric.Labels["proxy_name"]], int64(*p.Value.Int64Value))
		}
	}
	require.Equal(t, map[string][]int64{"a": {10, 4, 3}, "c": {0}}, got)
}

// Concurrent writers and readers (run with -race).
func TestConcurrentUse(t *testing.T) {
	s := New(Options{})
	f, err := ParseFilter(`metric.type = "m"`)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				var ts TimeSeries
				if err := json.Unmarshal([]byte(gauge("m", fmt.Sprint("p", w), time.Duration(i)*time.Second, int64(i))), &ts); err != nil {
					errs <- err
					return
				}
				if _, err := s.Create("hybrid", []TimeSeries{ts}); err != nil {
					errs <- err
				}
				if _, err := s.list("hybrid", listQuery{filter: f, start: t0.Add(-time.Hour), end: t0.Add(time.Hour), pageSize: 5}); err != nil {
					errs <- err
				}
				_ = s.TimeSeries("hybrid")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, s.TimeSeries("hybrid"), 8)
}

func TestUnknownProject(t *testing.T) {
	_, srv := newServer(t, Options{Projects: projectSet{"hybrid": true}})
	code, body := call(t, "POST", srv.URL+"/v3/projects/nope/timeSeries", `{"timeSeries":[`+gauge("m", "a", 0, 1)+`]}`)
	require.Equal(t, http.StatusNotFound, code, body)
	require.Contains(t, body, "NOT_FOUND")
}

type projectSet = gcpapitest.ProjectSet
