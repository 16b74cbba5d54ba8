//go:build integration

package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// cacheClock is a settable clock for entry expiry.
type cacheClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *cacheClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *cacheClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newCaches(t *testing.T) (*env, *store.Caches, *cacheClock) {
	t.Helper()
	e := setup(t)
	clk := &cacheClock{now: time.Now()}
	c := store.NewCaches(e.s)
	c.Now = clk.Now
	return e, c, clk
}

func TestCachePutGetExpire(t *testing.T) {
	e, c, clk := newCaches(t)
	require.NoError(t, c.Put(e.ctx, e.org, "test", "", "o__test__k", []byte("v1"), clk.Now().Add(10*time.Second)))

	got, err := c.Get(e.ctx, e.org, "test", "", "o__test__k")
	require.NoError(t, err)
	require.Equal(t, []byte("v1"), got.Value)
	require.WithinDuration(t, clk.Now().Add(10*time.Second), got.ExpiresAt, time.Millisecond)

	// Caches and environments are separate namespaces.
	for _, where := range [][2]string{{"test", "named"}, {"prod", ""}} {
		_, err := c.Get(e.ctx, e.org, where[0], where[1], "o__test__k")
		require.ErrorIs(t, err, store.ErrNotFound, "%v", where)
	}

	// The row carries a TTL a little past the expiry, so Cassandra
	// reclaims it without a delete.
	var ttl int
	require.NoError(t, e.s.Query(fmt.Sprintf(`SELECT TTL(value) FROM %s.%s WHERE env = ? AND cache = ? AND key = ?`,
		cassandra.Keyspace("kms", e.org), store.CacheEntriesTable), "test", "", []byte("o__test__k")).Scan(&ttl))
	require.Greater(t, ttl, 10)
	require.LessOrEqual(t, ttl, 71)

	clk.Advance(9 * time.Second)
	_, err = c.Get(e.ctx, e.org, "test", "", "o__test__k")
	require.NoError(t, err)
	clk.Advance(time.Second)
	_, err = c.Get(e.ctx, e.org, "test", "", "o__test__k")
	require.ErrorIs(t, err, store.ErrNotFound, "expired by the reader's clock")

	// Overwrite renews.
	require.NoError(t, c.Put(e.ctx, e.org, "test", "", "o__test__k", []byte("v2"), clk.Now().Add(time.Minute)))
	got, err = c.Get(e.ctx, e.org, "test", "", "o__test__k")
	require.NoError(t, err)
	require.Equal(t, []byte("v2"), got.Value)
}

func TestCacheLimits(t *testing.T) {
	e, c, clk := newCaches(t)
	exp := clk.Now().Add(time.Minute)
	tests := []struct {
		name  string
		env   string
		key   string
		value []byte
		exp   time.Time
		want  string
	}{
		{"value over 256 KB", "test", "k", make([]byte, store.MaxCacheValueBytes+1), exp, "exceeds the limit of 262144 bytes"},
		{"key over 2 KB", "test", strings.Repeat("k", store.MaxCacheKeyBytes+1), []byte("v"), exp, "exceeds the limit of 2048 bytes"},
		{"empty key", "test", "", []byte("v"), exp, "must not be empty"},
		{"no environment", "", "k", []byte("v"), exp, "needs an environment"},
		{"already expired", "test", "k", []byte("v"), clk.Now(), "would expire before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Put(e.ctx, e.org, tt.env, "", tt.key, tt.value, tt.exp)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.ErrorContains(t, err, tt.want)
		})
	}
	// At the limits exactly, entries are taken.
	require.NoError(t, c.Put(e.ctx, e.org, "test", "", strings.Repeat("k", store.MaxCacheKeyBytes), make([]byte, store.MaxCacheValueBytes), exp))
	// An expiry past 30 days is cut to 30 days.
	require.NoError(t, c.Put(e.ctx, e.org, "test", "", "long", []byte("v"), clk.Now().Add(365*24*time.Hour)))
	got, err := c.Get(e.ctx, e.org, "test", "", "long")
	require.NoError(t, err)
	require.WithinDuration(t, clk.Now().Add(store.MaxCacheTTL), got.ExpiresAt, time.Millisecond)
}

func TestCacheDeletePrefixAndClear(t *testing.T) {
	e, c, clk := newCaches(t)
	exp := clk.Now().Add(time.Minute)
	keys := []string{"p__user", "p__user__1", "p__user__1__a", "p__user_x", "p__users", "q__user__1"}
	for _, cache := range []string{"", "named"} {
		for _, k := range keys {
			require.NoError(t, c.Put(e.ctx, e.org, "test", cache, k, []byte(k), exp))
		}
	}
	present := func(cache string) []string {
		var out []string
		for _, k := range keys {
			if _, err := c.Get(e.ctx, e.org, "test", cache, k); err == nil {
				out = append(out, k)
			} else {
				require.ErrorIs(t, err, store.ErrNotFound)
			}
		}
		return out
	}

	require.NoError(t, c.Delete(e.ctx, e.org, "test", "", "p__user"))
	require.NoError(t, c.Delete(e.ctx, e.org, "test", "", "never-there"))
	require.Equal(t, []string{"p__user__1", "p__user__1__a", "p__user_x", "p__users", "q__user__1"}, present(""))

	// "p__user__" takes the children of p__user, not its siblings.
	require.NoError(t, c.DeletePrefix(e.ctx, e.org, "test", "", "p__user__"))
	require.Equal(t, []string{"p__user_x", "p__users", "q__user__1"}, present(""))
	require.Equal(t, keys, present("named"), "another cache is untouched")

	// Clearing a named cache (MART's caches.delete) empties it alone.
	require.NoError(t, e.kms.ClearCache(e.ctx, e.org, "test", "named"))
	require.Empty(t, present("named"))
	require.Equal(t, []string{"p__user_x", "p__users", "q__user__1"}, present(""))
	require.ErrorIs(t, e.kms.ClearCache(e.ctx, e.org, "test", ""), store.ErrInvalid, "the shared default cache has no name to clear")
}
