package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
)

// selfSignedClient returns a self-signed client certificate and its key,
// both PEM.
func selfSignedClient(t *testing.T) (certPEM, keyPEM string, cert *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "mp-client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})), cert
}

func writeContractKey(t *testing.T) (string, *seal.Sealer) {
	key, err := seal.NewKey()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "o.key")
	require.NoError(t, os.WriteFile(path, []byte(contract.EncodeKey(key)), 0o600))
	s, err := seal.New(key)
	require.NoError(t, err)
	return path, s
}

// TestSealedClientKey: the contract carries the client key of a mutual TLS
// target sealed; the engine opens it with the contract encryption key, and
// a missing or wrong key fails that deployment naming keystore and alias.
func TestSealedClientKey(t *testing.T) {
	certPEM, keyPEM, clientCert := selfSignedClient(t)
	pool := x509.NewCertPool()
	pool.AddCert(clientCert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"client":"` + r.TLS.PeerCertificates[0].Subject.CommonName + `"}`))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	serverPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	keyPath, sealer := writeContractKey(t)
	sealed, err := contract.SealKey(sealer, "o", "test", "client-ks", "mp", keyPEM)
	require.NoError(t, err)
	conn := `<SSLInfo><Enabled>true</Enabled><ClientAuthEnabled>true</ClientAuthEnabled><KeyStore>ref://client-ks</KeyStore><KeyAlias>mp</KeyAlias>` +
		`<TrustStore>ts</TrustStore></SSLInfo><URL>` + srv.URL + `</URL>`
	c := &contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
		Keystores: []contract.Keystore{
			{Name: "client-ks", Aliases: []contract.KeystoreAlias{{Name: "mp", CertPEM: certPEM, KeyPEMSealed: sealed}}},
			{Name: "ts", Aliases: []contract.KeystoreAlias{{Name: "srv", CertPEM: serverPEM}}},
		},
		APIProxies: []contract.Deployment{
			deployment(t, "mtls", "1", proxyWithTarget("mtls", "/mtls", conn)),
			deployment(t, "plain", "1", proxyWithTarget("plain", "/plain", `<URL>`+srv.URL+`</URL>`)),
		}}

	opts := DefaultOptions()
	opts.ContractKeyPath = keyPath
	e := New(zaptest.NewLogger(t), opts)
	t.Cleanup(e.Close)
	env := e.Compile(c, nil)
	for _, st := range env.Status {
		require.Equal(t, "READY", st.State, st.Errors)
	}
	e.SetEnvironment(env)
	code, body := serve(t, e, "h", "/mtls")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "mp-client", body["client"])

	// The same contract compiled again (sealed afresh: new nonce) keeps its
	// digest, so unchanged revisions are reused.
	again, err := contract.SealKey(sealer, "o", "test", "client-ks", "mp", keyPEM)
	require.NoError(t, err)
	c2 := *c
	c2.Keystores = []contract.Keystore{{Name: "client-ks", Aliases: []contract.KeystoreAlias{{Name: "mp", CertPEM: certPEM, KeyPEMSealed: again}}}, c.Keystores[1]}
	require.Equal(t, env.envDigest, e.Compile(&c2, env).envDigest)

	otherPath, _ := writeContractKey(t)
	for name, path := range map[string]string{
		"wrong key":   otherPath,
		"missing key": filepath.Join(t.TempDir(), "absent.key"),
		"no key":      "",
	} {
		t.Run(name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.ContractKeyPath = path
			e := New(zaptest.NewLogger(t), opts)
			t.Cleanup(e.Close)
			env := e.Compile(c, nil)
			byName := map[string]DeploymentStatus{}
			for _, st := range env.Status {
				byName[st.Name] = st
			}
			require.Equal(t, "READY", byName["plain"].State, "only deployments using the alias fail")
			require.Equal(t, "ERROR", byName["mtls"].State)
			require.Contains(t, byName["mtls"].Errors[0], `KeyStore "client-ks" alias "mp": cannot open its private key`)
		})
	}
}
