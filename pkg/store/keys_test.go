package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestEncryptionKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	keys, err := store.GenerateEncryptionKeys()
	require.NoError(t, err)
	require.NotEqual(t, keys.KMS, keys.KVM)
	require.NoError(t, store.WriteEncryptionKeys(path, keys))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	got, err := store.ReadEncryptionKeys(path)
	require.NoError(t, err)
	require.Equal(t, keys, got)
}

func TestReadEncryptionKeysRefuses(t *testing.T) {
	good := "kmsEncryptionKey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nkvmEncryptionKey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	for _, tc := range []struct {
		name, text string
		mode       os.FileMode
		want       string
	}{
		{"readable by others", good, 0o644, "chmod 600"},
		{"missing kvm key", "kmsEncryptionKey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0o600, "kvmEncryptionKey: want base64 of 32 bytes"},
		{"short key", "kmsEncryptionKey: AAAA\nkvmEncryptionKey: AAAA\n", 0o600, "kmsEncryptionKey: want base64 of 32 bytes"},
		{"not base64", "kmsEncryptionKey: '***'\nkvmEncryptionKey: '***'\n", 0o600, "kmsEncryptionKey: want base64"},
		{"unknown field", good + "cacheKey: x\n", 0o600, "field cacheKey not found"},
		{"not yaml", "[", 0o600, "keys.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o600))
			require.NoError(t, os.Chmod(path, tc.mode))
			_, err := store.ReadEncryptionKeys(path)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := store.ReadEncryptionKeys("")
	require.Error(t, err)
}
