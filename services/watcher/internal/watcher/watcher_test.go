package watcher

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pod(name, version string, deps ...cpclient.DeploymentStatus) *runtimeStatus {
	return &runtimeStatus{Environments: map[string]cpclient.RuntimeStatus{
		"test": {Instance: name, ContractVersion: version, Pods: []cpclient.PodStatus{{PodName: name}}, Deployments: deps},
	}}
}

func dep(name, rev, state string, errs ...string) cpclient.DeploymentStatus {
	d := cpclient.DeploymentStatus{APIProxy: name, Kind: "apiproxy", Revision: rev, State: state}
	for _, e := range errs {
		d.Errors = append(d.Errors, cpclient.StatusError{Message: e})
	}
	return d
}

func TestMergeStatus(t *testing.T) {
	const v1, v2 = "20261122.100000.000", "20261122.100001.000"
	tests := []struct {
		name    string
		pods    []*runtimeStatus
		version string
		want    []cpclient.DeploymentStatus
	}{
		{"one pod ready", []*runtimeStatus{pod("mp-1", v1, dep("p", "1", "READY"))}, v1,
			[]cpclient.DeploymentStatus{dep("p", "1", "READY")}},
		{"every pod ready", []*runtimeStatus{pod("mp-1", v2, dep("p", "1", "READY")), pod("mp-2", v2, dep("p", "1", "READY"))}, v2,
			[]cpclient.DeploymentStatus{dep("p", "1", "READY")}},
		{"one pod has not loaded it yet", []*runtimeStatus{pod("mp-1", v2, dep("p", "2", "READY")), pod("mp-2", v1, dep("p", "1", "READY"))}, v1,
			[]cpclient.DeploymentStatus{dep("p", "2", "PROGRESSING"), dep("p", "1", "PROGRESSING")}},
		{"one pod failed", []*runtimeStatus{pod("mp-1", v2, dep("p", "1", "READY")), pod("mp-2", v2, dep("p", "1", "ERROR", "bad"))}, v2,
			[]cpclient.DeploymentStatus{dep("p", "1", "ERROR", "bad")}},
		{"same error once", []*runtimeStatus{pod("mp-1", v2, dep("p", "1", "ERROR", "bad")), pod("mp-2", v2, dep("p", "1", "ERROR", "bad"))}, v2,
			[]cpclient.DeploymentStatus{dep("p", "1", "ERROR", "bad")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := mergeStatus("cluster-1", "test", tt.pods)
			require.True(t, ok)
			require.Equal(t, "cluster-1", got.Instance)
			require.Equal(t, tt.version, got.ContractVersion, "the oldest pod's contract is the instance's")
			require.Equal(t, tt.want, got.Deployments)
			require.Len(t, got.Pods, len(tt.pods))
		})
	}
	_, ok := mergeStatus("cluster-1", "other", []*runtimeStatus{pod("mp-1", v1)})
	require.False(t, ok, "no pod runs the environment: nothing to report")
}

func runtimeServer(t *testing.T, name, version, state string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/probes/ready" {
			return
		}
		_ = json.NewEncoder(w).Encode(pod(name, version, dep("p", "1", state)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeControlPlane records status reports and serves an ingress config.
type fakeControlPlane struct {
	mu      sync.Mutex
	reports []cpclient.RuntimeStatus
	ingress cpclient.IngressConfig
}

func (f *fakeControlPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/v1/organizations/o/environments/test/runtimeStatus":
		var st cpclient.RuntimeStatus
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.reports = append(f.reports, st)
		_, _ = w.Write([]byte(`{}`))
	case "/v1/organizations/o/deployedIngressConfig":
		_ = json.NewEncoder(w).Encode(f.ingress)
	case "/v1/organizations/o/instances":
		_, _ = w.Write([]byte(`{"instances":[]}`)) // an org without instance attachments
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeControlPlane) reported() []cpclient.RuntimeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cpclient.RuntimeStatus(nil), f.reports...)
}

func testWatcher(t *testing.T, cpURL string, runtimes ...string) *watcher {
	cfg := DefaultConfig()
	cfg.Org, cfg.Environments, cfg.InstanceID = "o", []string{"test"}, "cluster-1"
	cfg.Runtimes, cfg.Probes = runtimes, []string{"synchronizer=http://127.0.0.1:1"}
	cfg.ControlPlane = cpclient.Config{URL: cpURL, Token: "t", Timeout: 5 * time.Second}
	components, err := parseProbes(cfg.Runtimes, cfg.Probes)
	require.NoError(t, err)
	w := newWatcher(&cfg, zaptest.NewLogger(t), components)
	w.cp = cpclient.New(cfg.ControlPlane)
	w.http = &http.Client{Timeout: time.Second}
	return w
}

func TestTickReportsOnlyAsLeader(t *testing.T) {
	cp := &fakeControlPlane{ingress: cpclient.IngressConfig{RevisionID: 7, EnvironmentGroups: []cpclient.EnvGroupConfig{{
		Name: "organizations/o/envgroups/g", Hostnames: []string{"api.example.com"},
		RoutingRules: []cpclient.RoutingRule{{Basepath: "/p", Environment: "organizations/o/environments/test"}},
	}}}}
	srv := httptest.NewServer(cp)
	defer srv.Close()
	a := runtimeServer(t, "mp-1", "20261122.100001.000", "READY")
	b := runtimeServer(t, "mp-2", "20261122.100001.000", "READY")
	w := testWatcher(t, srv.URL, a.URL, b.URL, "http://127.0.0.1:1") // one runtime is down
	reg := prometheus.NewRegistry()
	require.NoError(t, w.metrics.register(reg))
	ctx := context.Background()

	w.tick(ctx)
	require.Empty(t, cp.reported(), "a watcher without the lease reports nothing")
	require.Equal(t, 3.0, testutil.ToFloat64(w.metrics.total.WithLabelValues("runtime")))
	require.Equal(t, 2.0, testutil.ToFloat64(w.metrics.ready.WithLabelValues("runtime")))
	require.Equal(t, 0.0, testutil.ToFloat64(w.metrics.ready.WithLabelValues("synchronizer")))

	w.setLeader(true, "me")
	w.tick(ctx)
	got := cp.reported()
	require.Len(t, got, 1)
	require.Equal(t, "READY", got[0].Deployments[0].State)
	require.ElementsMatch(t, []cpclient.PodStatus{{PodName: "mp-1"}, {PodName: "mp-2"}}, got[0].Pods)
	routes := w.routes.Load().(*routeSet)
	require.Len(t, routes.Items, 1)
	require.Equal(t, []string{"api.example.com"}, routes.Items[0].Spec.Hostnames)

	w.tick(ctx)
	require.Len(t, cp.reported(), 1, "an unchanged report is not re-sent before resendEvery")

	w.setLeader(false, "other")
	w.setLeader(true, "me")
	w.tick(ctx)
	require.Len(t, cp.reported(), 2, "a new term reports afresh")
}

func TestRoutesFor(t *testing.T) {
	ic := &cpclient.IngressConfig{RevisionID: 3, EnvironmentGroups: []cpclient.EnvGroupConfig{
		{Name: "organizations/o/envgroups/shared", Hostnames: []string{"a.example.com"}, RoutingRules: []cpclient.RoutingRule{
			{Basepath: "/a", Environment: "organizations/o/environments/test", Receiver: "organizations/o/apis/a/revisions/1",
				OtherTargets: []string{"organizations/o/environments/prod"}},
			{Basepath: "/b", Environment: "organizations/o/environments/prod"},
		}},
		{Name: "organizations/o/envgroups/elsewhere", Hostnames: []string{"b.example.com"}, RoutingRules: []cpclient.RoutingRule{
			{Basepath: "/c", Environment: "organizations/o/environments/eu-only"},
		}},
	}}
	got := routesFor("o", "us", []string{"test", "prod"}, ic)
	require.Equal(t, int64(3), got.Revision)
	require.Len(t, got.Items, 1, "a group none of whose environments runs here is not published")
	r := got.Items[0]
	require.Equal(t, "ApigeeRoute", r.Kind)
	require.Equal(t, "o-shared", r.Metadata.Name)
	require.Equal(t, []routeRule{
		{Basepath: "/a", Environment: "test", Receiver: "organizations/o/apis/a/revisions/1", OtherTargets: []string{"organizations/o/environments/prod"}},
		{Basepath: "/b", Environment: "prod"},
	}, r.Spec.Rules)

	got = routesFor("o", "us", []string{"test"}, ic)
	require.Equal(t, []routeRule{{Basepath: "/a", Environment: "test", Receiver: "organizations/o/apis/a/revisions/1",
		OtherTargets: []string{"organizations/o/environments/prod"}}}, got.Items[0].Spec.Rules, "only this instance's environments")
}

// fakeLeases is one lease table shared by several watchers.
type fakeLeases struct {
	mu      sync.Mutex
	holder  string
	expires time.Time
	now     func() time.Time
	fail    bool
}

func (f *fakeLeases) Acquire(_ context.Context, _, holder string, term time.Duration) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return false, "", context.DeadlineExceeded
	}
	if f.holder == "" || f.holder == holder || !f.now().Before(f.expires) {
		f.holder, f.expires = holder, f.now().Add(term)
		return true, holder, nil
	}
	return false, f.holder, nil
}

func (f *fakeLeases) Release(_ context.Context, _, holder string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.holder == holder {
		f.holder = ""
	}
	return nil
}

func TestLeaseFailover(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	leases := &fakeLeases{now: clock}
	mk := func(holder string) *watcher {
		w := testWatcher(t, "http://127.0.0.1:1")
		w.cfg.Lease.Holder, w.leases, w.now = holder, leases, clock
		return w
	}
	first, second := mk("w1"), mk("w2")
	var r1, r2 time.Time
	ctx := context.Background()

	first.tryLease(ctx, &r1)
	second.tryLease(ctx, &r2)
	require.True(t, first.leader.Load())
	require.False(t, second.leader.Load(), "one active watcher per instance")
	require.Equal(t, "w1", second.holder.Load())

	// The first dies without releasing: the second waits out the term.
	now = now.Add(first.cfg.Lease.Term / 2)
	second.tryLease(ctx, &r2)
	require.False(t, second.leader.Load())
	now = now.Add(first.cfg.Lease.Term)
	second.tryLease(ctx, &r2)
	require.True(t, second.leader.Load(), "the waiting watcher takes over when the term runs out")

	// The old leader comes back cut off from Cassandra: it steps down once
	// its own term has run out, rather than reporting beside the new one.
	leases.fail = true
	first.tryLease(ctx, &r1)
	require.False(t, first.leader.Load())
}

func TestParseProbes(t *testing.T) {
	_, err := parseProbes([]string{"http://127.0.0.1:8843"}, []string{"synchronizer=http://127.0.0.1:8844"})
	require.NoError(t, err)
	for _, bad := range []string{"synchronizer", "=http://x", "udca=not a url"} {
		_, err := parseProbes(nil, []string{bad})
		require.ErrorContains(t, err, "probes", bad)
	}
	_, err = parseProbes([]string{"::"}, nil)
	require.ErrorContains(t, err, "runtimes")
}

func TestRunsHere(t *testing.T) {
	attached := map[string][]string{"east": {"prod", "shared"}, "west": {"shared"}, "empty": {}}
	tests := []struct {
		instance string
		want     []string
	}{
		{"east", []string{"test", "prod", "shared"}},
		{"west", []string{"test", "shared"}},
		{"elsewhere", []string{"test"}},
	}
	for _, tt := range tests {
		t.Run(tt.instance, func(t *testing.T) {
			// test is attached to no instance: every instance runs it.
			require.Equal(t, tt.want, runsHere(tt.instance, []string{"test", "prod", "shared"}, attached))
		})
	}
	require.Equal(t, []string{"a"}, runsHere("x", []string{"a"}, map[string][]string{}), "no instances: everything given")
}
