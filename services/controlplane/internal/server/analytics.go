package server

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/analytics"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/faults"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/storage"
)

// AnalyticsConfig tunes the analytics backend.
type AnalyticsConfig struct {
	IngestInterval time.Duration `yaml:"ingestInterval" usage:"how often uploaded analytics files are looked for besides each upload's own notice"`
	// DebugDataRetention is how long a debug session's data is kept after
	// the session ends (Apigee hybrid keeps it 24 hours); DebugDataSweep
	// is how often data nobody reads is checked.
	DebugDataRetention time.Duration `yaml:"debugDataRetention" usage:"how long debug session data is kept after its session ends"`
	DebugDataSweep     time.Duration `yaml:"debugDataSweep" usage:"how often expired debug session data is deleted"`
}

// analyticsBackend is what the Apigee API's analytics routes use: the
// mock storage UDCA uploads to, the store the ingest fills, and the fault
// switch of the upload path.
type analyticsBackend struct {
	storage *storage.Storage
	store   analytics.Store
	ingest  *analytics.Ingester

	mu     sync.Mutex
	faults map[string]int // org + "/" + service → status
}

// newAnalytics opens the storage (stateDir/storage) and the store
// (stateDir/analytics/analytics.db), serves the storage on the main
// listener and runs the ingest as a worker.
func newAnalytics(svc *service.Service, cfg *Config, stateDir string, inj *faults.Injector) (*analyticsBackend, error) {
	log := svc.Logger().Named("analytics")
	st, err := storage.Open(filepath.Join(stateDir, "storage"), log.Named("storage"), nil)
	if err != nil {
		return nil, err
	}
	dbDir := filepath.Join(stateDir, "analytics")
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	store, err := analytics.OpenSQL(dbDir)
	if err != nil {
		return nil, err
	}
	svc.OnStop("analytics store", func() { _ = store.Close() })
	interval := cfg.Analytics.IngestInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	in := analytics.NewIngester(store, st.Dir(), filepath.Join(stateDir, "analytics", "rejected"), interval, log.Named("ingest"))
	st.OnUpload = func(string, string) { in.Notify() }
	svc.Handle(storage.PathPrefix, inj.HTTP(faults.Storage, st))
	svc.Go("analytics ingest", in.Run)
	return &analyticsBackend{storage: st, store: store, ingest: in, faults: map[string]int{}}, nil
}

// SignedURL implements apigee.Analytics.
func (b *analyticsBackend) SignedURL(base, org, _, dataset, file string) (string, string, time.Time, error) {
	bucket, object := analytics.Bucket(org), analytics.Object(dataset, file)
	signed, exp, err := b.storage.SignedURL(base, "PUT", bucket, object, 15*time.Minute)
	return signed, "gs://" + bucket + "/" + object, exp, err
}

// Traces implements apigee.TraceReader from the uploaded trace files.
func (b *analyticsBackend) Traces(ctx context.Context, org, env string, fn func(rec []byte) error) error {
	return analytics.ReadTraces(ctx, b.storage.Dir(), org, env, fn)
}

// Stats implements apigee.Analytics.
func (b *analyticsBackend) Stats(ctx context.Context, org, env, dims string, params url.Values) (any, error) {
	q, err := analytics.ParseQuery(org, env, dims, params)
	if err != nil {
		return nil, err
	}
	return analytics.Run(ctx, b.store, q)
}

// SetFault implements apigee.Analytics.
func (b *analyticsBackend) SetFault(org, svc string, status int) error {
	if svc == apigee.FaultStorage {
		b.storage.SetFault(analytics.Bucket(org), status)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if status == 0 {
		delete(b.faults, org+"/"+svc)
	} else {
		b.faults[org+"/"+svc] = status
	}
	return nil
}

// Fault implements apigee.Analytics.
func (b *analyticsBackend) Fault(org, svc string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.faults[org+"/"+svc]
}
