package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/outagereport"
)

// fakeComponent serves canned answers for a component's paths.
func fakeComponent(tb testing.TB, routes map[string]func(w http.ResponseWriter, r *http.Request)) string {
	tb.Helper()
	mux := http.NewServeMux()
	for path, h := range routes {
		mux.HandleFunc("GET "+path, h)
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv.URL
}

func answer(code int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

// fakeStack is one running stack, during an outage or after it, with a
// fake of every endpoint the report reads; it returns the --endpoints
// value naming them.
func fakeStack(tb testing.TB, outage bool, now time.Time) string {
	tb.Helper()
	since := now.Add(-time.Minute).UTC()
	lastReport := now.Add(-time.Second).UTC()
	faults := `{"services":[{"service":"apigee","active":false},{"service":"monitoring","active":false}]}`
	syncReady, syncStatus := answer(200, `{"status":"ready"}`),
		answer(200, `{"healthy":true,"consecutiveErrors":0,"maxControlPlaneErrors":5,"environments":{"test":{"version":"20261205.010001.000","source":"controlplane"}}}`)
	udca := "# HELP local_file_count x\nlocal_file_count{state=\"READY_TO_UPLOAD\"} 0\nlocal_file_count{state=\"FAILED\"} 0\nlocal_file_count{state=\"UPLOADED\"} 7\n" +
		"discarded_file_count{dataset=\"api\"} 0\n"
	agent := "connect_agent_open_streams 2\nconnect_agent_stream_errors_total 3\n"
	telemetry := `{"project":"p","metrics":{"upstream":{"consecutiveFailures":0},"queuedScrapes":0,"queuedPoints":0},` +
		`"logging":{"upstream":{"consecutiveFailures":0},"backlogBytes":0}}`
	if outage {
		faults = fmt.Sprintf(`{"services":[{"service":"apigee","active":true,"mode":"unavailable","errorRate":1,"since":%q},`+
			`{"service":"monitoring","active":true,"mode":"unavailable","since":%q}]}`, since.Format(time.RFC3339Nano), since.Format(time.RFC3339Nano))
		syncReady = answer(503, `{"status":"not ready","failureMessages":["Probe ControlPlaneErrorMonitor failed: Probe ControlPlaneErrorMonitor failed due to Error in connecting to control plane more than 5 times consecutively"]}`)
		syncStatus = answer(200, fmt.Sprintf(`{"healthy":false,"consecutiveErrors":9,"maxControlPlaneErrors":5,"failingSince":%q,"lastError":"503 UNAVAILABLE",`+
			`"environments":{"test":{"version":"20261205.010000.000","source":"cassandra"}}}`, since.Format(time.RFC3339Nano)))
		udca = strings.NewReplacer(`"READY_TO_UPLOAD"} 0`, `"READY_TO_UPLOAD"} 4`).Replace(udca) + "upstream_http_error_count{service=\"DATALOCATION\",response_code=\"503\",dataset=\"api\"} 6\n"
		agent = "connect_agent_open_streams 0\nconnect_agent_stream_errors_total 5\n"
		lastReport = now.Add(-2 * time.Minute).UTC() // before the outage began
		telemetry = fmt.Sprintf(`{"project":"p","metrics":{"upstream":{"failingSince":%q,"consecutiveFailures":12},"queuedScrapes":6,"queuedPoints":42},`+
			`"logging":{"upstream":{"failingSince":%q,"consecutiveFailures":30},"backlogBytes":2048}}`, since.Format(time.RFC3339Nano), since.Format(time.RFC3339Nano))
	}
	cp := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){
		outagePath: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer tok" {
				answer(401, `{"error":{"message":"no token"}}`)(w, r)
				return
			}
			answer(200, faults)(w, r)
		},
	})
	sync := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){"/v1/probes/ready": syncReady, "/v1/synchronizer/status": syncStatus})
	runtime := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){
		"/v1/probes/ready": answer(200, `{"status":"ready"}`),
		"/v1/runtime/status": answer(200, `{"organization":"o","environments":{"test":{"contractVersion":"20261205.010000.000",`+
			`"deployments":[{"apiProxy":"weather","revision":"1","state":"READY"}]}}}`),
	})
	udcaURL := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){"/metrics": answer(200, udca)})
	mart := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){"/v1/probes/ready": answer(200, `{"status":"ready"}`)})
	agentURL := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){"/metrics": answer(200, agent)})
	watcher := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){
		"/v1/watcher/status": answer(200, fmt.Sprintf(`{"instance":"i","lastReport":%q}`, lastReport.Format(time.RFC3339Nano))),
	})
	telemetryURL := fakeComponent(tb, map[string]func(http.ResponseWriter, *http.Request){"/v1/telemetry/status": answer(200, telemetry)})
	return strings.Join([]string{"controlplane=" + cp, "synchronizer=" + sync, "runtime=" + runtime, "udca=" + udcaURL,
		"mart=" + mart, "connect-agent=" + agentURL, "watcher=" + watcher, "telemetry=" + telemetryURL}, ",")
}

func TestOutageReport(t *testing.T) {
	t.Setenv("HYBRID_ADMIN_TOKEN", "tok")
	now := time.Now()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // an address nothing listens on
	for _, tc := range []struct {
		name     string
		outage   bool
		extra    string
		want     map[string]string // component → state
		observed map[string]string // component → part of observed
		since    []string          // components with a since
	}{
		{
			name: "during an outage", outage: true,
			want: map[string]string{"controlplane": outagereport.StateOutage, "synchronizer": outagereport.StateDegraded, "runtime": outagereport.StateOK, "udca": outagereport.StateBuffering,
				"mart": outagereport.StateOK, "connect-agent": outagereport.StateDegraded, "watcher": outagereport.StateStale, "telemetry": outagereport.StateBuffering},
			observed: map[string]string{
				"controlplane":  "apigee (unavailable), monitoring (unavailable)",
				"synchronizer":  "9 consecutive control plane errors",
				"runtime":       "test@20261205.010000.000 loaded, 1/1 deployments READY",
				"udca":          "4 files buffered",
				"connect-agent": "tether down: 0 open streams, 5 stream errors",
				"telemetry":     "metrics: 6 scrapes (42 points) queued for Cloud Monitoring; logs: 2048 bytes not yet in Cloud Logging",
			},
			since: []string{"controlplane", "synchronizer", "watcher", "telemetry"},
		},
		{
			name: "after recovery",
			want: map[string]string{"controlplane": outagereport.StateOK, "synchronizer": outagereport.StateOK, "runtime": outagereport.StateOK, "udca": outagereport.StateOK,
				"mart": outagereport.StateOK, "connect-agent": outagereport.StateOK, "watcher": outagereport.StateOK, "telemetry": outagereport.StateOK},
			observed: map[string]string{
				"telemetry":     "metrics: 0 scrapes (0 points) queued",
				"synchronizer":  "serving test@20261205.010001.000 (from controlplane)",
				"runtime":       "(synchronizer serves 20261205.010001.000)",
				"udca":          "7 uploaded",
				"connect-agent": "tether up: 2 open streams",
			},
			since: []string{"watcher"},
		},
		{
			name: "components that do not answer are rows, not a failed report", extra: ",mart=" + gone.URL + ",watcher=" + gone.URL,
			want:     map[string]string{"mart": outagereport.StateUnreachable, "watcher": outagereport.StateUnreachable, "synchronizer": outagereport.StateOK},
			observed: map[string]string{"watcher": "watcher unreachable"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eps := fakeStack(t, tc.outage, now) + tc.extra
			var out bytes.Buffer
			require.NoError(t, runOutage(context.Background(), []string{"report", "--json", "--endpoints", eps}, &out))
			var rep outagereport.Report
			require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
			got := map[string]outagereport.Row{}
			for _, r := range rep.Rows {
				require.NotEmpty(t, r.Expected, "every row carries the seed's expectation: %s", r.Component)
				got[r.Component] = r
			}
			for c, state := range tc.want {
				require.Equal(t, state, got[c].State, "%s: %+v", c, got[c])
			}
			for c, part := range tc.observed {
				require.Contains(t, got[c].Observed, part, c)
			}
			for _, c := range tc.since {
				require.NotNil(t, got[c].Since, c)
			}

			out.Reset()
			require.NoError(t, runOutage(context.Background(), []string{"report", "--endpoints", eps}, &out))
			require.Contains(t, out.String(), "EXPECTED DURING AN OUTAGE (seed)")
			for c, state := range tc.want {
				require.Regexp(t, `(?m)^`+c+`\s+`+state+`\s`, out.String())
			}
		})
	}
}
