package contract

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/seal"
)

func TestSealKeyBindsAlias(t *testing.T) {
	key, err := seal.NewKey()
	require.NoError(t, err)
	s, err := seal.New(key)
	require.NoError(t, err)
	sealed, err := SealKey(s, "o", "e", "ks", "a", "-----BEGIN PRIVATE KEY-----\nx\n")
	require.NoError(t, err)
	require.NotContains(t, string(sealed), "PRIVATE KEY")
	got, err := OpenKey(s, "o", "e", "ks", "a", sealed)
	require.NoError(t, err)
	require.Equal(t, "-----BEGIN PRIVATE KEY-----\nx\n", got)
	for _, other := range [][4]string{{"o2", "e", "ks", "a"}, {"o", "e2", "ks", "a"}, {"o", "e", "ks2", "a"}, {"o", "e", "ks", "a2"}} {
		_, err := OpenKey(s, other[0], other[1], other[2], other[3], sealed)
		require.ErrorIs(t, err, seal.ErrOpen, "%v", other)
	}
}

func TestReadKeyFile(t *testing.T) {
	key, err := seal.NewKey()
	require.NoError(t, err)
	dir := t.TempDir()
	p := filepath.Join(dir, "k")
	require.NoError(t, os.WriteFile(p, []byte(EncodeKey(key)), 0o600))
	got, err := ReadKeyFile(p)
	require.NoError(t, err)
	require.Equal(t, key, got)

	_, err = ReadKeyFile("")
	require.ErrorContains(t, err, "contractEncryptionKeyPath")
	_, err = ReadKeyFile(filepath.Join(dir, "missing"))
	require.Error(t, err)
	require.NoError(t, os.WriteFile(p, []byte("c2hvcnQ="), 0o600))
	_, err = ReadKeyFile(p)
	require.ErrorContains(t, err, "base64 of 32 bytes")
}
