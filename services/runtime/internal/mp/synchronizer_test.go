package mp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

func TestSynchronizerClientPresentsRuntimeCertificate(t *testing.T) {
	p, err := tlsca.EnsureRuntimePKI(t.TempDir(), nil, time.Now())
	require.NoError(t, err)
	conf, err := tlsca.MutualTLSServer(p.SynchronizerCert(), p.SynchronizerKey(), p.CA(), []string{tlsca.RuntimeIdentity})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = conf
	srv.StartTLS()
	t.Cleanup(srv.Close)

	cfg := DefaultConfig()
	cfg.Synchronizer = srv.URL
	_, err = synchronizerClient(&cfg)
	require.ErrorContains(t, err, "synchronizerTLS: caFile, certFile and keyFile are required")

	cfg.SynchronizerTLS = SynchronizerTLS{CAFile: p.CA(), CertFile: p.RuntimeCert(), KeyFile: p.RuntimeKey()}
	client, err := synchronizerClient(&cfg)
	require.NoError(t, err)
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, tlsca.RuntimeIdentity, string(body))

	cfg.Synchronizer = "ftp://x"
	_, err = synchronizerClient(&cfg)
	require.ErrorContains(t, err, "not an http(s) URL")
}
