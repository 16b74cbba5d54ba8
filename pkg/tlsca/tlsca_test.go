package tlsca_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

func read(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(tb, err)
	return data
}

func verify(tb testing.TB, m *tlsca.Material, host string, at time.Time) {
	tb.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(m.CA)
	_, err := m.Server.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, CurrentTime: at})
	require.NoError(tb, err, host)
}

func TestEnsure(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m, err := tlsca.Ensure(dir, nil, now)
	require.NoError(t, err)
	require.True(t, m.Issued)
	require.Equal(t, filepath.Join(dir, tlsca.CAFile), m.CAPath)
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		verify(t, m, h, now)
	}
	ca, server, serverKey := read(t, dir, tlsca.CAFile), read(t, dir, tlsca.ServerFile), read(t, dir, tlsca.ServerKeyFile)
	info, err := os.Stat(filepath.Join(dir, tlsca.CAKeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	tests := []struct {
		name        string
		hosts       []string
		now         time.Time
		wantIssued  bool
		extraVerify string
	}{
		{"reuse on restart", nil, now.Add(time.Hour), false, ""},
		{"renew near expiry", nil, now.Add(380 * 24 * time.Hour), true, ""},
		{"new hostname", []string{"api.hybrid.local"}, now.Add(time.Hour), true, "api.hybrid.local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Start each case from the original server certificate.
			require.NoError(t, os.WriteFile(filepath.Join(dir, tlsca.ServerFile), server, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, tlsca.ServerKeyFile), serverKey, 0o600))
			m, err := tlsca.Ensure(dir, tt.hosts, tt.now)
			require.NoError(t, err)
			require.Equal(t, tt.wantIssued, m.Issued)
			require.Equal(t, ca, read(t, dir, tlsca.CAFile), "the CA is never replaced")
			verify(t, m, "localhost", tt.now)
			if tt.extraVerify != "" {
				verify(t, m, tt.extraVerify, tt.now)
			}
		})
	}
}

func TestEnsureRejectsBrokenCA(t *testing.T) {
	dir := t.TempDir()
	_, err := tlsca.Ensure(dir, nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, tlsca.CAFile), []byte("garbage"), 0o644))
	_, err = tlsca.Ensure(dir, nil, time.Now())
	require.ErrorContains(t, err, "CA")
}
