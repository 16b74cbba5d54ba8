package cassandra

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/secretfile"
)

func TestCredentialsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	want := Credentials{Username: "hybrid", Password: "p4ss=word"}
	require.NoError(t, WriteCredentials(path, want))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	got, err := ReadCredentials(path)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestReadCredentialsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		mode       os.FileMode
		want       string
	}{
		{"world readable", "[PlainTextAuthProvider]\nusername = a\npassword = b\n", 0o644, "chmod 600"},
		{"no password", "[PlainTextAuthProvider]\nusername = a\n", 0o600, "want username and password"},
		{"wrong section", "[other]\nusername = a\npassword = b\n", 0o600, "want username and password"},
		{"not key value", "[PlainTextAuthProvider]\nusername\n", 0o600, ":2: want key = value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials")
			require.NoError(t, os.WriteFile(path, []byte(tc.text), 0o600))
			require.NoError(t, os.Chmod(path, tc.mode))
			_, err := ReadCredentials(path)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := ReadCredentials(filepath.Join(t.TempDir(), "absent"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestConnectReadsCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(path, []byte("[PlainTextAuthProvider]\nusername = a\npassword = b\n"), 0o644))
	cfg := DefaultConfig()
	cfg.CredentialsFile = path
	_, err := Connect(t.Context(), cfg)
	require.ErrorIs(t, err, secretfile.ErrTooOpen, "a credentials file others can read is refused before any connection")
}
