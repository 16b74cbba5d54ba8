//go:build integration

package e2e

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// tlsPKI is a private CA with a server certificate for 127.0.0.1 and a
// client certificate, made fresh for each test.
type tlsPKI struct {
	ca, server, client *pkiCert
}

type pkiCert struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

func newTLSPKI(tb testing.TB) *tlsPKI {
	tb.Helper()
	now := time.Now()
	ca := makeCert(tb, &x509.Certificate{Subject: pkix.Name{CommonName: "E2E Test CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}, nil)
	server := makeCert(tb, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}, ca)
	client := makeCert(tb, &x509.Certificate{Subject: pkix.Name{CommonName: "e2e-client"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}, ca)
	return &tlsPKI{ca: ca, server: server, client: client}
}

func makeCert(tb testing.TB, tmpl *x509.Certificate, parent *pkiCert) *pkiCert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(tb, err)
	tmpl.SerialNumber, tmpl.BasicConstraintsValid = serial, true
	signer, parentCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	require.NoError(tb, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(tb, err)
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(tb, err)
	return &pkiCert{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})}
}

// tlsBackend is a real HTTPS server on 127.0.0.1 with the PKI's server
// certificate; with requireClientCert it demands a client certificate
// issued by the PKI's CA (mutual TLS). It reports the client's name.
func tlsBackend(tb testing.TB, pki *tlsPKI, requireClientCert bool) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := ""
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"backend": "tls", "path": r.URL.Path, "client": client})
	}))
	cert := tls.Certificate{Certificate: [][]byte{pki.server.cert.Raw}, PrivateKey: pki.server.key, Leaf: pki.server.cert}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		pool := x509.NewCertPool()
		pool.AddCert(pki.ca.cert)
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv
}

// uploadAlias creates an alias with format=keycertfile through Google's Go
// client: the multipart body travels as the client's google.api.HttpBody.
func uploadAlias(tb testing.TB, svc *apigee.Service, keystore, alias string, parts map[string][]byte) (*apigee.GoogleCloudApigeeV1Alias, error) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, name := range []string{"keyFile", "certFile"} {
		if v, ok := parts[name]; ok {
			fw, err := mw.CreateFormFile(name, name+".pem")
			require.NoError(tb, err)
			_, err = fw.Write(v)
			require.NoError(tb, err)
		}
	}
	require.NoError(tb, mw.Close())
	return svc.Organizations.Environments.Keystores.Aliases.Create(keystore, &apigee.GoogleApiHttpBody{
		ContentType: mw.FormDataContentType(), Data: base64.StdEncoding.EncodeToString(buf.Bytes()),
	}).Format("keycertfile").Alias(alias).Do()
}

func requireAPIError(tb testing.TB, err error, code int, msg string) {
	tb.Helper()
	var gerr *googleapi.Error
	require.True(tb, errors.As(err, &gerr), "want a Google API error, got %v", err)
	require.Equal(tb, code, gerr.Code, gerr.Message)
	require.Contains(tb, gerr.Message, msg)
}

// tlsProxy is a proxy whose default target calls url with the given
// <SSLInfo> body.
func tlsProxy(tb testing.TB, name, url, sslInfo string) []byte {
	files := bundletest.Proxy(name, "/"+name, "http://unused.invalid")
	files["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><HTTPTargetConnection>
  <SSLInfo><Enabled>true</Enabled>` + sslInfo + `</SSLInfo>
  <URL>` + url + `</URL>
</HTTPTargetConnection></TargetEndpoint>`
	return bundletest.Zip(tb, files)
}

// Truststores and keystores created through the Apigee API with Google's Go
// client reach the message processor in the contract: a target's SSLInfo
// trusts a private CA through its TrustStore (one-way TLS) and presents a
// client certificate from a KeyStore named by a reference (mutual TLS).
// Without them the same backends are Apigee's TLS failure, a 503.
func TestKeystoreTrustStoreAndMutualTLS(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	const host = "tls.e2e.example.com"
	attachHost(t, svc, c, "tls-group", host)
	env := "organizations/" + c.Org + "/environments/" + c.Env
	pki := newTLSPKI(t)
	oneWay := tlsBackend(t, pki, false)
	mutual := tlsBackend(t, pki, true)

	// Truststore ts1 with the CA certificate.
	ks, err := svc.Organizations.Environments.Keystores.Create(env, &apigee.GoogleCloudApigeeV1Keystore{Name: "ts1"}).Do()
	require.NoError(t, err)
	require.Equal(t, "ts1", ks.Name)
	al, err := uploadAlias(t, svc, env+"/keystores/ts1", "ca", map[string][]byte{"certFile": pki.ca.certPEM})
	require.NoError(t, err)
	require.Equal(t, "ca", al.Alias)
	require.Equal(t, "CERT", al.Type)
	require.Len(t, al.CertsInfo.CertInfo, 1)
	info := al.CertsInfo.CertInfo[0]
	require.Equal(t, "CN=E2E Test CA", info.Subject)
	require.Equal(t, "Yes", info.IsValid)
	require.Equal(t, pki.ca.cert.NotAfter.UnixMilli(), info.ExpiryDate)
	got, err := svc.Organizations.Environments.Keystores.Aliases.Get(env + "/keystores/ts1/aliases/ca").Do()
	require.NoError(t, err)
	require.Equal(t, "CERT", got.Type)
	ks, err = svc.Organizations.Environments.Keystores.Get(env + "/keystores/ts1").Do()
	require.NoError(t, err)
	require.Equal(t, []string{"ca"}, ks.Aliases)
	require.Equal(t, string(pki.ca.certPEM), exportCertificate(t, c, "ts1", "ca"))

	// Bad material is refused with the reason, and nothing is stored.
	_, err = uploadAlias(t, svc, env+"/keystores/ts1", "mismatch", map[string][]byte{"keyFile": pki.client.keyPEM, "certFile": pki.server.certPEM})
	requireAPIError(t, err, 400, "keyFile and certFile do not match")
	_, err = uploadAlias(t, svc, env+"/keystores/ts1", "junk", map[string][]byte{"certFile": []byte("not a certificate")})
	requireAPIError(t, err, 400, "certFile holds no PEM certificate")
	_, err = svc.Organizations.Environments.Keystores.Aliases.Get(env + "/keystores/ts1/aliases/mismatch").Do()
	requireAPIError(t, err, 404, "mismatch")

	// Client keystore ks1 with a key/certificate pair, named through a
	// reference as Apigee recommends.
	_, err = svc.Organizations.Environments.Keystores.Create(env, &apigee.GoogleCloudApigeeV1Keystore{Name: "ks1"}).Do()
	require.NoError(t, err)
	al, err = uploadAlias(t, svc, env+"/keystores/ks1", "client", map[string][]byte{"keyFile": pki.client.keyPEM, "certFile": pki.client.certPEM})
	require.NoError(t, err)
	require.Equal(t, "KEY_CERT", al.Type)
	ref, err := svc.Organizations.Environments.References.Create(env, &apigee.GoogleCloudApigeeV1Reference{
		Name: "client-ks", Refers: "ks1", ResourceType: "KeyStore"}).Do()
	require.NoError(t, err)
	require.Equal(t, "ks1", ref.Refers)

	proxies := []struct {
		name, url, sslInfo string
	}{
		{"tls-trusted", oneWay.URL, `<TrustStore>ts1</TrustStore>`},
		{"tls-untrusted", oneWay.URL, ``},
		{"mtls", mutual.URL, `<ClientAuthEnabled>true</ClientAuthEnabled><KeyStore>ref://client-ks</KeyStore><KeyAlias>client</KeyAlias><TrustStore>ts1</TrustStore>`},
		{"mtls-nocert", mutual.URL, `<TrustStore>ts1</TrustStore>`},
	}
	for _, p := range proxies {
		rev := importProxy(t, svc, c, p.name, tlsProxy(t, p.name, p.url, p.sslInfo))
		deployAndWait(t, svc, c, p.name, rev)
	}

	r := eventuallyStatus(t, c, host, "/tls-trusted/items", 200)
	require.Equal(t, map[string]any{"backend": "tls", "path": "/items", "client": ""}, decode(t, r.body))

	r = call(t, c, host, "/tls-untrusted/items")
	require.Equal(t, 503, r.status, "an unknown CA fails the handshake: %s", r.body)
	require.Equal(t, "messaging.adaptors.http.flow.ServiceUnavailable", faultCode(t, r.body))

	r = call(t, c, host, "/mtls/items")
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, "e2e-client", decode(t, r.body)["client"], "the backend saw the keystore's client certificate")

	r = call(t, c, host, "/mtls-nocert/items")
	require.Equal(t, 503, r.status, "a backend requiring a client certificate refuses the handshake: %s", r.body)
	require.Equal(t, "messaging.adaptors.http.flow.ServiceUnavailable", faultCode(t, r.body))
}

// A keystore change reaches deployed proxies without a redeploy: a
// truststore gaining the CA makes its proxy's TLS calls succeed, losing it
// makes them fail, deleting the truststore turns the deployment ERROR
// (naming the missing TrustStore) while other proxies keep serving, and
// recreating it recovers.
func TestKeystoreChangeReachesDeployedProxies(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	const host = "tls-change.e2e.example.com"
	attachHost(t, svc, c, "tls-change", host)
	env := "organizations/" + c.Org + "/environments/" + c.Env
	pki := newTLSPKI(t)
	be := tlsBackend(t, pki, false)

	plain := importProxy(t, svc, c, "plain", proxyZip(t, "plain", "/plain", backend(t).URL))
	deployAndWait(t, svc, c, "plain", plain)

	_, err := svc.Organizations.Environments.Keystores.Create(env, &apigee.GoogleCloudApigeeV1Keystore{Name: "late"}).Do()
	require.NoError(t, err)
	rev := importProxy(t, svc, c, "late", tlsProxy(t, "late", be.URL, `<TrustStore>late</TrustStore>`))
	deployAndWait(t, svc, c, "late", rev)
	r := eventuallyStatus(t, c, host, "/late/x", 503)
	require.Equal(t, "messaging.adaptors.http.flow.ServiceUnavailable", faultCode(t, r.body), "an empty truststore trusts nobody")

	_, err = uploadAlias(t, svc, env+"/keystores/late", "ca", map[string][]byte{"certFile": pki.ca.certPEM})
	require.NoError(t, err)
	eventuallyStatus(t, c, host, "/late/x", 200)

	_, err = svc.Organizations.Environments.Keystores.Aliases.Delete(env + "/keystores/late/aliases/ca").Do()
	require.NoError(t, err)
	eventuallyStatus(t, c, host, "/late/x", 503)

	// Apigee lets a keystore in use go; the proxy's revision can no longer
	// be built, which its deployment status says.
	_, err = svc.Organizations.Environments.Keystores.Delete(env + "/keystores/late").Do()
	require.NoError(t, err)
	d := waitDeploymentState(t, svc, c, "late", rev, "ERROR")
	require.Contains(t, d.Errors[0].Message, `apiproxy/targets/default.xml HTTPTargetConnection: SSLInfo: TrustStore "late" is not a keystore of environment `+c.Env)
	r = eventuallyStatus(t, c, host, "/late/x", 404)
	require.Equal(t, "messaging.adaptors.http.flow.ApplicationNotFound", faultCode(t, r.body))
	require.Equal(t, 200, call(t, c, host, "/plain/x").status, "the runtime keeps serving the environment's other proxies")

	_, err = svc.Organizations.Environments.Keystores.Create(env, &apigee.GoogleCloudApigeeV1Keystore{Name: "late"}).Do()
	require.NoError(t, err)
	_, err = uploadAlias(t, svc, env+"/keystores/late", "ca", map[string][]byte{"certFile": pki.ca.certPEM})
	require.NoError(t, err)
	waitDeploymentState(t, svc, c, "late", rev, "READY")
	eventuallyStatus(t, c, host, "/late/x", 200)
}

// exportCertificate reads GET …/aliases/{alias}/certificate, whose answer is
// the raw PEM (an HttpBody), over plain HTTP.
func exportCertificate(tb testing.TB, c *harness.Cluster, keystore, alias string) string {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, c.APIURL()+"/v1/organizations/"+c.Org+"/environments/"+c.Env+
		"/keystores/"+keystore+"/aliases/"+alias+"/certificate", nil)
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+harness.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	require.Equal(tb, http.StatusOK, resp.StatusCode, "%s", body)
	return string(body)
}
