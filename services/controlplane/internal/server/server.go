// Package server wires the mock control plane together: the embedded
// state, the Apigee API on the main listener and on an HTTPS listener with
// a locally generated CA, and the seeded organizations.
package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/analytics"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/console"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/emulator"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/faults"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/logging"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/monitoring"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/storage"
)

// Server is a control plane attached to a service.
type Server struct {
	Service *service.Service
	Store   *state.Store
	API     *apigee.API
	// CAPath is the CA certificate clients of the HTTPS listener must trust
	// (empty when HTTPS is disabled).
	CAPath string
	// AdminToken is the effective admin bearer token.
	AdminToken string
	// IAM is the emulated IAM (service accounts, tokens, policies, audit).
	IAM *iam.IAM
	// KeyDir holds the seeded service accounts' key files.
	KeyDir string
	// Connect is the Apigee Connect service (tethers to MART).
	Connect *connect.Service
	// Analytics is the storage, ingest and store behind datalocation and
	// the stats API.
	Analytics *analyticsBackend
	// Faults is the outage switch (emulator only): it fails or slows the
	// upstream services the runtime plane calls.
	Faults *faults.Injector
	// Monitoring is the mock Cloud Monitoring time series API and its
	// in-memory store (the runtime plane's metrics).
	Monitoring *monitoring.Store
	// Logging is the mock Cloud Logging entries API and its in-memory
	// store (the runtime plane's service logs).
	Logging *logging.Store
}

// Run is the control plane's main: build the service, serve until ctx ends.
func Run(ctx context.Context, cfg *Config) error {
	svc, err := service.New("controlplane", cfg.Common)
	if err != nil {
		return err
	}
	if _, err := New(svc, cfg); err != nil {
		svc.Close()
		return err
	}
	return svc.Run(ctx)
}

// EffectiveAdminToken resolves the admin token: config, then
// $HYBRID_ADMIN_TOKEN, then DefaultAdminToken.
func EffectiveAdminToken(cfg *Config) string {
	if cfg.AdminToken != "" {
		return cfg.AdminToken
	}
	if t := os.Getenv(AdminTokenEnv); t != "" {
		return t
	}
	return DefaultAdminToken
}

// New attaches the control plane to svc (whose main listener is already
// bound) and binds the HTTPS listener. The caller runs svc.
func New(svc *service.Service, cfg *Config) (*Server, error) {
	log := svc.Logger()
	stateDir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	store, err := state.Open(stateDir, nil)
	if err != nil {
		return nil, err
	}
	created, err := apigee.Seed(store, withSyncDefaults(cfg.Orgs, cfg.IAM.ServiceAccounts))
	if err != nil {
		return nil, err
	}
	for _, org := range created {
		log.Info("seeded organization", zap.String("org", org))
	}
	// Each org's contract encryption key, for its message processors
	// (contractEncryptionKeyPath); made once, on first start, like the
	// seeded service accounts' key files. Orgs created later get theirs
	// with their first contract that carries a private key.
	var orgs []string
	_ = store.View(func(d *state.Data) error {
		for name := range d.Orgs {
			orgs = append(orgs, name)
		}
		return nil
	})
	for _, org := range orgs {
		if _, err := store.ContractKey(org); err != nil {
			return nil, err
		}
	}
	s := &Server{Service: svc, Store: store, AdminToken: EffectiveAdminToken(cfg)}
	s.Faults = faults.New(log.Named("faults"), svc.Registry())
	// A runtime-scoped outage spares whoever may manage outages: the
	// operator keeps the management API while the runtime plane is cut.
	s.Faults.SetOperator(func(r *http.Request) bool { return s.authorizeFaults(r) == nil })
	if s.IAM, s.KeyDir, err = newIAM(svc, cfg, store, stateDir, s.AdminToken); err != nil {
		return nil, err
	}
	if s.Analytics, err = newAnalytics(svc, cfg, stateDir, s.Faults); err != nil {
		return nil, err
	}
	s.Monitoring = monitoring.New(monitoring.Options{Auth: s.IAM, Projects: storeProjects{store}, Registerer: svc.Registry()})
	s.Logging = logging.New(logging.Options{Auth: s.IAM, Projects: storeProjects{store}, Registerer: svc.Registry()})
	s.API, err = apigee.New(apigee.Options{
		Store:              store,
		Auth:               apigee.IAMAuth{IAM: s.IAM},
		Authz:              apigee.IAMAuth{IAM: s.IAM},
		Log:                log.Named("api"),
		Limits:             bundle.Limits{MaxArchiveBytes: cfg.MaxBundleBytes},
		Registerer:         svc.Registry(),
		Draining:           svc.Draining,
		Analytics:          s.Analytics,
		DebugDataRetention: analytics.TraceRetention{Keep: cfg.Analytics.DebugDataRetention},
	})
	if err != nil {
		return nil, err
	}
	if cfg.Analytics.DebugDataSweep > 0 {
		svc.Go("debug data retention", func(ctx context.Context) error {
			t := time.NewTicker(cfg.Analytics.DebugDataSweep)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
					if err := s.API.ExpireDebugData(ctx); err != nil && ctx.Err() == nil {
						log.Warn("could not delete expired debug session data", zap.Error(err))
					}
				}
			}
		})
	}
	// Probes and /metrics stay on the service's own routes (more specific
	// patterns win); everything else under /v1 is the Apigee API.
	svc.Handle("/v1/", s.Faults.HTTP(faults.Apigee, s.API))
	// IAM, Resource Manager and the OAuth token endpoint: more specific
	// patterns than /v1/, so they win over the Apigee API.
	s.IAM.Register(s.faulted(faults.IAMCredentials, svc.Handle))
	s.API.AlsoRoutes(s.IAM.Register) // a wrong method on them is a 405 too
	// Cloud Monitoring (/v3/projects/…) and Cloud Logging (/v2/entries:…)
	// are outside /v1/, so they cannot shadow the Apigee API.
	s.Monitoring.Register(s.faulted(faults.Monitoring, svc.Handle))
	s.Logging.Register(s.faulted(faults.Logging, svc.Handle))
	// The outage switch is registered unwrapped: it must answer during an
	// outage, since it is how one ends.
	svc.Handle(faults.Path, s.Faults.Handler(s.authorizeFaults))
	report := s.outageReportHandler(cfg.OutageReport)
	svc.Handle("GET "+OutageReportPath, report)
	// The Apigee Emulator's control API (/v1/emulator/…, beside the outage switch).
	emu := s.Faults.HTTP(faults.Apigee, emulator.ForSeed(s.API, s.authorizeFaults, cfg.Orgs))
	svc.Handle(emulator.Prefix, emu)
	// The web console: static files only, never faulted (it must show an
	// outage); its page calls the API above with the user's token.
	console.Register(svc.Handle)
	if err := s.attachConnect(svc, cfg); err != nil {
		return nil, err
	}
	log.Info("control plane state", zap.String("stateDir", stateDir), zap.Int("tokens", len(cfg.Tokens)))

	if cfg.HTTPS.Listen != "" {
		m, err := tlsca.Ensure(filepath.Join(stateDir, "tls"), cfg.HTTPS.Hostnames, time.Now())
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", cfg.HTTPS.Listen)
		if err != nil {
			return nil, fmt.Errorf("controlplane: listen https on %s: %w", cfg.HTTPS.Listen, err)
		}
		httpsMux := http.NewServeMux()
		httpsMux.Handle("/", s.Faults.HTTP(faults.Apigee, s.API))
		httpsMux.Handle(storage.PathPrefix, s.Faults.HTTP(faults.Storage, s.Analytics.storage))
		s.IAM.Register(s.faulted(faults.IAMCredentials, httpsMux.Handle))
		s.Monitoring.Register(s.faulted(faults.Monitoring, httpsMux.Handle))
		s.Logging.Register(s.faulted(faults.Logging, httpsMux.Handle))
		httpsMux.Handle(faults.Path, s.Faults.Handler(s.authorizeFaults))
		httpsMux.Handle("GET "+OutageReportPath, report)
		httpsMux.Handle(emulator.Prefix, emu)
		console.Register(httpsMux.Handle)
		for _, u := range tokenURIs("https", ln.Addr().String()) {
			s.IAM.AddTokenAudience(u)
		}
		svc.AddListener("https", tls.NewListener(ln, m.TLSConfig()), httpsMux)
		s.CAPath = m.CAPath
		log.Info("HTTPS Apigee API uses a local CA; trust it with SSL_CERT_FILE",
			zap.String("addr", ln.Addr().String()), zap.String("caFile", m.CAPath),
			zap.String("hint", "export SSL_CERT_FILE="+m.CAPath), zap.Bool("serverCertIssued", m.Issued))
	}
	return s, nil
}

// faulted wraps a mux's handle so every route it registers carries
// service's faults.
func (s *Server) faulted(service string, handle func(string, http.Handler)) func(string, http.Handler) {
	return func(pattern string, h http.Handler) { handle(pattern, s.Faults.HTTP(service, h)) }
}

// authorizeFaults admits callers of the outage switch: the admin token or
// a principal granted apigee.emulator.injectFaults (owners and org
// admins hold it), like the per-organization analytics fault switch.
func (s *Server) authorizeFaults(r *http.Request) error {
	p, err := s.IAM.Authenticate(r)
	if err != nil {
		return err
	}
	return s.IAM.Authorize(r.Context(), p, apigee.PermInjectFaults, "emulator/outage")
}
