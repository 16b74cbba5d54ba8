package googletoken

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
)

// clock is the cache's clock in tests: it moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeMinter numbers the tokens it mints ("<kind>-<n>"); lifetime is the
// access token's (default one hour), ID tokens live an hour. gate, when
// set, holds every mint until it is closed; fail makes mints fail.
type fakeMinter struct {
	clk   *clock
	calls atomic.Int32
	gate  chan struct{}
	fail  atomic.Bool
}

func (f *fakeMinter) mint(kind string, lifetime time.Duration) (cpclient.Token, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if f.fail.Load() {
		return cpclient.Token{}, errors.New("HTTP 403: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
	}
	if lifetime == 0 {
		lifetime = time.Hour
	}
	return cpclient.Token{Value: fmt.Sprintf("%s-%d", kind, n), Expiry: f.clk.Now().Add(lifetime)}, nil
}

func (f *fakeMinter) GenerateAccessToken(_ context.Context, _ string, _ []string, lifetime time.Duration) (cpclient.Token, error) {
	return f.mint("access", lifetime)
}

func (f *fakeMinter) GenerateIDToken(context.Context, string, string, bool) (cpclient.Token, error) {
	return f.mint("id", 0)
}

func newCache(tb testing.TB) (*Cache, *fakeMinter, *clock) {
	tb.Helper()
	clk := &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	m := &fakeMinter{clk: clk}
	return New(m, clk.Now), m, clk
}

const sa = "proxy@hybrid.iam.gserviceaccount.com"

var cloudPlatform = []string{"https://www.googleapis.com/auth/cloud-platform"}

func TestCacheKeepsTokensUntilNearExpiry(t *testing.T) {
	type step struct {
		advance time.Duration
		get     func(ctx context.Context, c *Cache) (string, error)
		want    string
	}
	access := func(scopes []string, lifetime time.Duration) func(context.Context, *Cache) (string, error) {
		return func(ctx context.Context, c *Cache) (string, error) { return c.AccessToken(ctx, sa, scopes, lifetime) }
	}
	id := func(aud string, email bool) func(context.Context, *Cache) (string, error) {
		return func(ctx context.Context, c *Cache) (string, error) { return c.IDToken(ctx, sa, aud, email) }
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"reused within the hour, replaced 5 minutes before expiry", []step{
			{0, access(cloudPlatform, 0), "access-1"},
			{54 * time.Minute, access(cloudPlatform, 0), "access-1"},
			{59*time.Second + time.Second, access(cloudPlatform, 0), "access-2"},
			{time.Minute, access(cloudPlatform, 0), "access-2"},
		}},
		{"scopes in any order are one token", []step{
			{0, access([]string{"b", "a"}, 0), "access-1"},
			{0, access([]string{"a", "b"}, 0), "access-1"},
			{0, access([]string{"a"}, 0), "access-2"},
		}},
		{"another lifetime is another token", []step{
			{0, access(cloudPlatform, 0), "access-1"},
			{0, access(cloudPlatform, 30*time.Minute), "access-2"},
			{0, access(cloudPlatform, 30*time.Minute), "access-2"},
		}},
		{"a short token is replaced at half its life", []step{
			{0, access(cloudPlatform, 4*time.Minute), "access-1"},
			{119 * time.Second, access(cloudPlatform, 4*time.Minute), "access-1"},
			{time.Second, access(cloudPlatform, 4*time.Minute), "access-2"},
		}},
		{"ID tokens per audience and includeEmail", []step{
			{0, id("https://a.example", false), "id-1"},
			{0, id("https://a.example", false), "id-1"},
			{0, id("https://b.example", false), "id-2"},
			{0, id("https://a.example", true), "id-3"},
			{56 * time.Minute, id("https://a.example", false), "id-4"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, clk := newCache(t)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				got, err := s.get(context.Background(), c)
				require.NoError(t, err)
				require.Equal(t, s.want, got, "step %d", i)
			}
		})
	}
}

func TestCacheDoesNotRememberFailures(t *testing.T) {
	c, m, _ := newCache(t)
	m.fail.Store(true)
	_, err := c.AccessToken(context.Background(), sa, cloudPlatform, 0)
	require.ErrorContains(t, err, "getAccessToken' denied")
	require.Zero(t, c.Len())
	m.fail.Store(false)
	tok, err := c.AccessToken(context.Background(), sa, cloudPlatform, 0)
	require.NoError(t, err)
	require.Equal(t, "access-2", tok)
}

func TestCacheSharesOneMint(t *testing.T) {
	c, m, _ := newCache(t)
	m.gate = make(chan struct{})
	const n = 20
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = c.AccessToken(context.Background(), sa, cloudPlatform, 0)
		}()
	}
	// Every goroutine is either minting or waiting on the one mint.
	require.Eventually(t, func() bool { return m.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(m.gate)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, "access-1", got[i])
	}
	require.EqualValues(t, 1, m.calls.Load())
}

func TestCacheServesTheOldTokenDuringARefresh(t *testing.T) {
	c, m, clk := newCache(t)
	tok, err := c.AccessToken(context.Background(), sa, cloudPlatform, 0)
	require.NoError(t, err)
	require.Equal(t, "access-1", tok)

	clk.Advance(56 * time.Minute) // due for refresh, still valid
	m.gate = make(chan struct{})
	done := make(chan string)
	go func() {
		tok, _ := c.AccessToken(context.Background(), sa, cloudPlatform, 0)
		done <- tok
	}()
	require.Eventually(t, func() bool { return m.calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	// While the refresh is in flight, others get the old token at once.
	tok, err = c.AccessToken(context.Background(), sa, cloudPlatform, 0)
	require.NoError(t, err)
	require.Equal(t, "access-1", tok)
	close(m.gate)
	require.Equal(t, "access-2", <-done)
}

func TestCacheWaiterGivesUpWithItsContext(t *testing.T) {
	c, m, _ := newCache(t)
	m.gate = make(chan struct{})
	go func() { _, _ = c.AccessToken(context.Background(), sa, cloudPlatform, 0) }()
	require.Eventually(t, func() bool { return m.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.AccessToken(ctx, sa, cloudPlatform, 0)
	require.ErrorIs(t, err, context.Canceled)
	close(m.gate)
}

func TestCacheIsBounded(t *testing.T) {
	c, _, clk := newCache(t)
	c.maxEntries = 3
	for i := range 10 {
		_, err := c.IDToken(context.Background(), sa, "https://aud"+strings.Repeat("x", i), false)
		require.NoError(t, err)
		require.LessOrEqual(t, c.Len(), 3)
	}
	// Expired tokens go first.
	clk.Advance(2 * time.Hour)
	_, err := c.IDToken(context.Background(), sa, "https://new", false)
	require.NoError(t, err)
	require.Equal(t, 1, c.Len())
}
