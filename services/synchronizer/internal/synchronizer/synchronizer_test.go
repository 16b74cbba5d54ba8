package synchronizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeStore struct {
	mu        sync.Mutex
	contracts map[string]*contract.Contract // by version
	putBy     map[string]string
	claims    map[string]string // version → claimant
	claimErr  error
}

func newFakeStore() *fakeStore {
	return &fakeStore{contracts: map[string]*contract.Contract{}, putBy: map[string]string{}, claims: map[string]string{}}
}

func (f *fakeStore) ClaimDownload(_ context.Context, _, _, v, claimant string, _ time.Duration) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claimErr != nil {
		return false, "", f.claimErr
	}
	if _, ok := f.claims[v]; !ok {
		f.claims[v] = claimant
	}
	return f.claims[v] == claimant, f.claims[v], nil
}

func (f *fakeStore) Has(_ context.Context, _, _, v string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.contracts[v]
	return ok, nil
}

func (f *fakeStore) Put(_ context.Context, c *contract.Contract, by string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.contracts[c.Version]; ok {
		return false, nil
	}
	f.contracts[c.Version], f.putBy[c.Version] = c, by
	return true, nil
}

func (f *fakeStore) Get(_ context.Context, org, env, v string) (*contract.Contract, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.contracts[v]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%s/%s@%s: %w", org, env, v, store.ErrNotFound)
}

func (f *fakeStore) Latest(_ context.Context, org, env string) (*contract.Contract, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var best *contract.Contract
	for _, c := range f.contracts {
		if best == nil || c.Version > best.Version {
			best = c
		}
	}
	if best == nil {
		return nil, store.ErrNotFound
	}
	return best, nil
}

type fakeCP struct {
	mu        sync.Mutex
	current   *contract.Contract
	downloads int
	err       error
}

func (f *fakeCP) ContractVersion(context.Context, string, string, string, time.Duration) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	return f.current.Version, nil
}

func (f *fakeCP) Contract(context.Context, string, string) (*contract.Contract, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.downloads++
	return f.current, nil
}

func testContract(version string) *contract.Contract {
	return &contract.Contract{Organization: "o", Environment: "test", Version: version}
}

func newTestSyncer(t *testing.T, st ContractStore, cp ControlPlane) *Syncer {
	cfg := DefaultConfig()
	cfg.Org, cfg.Environments, cfg.InstanceID = "o", []string{"test"}, "sync-a"
	return NewSyncer(cfg, st, cp, zaptest.NewLogger(t))
}

func TestSyncOnce(t *testing.T) {
	const v1, v2 = "20261122.100000.000", "20261122.100001.000"
	tests := []struct {
		name          string
		stored        []string // versions already in Cassandra (another synchronizer's)
		cpVersion     string
		wantDownloads int
		wantVersion   string
	}{
		{name: "new version is downloaded and stored", cpVersion: v1, wantDownloads: 1, wantVersion: v1},
		{name: "version another synchronizer stored is read from the store", stored: []string{v1}, cpVersion: v1, wantDownloads: 0, wantVersion: v1},
		{name: "newer version is downloaded even if older is stored", stored: []string{v1}, cpVersion: v2, wantDownloads: 1, wantVersion: v2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			for _, v := range tt.stored {
				_, err := st.Put(context.Background(), testContract(v), "sync-b")
				require.NoError(t, err)
			}
			cp := &fakeCP{current: testContract(tt.cpVersion)}
			s := newTestSyncer(t, st, cp)
			require.NoError(t, s.syncOnce(context.Background(), "test", "", 0, zaptest.NewLogger(t)))
			require.Equal(t, tt.wantDownloads, cp.downloads)
			version, body, ok, err := s.Await(context.Background(), "test", "", time.Second)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, tt.wantVersion, version)
			c, err := contract.Unmarshal(body)
			require.NoError(t, err)
			require.Equal(t, tt.wantVersion, c.Version)
		})
	}
}

func TestLoadStoredServesWithoutControlPlane(t *testing.T) {
	st := newFakeStore()
	_, err := st.Put(context.Background(), testContract("20261122.100000.000"), "earlier-run")
	require.NoError(t, err)
	s := newTestSyncer(t, st, &fakeCP{err: fmt.Errorf("connection refused")})
	require.NoError(t, s.LoadStored(context.Background(), "test"))
	require.ErrorIs(t, s.LoadStored(context.Background(), "prod"), errUnknownEnv)
	version, _, ok, err := s.Await(context.Background(), "test", "", 0)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "20261122.100000.000", version)
}

func TestAwaitWakesOnNewVersion(t *testing.T) {
	s := newTestSyncer(t, newFakeStore(), &fakeCP{})
	s.set("test", testContract("20261122.100000.000"), SourceControlPlane)
	got := make(chan string, 1)
	go func() {
		v, _, _, _ := s.Await(context.Background(), "test", "20261122.100000.000", time.Minute)
		got <- v
	}()
	s.set("test", testContract("20261122.100001.000"), SourceControlPlane)
	require.Equal(t, "20261122.100001.000", <-got)

	_, _, ok, err := s.Await(context.Background(), "test", "20261122.100001.000", time.Millisecond)
	require.NoError(t, err)
	require.False(t, ok, "no change within the wait must report not-modified")
	_, _, _, err = s.Await(context.Background(), "prod", "", 0)
	require.ErrorIs(t, err, errUnknownEnv)
}

// TestUnencodableContractIsLoggedAndCounted: a contract that cannot be
// encoded is not served, the previous one stays, and the drop is counted.
func TestUnencodableContractIsLoggedAndCounted(t *testing.T) {
	s := newTestSyncer(t, newFakeStore(), &fakeCP{})
	require.True(t, s.set("test", testContract("20261122.100000.000"), SourceControlPlane))
	s.marshal = func(*contract.Contract) ([]byte, error) { return nil, errors.New("json: unsupported value") }
	require.False(t, s.set("test", testContract("20261122.100001.000"), SourceControlPlane))
	require.EqualValues(t, 1, s.Unservable())
	version, _, ok, err := s.Await(context.Background(), "test", "", 0)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "20261122.100000.000", version, "the previous contract is still served")
}

func TestControlPlaneErrorMonitor(t *testing.T) {
	s := newTestSyncer(t, newFakeStore(), &fakeCP{})
	for i := 0; i <= s.cfg.MaxControlPlaneErrors; i++ {
		require.NoError(t, s.Healthy())
		s.consecutiveErrors.Add(1)
	}
	require.ErrorContains(t, s.Healthy(), "Error in connecting to control plane more than 5 times consecutively")
}

// The failing probe logs the seed's SEVERE ProbeAPI line once when it
// turns red, again only after probeLogEvery, and re-arms on recovery.
func TestProbeLogsSeedLine(t *testing.T) {
	s := newTestSyncer(t, newFakeStore(), &fakeCP{})
	var out bytes.Buffer
	s.probeLog.out = &out
	now := time.Date(2024, 5, 15, 5, 54, 17, 724e6, time.UTC)
	for _, step := range []struct {
		errors int64
		at     time.Duration
		lines  int
	}{
		{0, 0, 0},
		{6, 0, 1},
		{6, time.Second, 1},
		{6, probeLogEvery + time.Second, 2},
		{0, probeLogEvery + 2*time.Second, 2},
		{6, probeLogEvery + 3*time.Second, 3},
	} {
		s.consecutiveErrors.Store(step.errors)
		s.probeLog.record(s.Healthy(), now.Add(step.at))
		require.Equal(t, step.lines, strings.Count(out.String(), "\n"), out.String())
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	require.Equal(t, `{"level":"SEVERE","thread":"NIOThread@1","mdc":{},"className":"com.apigee.probe.ProbeAPI","method":"getResponse","severity":"SEVERE",`+
		`"message":"probe failed with details ProbeStatusResponse{isProbeSuccessful=false, failureMessages=[Probe ControlPlaneErrorMonitor failed due to Error in connecting to control plane more than 5 times consecutively.]}",`+
		`"formattedDate":"2024-05-15T05:54:17.724Z","logger":"ProbeAPI"}`, first)
}

// TestWatchBacksOffCappedAndRecovers: while the control plane fails, the
// retries are paced by the jitter source under retryMaxInterval, the
// status shows the streak (degraded, since when, why); once it answers
// again the contract is fetched and the status is healthy.
func TestWatchBacksOffCappedAndRecovers(t *testing.T) {
	const v1 = "20261122.100000.000"
	cp := &fakeCP{current: testContract(v1), err: errors.New("503 UNAVAILABLE")}
	s := newTestSyncer(t, newFakeStore(), cp)
	s.cfg.LongPoll, s.cfg.PollInterval, s.cfg.RetryMaxInterval = false, 10*time.Millisecond, 30*time.Millisecond
	var mu sync.Mutex
	var ceilings []int64
	s.jitter = func(n int64) int64 {
		mu.Lock()
		defer mu.Unlock()
		ceilings = append(ceilings, n)
		return n - 1 // the longest wait jitter allows
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, "test") }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	require.Eventually(t, func() bool { return s.Healthy() != nil }, 10*time.Second, time.Millisecond)
	st := s.Status()
	require.False(t, st.Healthy)
	require.Greater(t, st.ConsecutiveErrors, int64(5))
	require.NotNil(t, st.FailingSince)
	require.Contains(t, st.LastError, "UNAVAILABLE")
	require.Equal(t, "30ms", st.RetryMaxInterval)
	require.Empty(t, st.Environments["test"].Version)

	cp.mu.Lock()
	cp.err = nil
	cp.mu.Unlock()
	require.Eventually(t, func() bool { return s.currentVersion("test") == v1 }, 10*time.Second, time.Millisecond)
	st = s.Status()
	require.True(t, st.Healthy)
	require.Zero(t, st.ConsecutiveErrors)
	require.Nil(t, st.FailingSince)
	require.Empty(t, st.LastError)
	require.NotNil(t, st.LastSuccess)
	require.Equal(t, v1, st.Environments["test"].Version)
	require.Equal(t, SourceControlPlane, st.Environments["test"].Source)

	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(ceilings), 6, "every retry draws its jitter from the injected source")
	for _, n := range ceilings {
		// Equal jitter: half the ceiling is random, and the ceiling never
		// passes retryMaxInterval.
		require.LessOrEqual(t, n, int64(15*time.Millisecond)+1)
	}
}

func TestStatusHandler(t *testing.T) {
	var ready atomic.Pointer[Syncer]
	h := statusHandler(&ready)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/synchronizer/status", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, "not started yet")

	st := newFakeStore()
	_, err := st.Put(context.Background(), testContract("20261122.100000.000"), "earlier-run")
	require.NoError(t, err)
	s := newTestSyncer(t, st, &fakeCP{})
	require.NoError(t, s.LoadStored(context.Background(), "test"))
	ready.Store(s)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/synchronizer/status", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var got Status
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.True(t, got.Healthy)
	require.Equal(t, "o", got.Organization)
	require.Equal(t, EnvStatus{Version: "20261122.100000.000", Source: SourceStore, Since: got.Environments["test"].Since}, got.Environments["test"])
	require.NotNil(t, got.Environments["test"].Since)
}

// Two regions' synchronizers see a new version at the same moment: the one
// that claims it downloads it, the other waits for it in the store; a
// claimant that never stores it, or a claim that cannot be made, means
// downloading anyway.
func TestDownloadClaim(t *testing.T) {
	const v1 = "20261122.100000.000"
	ctx := context.Background()
	t.Run("the claimant downloads, the other reads the store", func(t *testing.T) {
		st := newFakeStore()
		cp := &fakeCP{current: testContract(v1)}
		winner, loser := newTestSyncer(t, st, cp), newTestSyncer(t, st, cp)
		loser.claimant = "region-2/other"
		_, _, err := st.ClaimDownload(ctx, "o", "test", v1, winner.claimant, time.Minute)
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- loser.syncOnce(ctx, "test", "", 0, zaptest.NewLogger(t)) }()
		require.NoError(t, winner.syncOnce(ctx, "test", "", 0, zaptest.NewLogger(t)))
		require.NoError(t, <-done)
		require.Equal(t, 1, cp.downloads, "downloaded once across both")
		require.Equal(t, int64(1), winner.Downloads())
		require.Equal(t, int64(0), loser.Downloads())
		require.Equal(t, v1, loser.currentVersion("test"))
	})
	t.Run("a silent claimant is not waited for forever", func(t *testing.T) {
		st := newFakeStore()
		st.claims[v1] = "gone/dead-1"
		cp := &fakeCP{current: testContract(v1)}
		s := newTestSyncer(t, st, cp)
		s.cfg.DownloadClaimWait = 100 * time.Millisecond
		require.NoError(t, s.syncOnce(ctx, "test", "", 0, zaptest.NewLogger(t)))
		require.Equal(t, 1, cp.downloads)
	})
	t.Run("no claim possible: download", func(t *testing.T) {
		st := newFakeStore()
		st.claimErr = errors.New("Cannot achieve consistency level SERIAL")
		cp := &fakeCP{current: testContract(v1)}
		s := newTestSyncer(t, st, cp)
		require.NoError(t, s.syncOnce(ctx, "test", "", 0, zaptest.NewLogger(t)))
		require.Equal(t, 1, cp.downloads)
	})
}
