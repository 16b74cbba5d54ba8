package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/outagereport"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// The console's outage report: the switch read in-process, the
// components at their configured endpoints, for callers who may manage
// outages; a control plane without endpoints says it has no report.
func TestOutageReportEndpoint(t *testing.T) {
	mart := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/probes/ready", r.URL.Path)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"not ready","failureMessages":["Probe Cassandra failed"]}`))
	}))
	defer mart.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	c := startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.OutageReport.Endpoints = []string{"mart=" + mart.URL, "watcher=" + gone.URL}
	})
	c.doJSON("POST", "/v1/emulator/outage", map[string]any{"services": []string{"apigee"}}, http.StatusOK, nil)

	var rep outagereport.Report
	c.doJSON("GET", server.OutageReportPath, nil, http.StatusOK, &rep)
	rows := map[string]outagereport.Row{}
	for _, r := range rep.Rows {
		require.NotEmpty(t, r.Expected, r.Component)
		rows[r.Component] = r
	}
	require.Equal(t, outagereport.StateOutage, rows["controlplane"].State)
	require.Contains(t, rows["controlplane"].Observed, "apigee (unavailable)")
	require.Equal(t, outagereport.StateDegraded, rows["mart"].State)
	require.Contains(t, rows["mart"].Observed, "Probe Cassandra failed")
	require.Equal(t, outagereport.StateUnreachable, rows["watcher"].State)
	require.Equal(t, outagereport.StateUnreachable, rows["synchronizer"].State, "no address: a row, not a failed report")

	r := send(t, c.client, "GET", c.url+server.OutageReportPath, "", nil)
	require.Equal(t, http.StatusUnauthorized, r.status, "%s", r.body)

	bare := startCP(t, t.TempDir())
	r = bare.do("GET", server.OutageReportPath, "", nil)
	require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
	require.Contains(t, string(r.body), "outageReport.endpoints")
}
