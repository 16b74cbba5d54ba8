// Package watcher is one runtime instance's watcher: it collects every
// message processor's view of its deployments and reports it to the
// control plane (which turns it into Deployment.state), publishes the
// instance's ingress routes from the control plane's deployed ingress
// configuration, and measures pod availability. One watcher per instance
// is active at a time, through a leader lease in Cassandra; the others
// wait and take over when the holder stops renewing.
package watcher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Config is the watcher's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string        `yaml:"org" usage:"Apigee organization"`
	Environments   []string      `yaml:"environments" usage:"environments this instance runs (reported on, and routed)"`
	InstanceID     string        `yaml:"instanceID" usage:"the runtime instance this watcher serves (organizations.instances name; reports and the lease carry it)"`
	Runtimes       []string      `yaml:"runtimes" usage:"admin base URLs of the instance's message processors"`
	Probes         []string      `yaml:"probes" usage:"other pods whose readiness counts in pod availability, as component=baseURL"`
	Interval       time.Duration `yaml:"interval" usage:"time between status collections"`
	ResendEvery    time.Duration `yaml:"resendEvery" usage:"re-send an unchanged report this often"`
	// IngressInterval paces polls of the deployed ingress configuration
	// (hybrid's watcher polls it too; routes change only when an
	// environment group, an attachment or a deployment does).
	IngressInterval time.Duration    `yaml:"ingressInterval" usage:"time between polls of the deployed ingress configuration"`
	Lease           LeaseConfig      `yaml:"lease"`
	ControlPlane    cpclient.Config  `yaml:"controlPlane"`
	Cassandra       cassandra.Config `yaml:"cassandra"`
}

// LeaseConfig is the leader lease of the instance's watchers.
// Like Kubernetes leader election (leaseDuration, retryPeriod), a
// waiting watcher tries for the lease every retry period, so a released
// lease is taken at once and an abandoned one soon after its term.
type LeaseConfig struct {
	Term        time.Duration `yaml:"term" usage:"leader lease term: a watcher that stops renewing loses the lease after this long"`
	RetryPeriod time.Duration `yaml:"retryPeriod" usage:"how often the holder renews and a waiting watcher tries for the lease (at most a third of the term)"`
	Holder      string        `yaml:"holder" usage:"this watcher's name in the lease (default: host and pid)"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Common:          service.DefaultCommon("127.0.0.1:8847"),
		Org:             "hybrid",
		Environments:    []string{"test"},
		InstanceID:      "local-" + host,
		Runtimes:        []string{"http://127.0.0.1:8843"},
		Interval:        500 * time.Millisecond,
		ResendEvery:     30 * time.Second,
		IngressInterval: 2 * time.Second,
		Lease:           LeaseConfig{Term: 10 * time.Second, RetryPeriod: 2 * time.Second, Holder: "watcher-" + host + "-" + strconv.Itoa(os.Getpid())},
		ControlPlane:    cpclient.DefaultConfig(),
		Cassandra:       cassandra.DefaultConfig(),
	}
}

// Run starts the watcher and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	if cfg.Lease.Term < time.Second {
		return fmt.Errorf("lease.term %s: must be at least 1s (the lease is a Cassandra TTL in seconds)", cfg.Lease.Term)
	}
	if cfg.Lease.RetryPeriod <= 0 {
		return fmt.Errorf("lease.retryPeriod %s: must be positive", cfg.Lease.RetryPeriod)
	}
	components, err := parseProbes(cfg.Runtimes, cfg.Probes)
	if err != nil {
		return err
	}
	svc, err := service.New("watcher", cfg.Common)
	if err != nil {
		return err
	}
	w := newWatcher(cfg, svc.Logger().With(zap.String("org", cfg.Org), zap.String("instance", cfg.InstanceID)), components)
	if err := w.metrics.register(svc.Registry()); err != nil {
		svc.Close()
		return err
	}
	svc.Init("Cassandra", func(ctx context.Context) error {
		session, err := cassandra.Connect(ctx, cfg.Cassandra)
		if err != nil {
			return err
		}
		svc.OnStop("cassandra session", session.Close)
		svc.ReadyWhen("Schema", func(ctx context.Context) error { return schema.Check(ctx, session, cfg.Org) })
		w.leases = store.NewLeases(session, cfg.Org)
		return nil
	})
	svc.Init("ControlPlaneCredentials", func(ctx context.Context) error {
		cp, err := cpclient.Dial(ctx, cfg.ControlPlane)
		if err != nil {
			return err
		}
		w.cp = cp
		svc.Go("lease", w.holdLease)
		svc.Go("status", w.loop)
		return nil
	})
	svc.Handle("GET /v1/watcher/status", http.HandlerFunc(w.serveStatus))
	svc.Handle("GET /v1/watcher/routes", http.HandlerFunc(w.serveRoutes))
	return svc.Run(ctx)
}

type sentReport struct {
	status cpclient.RuntimeStatus
	at     time.Time
}

type watcher struct {
	cfg        *Config
	cp         *cpclient.Client
	leases     leaseStore
	http       *http.Client
	log        *zap.Logger
	components []component
	metrics    *metrics
	now        func() time.Time

	// Only the status loop touches sent, lastIngress and seenTerm.
	sent        map[string]sentReport
	lastIngress time.Time
	seenTerm    int64

	terms atomic.Int64 // counts the times this watcher acquired the lease

	leader atomic.Bool
	holder atomic.Value // string: the lease holder last seen
	lastOK atomic.Value // time.Time of the last accepted report
	routes atomic.Value // *routeSet
}

func newWatcher(cfg *Config, log *zap.Logger, components []component) *watcher {
	w := &watcher{cfg: cfg, http: &http.Client{Timeout: 5 * time.Second}, log: log, components: components,
		metrics: newMetrics(), now: time.Now, sent: map[string]sentReport{}}
	w.holder.Store("")
	w.routes.Store(&routeSet{Items: []ApigeeRoute{}})
	return w
}

// loop measures pod availability every interval and, while this watcher
// holds the lease, reports deployment status and refreshes the routes.
func (w *watcher) loop(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		w.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *watcher) tick(ctx context.Context) {
	pods := w.collect(ctx)
	if !w.leader.Load() {
		return
	}
	if t := w.terms.Load(); t != w.seenTerm {
		// Newly the leader: report everything afresh.
		w.seenTerm, w.sent, w.lastIngress = t, map[string]sentReport{}, time.Time{}
	}
	w.report(ctx, pods)
	if w.now().Sub(w.lastIngress) >= w.cfg.IngressInterval {
		if err := w.refreshRoutes(ctx); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("could not read the deployed ingress configuration; keeping the routes published", zap.Error(err))
			}
		} else {
			w.lastIngress = w.now()
		}
	}
}

func (w *watcher) serveStatus(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(map[string]any{
		"instance":   w.cfg.InstanceID,
		"leader":     w.leader.Load(),
		"holder":     w.holder.Load(),
		"lastReport": w.lastOK.Load(),
	})
}
