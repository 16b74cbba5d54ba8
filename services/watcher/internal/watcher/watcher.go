// Package watcher gathers each message processor's view of its deployments
// and reports it to the control plane, which turns it into Deployment.state.
package watcher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// Config is the watcher's configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Org            string          `yaml:"org" usage:"Apigee organization"`
	Environments   []string        `yaml:"environments" usage:"environments to report on"`
	InstanceID     string          `yaml:"instanceID" usage:"cluster name used in reports"`
	Runtimes       []string        `yaml:"runtimes" usage:"admin base URLs of the message processors"`
	Interval       time.Duration   `yaml:"interval" usage:"time between status collections"`
	ResendEvery    time.Duration   `yaml:"resendEvery" usage:"re-send an unchanged report this often"`
	ControlPlane   cpclient.Config `yaml:"controlPlane"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Common:       service.DefaultCommon("127.0.0.1:8847"),
		Org:          "hybrid",
		Environments: []string{"test"},
		InstanceID:   "local-" + host,
		Runtimes:     []string{"http://127.0.0.1:8843"},
		Interval:     500 * time.Millisecond,
		ResendEvery:  30 * time.Second,
		ControlPlane: cpclient.DefaultConfig(),
	}
}

// Run starts the watcher and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("watcher", cfg.Common)
	if err != nil {
		return err
	}
	w := &watcher{cfg: cfg, http: &http.Client{Timeout: 5 * time.Second},
		log: svc.Logger().With(zap.String("org", cfg.Org)), sent: map[string]sentReport{}}
	svc.Init("ControlPlaneCredentials", func(ctx context.Context) error {
		cp, err := cpclient.Dial(ctx, cfg.ControlPlane)
		if err != nil {
			return err
		}
		w.cp = cp
		svc.Go("status", w.loop)
		return nil
	})
	svc.Handle("GET /v1/watcher/status", http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"lastReport": w.lastOK.Load()})
	}))
	return svc.Run(ctx)
}

type sentReport struct {
	status cpclient.RuntimeStatus
	at     time.Time
}

type watcher struct {
	cfg    *Config
	cp     *cpclient.Client
	http   *http.Client
	log    *zap.Logger
	sent   map[string]sentReport
	lastOK atomic.Value // time.Time of the last accepted report
}

func (w *watcher) loop(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		w.collectAndReport(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type runtimeStatus struct {
	Environments map[string]cpclient.RuntimeStatus `json:"environments"`
}

func (w *watcher) collectAndReport(ctx context.Context) {
	merged := map[string]*cpclient.RuntimeStatus{}
	for _, base := range w.cfg.Runtimes {
		st, err := w.fetch(ctx, base)
		if err != nil {
			w.log.Debug("runtime status unavailable", zap.String("runtime", base), zap.Error(err))
			continue
		}
		for env, s := range st.Environments {
			m, ok := merged[env]
			if !ok {
				m = &cpclient.RuntimeStatus{Instance: w.cfg.InstanceID, ContractVersion: s.ContractVersion, Deployments: []cpclient.DeploymentStatus{}}
				merged[env] = m
			}
			// The oldest contract among the pods bounds what is READY everywhere.
			if s.ContractVersion < m.ContractVersion {
				m.ContractVersion = s.ContractVersion
				m.Deployments = s.Deployments
			} else if len(m.Deployments) == 0 {
				m.Deployments = s.Deployments
			}
			m.Pods = append(m.Pods, s.Pods...)
		}
	}
	for _, env := range w.cfg.Environments {
		st, ok := merged[env]
		if !ok {
			continue
		}
		prev, sent := w.sent[env]
		if sent && reflect.DeepEqual(prev.status, *st) && time.Since(prev.at) < w.cfg.ResendEvery {
			continue
		}
		if err := w.cp.ReportRuntimeStatus(ctx, w.cfg.Org, env, *st); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("could not report deployment status", zap.String("env", env), zap.Error(err))
			}
			continue
		}
		w.sent[env] = sentReport{status: *st, at: time.Now()}
		w.lastOK.Store(time.Now())
	}
}

func (w *watcher) fetch(ctx context.Context, base string) (*runtimeStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/v1/runtime/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("runtime status: %s", resp.Status)
	}
	var st runtimeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}
