package mp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/analytics"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/contractsync"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/googletoken"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/metrics"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// StatusPath is where the watcher collects this runtime's deployment status.
const StatusPath = "/v1/runtime/status"

// Run starts the message processor and blocks until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("runtime", cfg.Common)
	if err != nil {
		return err
	}
	if err := Attach(svc, cfg); err != nil {
		svc.Close()
		return err
	}
	return svc.Run(ctx)
}

// Attach builds the message processor on svc. Nothing here blocks: the
// Cassandra session is opened in the start phase, and contracts are
// polled (and compiled, with the runtime data store) only after it.
func Attach(svc *service.Service, cfg *Config) error {
	log := svc.Logger()
	keys, err := store.ReadEncryptionKeys(cfg.EncryptionKeysPath)
	if err != nil {
		return fmt.Errorf("encryptionKeysPath: %w", err)
	}
	opts := engine.DefaultOptions()
	opts.ConnectTimeout, opts.IOTimeout = cfg.ConnectTimeout, cfg.IOTimeout
	opts.ContractKeyPath = cfg.ContractEncryptionKeyPath
	if opts.GoogleTokens, err = googleTokens(cfg.ControlPlane); err != nil {
		return err
	}
	if a := cfg.Analytics; a.Enabled {
		em, err := analytics.New(analytics.Options{Addr: a.UDCA, BufferSize: a.BufferSize, BatchSize: a.BatchSize,
			FlushInterval: a.FlushInterval, PodName: cfg.PodName, Log: log.Named("analytics")}, svc.Registry())
		if err != nil {
			return err
		}
		opts.Observer = em
		opts.DebugSink = em // debug sessions' captures go to UDCA's trace dataset
		// Workers stop after the traffic listener has drained, so the
		// records of every served call are queued by then; half the
		// shutdown bound goes to delivering them.
		svc.Go("analytics", func(ctx context.Context) error { return em.Run(ctx, cfg.ShutdownTimeout/2) })
	}
	// Hybrid's runtime metrics (proxy_request_count, …) are always on,
	// on /metrics beside the analytics observer when that is enabled.
	calls, err := metrics.New(svc.Registry())
	if err != nil {
		return err
	}
	opts.Observer = fanOut(calls, opts.Observer)
	eng := engine.New(log.With(zap.String("org", cfg.Org)), opts)
	svc.OnStop("engine", eng.Close) // stops target health monitors
	// contractsLoaded is the ContractLoaded readiness check's condition;
	// traffic is held (503) until it holds.
	contractsLoaded := func() bool {
		for _, env := range cfg.Environments {
			if eng.Environment(env) == nil {
				return false
			}
		}
		return true
	}
	traffic := holdUntilLoaded(contractsLoaded, clientDeadlines(eng, cfg.ClientIOTimeout))
	if _, err := listenTraffic(svc, cfg.TrafficListen, traffic); err != nil {
		return err
	}
	if cfg.TrafficTLS.Listen != "" {
		if _, err := listenTrafficTLS(svc, cfg.TrafficTLS, traffic); err != nil {
			return err
		}
	}

	queries := cassandra.NewQueryMetrics(svc.Registry())
	svc.Init("Cassandra", func(ctx context.Context) error {
		session, err := cassandra.Connect(ctx, cfg.Cassandra, cassandra.WithQueryObserver(queries))
		if err != nil {
			return err
		}
		svc.OnStop("cassandra session", session.Close)
		// gocql reconnects to a restarted Cassandra by itself; these
		// checks turn readiness red while it is away.
		svc.ReadyWhen("Cassandra", func(ctx context.Context) error { return cassandra.Ping(ctx, session) })
		svc.ReadyWhen("Schema", func(ctx context.Context) error { return schema.Check(ctx, session, cfg.Org) })
		eng.SetRuntimeData(rtdata.New(session, cfg.Org, rtdata.Options{KeyTTL: cfg.RuntimeData.KeyTTL, MaxEntries: cfg.RuntimeData.MaxEntries, Keys: keys}))
		return nil
	})

	var compileMu sync.Mutex // one compile at a time keeps CPU use predictable
	apply := func(c *contract.Contract) {
		compileMu.Lock()
		defer compileMu.Unlock()
		c = onThisInstance(c, cfg.InstanceID, log)
		env := eng.Compile(c, eng.Environment(c.Environment))
		for _, st := range env.Status {
			if st.State != "READY" {
				log.Error("deployment failed", zap.String("org", c.Organization), zap.String("env", c.Environment), zap.String("apiproxy", st.Name),
					zap.String("revision", st.Revision), zap.Strings("errors", st.Errors))
			}
		}
		eng.SetEnvironment(env)
	}
	client, err := synchronizerClient(cfg)
	if err != nil {
		return err
	}
	for _, env := range cfg.Environments {
		p := &contractsync.Poller{BaseURL: cfg.Synchronizer, Org: cfg.Org, Env: env, Wait: cfg.PollWait, Client: client, Log: log, Apply: apply,
			RetryMaxInterval: cfg.PollRetryMaxInterval}
		svc.Go("contract "+env, p.Run)
	}
	// Hybrid's runtime answers its readiness probe with 500 until it has an
	// active contract for its environment.
	svc.ReadyWhen("ContractLoaded", func(context.Context) error {
		for _, env := range cfg.Environments {
			if eng.Environment(env) == nil {
				return &service.StatusError{Code: http.StatusInternalServerError, Err: fmt.Errorf("no active contract for environment %s", env)}
			}
		}
		return nil
	})
	svc.Handle("GET "+StatusPath, statusHandler(cfg, eng))
	return nil
}

// googleTokens mints <Authentication> tokens through the control plane,
// authenticated as apigee-runtime; nil when no control plane is
// configured. Tokens are minted on first use, so an unreachable control
// plane fails requests (GoogleTokenGenerationFailure), not the start.
func googleTokens(cfg cpclient.Config) (engine.GoogleTokens, error) {
	if cfg.URL == "" {
		return nil, nil
	}
	if cfg.ServiceAccountPath == "" && cfg.Token == "" {
		return nil, fmt.Errorf("controlPlane: url %s needs serviceAccountPath (the apigee-runtime key file) to mint Google tokens", cfg.URL)
	}
	client, err := cpclient.Dial(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("controlPlane: %w", err)
	}
	return googletoken.New(client, nil), nil
}

// statusHandler reports, per environment, the loaded contract version and
// each deployed revision's state, in the shape the watcher forwards.
func statusHandler(cfg *Config, eng *engine.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]cpclient.RuntimeStatus{}
		for _, env := range eng.Environments() {
			st := cpclient.RuntimeStatus{
				Instance:        cfg.PodName,
				ContractVersion: env.Version,
				Pods:            []cpclient.PodStatus{{PodName: cfg.PodName}},
				Deployments:     []cpclient.DeploymentStatus{},
			}
			for _, d := range env.Status {
				ds := cpclient.DeploymentStatus{APIProxy: d.Name, Kind: d.Kind, Revision: d.Revision, State: d.State}
				for _, e := range d.Errors {
					ds.Errors = append(ds.Errors, cpclient.StatusError{Message: e})
				}
				st.Deployments = append(st.Deployments, ds)
			}
			out[env.Name] = st
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"organization": cfg.Org, "environments": out})
	})
}

// onThisInstance returns the contract this message processor serves: c
// itself when its environment runs on instance, else c without hostnames
// and deployments — loaded (the version is held, readiness holds) but
// routing nothing, so its hosts answer ApplicationNotFound and its status
// reports no deployment, as a region the environment is not attached to.
func onThisInstance(c *contract.Contract, instance string, log *zap.Logger) *contract.Contract {
	if c.RunsOn(instance) {
		return c
	}
	log.Info("environment not attached to this instance: its contract is held and none of it served",
		zap.String("env", c.Environment), zap.String("instance", instance), zap.String("contractVersion", c.Version),
		zap.Strings("attachedInstances", c.Instances))
	held := *c
	held.Hostnames, held.APIProxies, held.SharedFlows, held.FlowHooks, held.DebugSessions = nil, nil, nil, nil, nil
	return &held
}
