package tlsca_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

func TestRuntimePKIMutualTLS(t *testing.T) {
	now := time.Now()
	p, err := tlsca.EnsureRuntimePKI(t.TempDir(), []string{"synchronizer"}, now)
	require.NoError(t, err)
	for _, f := range []string{p.SynchronizerKey(), p.RuntimeKey(), filepath.Join(p.Dir, tlsca.CAKeyFile)} {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	before, err := os.ReadFile(p.RuntimeCert())
	require.NoError(t, err)
	again, err := tlsca.EnsureRuntimePKI(p.Dir, []string{"synchronizer"}, now)
	require.NoError(t, err)
	after, err := os.ReadFile(again.RuntimeCert())
	require.NoError(t, err)
	require.Equal(t, before, after, "certificates are reused while good")

	serverConf, err := tlsca.MutualTLSServer(p.SynchronizerCert(), p.SynchronizerKey(), p.CA(), []string{tlsca.RuntimeIdentity})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, tlsca.Identity(r.TLS.PeerCertificates[0], []string{tlsca.RuntimeIdentity}))
	}))
	srv.TLS = serverConf
	srv.StartTLS()
	t.Cleanup(srv.Close)

	get := func(conf *tls.Config) (string, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
		defer c.CloseIdleConnections()
		resp, err := c.Get(srv.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	runtime, err := tlsca.MutualTLSClient(p.CA(), p.RuntimeCert(), p.RuntimeKey())
	require.NoError(t, err)
	got, err := get(runtime)
	require.NoError(t, err)
	require.Equal(t, tlsca.RuntimeIdentity, got)

	// No client certificate.
	noCert := runtime.Clone()
	noCert.Certificates = nil
	_, err = get(noCert)
	require.Error(t, err)

	// A runtime certificate from another CA.
	other, err := tlsca.EnsureRuntimePKI(t.TempDir(), nil, now)
	require.NoError(t, err)
	foreign, err := tlsca.MutualTLSClient(p.CA(), other.RuntimeCert(), other.RuntimeKey())
	require.NoError(t, err)
	_, err = get(foreign)
	require.Error(t, err)

	// The right CA but another identity.
	_, _, err = tlsca.EnsureLeaf(p.Dir, tlsca.Leaf{File: "intruder", CommonName: "apigee-watcher", Client: true}, now)
	require.NoError(t, err)
	intruder, err := tlsca.MutualTLSClient(p.CA(), filepath.Join(p.Dir, "intruder.pem"), filepath.Join(p.Dir, "intruder-key.pem"))
	require.NoError(t, err)
	_, err = get(intruder)
	require.Error(t, err)

	_, err = tlsca.MutualTLSServer("", "", "", nil)
	require.Error(t, err)
	_, err = tlsca.MutualTLSServer(p.SynchronizerCert(), p.SynchronizerKey(), p.CA(), nil)
	require.Error(t, err)
}
