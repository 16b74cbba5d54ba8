// Package synchronizer keeps each environment's runtime contract flowing
// from the control plane into Cassandra and on to message processors.
package synchronizer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/backoff"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// ContractStore is the slice of the Cassandra store the synchronizer uses.
type ContractStore interface {
	Has(ctx context.Context, org, env, version string) (bool, error)
	Put(ctx context.Context, c *contract.Contract, storedBy string) (bool, error)
	Get(ctx context.Context, org, env, version string) (*contract.Contract, error)
	Latest(ctx context.Context, org, env string) (*contract.Contract, error)
	// ClaimDownload claims the download of a version across regions.
	ClaimDownload(ctx context.Context, org, env, version, claimant string, ttl time.Duration) (bool, string, error)
}

// ControlPlane is the slice of the control plane client the synchronizer uses.
type ControlPlane interface {
	ContractVersion(ctx context.Context, org, env, waitFrom string, wait time.Duration) (string, error)
	Contract(ctx context.Context, org, env string) (*contract.Contract, error)
}

// Syncer holds the latest contract of every environment.
type Syncer struct {
	cfg   Config
	store ContractStore
	cp    ControlPlane
	log   *zap.Logger

	envs map[string]*envState
	// consecutiveErrors counts control plane failures across environments;
	// any success resets it.
	consecutiveErrors atomic.Int64
	downloads         atomic.Int64
	unservable        atomic.Int64
	// claimant names this process in download claims (unique even when
	// several synchronizers of one instance share an instanceID).
	claimant string
	// marshal encodes a contract for message processors (tests replace it).
	marshal func(*contract.Contract) ([]byte, error)
	// probeLog writes the SEVERE ProbeAPI line when Probe fails.
	probeLog probeLog
	// jitter spreads retries (nil: math/rand/v2); tests fix it.
	jitter backoff.Rand
	// health is what Status reports about the control plane calls.
	health health
}

// health is the recent history of control plane calls, for Status.
type health struct {
	mu           sync.Mutex
	failingSince time.Time // first failure of the current streak
	lastError    string
	lastSuccess  time.Time
}

type envState struct {
	mu      sync.Mutex
	current *contract.Contract
	body    []byte
	source  string        // where current came from: SourceControlPlane or SourceStore
	since   time.Time     // when current began to be served
	changed chan struct{} // closed and replaced on every new version
}

func NewSyncer(cfg Config, st ContractStore, cp ControlPlane, log *zap.Logger) *Syncer {
	host, _ := os.Hostname()
	s := &Syncer{cfg: cfg, store: st, cp: cp, log: log, envs: map[string]*envState{}, marshal: contract.Marshal,
		claimant: fmt.Sprintf("%s/%s-%d", cfg.InstanceID, host, os.Getpid())}
	for _, env := range cfg.Environments {
		s.envs[env] = &envState{changed: make(chan struct{})}
	}
	return s
}

// LoadStored serves whatever Cassandra already holds for env, so a
// synchronizer restarted while the control plane is away still hands out
// contracts.
func (s *Syncer) LoadStored(ctx context.Context, env string) error {
	if _, ok := s.envs[env]; !ok {
		return errUnknownEnv
	}
	c, err := s.store.Latest(ctx, s.cfg.Org, env)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.set(env, c, SourceStore) {
		s.log.Info("serving stored contract", zap.String("org", s.cfg.Org), zap.String("env", env), zap.String("version", c.Version))
	}
	return nil
}

// Watch keeps one environment's contract current until ctx ends.
func (s *Syncer) Watch(ctx context.Context, env string) error {
	log := s.log.With(zap.String("org", s.cfg.Org), zap.String("env", env), zap.String("action", "CONTRACT-SYNC"))
	// Capped so that a control plane that comes back after any outage is
	// seen within retryMax; jittered so synchronizers of several regions,
	// cut off together, do not retry in lockstep.
	retry := backoff.New(backoff.Policy{Initial: min(time.Second, s.cfg.retryMax()), Max: s.cfg.retryMax(), Rand: s.jitter})
	for {
		current := s.currentVersion(env)
		wait := time.Duration(0)
		if s.cfg.LongPoll {
			wait = s.cfg.LongPollWait
		}
		err := s.syncOnce(ctx, env, current, wait, log)
		if ctx.Err() != nil {
			return nil
		}
		var pause time.Duration
		switch {
		case err != nil:
			n := s.failed(err)
			pause = retry.Next()
			log.Error("Error in connecting to control plane", zap.Error(err), zap.Int64("consecutiveErrors", n), zap.Duration("retryIn", pause))
		case s.cfg.LongPoll:
			s.succeeded()
			retry.Reset()
		default:
			s.succeeded()
			retry.Reset()
			pause = s.cfg.PollInterval
		}
		if pause > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(pause):
			}
		}
	}
}

// failed counts a failed control plane call and returns the streak's length.
func (s *Syncer) failed(err error) int64 {
	n := s.consecutiveErrors.Add(1)
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if s.health.failingSince.IsZero() {
		s.health.failingSince = time.Now()
	}
	s.health.lastError = err.Error()
	return n
}

// succeeded ends a streak of failures.
func (s *Syncer) succeeded() {
	s.consecutiveErrors.Store(0)
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	s.health.failingSince = time.Time{}
	s.health.lastSuccess = time.Now()
}

// awaitClaimant claims the download of version; when another
// synchronizer (another region's, which saw the version at the same
// moment) holds the claim, it waits up to DownloadClaimWait for that one
// to store it and reports whether it is in the store now. A claim that
// cannot be made (a datacenter unreachable for the cross-region
// transaction) or a claimant that does not deliver means downloading
// anyway: a second download costs less than a missed deploy.
func (s *Syncer) awaitClaimant(ctx context.Context, env, version string, log *zap.Logger) (bool, error) {
	if s.cfg.DownloadClaimWait <= 0 {
		return false, nil
	}
	claimed, holder, err := s.store.ClaimDownload(ctx, s.cfg.Org, env, version, s.claimant, 2*s.cfg.DownloadClaimWait)
	if err != nil {
		log.Warn("could not claim the contract download; downloading", zap.String("version", version), zap.Error(err))
		return false, nil
	}
	if claimed {
		return false, nil
	}
	log.Info("another synchronizer is downloading the contract; waiting for it in the store",
		zap.String("version", version), zap.String("claimant", holder))
	deadline := time.Now().Add(s.cfg.DownloadClaimWait)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		have, err := s.store.Has(ctx, s.cfg.Org, env, version)
		if err != nil {
			return false, err
		}
		if have {
			return true, nil
		}
	}
	log.Warn("the claimant did not store the contract in time; downloading", zap.String("version", version), zap.String("claimant", holder))
	return false, nil
}

// Where a served contract came from.
const (
	SourceControlPlane = "controlplane"
	SourceStore        = "cassandra"
)

func (s *Syncer) syncOnce(ctx context.Context, env, current string, wait time.Duration, log *zap.Logger) error {
	version, err := s.cp.ContractVersion(ctx, s.cfg.Org, env, current, wait)
	if err != nil {
		return fmt.Errorf("get contract version: %w", err)
	}
	if version == current {
		return nil
	}
	// Another synchronizer (another region) may have stored it already:
	// then Cassandra, not the control plane, is the source.
	have, err := s.store.Has(ctx, s.cfg.Org, env, version)
	if err != nil {
		return err
	}
	if !have {
		if have, err = s.awaitClaimant(ctx, env, version, log); err != nil {
			return err
		}
	}
	var c *contract.Contract
	source := SourceStore
	if have {
		if c, err = s.store.Get(ctx, s.cfg.Org, env, version); err != nil {
			return err
		}
		log.Info("contract already in store, not downloading", zap.String("version", version))
	} else {
		if c, err = s.cp.Contract(ctx, s.cfg.Org, env); err != nil {
			return fmt.Errorf("download contract: %w", err)
		}
		s.downloads.Add(1)
		source = SourceControlPlane
		if c.Organization != s.cfg.Org || c.Environment != env {
			return fmt.Errorf("control plane sent a contract for %s/%s, want %s/%s", c.Organization, c.Environment, s.cfg.Org, env)
		}
		stored, err := s.store.Put(ctx, c, s.cfg.InstanceID)
		if err != nil {
			return err
		}
		if !stored {
			// Lost the race to another synchronizer: serve the winner's copy.
			if c, err = s.store.Get(ctx, s.cfg.Org, env, c.Version); err != nil {
				return err
			}
		}
		log.Info("stored contract", zap.String("version", c.Version), zap.Bool("firstWriter", stored), zap.Int("apiProxies", len(c.APIProxies)))
	}
	if c.Version > current {
		s.set(env, c, source)
	}
	return nil
}

// set makes c the contract served for env. A contract that cannot be
// encoded is not served (the previous one stays); that is logged and
// counted, never silent.
func (s *Syncer) set(env string, c *contract.Contract, source string) bool {
	body, err := s.marshal(c)
	if err != nil {
		s.unservable.Add(1)
		s.log.Error("cannot encode contract; still serving the previous one", zap.String("org", s.cfg.Org), zap.String("env", env),
			zap.String("version", c.Version), zap.Error(err))
		return false
	}
	st := s.envs[env]
	st.mu.Lock()
	defer st.mu.Unlock()
	st.current, st.body, st.source, st.since = c, body, source, time.Now()
	close(st.changed)
	st.changed = make(chan struct{})
	return true
}

// RegisterMetrics adds the synchronizer's counters to reg.
func (s *Syncer) RegisterMetrics(reg prometheus.Registerer) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "synchronizer_contracts_unservable_total",
		Help: "Contracts that could not be encoded for message processors and were not served.",
	}, func() float64 { return float64(s.unservable.Load()) }))
}

// Unservable counts contracts that could not be encoded and were dropped.
func (s *Syncer) Unservable() int64 { return s.unservable.Load() }

func (s *Syncer) currentVersion(env string) string {
	st := s.envs[env]
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.current == nil {
		return ""
	}
	return st.current.Version
}

// errUnknownEnv is returned for environments this synchronizer does not serve.
var errUnknownEnv = errors.New("environment not served by this synchronizer")

// Await returns the environment's contract once its version differs from
// have, or ok=false when wait elapses first.
func (s *Syncer) Await(ctx context.Context, env, have string, wait time.Duration) (version string, body []byte, ok bool, err error) {
	st, found := s.envs[env]
	if !found {
		return "", nil, false, errUnknownEnv
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		st.mu.Lock()
		cur, b, changed := st.current, st.body, st.changed
		st.mu.Unlock()
		if cur != nil && cur.Version != have {
			return cur.Version, b, true, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return "", nil, false, nil
		case <-ctx.Done():
			return "", nil, false, ctx.Err()
		}
	}
}

// Healthy is the ControlPlaneErrorMonitor: it fails once the control plane
// has failed more than MaxControlPlaneErrors times in a row.
func (s *Syncer) Healthy() error {
	if n := s.consecutiveErrors.Load(); n > int64(s.cfg.MaxControlPlaneErrors) {
		return fmt.Errorf("Probe ControlPlaneErrorMonitor failed due to Error in connecting to control plane more than %d times consecutively", s.cfg.MaxControlPlaneErrors)
	}
	return nil
}

// Downloads counts contracts fetched from the control plane (not from the store).
func (s *Syncer) Downloads() int64 { return s.downloads.Load() }

// Status is what the synchronizer knows of its control plane and what it
// serves: the observed side of the seed's synchronizer row, for
// `hybridctl outage report`.
type Status struct {
	Organization          string `json:"organization"`
	Healthy               bool   `json:"healthy"`
	ConsecutiveErrors     int64  `json:"consecutiveErrors"`
	MaxControlPlaneErrors int    `json:"maxControlPlaneErrors"`
	// FailingSince is the first failure of the current streak.
	FailingSince     *time.Time           `json:"failingSince,omitempty"`
	LastError        string               `json:"lastError,omitempty"`
	LastSuccess      *time.Time           `json:"lastSuccess,omitempty"`
	RetryMaxInterval string               `json:"retryMaxInterval"`
	Environments     map[string]EnvStatus `json:"environments"`
}

// EnvStatus is the contract served for one environment.
type EnvStatus struct {
	Version string     `json:"version,omitempty"`
	Source  string     `json:"source,omitempty"` // controlplane or cassandra
	Since   *time.Time `json:"since,omitempty"`
}

// Status reports the control plane streak and the contracts served.
func (s *Syncer) Status() Status {
	st := Status{
		Organization:          s.cfg.Org,
		Healthy:               s.Healthy() == nil,
		ConsecutiveErrors:     s.consecutiveErrors.Load(),
		MaxControlPlaneErrors: s.cfg.MaxControlPlaneErrors,
		RetryMaxInterval:      s.cfg.retryMax().String(),
		Environments:          map[string]EnvStatus{},
	}
	s.health.mu.Lock()
	st.FailingSince, st.LastError, st.LastSuccess = timePtr(s.health.failingSince), s.health.lastError, timePtr(s.health.lastSuccess)
	s.health.mu.Unlock()
	if st.FailingSince == nil {
		st.LastError = "" // an old error is not news once calls succeed
	}
	for name, e := range s.envs {
		e.mu.Lock()
		es := EnvStatus{Source: e.source, Since: timePtr(e.since)}
		if e.current != nil {
			es.Version = e.current.Version
		}
		e.mu.Unlock()
		st.Environments[name] = es
	}
	return st
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
