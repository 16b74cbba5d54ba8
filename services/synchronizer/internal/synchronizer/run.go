package synchronizer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// Run starts the synchronizer and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("synchronizer", cfg.Common)
	if err != nil {
		return err
	}
	if err := Attach(svc, cfg); err != nil {
		svc.Close()
		return err
	}
	return svc.Run(ctx)
}

// Attach adds the synchronizer to svc: nothing here blocks; Cassandra and
// the control plane are reached in the start phase. A missing schema keeps
// the synchronizer unready (the schema job may still be running) instead of
// stopping it. The contract endpoint has a listener of its own
// (runtimeListen) that requires a message processor's client certificate;
// it answers 503 until the start phase has made the syncer.
func Attach(svc *service.Service, cfg *Config) error {
	log := svc.Logger()
	var ready atomic.Pointer[Syncer]
	if err := listenRuntime(svc, cfg, &ready); err != nil {
		return err
	}
	svc.Handle(StatusPath, statusHandler(&ready))
	svc.Init("Cassandra", func(ctx context.Context) error {
		session, err := cassandra.Connect(ctx, cfg.Cassandra)
		if err != nil {
			return err
		}
		svc.OnStop("cassandra session", session.Close)
		cp, err := cpclient.Dial(ctx, cfg.ControlPlane)
		if err != nil {
			return err
		}
		syncer := NewSyncer(*cfg, store.NewContracts(session), cp, log)
		svc.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "synchronizer_contract_downloads_total",
			Help: "Contracts downloaded from the control plane (not found in Cassandra).",
		}, func() float64 { return float64(syncer.Downloads()) }))
		syncer.RegisterMetrics(svc.Registry())

		svc.ReadyWhen("Cassandra", func(ctx context.Context) error { return cassandra.Ping(ctx, session) })
		svc.ReadyWhen("Schema", func(ctx context.Context) error { return schema.Check(ctx, session, cfg.Org) })
		svc.ReadyWhen("ControlPlaneErrorMonitor", syncer.Probe)
		ready.Store(syncer)
		for _, env := range cfg.Environments {
			svc.Go("sync "+env, func(ctx context.Context) error {
				if err := waitForSchema(ctx, session, cfg.Org, log); err != nil {
					return nil // stopping
				}
				if err := syncer.LoadStored(ctx, env); err != nil {
					log.Error("cannot read the stored contract", zap.String("env", env), zap.Error(err))
				}
				return syncer.Watch(ctx, env)
			})
		}
		return nil
	})
	return nil
}

// StatusPath reports the control plane streak and the contracts served
// (Syncer.Status), on the main listener beside the probes: it holds no
// secrets, and `hybridctl outage report` reads it.
const StatusPath = "GET /v1/synchronizer/status"

func statusHandler(ready *atomic.Pointer[Syncer]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := ready.Load()
		if s == nil {
			http.Error(w, `{"error":"synchronizer starting"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Status())
	})
}

// ContractPath is the contract endpoint message processors poll.
const ContractPath = "GET /v1/runtime/organizations/{org}/environments/{env}/contract"

// listenRuntime binds the contract endpoint's mutual-TLS listener.
func listenRuntime(svc *service.Service, cfg *Config, ready *atomic.Pointer[Syncer]) error {
	conf, err := tlsca.MutualTLSServer(cfg.RuntimeTLS.CertFile, cfg.RuntimeTLS.KeyFile, cfg.RuntimeTLS.ClientCAFile, cfg.RuntimeTLS.ClientNames)
	if err != nil {
		return fmt.Errorf("synchronizer: runtimeTLS: %w (the contract endpoint serves message processors over mutual TLS only)", err)
	}
	log := svc.Logger()
	mux := http.NewServeMux()
	mux.Handle(ContractPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := ready.Load()
		if s == nil {
			http.Error(w, `{"error":"synchronizer starting"}`, http.StatusServiceUnavailable)
			return
		}
		contractHandler(cfg.Org, s, log).ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", cfg.RuntimeListen)
	if err != nil {
		return fmt.Errorf("synchronizer: listen runtime on %s: %w", cfg.RuntimeListen, err)
	}
	svc.AddListener("runtime", tls.NewListener(ln, conf), mux)
	return nil
}

// waitForSchema returns once the org's keyspaces exist (the schema job has
// run), checking every second; only a stop request ends it early.
func waitForSchema(ctx context.Context, session *gocql.Session, org string, log *zap.Logger) error {
	logged := false
	for {
		err := schema.Check(ctx, session, org)
		if err == nil {
			return nil
		}
		if !logged {
			log.Warn("waiting for the schema", zap.String("org", org), zap.Error(err))
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// contractHandler serves an environment's contract to message processors.
// With waitForChangeFrom it long-polls: 200 with the contract as soon as the
// version differs, 304 if nothing changed within timeout.
func contractHandler(org string, s *Syncer, log *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("org") != org {
			http.Error(w, `{"error":"organization not served by this synchronizer"}`, http.StatusNotFound)
			return
		}
		have := r.URL.Query().Get("waitForChangeFrom")
		wait := time.Duration(0)
		if t := r.URL.Query().Get("timeout"); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil || d < 0 || d > 5*time.Minute {
				http.Error(w, `{"error":"timeout must be a duration up to 5m"}`, http.StatusBadRequest)
				return
			}
			wait = d
		}
		version, body, ok, err := s.Await(r.Context(), r.PathValue("env"), have, wait)
		switch {
		case errors.Is(err, errUnknownEnv):
			http.Error(w, `{"error":"environment not served by this synchronizer"}`, http.StatusNotFound)
		case err != nil:
			return // client went away
		case !ok && have == "":
			http.Error(w, `{"error":"no contract available yet"}`, http.StatusServiceUnavailable)
		case !ok:
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Contract-Version", version)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if _, err := w.Write(body); err != nil {
				log.Debug("contract write failed", zap.Error(err))
			}
		}
	})
}
