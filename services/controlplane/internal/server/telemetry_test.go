package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	logging "google.golang.org/api/logging/v2"
	monitoring "google.golang.org/api/monitoring/v3"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
)

// telemetryClients are Google's Monitoring and Logging clients against one
// listener of the mock, as the telemetry forwarder builds them.
func telemetryClients(tb testing.TB, base string, client *http.Client) (*monitoring.Service, *logging.Service) {
	tb.Helper()
	ctx := context.Background()
	opts := []option.ClientOption{option.WithEndpoint(base + "/"), option.WithHTTPClient(client)}
	mon, err := monitoring.NewService(ctx, opts...)
	require.NoError(tb, err)
	lg, err := logging.NewService(ctx, opts...)
	require.NoError(tb, err)
	return mon, lg
}

// seededClient authenticates with a seeded account's key file through the
// token endpoint, as a runtime service does.
func (c *cp) seededClient(accountID string) *http.Client {
	c.tb.Helper()
	ts, err := gcpauth.TokenSource(context.Background(), c.seededKey(accountID))
	require.NoError(c.tb, err)
	return gcpauth.HTTPClient(ts, nil)
}

// requestCount is one INT64 CUMULATIVE point of Apigee's request count.
func requestCount(proxy string, start, end time.Time, v int64) *monitoring.TimeSeries {
	return &monitoring.TimeSeries{
		Metric:     &monitoring.Metric{Type: "apigee.googleapis.com/proxyv2/request_count", Labels: map[string]string{"proxy_name": proxy, "method": "GET"}},
		Resource:   &monitoring.MonitoredResource{Type: "apigee.googleapis.com/ProxyV2", Labels: map[string]string{"org": "hybrid", "env": "test", "location": "local", "proxy_name": proxy, "resource_container": "hybrid", "runtime_version": "1.0"}},
		MetricKind: "CUMULATIVE", ValueType: "INT64",
		Points: []*monitoring.Point{{
			Interval: &monitoring.TimeInterval{StartTime: start.Format(time.RFC3339Nano), EndTime: end.Format(time.RFC3339Nano)},
			Value:    &monitoring.TypedValue{Int64Value: &v},
		}},
	}
}

func TestTelemetryWithGoogleClients(t *testing.T) {
	c := startCP(t, t.TempDir())
	ctx := context.Background()
	start := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		base   string
		client *http.Client
	}{
		{"http", c.url, authClient(testToken, nil)},
		{"https", c.httpsURL, c.httpsClient(testToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mon, lg := telemetryClients(t, tc.base, tc.client)
			proxies := []string{tc.name + "-hello", tc.name + "-orders", tc.name + "-pets"}

			// Three writes a minute apart, as the forwarder flushes.
			for i := range 3 {
				end := start.Add(time.Duration(i+1) * time.Minute)
				var series []*monitoring.TimeSeries
				for j, p := range proxies {
					series = append(series, requestCount(p, start, end, int64(10*j+i)))
				}
				mean := 12.5
				series = append(series, &monitoring.TimeSeries{
					Metric:   &monitoring.Metric{Type: "apigee.googleapis.com/proxyv2/response_latencies_" + tc.name},
					Resource: &monitoring.MonitoredResource{Type: "global"}, MetricKind: "GAUGE", ValueType: "DOUBLE",
					Points: []*monitoring.Point{{Interval: &monitoring.TimeInterval{EndTime: end.Format(time.RFC3339Nano)}, Value: &monitoring.TypedValue{DoubleValue: &mean}}},
				})
				_, err := mon.Projects.TimeSeries.Create("projects/hybrid", &monitoring.CreateTimeSeriesRequest{TimeSeries: series}).Do()
				require.NoError(t, err)
			}
			// Writing the last minute again is out of order.
			_, err := mon.Projects.TimeSeries.Create("projects/hybrid", &monitoring.CreateTimeSeriesRequest{
				TimeSeries: []*monitoring.TimeSeries{requestCount(proxies[0], start, start.Add(3*time.Minute), 99)},
			}).Do()
			ge := requireAPIError(t, err, http.StatusBadRequest)
			require.Contains(t, ge.Message, "Points must be written in order.")

			pages, got := 0, map[string][]int64{}
			err = mon.Projects.TimeSeries.List("projects/hybrid").
				Filter(fmt.Sprintf(`metric.type = "apigee.googleapis.com/proxyv2/request_count" AND metric.labels.proxy_name = starts_with(%q)`, tc.name)).
				IntervalStartTime(start.Format(time.RFC3339)).IntervalEndTime(time.Now().Format(time.RFC3339)).
				PageSize(2).Pages(ctx, func(page *monitoring.ListTimeSeriesResponse) error {
				pages++
				for _, ts := range page.TimeSeries {
					require.Equal(t, "CUMULATIVE", ts.MetricKind)
					for _, p := range ts.Points {
						got[ts.Metric.Labels["proxy_name"]] = append(got[ts.Metric.Labels["proxy_name"]], *p.Value.Int64Value)
					}
				}
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, 2, pages)
			require.Equal(t, map[string][]int64{proxies[0]: {2, 1, 0}, proxies[1]: {12, 11, 10}, proxies[2]: {22, 21, 20}}, got, "newest point first")

			lat, err := mon.Projects.TimeSeries.List("projects/hybrid").
				Filter(`metric.type = "apigee.googleapis.com/proxyv2/response_latencies_` + tc.name + `"`).
				IntervalEndTime(start.Add(2 * time.Minute).Format(time.RFC3339)).Do()
			require.NoError(t, err)
			require.Len(t, lat.TimeSeries, 1)
			require.Len(t, lat.TimeSeries[0].Points, 1)
			require.Equal(t, 12.5, *lat.TimeSeries[0].Points[0].Value.DoubleValue)

			// Logs: two services' entries, one request each.
			for _, svc := range []string{"apigee-runtime", "apigee-synchronizer"} {
				_, err := lg.Entries.Write(&logging.WriteLogEntriesRequest{
					LogName:  "projects/hybrid/logs/" + svc,
					Resource: &logging.MonitoredResource{Type: "k8s_container", Labels: map[string]string{"namespace_name": "apigee", "container_name": svc}},
					Labels:   map[string]string{"listener": tc.name},
					Entries: []*logging.LogEntry{
						{Severity: "INFO", TextPayload: svc + " started"},
						{Severity: "ERROR", JsonPayload: []byte(`{"message":"` + svc + ` failed","proxy":"hello"}`)},
						{Severity: "DEBUG", TextPayload: svc + " polled"},
					},
				}).Do()
				require.NoError(t, err)
			}
			var texts []string
			pages = 0
			err = lg.Entries.List(&logging.ListLogEntriesRequest{
				ResourceNames: []string{"projects/hybrid"}, Filter: `labels.listener="` + tc.name + `" AND severity>=INFO`,
				OrderBy: "timestamp desc", PageSize: 3,
			}).Pages(ctx, func(page *logging.ListLogEntriesResponse) error {
				pages++
				for _, e := range page.Entries {
					require.NotEmpty(t, e.InsertId)
					require.NotEmpty(t, e.ReceiveTimestamp)
					texts = append(texts, e.Severity+" "+e.TextPayload+string(e.JsonPayload))
				}
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, 2, pages)
			require.ElementsMatch(t, []string{
				"INFO apigee-runtime started", `ERROR {"message":"apigee-runtime failed","proxy":"hello"}`,
				"INFO apigee-synchronizer started", `ERROR {"message":"apigee-synchronizer failed","proxy":"hello"}`,
			}, texts)
		})
	}
	// In-process tests read the stores directly.
	require.Len(t, c.srv.Monitoring.TimeSeries("hybrid"), 8)
	require.Len(t, c.srv.Logging.Entries("hybrid"), 12)
}

func TestTelemetryAuthorization(t *testing.T) {
	c := startCP(t, t.TempDir())
	now := time.Now().UTC()
	series := func(proxy string) *monitoring.CreateTimeSeriesRequest {
		return &monitoring.CreateTimeSeriesRequest{TimeSeries: []*monitoring.TimeSeries{requestCount(proxy, now.Add(-time.Minute), now, 1)}}
	}
	entries := func(project string) *logging.WriteLogEntriesRequest {
		return &logging.WriteLogEntriesRequest{LogName: "projects/" + project + "/logs/apigee-runtime",
			Resource: &logging.MonitoredResource{Type: "global"}, Entries: []*logging.LogEntry{{TextPayload: "hi"}}}
	}
	listSeries := func(mon *monitoring.Service, project string) error {
		_, err := mon.Projects.TimeSeries.List("projects/" + project).Filter(`metric.type = "x"`).IntervalEndTime(now.Format(time.RFC3339)).Do()
		return err
	}
	listEntries := func(lg *logging.Service, project string) error {
		_, err := lg.Entries.List(&logging.ListLogEntriesRequest{ResourceNames: []string{"projects/" + project}}).Do()
		return err
	}
	const (
		monHybrid = "//monitoring.googleapis.com/projects/hybrid"
		logHybrid = "//logging.googleapis.com/projects/hybrid"
	)
	metrics, metricsLog := telemetryClients(t, c.url, c.seededClient("apigee-metrics"))
	loggerMon, logger := telemetryClients(t, c.url, c.seededClient("apigee-logger"))
	watcherMon, watcherLog := telemetryClients(t, c.url, c.seededClient("apigee-watcher"))
	anonMon, anonLog := telemetryClients(t, c.url, &http.Client{})
	adminMon, adminLog := telemetryClients(t, c.url, authClient(testToken, nil))

	for _, tc := range []struct {
		name string
		call func() error
		code int
		// permission and resource of a 403
		permission, resource string
	}{
		{"metrics writes series", func() error {
			_, err := metrics.Projects.TimeSeries.Create("projects/hybrid", series("a")).Do()
			return err
		}, 200, "", ""},
		{"metrics cannot list series", func() error { return listSeries(metrics, "hybrid") }, 403, "monitoring.timeSeries.list", monHybrid},
		{"metrics cannot write logs", func() error { _, err := metricsLog.Entries.Write(entries("hybrid")).Do(); return err }, 403, "logging.logEntries.create", logHybrid},
		{"metrics cannot write another project", func() error {
			_, err := metrics.Projects.TimeSeries.Create("projects/nope", series("a")).Do()
			return err
		}, 403, "monitoring.timeSeries.create", "//monitoring.googleapis.com/projects/nope"},
		{"logger writes logs", func() error { _, err := logger.Entries.Write(entries("hybrid")).Do(); return err }, 200, "", ""},
		{"logger cannot list logs", func() error { return listEntries(logger, "hybrid") }, 403, "logging.logEntries.list", logHybrid},
		{"logger cannot write series", func() error {
			_, err := loggerMon.Projects.TimeSeries.Create("projects/hybrid", series("b")).Do()
			return err
		}, 403, "monitoring.timeSeries.create", monHybrid},
		{"watcher cannot write series", func() error {
			_, err := watcherMon.Projects.TimeSeries.Create("projects/hybrid", series("c")).Do()
			return err
		}, 403, "monitoring.timeSeries.create", monHybrid},
		{"watcher cannot write logs", func() error { _, err := watcherLog.Entries.Write(entries("hybrid")).Do(); return err }, 403, "logging.logEntries.create", logHybrid},
		{"unauthenticated create", func() error {
			_, err := anonMon.Projects.TimeSeries.Create("projects/hybrid", series("d")).Do()
			return err
		}, 401, "", ""},
		{"unauthenticated write", func() error { _, err := anonLog.Entries.Write(entries("hybrid")).Do(); return err }, 401, "", ""},
		{"unauthenticated list", func() error { return listEntries(anonLog, "hybrid") }, 401, "", ""},
		{"admin lists series", func() error { return listSeries(adminMon, "hybrid") }, 200, "", ""},
		{"admin lists logs", func() error { return listEntries(adminLog, "hybrid") }, 200, "", ""},
		{"admin, unknown project", func() error {
			_, err := adminMon.Projects.TimeSeries.Create("projects/nope", series("e")).Do()
			return err
		}, 404, "", ""},
		{"admin, unknown log project", func() error { _, err := adminLog.Entries.Write(entries("nope")).Do(); return err }, 404, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			switch tc.code {
			case 200:
				require.NoError(t, err)
			case 403:
				requireDenied(t, err, tc.permission, tc.resource)
			default:
				requireAPIError(t, err, tc.code)
			}
		})
	}
	// Only the allowed writes were stored.
	require.Len(t, c.srv.Monitoring.TimeSeries("hybrid"), 1)
	require.Len(t, c.srv.Logging.Entries("hybrid"), 1)
}

func TestTelemetryOutage(t *testing.T) {
	c := startCP(t, t.TempDir())
	mon, lg := telemetryClients(t, c.url, authClient(testToken, nil))
	now := time.Now().UTC()
	create := func(i int) error {
		_, err := mon.Projects.TimeSeries.Create("projects/hybrid", &monitoring.CreateTimeSeriesRequest{
			TimeSeries: []*monitoring.TimeSeries{requestCount("hello", now.Add(-time.Hour), now.Add(time.Duration(i)*time.Second), int64(i))},
		}).Do()
		return err
	}
	write := func() error {
		_, err := lg.Entries.Write(&logging.WriteLogEntriesRequest{LogName: "projects/hybrid/logs/x",
			Resource: &logging.MonitoredResource{Type: "global"}, Entries: []*logging.LogEntry{{TextPayload: "still here"}}}).Do()
		return err
	}
	require.NoError(t, create(0))

	c.doJSON("POST", "/v1/emulator/outage", map[string]any{"services": []string{"monitoring"}}, http.StatusOK, nil)
	ge := requireAPIError(t, create(1), http.StatusServiceUnavailable)
	require.Contains(t, ge.Message, "monitoring.googleapis.com is currently unavailable")
	require.NoError(t, write(), "logging is another service")
	// The HTTPS listener's routes carry the same fault.
	monTLS, _ := telemetryClients(t, c.httpsURL, c.httpsClient(testToken))
	_, err := monTLS.Projects.TimeSeries.List("projects/hybrid").Filter(`metric.type = "x"`).IntervalEndTime(now.Format(time.RFC3339)).Do()
	requireAPIError(t, err, http.StatusServiceUnavailable)

	c.doJSON("DELETE", "/v1/emulator/outage?service=monitoring", nil, http.StatusOK, nil)
	require.NoError(t, create(2))
	require.Len(t, c.srv.Monitoring.TimeSeries("hybrid")[0].Points, 2)
	require.Len(t, c.srv.Logging.Entries("hybrid"), 1)
}

// A wrong method on the routes is a 405 on both listeners.
func TestTelemetryWrongMethod(t *testing.T) {
	c := startCP(t, t.TempDir())
	for _, tc := range []struct {
		name   string
		client *http.Client
		base   string
		method string
		path   string
	}{
		{"http write", authClient(testToken, nil), c.url, "GET", "/v2/entries:write"},
		{"https write", c.httpsClient(testToken), c.httpsURL, "GET", "/v2/entries:write"},
		{"http series", authClient(testToken, nil), c.url, "DELETE", "/v3/projects/hybrid/timeSeries"},
		{"https series", c.httpsClient(testToken), c.httpsURL, "DELETE", "/v3/projects/hybrid/timeSeries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, tc.client, tc.method, tc.base+tc.path, "", nil)
			require.Equal(t, http.StatusMethodNotAllowed, r.status, "%s", r.body)
			require.Equal(t, "UNIMPLEMENTED", r.apiError(t).Error.Status, "Google's error shape")
		})
	}
}
