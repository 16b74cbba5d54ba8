//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	logging "google.golang.org/api/logging/v2"
	monitoring "google.golang.org/api/monitoring/v3"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// The seed's metrics and logging rows: the telemetry forwarder sends the
// message processor's customer-facing metrics to Cloud Monitoring and the
// services' logs to Cloud Logging (both at the mock control plane, read
// back here with Google's Go clients). While the control plane is
// unreachable nothing reaches them and API calls are unaffected; the
// forwarder buffers (metric scrapes in a queue, log lines in the files
// themselves) and, when the outage ends, sends what it held: the request
// count covers the calls made during the outage and a line written
// during it arrives.
func TestTelemetryThroughOutage(t *testing.T) {
	t.Parallel()
	c, _, host := analyticsCluster(t)
	appLog := filepath.Join(t.TempDir(), "app.log")
	require.NoError(t, os.WriteFile(appLog, []byte(`{"level":"info","severity":"INFO","message":"before the outage"}`+"\n"), 0o600))
	tel := c.StartTelemetry(t, []string{c.Runtime.LogPath, c.Synchronizer.LogPath, appLog})
	tel.WaitReady(t, time.Minute)
	mon, lg := cloudOpsClients(t, c)

	callN(t, c, host, "/hello/x", 5, 200)
	requestCount := func() int64 { return latestRequestCount(t, mon, c, "hello") }
	require.Eventually(t, func() bool { return requestCount() >= 6 }, time.Minute, 100*time.Millisecond,
		"Cloud Monitoring never saw hello's requests (the warm-up call and 5 more)")
	require.Eventually(t, func() bool { return len(logLines(t, lg, c, `jsonPayload.message="before the outage"`)) == 1 },
		time.Minute, 100*time.Millisecond, "Cloud Logging never got the line written before the outage")
	require.NotEmpty(t, logLines(t, lg, c, `resource.labels.container_name="apigee-runtime"`), "the message processor's own log lines")
	before := requestCount()

	hybridctlOutage(t, c, "start", "--scope", "runtime")
	callN(t, c, host, "/hello/x", 10, 200) // traffic is unaffected
	appendLine(t, appLog, `{"level":"warn","severity":"WARNING","message":"during the outage"}`)
	require.Eventually(t, func() bool {
		return metric(t, tel, "telemetry_upstream_errors_total", `service="monitoring"`) >= 2 &&
			metric(t, tel, "telemetry_upstream_errors_total", `service="logging"`) >= 2
	}, 30*time.Second, 50*time.Millisecond, "the forwarder did not retry during the outage:\n%s", tel.Log())
	require.Positive(t, metric(t, tel, "telemetry_metric_queued_scrapes"), "scrapes are buffered")
	require.Positive(t, metric(t, tel, "telemetry_log_backlog_bytes"), "log lines are buffered")
	require.Contains(t, tel.Log(), "Cloud Monitoring unreachable; buffering and retrying")
	require.Equal(t, before, requestCount(), "nothing new reaches Cloud Monitoring during the outage")
	require.Empty(t, logLines(t, lg, c, `jsonPayload.message="during the outage"`), "nor Cloud Logging")
	st := telemetryStatus(t, tel)
	require.NotNil(t, st.Metrics.Upstream.FailingSince)
	require.NotNil(t, st.Logging.Upstream.FailingSince)
	row := telemetryReportRow(t, c, tel)
	require.Equal(t, "BUFFERING", row.State, row.Observed)
	require.Contains(t, row.Observed, "queued for Cloud Monitoring")
	require.NotNil(t, row.Since)

	hybridctlOutage(t, c, "stop")
	require.Eventually(t, func() bool { return requestCount() == before+10 }, time.Minute, 100*time.Millisecond,
		"the request count after the outage covers the calls made during it")
	require.Eventually(t, func() bool {
		got := logLines(t, lg, c, `jsonPayload.message="during the outage"`)
		return len(got) == 1 && got[0].Severity == "WARNING"
	}, time.Minute, 100*time.Millisecond, "the line written during the outage arrives once, as a WARNING")
	require.Eventually(t, func() bool { return metric(t, tel, "telemetry_metric_queued_scrapes") == 0 },
		30*time.Second, 50*time.Millisecond)
	require.Zero(t, metric(t, tel, "telemetry_metric_points_dropped_total"), "no point was given up")
	require.Contains(t, tel.Log(), "Cloud Monitoring reachable again; sending what was buffered")
	require.Eventually(t, func() bool { return telemetryReportRow(t, c, tel).State == "ok" }, 30*time.Second, 100*time.Millisecond,
		"the report's telemetry row recovers")
}

// telemetryReportRow is the telemetry row of `hybridctl outage report`.
func telemetryReportRow(tb testing.TB, c *harness.Cluster, tel *harness.Process) reportRow {
	tb.Helper()
	out := hybridctlOutage(tb, c, "report", "--json", "--endpoints", "telemetry="+tel.URL("main"))
	var rep struct {
		Rows []reportRow `json:"rows"`
	}
	require.NoError(tb, json.Unmarshal([]byte(out), &rep), out)
	for _, r := range rep.Rows {
		if r.Component == "telemetry" {
			return r
		}
	}
	tb.Fatalf("no telemetry row in %s", out)
	return reportRow{}
}

// cloudOpsClients are Google's Cloud Monitoring and Cloud Logging clients
// at the cluster's control plane, as its admin.
func cloudOpsClients(tb testing.TB, c *harness.Cluster) (*monitoring.Service, *logging.Service) {
	tb.Helper()
	opts := []option.ClientOption{option.WithEndpoint(c.APIURL() + "/"),
		option.WithHTTPClient(&http.Client{Transport: bearer{harness.AdminToken}})}
	mon, err := monitoring.NewService(context.Background(), opts...)
	require.NoError(tb, err)
	lg, err := logging.NewService(context.Background(), opts...)
	require.NoError(tb, err)
	return mon, lg
}

// latestRequestCount is the newest apigee.googleapis.com/proxy/request_count
// point of a proxy, summed over its methods.
func latestRequestCount(tb testing.TB, mon *monitoring.Service, c *harness.Cluster, proxy string) int64 {
	tb.Helper()
	now := time.Now().UTC()
	filter := fmt.Sprintf(`metric.type = "apigee.googleapis.com/proxy/request_count" AND resource.labels.proxy_name = %q`, proxy)
	var total int64
	err := mon.Projects.TimeSeries.List("projects/"+c.Org).Filter(filter).
		IntervalStartTime(now.Add(-time.Hour).Format(time.RFC3339)).IntervalEndTime(now.Add(time.Minute).Format(time.RFC3339)).
		Pages(context.Background(), func(page *monitoring.ListTimeSeriesResponse) error {
			for _, ts := range page.TimeSeries {
				require.Equal(tb, "apigee.googleapis.com/Proxy", ts.Resource.Type)
				require.Equal(tb, c.Org, ts.Resource.Labels["org"])
				if len(ts.Points) > 0 && ts.Points[0].Value.Int64Value != nil {
					total += *ts.Points[0].Value.Int64Value // newest first
				}
			}
			return nil
		})
	require.NoError(tb, err)
	return total
}

// logLines are the project's log entries matching filter.
func logLines(tb testing.TB, lg *logging.Service, c *harness.Cluster, filter string) []*logging.LogEntry {
	tb.Helper()
	var out []*logging.LogEntry
	err := lg.Entries.List(&logging.ListLogEntriesRequest{ResourceNames: []string{"projects/" + c.Org}, Filter: filter, PageSize: 1000}).
		Pages(context.Background(), func(page *logging.ListLogEntriesResponse) error {
			out = append(out, page.Entries...)
			return nil
		})
	require.NoError(tb, err)
	return out
}

func appendLine(tb testing.TB, path, line string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(tb, err)
	_, err = f.WriteString(line + "\n")
	require.NoError(tb, err)
	require.NoError(tb, f.Close())
}

type telemetryView struct {
	Metrics struct {
		Upstream struct {
			FailingSince *time.Time `json:"failingSince"`
		} `json:"upstream"`
	} `json:"metrics"`
	Logging struct {
		Upstream struct {
			FailingSince *time.Time `json:"failingSince"`
		} `json:"upstream"`
	} `json:"logging"`
}

func telemetryStatus(tb testing.TB, p *harness.Process) telemetryView {
	tb.Helper()
	var v telemetryView
	require.NoError(tb, json.NewDecoder(strings.NewReader(httpGet(tb, p.URL("main")+"/v1/telemetry/status"))).Decode(&v))
	return v
}
