package watcher

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// component is one pod the watcher watches: a message processor (whose
// deployment status it also collects) or another component's pod, by
// the base URL of its probes.
type component struct {
	name    string // runtime, synchronizer, udca, …
	base    string
	runtime bool
}

// parseProbes turns the runtimes and the component=baseURL probes into the
// pods to watch.
func parseProbes(runtimes, probes []string) ([]component, error) {
	var out []component
	for _, r := range runtimes {
		if _, err := url.ParseRequestURI(r); err != nil {
			return nil, fmt.Errorf("runtimes: %q is not a URL: %w", r, err)
		}
		out = append(out, component{name: "runtime", base: r, runtime: true})
	}
	for _, p := range probes {
		name, base, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("probes: %q: want component=baseURL (synchronizer=http://127.0.0.1:8844)", p)
		}
		if _, err := url.ParseRequestURI(base); err != nil {
			return nil, fmt.Errorf("probes: %q: %q is not a URL: %w", p, base, err)
		}
		out = append(out, component{name: name, base: base})
	}
	return out, nil
}

// metrics are the instance's pod availability, per component: how many
// pods there are and how many answer their readiness probe.
type metrics struct {
	total, ready *prometheus.GaugeVec
	leader       prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		total: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watcher_pods", Help: "Pods of the instance the watcher watches, by component.",
		}, []string{"component"}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "watcher_pods_ready", Help: "Pods of the instance that answer their readiness probe, by component.",
		}, []string{"component"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "watcher_leader", Help: "1 while this watcher holds its instance's leader lease and reports for it.",
		}),
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.total, m.ready, m.leader} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// collect probes every pod, updates the availability gauges, and returns
// the message processors' deployment status (of those that answered).
func (w *watcher) collect(ctx context.Context) []*runtimeStatus {
	total, ready := map[string]int{}, map[string]int{}
	var out []*runtimeStatus
	for _, c := range w.components {
		total[c.name]++
		if w.probeReady(ctx, c.base) {
			ready[c.name]++
		}
		if !c.runtime {
			continue
		}
		st, err := w.fetchStatus(ctx, c.base)
		if err != nil {
			w.log.Debug("runtime status unavailable", zap.String("runtime", c.base), zap.Error(err))
			continue
		}
		out = append(out, st)
	}
	for name, n := range total {
		w.metrics.total.WithLabelValues(name).Set(float64(n))
		w.metrics.ready.WithLabelValues(name).Set(float64(ready[name]))
	}
	return out
}

func (w *watcher) probeReady(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/v1/probes/ready", nil)
	if err != nil {
		return false
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
