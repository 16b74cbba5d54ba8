package mp

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// groupCerts issues one server certificate per environment group from a
// CA in dir and returns the virtual hosts and the CA pool.
func groupCerts(tb testing.TB, dir string, hosts map[string][]string) ([]VirtualHostTLS, *x509.CertPool) {
	tb.Helper()
	var out []VirtualHostTLS
	for _, g := range []string{"group-a", "group-b"} {
		_, _, err := tlsca.EnsureLeaf(dir, tlsca.Leaf{File: g, CommonName: g, Hosts: hosts[g], Server: true}, time.Now())
		require.NoError(tb, err)
		out = append(out, VirtualHostTLS{Name: g, SSLCertPath: filepath.Join(dir, g+".pem"), SSLKeyPath: filepath.Join(dir, g+"-key.pem")})
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, tlsca.CAFile))
	require.NoError(tb, err)
	pool := x509.NewCertPool()
	require.True(tb, pool.AppendCertsFromPEM(caPEM))
	return out, pool
}

func TestLoadVirtualHostsRefusesBadEntries(t *testing.T) {
	dir := t.TempDir()
	good, _ := groupCerts(t, dir, map[string][]string{"group-a": {"a.example.com"}, "group-b": {"b.example.com"}})
	open := filepath.Join(dir, "open-key.pem")
	key, err := os.ReadFile(good[0].SSLKeyPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(open, key, 0o644))
	tests := []struct {
		name string
		vhs  []VirtualHostTLS
		want string
	}{
		{"none", nil, "virtualHosts lists no certificate"},
		{"no name", []VirtualHostTLS{{SSLCertPath: good[0].SSLCertPath, SSLKeyPath: good[0].SSLKeyPath}}, "virtualHosts[0]: name (the environment group) is required"},
		{"same group twice", []VirtualHostTLS{good[0], good[0]}, "virtualHosts[1] (group-a): a second certificate"},
		{"no key", []VirtualHostTLS{{Name: "g", SSLCertPath: good[0].SSLCertPath}}, "sslCertPath and sslKeyPath are both required"},
		{"missing certificate file", []VirtualHostTLS{{Name: "g", SSLCertPath: filepath.Join(dir, "nope.pem"), SSLKeyPath: good[0].SSLKeyPath}}, "virtualHosts[0] (g): sslCertPath: open"},
		{"key readable by others", []VirtualHostTLS{{Name: "g", SSLCertPath: good[0].SSLCertPath, SSLKeyPath: open}}, "readable by group or others"},
		{"key of another certificate", []VirtualHostTLS{{Name: "g", SSLCertPath: good[0].SSLCertPath, SSLKeyPath: good[1].SSLKeyPath}}, "private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadVirtualHosts(tt.vhs)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// Each group's certificate answers for its own hostnames; a name no
// virtual host covers fails the handshake; the handler sees the TLS
// connection through the framing guard.
func TestServerTLSPicksTheGroupsCertificate(t *testing.T) {
	vhCfg, pool := groupCerts(t, t.TempDir(), map[string][]string{"group-a": {"a.example.com"}, "group-b": {"b.example.com", "*.b.example.com"}})
	vhs, err := loadVirtualHosts(vhCfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gln, gh := guardTraffic(tls.NewListener(ln, serverTLS(vhs)), withTLSState(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NotNil(t, r.TLS, "the handler sees the TLS connection")
		_, _ = w.Write([]byte(r.TLS.ServerName))
	})))
	srv := &http.Server{Handler: gh, ReadHeaderTimeout: time.Second}
	keepTLSConn(srv)
	go func() { _ = srv.Serve(gln) }()
	t.Cleanup(func() { _ = srv.Close() })

	tests := []struct {
		serverName string
		wantCN     string
		wantErr    string
	}{
		{"a.example.com", "group-a", ""},
		{"b.example.com", "group-b", ""},
		{"api.b.example.com", "group-b", ""},
		{"c.example.com", "", "remote error"},
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: tt.serverName},
				DialContext:     (&net.Dialer{}).DialContext,
			}}
			defer client.CloseIdleConnections()
			req, err := http.NewRequest(http.MethodGet, "https://"+ln.Addr().String()+"/", nil)
			require.NoError(t, err)
			req.Host = tt.serverName
			resp, err := client.Do(req)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tt.wantCN, resp.TLS.PeerCertificates[0].Subject.CommonName)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
}

// The YAML hybridctl apply -f writes for overrides' virtualhosts with
// certificates (cmd/hybridctl TestRuntimeTLSConfig) is this config.
func TestTrafficTLSConfigFromOverrides(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runtime-tls.yaml")
	require.NoError(t, os.WriteFile(path, []byte("trafficTLS:\n    listen: 127.0.0.1:9443\n    virtualHosts:\n        - name: g1\n          sslCertPath: /work/certs/g1.pem\n          sslKeyPath: /keys/g1.key\n"), 0o600))
	cfg := DefaultConfig()
	require.NoError(t, service.LoadConfig("runtime", "HYBRID_RUNTIME_TEST", []string{"--config", path}, &cfg))
	require.Equal(t, TrafficTLSConfig{Listen: "127.0.0.1:9443",
		VirtualHosts: []VirtualHostTLS{{Name: "g1", SSLCertPath: "/work/certs/g1.pem", SSLKeyPath: "/keys/g1.key"}}}, cfg.TrafficTLS)
}
