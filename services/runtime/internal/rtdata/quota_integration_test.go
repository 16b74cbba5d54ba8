//go:build integration

package rtdata

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
)

// Two independent counter stores (two message processors) over one
// Cassandra enforce one exact synchronous count under concurrency.
func TestQuotaSyncExactAcrossStores(t *testing.T) {
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	now := time.Now()
	clock := func() time.Time { return now }
	mps := []*QuotaStore{NewQuotaStore(session, org, clock), NewQuotaStore(session, org, clock)}
	key := CounterKey{Env: "test", Proxy: "p", Policy: "Q", Identifier: "_default"}
	slice := now.Truncate(time.Minute).UnixMilli()
	op := QuotaOp{Key: key, Mode: QuotaSync, Slice: slice, Expires: now.Add(time.Minute), Weight: 1, Limit: 37, Count: true, Enforce: true}

	var allowed, rejected atomic.Int64
	var wg sync.WaitGroup
	for _, mp := range mps {
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				res, err := mp.Apply(ctx, op)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					allowed.Add(1)
				} else {
					rejected.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	require.EqualValues(t, 37, allowed.Load())
	require.EqualValues(t, 63, rejected.Load())

	ctx := context.Background()
	// Both see the same exhausted count.
	for _, mp := range mps {
		res, err := mp.Apply(ctx, op)
		require.NoError(t, err)
		require.False(t, res.Allowed)
		require.EqualValues(t, 37, res.Used)
	}
	// ResetQuota-style adjustment on one MP frees room on the other.
	require.NoError(t, mps[0].Adjust(ctx, QuotaSync, key, []int64{slice}, 2, op.Expires))
	res, err := mps[1].Apply(ctx, op)
	require.NoError(t, err)
	require.True(t, res.Allowed)
	require.EqualValues(t, 36, res.Used)

	// A full reset (the control plane's) clears it for both.
	require.NoError(t, ResetQuotaCounter(ctx, session, org, key))
	res, err = mps[0].Apply(ctx, op)
	require.NoError(t, err)
	require.True(t, res.Allowed)
	require.EqualValues(t, 1, res.Used)
}

// Async counting: each MP decides locally and syncs its delta once its
// view is older than the interval.
func TestQuotaAsyncSyncsDeltas(t *testing.T) {
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, b := NewQuotaStore(session, org, clock), NewQuotaStore(session, org, clock)
	key := CounterKey{Env: "test", Proxy: "p", Policy: "Q", Identifier: "x"}
	slice := now.Truncate(time.Hour).UnixMilli()
	op := QuotaOp{Key: key, Mode: QuotaAsync, Slice: slice, Expires: now.Add(time.Hour), Weight: 1, Limit: 10, Count: true, Enforce: true, SyncInterval: 10 * time.Second}
	ctx := context.Background()
	for range 4 {
		res, err := a.Apply(ctx, op)
		require.NoError(t, err)
		require.True(t, res.Allowed)
	}
	// b has not seen a's requests yet.
	res, err := b.Apply(ctx, op)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Used)
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	res, err = a.Apply(ctx, op) // a flushes 4, sees b's 0 pending (b flushed nothing yet)
	require.NoError(t, err)
	require.EqualValues(t, 5, res.Used)
	res, err = b.Apply(ctx, op) // b flushes its 1, sees a's 4
	require.NoError(t, err)
	require.EqualValues(t, 6, res.Used)

	// SyncMessageCount: a syncs once it has counted 2 since its last sync.
	op.Key.Identifier, op.SyncCount = "y", 2
	for range 2 {
		_, err := a.Apply(ctx, op)
		require.NoError(t, err)
	}
	shared, _, err := a.readRow(ctx, op.Key, slice)
	require.NoError(t, err)
	require.Zero(t, shared, "not synced yet")
	_, err = a.Apply(ctx, op)
	require.NoError(t, err)
	shared, _, err = a.readRow(ctx, op.Key, slice)
	require.NoError(t, err)
	require.EqualValues(t, 2, shared, "synced before the third")
}

// Rolling windows in Cassandra: slices of the window add up across MPs
// and leave the window as time goes by.
func TestQuotaSyncRolling(t *testing.T) {
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	var mu sync.Mutex
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, b := NewQuotaStore(session, org, clock), NewQuotaStore(session, org, clock)
	key := CounterKey{Env: "test", Proxy: "p", Policy: "R", Identifier: "_default"}
	ctx := context.Background()
	apply := func(s *QuotaStore) QuotaResult {
		t.Helper()
		n := clock()
		op := QuotaOp{Key: key, Mode: QuotaSync, Slice: n.UnixMilli(), Since: n.Add(-time.Minute).UnixMilli(), Expires: n.Add(2 * time.Minute),
			Weight: 1, Limit: 2, Count: true, Enforce: true}
		res, err := s.Apply(ctx, op)
		require.NoError(t, err)
		return res
	}
	require.True(t, apply(a).Allowed)
	mu.Lock()
	now = now.Add(30 * time.Second)
	mu.Unlock()
	require.True(t, apply(b).Allowed)
	res := apply(a)
	require.False(t, res.Allowed)
	require.EqualValues(t, 2, res.Used)
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	res = apply(b)
	require.True(t, res.Allowed)
	require.EqualValues(t, 2, res.Used)
}

// A flexi window's anchor is shared: the first request on any MP starts it.
func TestQuotaAnchorShared(t *testing.T) {
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, b := NewQuotaStore(session, org, clock), NewQuotaStore(session, org, clock)
	key := CounterKey{Env: "test", Proxy: "p", Policy: "F", Identifier: "_default"}
	ctx := context.Background()
	first, err := a.Anchor(ctx, QuotaSync, key, time.Minute)
	require.NoError(t, err)
	mu.Lock()
	now = now.Add(10 * time.Second)
	mu.Unlock()
	got, err := b.Anchor(ctx, QuotaSync, key, time.Minute)
	require.NoError(t, err)
	require.Equal(t, first, got)
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	next, err := b.Anchor(ctx, QuotaSync, key, time.Minute)
	require.NoError(t, err)
	require.Equal(t, now.UnixMilli(), next)
	got, err = a.Anchor(ctx, QuotaSync, key, time.Minute)
	require.NoError(t, err)
	require.Equal(t, next, got)
}
