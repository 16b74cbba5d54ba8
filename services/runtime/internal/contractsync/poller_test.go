package contractsync

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/backoff"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSynchronizer answers each poll with the next scripted reply.
type fakeSynchronizer struct {
	mu      sync.Mutex
	replies []func(w http.ResponseWriter, r *http.Request)
	seen    []string // waitForChangeFrom of each poll
}

func (f *fakeSynchronizer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.URL.Query().Get("waitForChangeFrom"))
	var next func(http.ResponseWriter, *http.Request)
	if len(f.replies) > 0 {
		next, f.replies = f.replies[0], f.replies[1:]
	}
	f.mu.Unlock()
	if next == nil {
		<-r.Context().Done() // nothing more scripted: hold the long poll
		return
	}
	next(w, r)
}

func contractReply(tb testing.TB, org, env, version string) func(http.ResponseWriter, *http.Request) {
	body, err := contract.Marshal(&contract.Contract{Organization: org, Environment: env, Version: version})
	require.NoError(tb, err)
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// noJitter waits the fixed half of each ceiling: tests draw from no
// global random state.
func noJitter(int64) int64 { return 0 }

func runPoller(t *testing.T, f *fakeSynchronizer, applied chan<- string, jitter backoff.Rand) func() {
	t.Helper()
	srv := httptest.NewServer(f)
	client := &http.Client{}
	p := &Poller{BaseURL: srv.URL, Org: "org", Env: "test", Wait: time.Minute, Client: client, Log: zaptest.NewLogger(t),
		Apply:            func(c *contract.Contract) { applied <- c.Version },
		RetryMaxInterval: 40 * time.Millisecond, Jitter: jitter}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
		client.CloseIdleConnections()
		srv.Close()
	}
}

// TestPollerAppliesNewVersionsAndKeepsPollingOnNotModified: a 304 is "no
// change within the wait" and the next poll carries the version it has.
func TestPollerAppliesNewVersionsAndKeepsPollingOnNotModified(t *testing.T) {
	f := &fakeSynchronizer{}
	f.replies = []func(http.ResponseWriter, *http.Request){
		contractReply(t, "org", "test", "20261122.100000.000"),
		status(http.StatusNotModified),
		contractReply(t, "org", "test", "20261122.100001.000"),
	}
	applied := make(chan string, 4)
	stop := runPoller(t, f, applied, noJitter)
	require.Equal(t, "20261122.100000.000", <-applied)
	require.Equal(t, "20261122.100001.000", <-applied)
	stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.GreaterOrEqual(t, len(f.seen), 3)
	require.Equal(t, []string{"", "20261122.100000.000", "20261122.100000.000"}, f.seen[:3])
}

// TestPollerBacksOffAndRecovers: errors (a synchronizer without a contract
// yet, a contract for another environment) are retried; the contract
// that finally comes is applied.
func TestPollerBacksOffAndRecovers(t *testing.T) {
	f := &fakeSynchronizer{}
	f.replies = []func(http.ResponseWriter, *http.Request){
		status(http.StatusServiceUnavailable),
		status(http.StatusInternalServerError),
		contractReply(t, "org", "prod", "20261122.100000.000"), // not ours: ignored
		contractReply(t, "org", "test", "20261122.100002.000"),
	}
	applied := make(chan string, 4)
	stop := runPoller(t, f, applied, noJitter)
	require.Equal(t, "20261122.100002.000", <-applied)
	stop()
	require.Empty(t, applied, "a contract for another environment is never applied")
}

// TestPollerRetryIsCappedAndJittered: a synchronizer that is away for
// many polls (restarting during an outage) is retried at most
// RetryMaxInterval apart, each wait drawn from the jitter source, and a
// success starts the back-off over.
func TestPollerRetryIsCappedAndJittered(t *testing.T) {
	f := &fakeSynchronizer{}
	for range 8 {
		f.replies = append(f.replies, status(http.StatusServiceUnavailable))
	}
	f.replies = append(f.replies, contractReply(t, "org", "test", "20261122.100000.000"))
	var mu sync.Mutex
	var ceilings []int64
	jitter := func(n int64) int64 {
		mu.Lock()
		defer mu.Unlock()
		ceilings = append(ceilings, n)
		return n - 1
	}
	applied := make(chan string, 1)
	stop := runPoller(t, f, applied, jitter)
	require.Equal(t, "20261122.100000.000", <-applied)
	stop()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, ceilings, 8, "one jittered wait per failed poll")
	for _, n := range ceilings {
		// Equal jitter over a ceiling capped at 40ms: the random half is
		// at most 20ms.
		require.LessOrEqual(t, n, int64(20*time.Millisecond)+1)
	}
}
