//go:build integration

package e2e

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
)

// The project's Cassandra is not open to other local users: CQL demands
// the login scripts/cassandra.sh generated (kept in a 0600 file), the
// well-known default superuser no longer logs in, and the node's data,
// commit log and credentials are readable only by their owner.
func TestCassandraRequiresTheGeneratedLogin(t *testing.T) {
	require.NotEmpty(t, h.CassandraCredentials, "make test runs Cassandra with PasswordAuthenticator and hands the tests its credentials file")
	fi, err := os.Stat(h.CassandraCredentials)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	connect := func(username, password string) error {
		cfg := cassandra.DefaultConfig()
		cfg.Hosts, cfg.Port, cfg.Username, cfg.Password = []string{h.CassandraHost}, h.CassandraPort, username, password
		cfg.StartupWait = 0 // one attempt
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := cassandra.Connect(ctx, cfg)
		if err == nil {
			s.Close()
		}
		return err
	}
	creds, err := cassandra.ReadCredentials(h.CassandraCredentials)
	require.NoError(t, err)
	require.NoError(t, connect(creds.Username, creds.Password), "the generated login works")
	for _, tc := range []struct{ name, user, password string }{
		{"no credentials", "", ""},
		{"default superuser", cassandra.DefaultSuperuser, cassandra.DefaultSuperuser},
		{"wrong password", creds.Username, creds.Password + "x"},
	} {
		err := connect(tc.user, tc.password)
		require.Error(t, err, tc.name)
		require.Regexp(t, `(?i)authenticat|password|not allowed to log in`, err.Error(), tc.name)
	}
}

func TestCassandraFilesAreOwnerOnly(t *testing.T) {
	out, err := exec.Command(filepath.Join(h.Root, "scripts", "cassandra.sh"), "env").Output()
	require.NoError(t, err)
	var nodeDir string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "CASSANDRA_RUN_DIR="); ok {
			nodeDir = v
		}
	}
	require.NotEmpty(t, nodeDir)
	fi, err := os.Stat(nodeDir)
	require.NoError(t, err, "the project's node runs from %s", nodeDir)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), nodeDir)
	var files int
	require.NoError(t, filepath.WalkDir(nodeDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // Cassandra replaces files as it runs
			}
			return err
		}
		info, err := d.Info()
		if os.IsNotExist(err) {
			return nil
		}
		require.NoError(t, err)
		files++
		require.Zero(t, info.Mode().Perm()&0o077, "%s is %04o", path, info.Mode().Perm())
		return nil
	}))
	require.Greater(t, files, 10, "the walk saw the node's data")
}
