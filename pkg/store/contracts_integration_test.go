//go:build integration

package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestContractsFirstWriterWins(t *testing.T) {
	s := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := store.NewContracts(s)

	_, err := st.Latest(ctx, org, "test")
	require.ErrorIs(t, err, store.ErrNotFound)

	c1 := &contract.Contract{Organization: org, Environment: "test", Version: "20261122.100000.000"}
	have, err := st.Has(ctx, org, "test", c1.Version)
	require.NoError(t, err)
	require.False(t, have)

	// Two synchronizers (two regions) store the same version at once: one wins.
	var wg sync.WaitGroup
	won := make([]bool, 2)
	for i, by := range []string{"sync-us", "sync-eu"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			won[i], err = st.Put(ctx, c1, by)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.NotEqual(t, won[0], won[1], "exactly one writer wins the lightweight transaction")

	have, err = st.Has(ctx, org, "test", c1.Version)
	require.NoError(t, err)
	require.True(t, have)

	c2 := &contract.Contract{Organization: org, Environment: "test", Version: "20261122.100001.000",
		APIProxies: []contract.Deployment{{Name: "p", Revision: "1", Bundle: []byte("zip")}}}
	stored, err := st.Put(ctx, c2, "sync-us")
	require.NoError(t, err)
	require.True(t, stored)

	latest, err := st.Latest(ctx, org, "test")
	require.NoError(t, err)
	require.Equal(t, c2.Version, latest.Version)
	require.Equal(t, []byte("zip"), latest.APIProxies[0].Bundle)
	old, err := st.Get(ctx, org, "test", c1.Version)
	require.NoError(t, err)
	require.Equal(t, c1.Version, old.Version)
}
