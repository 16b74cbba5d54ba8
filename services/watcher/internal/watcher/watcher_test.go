package watcher

import (
	"context"
	"encoding/json"
	"go.uber.org/goleak"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runtimeServer(t *testing.T, pod, version, state string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"environments": map[string]cpclient.RuntimeStatus{
			"test": {Instance: pod, ContractVersion: version, Pods: []cpclient.PodStatus{{PodName: pod}},
				Deployments: []cpclient.DeploymentStatus{{APIProxy: "p", Kind: "apiproxy", Revision: "1", State: state}}},
		}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCollectAndReport(t *testing.T) {
	var mu sync.Mutex
	var reports []cpclient.RuntimeStatus
	cp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/organizations/o/environments/test/runtimeStatus", r.URL.Path)
		var st cpclient.RuntimeStatus
		require.NoError(t, json.NewDecoder(r.Body).Decode(&st))
		mu.Lock()
		reports = append(reports, st)
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	defer cp.Close()
	newer := runtimeServer(t, "mp-1", "20261122.100001.000", "READY")
	older := runtimeServer(t, "mp-2", "20261122.100000.000", "ERROR")

	cfg := DefaultConfig()
	cfg.Org, cfg.Environments, cfg.InstanceID = "o", []string{"test"}, "cluster-1"
	cfg.Runtimes = []string{newer.URL, older.URL, "http://127.0.0.1:1"} // one runtime is down
	cfg.ControlPlane = cpclient.Config{URL: cp.URL, Token: "t", Timeout: 5 * time.Second}
	w := &watcher{cfg: &cfg, cp: cpclient.New(cfg.ControlPlane), http: &http.Client{Timeout: time.Second},
		log: zaptest.NewLogger(t), sent: map[string]sentReport{}}

	w.collectAndReport(context.Background())
	require.Len(t, reports, 1)
	got := reports[0]
	require.Equal(t, "cluster-1", got.Instance)
	require.Equal(t, "20261122.100000.000", got.ContractVersion, "the oldest pod bounds the report")
	require.Equal(t, "ERROR", got.Deployments[0].State, "deployments come from the oldest pod")
	require.ElementsMatch(t, []cpclient.PodStatus{{PodName: "mp-1"}, {PodName: "mp-2"}}, got.Pods)

	w.collectAndReport(context.Background())
	require.Len(t, reports, 1, "an unchanged report is not re-sent before resendEvery")
}
