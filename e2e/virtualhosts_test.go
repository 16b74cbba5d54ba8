//go:build integration

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// Virtual hosts with TLS: the message processor serves two environment
// groups over TLS, each with its own server certificate chosen by SNI (as
// hybrid's ingress does with virtualhosts[].sslCertPath/sslKeyPath). A
// client trusting the groups' CA reaches the proxy through either host
// name, sees that group's certificate, and the proxy sees client.scheme
// https (http on the plain listener); a name no virtual host covers fails
// the handshake.
func TestVirtualHostsWithTLS(t *testing.T) {
	t.Parallel()
	be := backend(t)
	pki := t.TempDir()
	hosts := map[string]string{"secure-a": "a.tls.e2e.example.com", "secure-b": "b.tls.e2e.example.com"}
	var yaml string
	for _, g := range []string{"secure-a", "secure-b"} {
		_, _, err := tlsca.EnsureLeaf(pki, tlsca.Leaf{File: g, CommonName: g, Hosts: []string{hosts[g]}, Server: true}, time.Now())
		require.NoError(t, err)
		yaml += fmt.Sprintf("  - name: %s\n    sslCertPath: %s\n    sslKeyPath: %s\n", g,
			filepath.Join(pki, g+".pem"), filepath.Join(pki, g+"-key.pem"))
	}
	config := filepath.Join(t.TempDir(), "runtime.yaml")
	require.NoError(t, os.WriteFile(config, []byte("trafficTLS:\n  listen: 127.0.0.1:0\n  virtualHosts:\n"+yaml), 0o600))

	c := h.StartCluster(t, harness.Options{RuntimeArgs: []string{"--config", config}})
	svc := apigeeClient(t, c)
	for g, host := range hosts {
		attachHost(t, svc, c, g, host)
	}
	files := withSteps(bundletest.Proxy("secure", "/secure", be.URL), [2]string{"AM-Scheme", ""})
	files["apiproxy/policies/AM-Scheme.xml"] = `<AssignMessage name="AM-Scheme"><Set><QueryParams>
  <QueryParam name="scheme">{client.scheme}</QueryParam><QueryParam name="ssl">{client.ssl.enabled}</QueryParam>
</QueryParams></Set><AssignTo createNew="false" type="request"/></AssignMessage>`
	deployAndWait(t, svc, c, "secure", importProxy(t, svc, c, "secure", bundletest.Zip(t, files)))

	caPEM, err := os.ReadFile(filepath.Join(pki, tlsca.CAFile))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	tlsAddr := c.Runtime.Addr("traffic-tls")
	require.NotEmpty(t, tlsAddr, "the message processor reports its TLS traffic listener")
	// call resolves every name to the TLS listener, as DNS would to the
	// ingress.
	call := func(host string) (*http.Response, string, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
			}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get("https://" + host + "/secure/x")
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, string(body), err
	}
	for g, host := range hosts {
		resp, body, err := call(host)
		require.NoError(t, err, host)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, g, resp.TLS.PeerCertificates[0].Subject.CommonName, "%s is served with its group's certificate", host)
		require.Equal(t, "scheme=https&ssl=true", decode(t, body)["query"])
	}
	_, _, err = call("unknown.tls.e2e.example.com")
	require.Error(t, err, "no virtual host covers the name: the handshake fails")

	got := send(t, c.TrafficURL(), "GET", hosts["secure-a"], "/secure/x", nil, "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	require.Equal(t, "scheme=http&ssl=false", decode(t, got.body)["query"], "the plain listener is http")
}
