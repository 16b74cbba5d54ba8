//go:build integration

package rtdata

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

type cacheTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *cacheTestClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *cacheTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// twoMPs are two message processors' cache views of one organization.
func twoMPs(t *testing.T) (mp1, mp2 *Caches, clk *cacheTestClock, ctx context.Context) {
	t.Helper()
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	clk = &cacheTestClock{now: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return New(session, org, Options{Now: clk.Now}).Caches(), New(session, org, Options{Now: clk.Now}).Caches(), clk, ctx
}

func requireHit(t *testing.T, ctx context.Context, c *Caches, key, want string) {
	t.Helper()
	v, hit, err := c.Get(ctx, "test", "", key)
	require.NoError(t, err)
	require.True(t, hit, "%s should hit", key)
	require.Equal(t, want, string(v))
}

func requireMiss(t *testing.T, ctx context.Context, c *Caches, key string) {
	t.Helper()
	_, hit, err := c.Get(ctx, "test", "", key)
	require.NoError(t, err)
	require.False(t, hit, "%s should miss", key)
}

func TestCachesShareEntriesAndBoundStaleness(t *testing.T) {
	mp1, mp2, clk, ctx := twoMPs(t)
	shared, err := mp1.Put(ctx, "test", "", "k", []byte("v1"), clk.Now().Add(time.Minute))
	require.NoError(t, err)
	require.True(t, shared)
	requireHit(t, ctx, mp2, "k", "v1")

	// An overwrite on MP2 is MP1's within L1TTL.
	_, err = mp2.Put(ctx, "test", "", "k", []byte("v2"), clk.Now().Add(time.Minute))
	require.NoError(t, err)
	requireHit(t, ctx, mp1, "k", "v1")
	clk.Advance(L1TTL)
	requireHit(t, ctx, mp1, "k", "v2")

	// Invalidate on MP1: MP1 at once, MP2 within L1TTL.
	requireHit(t, ctx, mp2, "k", "v2")
	require.NoError(t, mp1.Invalidate(ctx, "test", "", "k", false))
	requireMiss(t, ctx, mp1, "k")
	requireHit(t, ctx, mp2, "k", "v2")
	clk.Advance(L1TTL)
	requireMiss(t, ctx, mp2, "k")

	// A miss is not remembered: populating after it is seen at once.
	_, err = mp1.Put(ctx, "test", "", "k", []byte("v3"), clk.Now().Add(time.Minute))
	require.NoError(t, err)
	requireHit(t, ctx, mp2, "k", "v3")

	// Expiry holds in both levels.
	clk.Advance(time.Minute)
	requireMiss(t, ctx, mp1, "k")
	requireMiss(t, ctx, mp2, "k")
}

func TestCachesLimits(t *testing.T) {
	mp1, mp2, clk, ctx := twoMPs(t)
	exp := clk.Now().Add(time.Minute)

	// Over 256 KB: this MP's memory only, as Apigee documents.
	big := strings.Repeat("x", store.MaxCacheValueBytes+1)
	shared, err := mp1.Put(ctx, "test", "", "big", []byte(big), exp)
	require.NoError(t, err)
	require.False(t, shared)
	requireHit(t, ctx, mp1, "big", big)
	requireMiss(t, ctx, mp2, "big")
	clk.Advance(L1TTL)
	requireMiss(t, ctx, mp1, "big")

	// Over 2 KB of key: never cached.
	long := strings.Repeat("k", store.MaxCacheKeyBytes+1)
	shared, err = mp1.Put(ctx, "test", "", long, []byte("v"), exp)
	require.NoError(t, err)
	require.False(t, shared)
	requireMiss(t, ctx, mp1, long)
	require.NoError(t, mp1.Invalidate(ctx, "test", "", long, true))

	// An expiry already past stores nothing.
	shared, err = mp1.Put(ctx, "test", "", "past", []byte("v"), clk.Now())
	require.NoError(t, err)
	require.False(t, shared)
	requireMiss(t, ctx, mp1, "past")
}

func TestCachesPurgeAndClear(t *testing.T) {
	mp1, mp2, clk, ctx := twoMPs(t)
	exp := clk.Now().Add(time.Minute)
	for _, k := range []string{"p__a", "p__a__1", "p__a__1__x", "p__ab"} {
		_, err := mp1.Put(ctx, "test", "", k, []byte(k), exp)
		require.NoError(t, err)
		requireHit(t, ctx, mp2, k, k)
	}
	require.NoError(t, mp2.Invalidate(ctx, "test", "", "p__a", true))
	for _, k := range []string{"p__a", "p__a__1", "p__a__1__x"} {
		requireMiss(t, ctx, mp2, k)
	}
	requireHit(t, ctx, mp2, "p__ab", "p__ab")

	_, err := mp1.Put(ctx, "test", "named", "n", []byte("n"), exp)
	require.NoError(t, err)
	v, hit, err := mp2.Get(ctx, "test", "named", "n")
	require.NoError(t, err)
	require.True(t, hit)
	require.Equal(t, "n", string(v))
	require.NoError(t, mp2.Clear(ctx, "test", "named"))
	_, hit, err = mp2.Get(ctx, "test", "named", "n")
	require.NoError(t, err)
	require.False(t, hit)
	requireHit(t, ctx, mp2, "p__ab", "p__ab")
}
