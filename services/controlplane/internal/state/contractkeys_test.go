package state

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestContractKeyIsMadeOnceAndPrivate(t *testing.T) {
	s, err := Open(t.TempDir(), time.Now)
	require.NoError(t, err)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := s.ContractKey("org1")
			require.NoError(t, err)
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		require.Equal(t, keys[0], k, "concurrent first calls agree on one key")
	}
	require.Len(t, keys[0], 32)
	fi, err := os.Stat(s.ContractKeyPath("org1"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := s.ContractKey("org1")
	require.NoError(t, err)
	require.Equal(t, keys[0], again)
	other, err := s.ContractKey("org2")
	require.NoError(t, err)
	require.NotEqual(t, keys[0], other, "one key per org")

	require.NoError(t, os.WriteFile(s.ContractKeyPath("org1"), []byte("garbage"), 0o600))
	_, err = s.ContractKey("org1")
	require.Error(t, err, "a damaged key is reported, never silently replaced")
}
