//go:build integration

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestLeases(t *testing.T) {
	ctx := context.Background()
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	leases := store.NewLeases(session, org)

	held, holder, err := leases.Acquire(ctx, "watcher/a", "w1", 2*time.Second)
	require.NoError(t, err)
	require.True(t, held)
	require.Equal(t, "w1", holder)

	held, holder, err = leases.Acquire(ctx, "watcher/a", "w2", 2*time.Second)
	require.NoError(t, err)
	require.False(t, held, "a second member must not take a held lease")
	require.Equal(t, "w1", holder)

	held, _, err = leases.Acquire(ctx, "watcher/a", "w1", 2*time.Second)
	require.NoError(t, err)
	require.True(t, held, "the holder renews its own lease")

	held, _, err = leases.Acquire(ctx, "watcher/b", "w2", 2*time.Second)
	require.NoError(t, err)
	require.True(t, held, "leases are independent by name")

	require.NoError(t, leases.Release(ctx, "watcher/a", "w2"), "releasing a lease one does not hold is a no-op")
	held, _, err = leases.Acquire(ctx, "watcher/a", "w2", 2*time.Second)
	require.NoError(t, err)
	require.False(t, held)

	require.NoError(t, leases.Release(ctx, "watcher/a", "w1"))
	held, _, err = leases.Acquire(ctx, "watcher/a", "w2", time.Second)
	require.NoError(t, err)
	require.True(t, held, "a released lease is free at once")

	// Not renewed: the term runs out and another member takes it.
	require.Eventually(t, func() bool {
		held, _, err := leases.Acquire(ctx, "watcher/a", "w3", time.Second)
		return err == nil && held
	}, 10*time.Second, 100*time.Millisecond)
}

func TestContractDownloadClaim(t *testing.T) {
	ctx := context.Background()
	session := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, session)
	contracts := store.NewContracts(session)
	const v = "20261205.030000.000"

	held, holder, err := contracts.ClaimDownload(ctx, org, "test", v, "region-1/a", time.Minute)
	require.NoError(t, err)
	require.True(t, held)
	require.Equal(t, "region-1/a", holder)
	held, holder, err = contracts.ClaimDownload(ctx, org, "test", v, "region-2/b", time.Minute)
	require.NoError(t, err)
	require.False(t, held, "the second synchronizer waits for the first")
	require.Equal(t, "region-1/a", holder)
	held, _, err = contracts.ClaimDownload(ctx, org, "test", v, "region-1/a", time.Minute)
	require.NoError(t, err)
	require.True(t, held, "the claimant's own retry keeps its claim")
	held, _, err = contracts.ClaimDownload(ctx, org, "test", "20261205.030001.000", "region-2/b", time.Minute)
	require.NoError(t, err)
	require.True(t, held, "claims are per version")
}
