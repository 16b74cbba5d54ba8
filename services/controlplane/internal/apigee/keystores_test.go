package apigee

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/keymaterial/pkitest"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

const ksToken = "ks-test-token"

// ksAPI is the real API handler over a real store in a temp dir, with
// org "o" and environment "e".
type ksAPI struct {
	tb    testing.TB
	api   *API
	store *state.Store
}

func newKSAPI(tb testing.TB) *ksAPI {
	tb.Helper()
	st, err := state.Open(tb.TempDir(), nil)
	require.NoError(tb, err)
	require.NoError(tb, st.Update(func(tx *state.Tx) error {
		o := state.NewOrg("o", "o", tx.Millis())
		o.Environments["e"] = &state.Environment{Name: "e", CreatedAt: tx.Millis()}
		tx.Orgs["o"] = o
		tx.Touch(o, "e")
		return nil
	}))
	a, err := New(Options{Store: st, Auth: StaticTokens{AdminToken: ksToken}})
	require.NoError(tb, err)
	return &ksAPI{tb: tb, api: a, store: st}
}

const ksBase = "/v1/organizations/o/environments/e"

func (k *ksAPI) do(method, path, contentType string, body []byte) (int, []byte) {
	k.tb.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ksToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	k.api.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func (k *ksAPI) json(method, path string, in any, want int, out any) []byte {
	k.tb.Helper()
	var body []byte
	if in != nil {
		var err error
		body, err = json.Marshal(in)
		require.NoError(k.tb, err)
	}
	code, got := k.do(method, path, "application/json", body)
	require.Equal(k.tb, want, code, "%s %s: %s", method, path, got)
	if out != nil {
		require.NoError(k.tb, json.Unmarshal(got, out), "%s", got)
	}
	return got
}

func (k *ksAPI) version() string {
	v, err := k.store.ContractVersion("o", "e")
	require.NoError(k.tb, err)
	return v
}

func (k *ksAPI) contract() *contract.Contract {
	k.tb.Helper()
	code, body := k.do("GET", ksBase+"/contract", "", nil)
	require.Equal(k.tb, http.StatusOK, code, "%s", body)
	c, err := contract.Unmarshal(body)
	require.NoError(k.tb, err)
	return c
}

func multipartForm(tb testing.TB, parts map[string][]byte) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, v := range parts {
		var w interface{ Write([]byte) (int, error) }
		var err error
		if name == "password" {
			w, err = mw.CreateFormField(name)
		} else {
			w, err = mw.CreateFormFile(name, name+".pem")
		}
		require.NoError(tb, err)
		_, err = w.Write(v)
		require.NoError(tb, err)
	}
	require.NoError(tb, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

type aliasResp struct {
	Alias     string `json:"alias"`
	Type      string `json:"type"`
	CertsInfo struct {
		CertInfo []struct {
			Subject                 string   `json:"subject"`
			Issuer                  string   `json:"issuer"`
			ExpiryDate              string   `json:"expiryDate"`
			IsValid                 string   `json:"isValid"`
			SerialNumber            string   `json:"serialNumber"`
			SigAlgName              string   `json:"sigAlgName"`
			BasicConstraints        string   `json:"basicConstraints"`
			SubjectAlternativeNames []string `json:"subjectAlternativeNames"`
		} `json:"certInfo"`
	} `json:"certsInfo"`
}

type apiErr struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

func TestKeystoreLifecycle(t *testing.T) {
	k := newKSAPI(t)
	var names []string
	k.json("GET", ksBase+"/keystores", nil, http.StatusOK, &names)
	require.Equal(t, []string{}, names)

	v0 := k.version()
	var ks keystoreView
	k.json("POST", ksBase+"/keystores", map[string]string{"name": "ts1"}, http.StatusOK, &ks)
	require.Equal(t, keystoreView{Name: "ts1", Aliases: []string{}}, ks)
	require.Greater(t, k.version(), v0, "a keystore change gives the environment a new contract version")
	k.json("POST", ksBase+"/keystores?name=ks%201", map[string]string{"name": "ignored"}, http.StatusOK, &ks)
	require.Equal(t, "ks 1", ks.Name, "the name parameter overrides the body")

	for _, tc := range []struct {
		name string
		path string
		body any
		want int
		msg  string
	}{
		{"duplicate", "/keystores", map[string]string{"name": "ts1"}, http.StatusConflict, "already exists"},
		{"no name", "/keystores", map[string]string{}, http.StatusBadRequest, "name is required"},
		{"bad name", "/keystores", map[string]string{"name": "a/b"}, http.StatusBadRequest, "Invalid Keystore name"},
		{"bad JSON", "/keystores", "{", http.StatusBadRequest, "Invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			k.json("POST", ksBase+tc.path, tc.body, tc.want, &e)
			require.Contains(t, e.Error.Message, tc.msg)
		})
	}
	k.json("GET", ksBase+"/keystores", nil, http.StatusOK, &names)
	require.Equal(t, []string{"ks 1", "ts1"}, names)
	k.json("GET", ksBase+"/keystores/ts1", nil, http.StatusOK, &ks)
	require.Equal(t, "ts1", ks.Name)
	k.json("GET", ksBase+"/keystores/nope", nil, http.StatusNotFound, nil)
	k.json("GET", "/v1/organizations/o/environments/nope/keystores", nil, http.StatusNotFound, nil)

	v1 := k.version()
	k.json("DELETE", ksBase+"/keystores/ts1", nil, http.StatusOK, &ks)
	require.Equal(t, "ts1", ks.Name)
	require.Greater(t, k.version(), v1)
	k.json("GET", ksBase+"/keystores/ts1", nil, http.StatusNotFound, nil)
	k.json("DELETE", ksBase+"/keystores/ts1", nil, http.StatusNotFound, nil)
}

func TestAliasUploads(t *testing.T) {
	now := time.Now()
	ca := pkitest.Issue(t, "Test CA", pkitest.ECKey(t), nil, true, now.Add(-time.Hour), now.Add(24*time.Hour))
	leaf := pkitest.Issue(t, "server.test", pkitest.ECKey(t), ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	other := pkitest.Issue(t, "other.test", pkitest.ECKey(t), ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	expired := pkitest.Issue(t, "old.test", pkitest.ECKey(t), ca, false, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaLeaf := pkitest.Issue(t, "rsa.test", rsaKey, ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	//nolint:staticcheck // legacy PEM encryption is what password-protected keyFile uploads use.
	encBlock, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), []byte("s3cret"), x509.PEMCipherAES256)
	require.NoError(t, err)
	encrypted := pem.EncodeToMemory(encBlock)
	p12, err := pkcs12.Modern.Encode(leaf.Key, leaf.Cert, []*x509.Certificate{ca.Cert}, "p12pass")
	require.NoError(t, err)
	p12Trust, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{ca.Cert}, "p12pass")
	require.NoError(t, err)
	chain := append(append([]byte{}, leaf.CertPEM...), ca.CertPEM...)
	glued := bytes.Replace(chain, []byte("-----END CERTIFICATE-----\n-----BEGIN"), []byte("-----END CERTIFICATE----------BEGIN"), 1)

	// wrap is the Go client's form: a JSON google.api.HttpBody whose data
	// is the real body.
	wrap := func(ct string, body []byte) (string, []byte) {
		b, err := json.Marshal(map[string]string{"contentType": ct, "data": base64.StdEncoding.EncodeToString(body)})
		require.NoError(t, err)
		return "application/json", b
	}
	form := func(parts map[string][]byte) func() (string, []byte) {
		return func() (string, []byte) { return multipartForm(t, parts) }
	}
	tests := []struct {
		name    string
		query   string
		body    func() (string, []byte)
		want    int
		msg     string // error message or, on success, the first subject
		typ     string
		nCerts  int
		isValid string
	}{
		{name: "truststore cert", query: "format=keycertfile&alias=ca", body: form(map[string][]byte{"certFile": ca.CertPEM}),
			want: 200, typ: "CERT", nCerts: 1, msg: "CN=Test CA"},
		{name: "key and cert PKCS#8", query: "format=keycertfile&alias=leaf", body: form(map[string][]byte{"keyFile": leaf.KeyPEM, "certFile": chain}),
			want: 200, typ: "KEY_CERT", nCerts: 2, msg: "CN=server.test"},
		{name: "chain in any order is stored leaf first", query: "format=keycertfile&alias=reordered",
			body: form(map[string][]byte{"keyFile": leaf.KeyPEM, "certFile": append(append([]byte{}, ca.CertPEM...), leaf.CertPEM...)}),
			want: 200, typ: "KEY_CERT", nCerts: 2, msg: "CN=server.test"},
		{name: "RSA PKCS#1 key", query: "format=keycertfile&alias=rsa", body: form(map[string][]byte{"keyFile": pkcs1, "certFile": rsaLeaf.CertPEM}),
			want: 200, typ: "KEY_CERT", nCerts: 1, msg: "CN=rsa.test"},
		{name: "encrypted key with password", query: "format=keycertfile&alias=enc",
			body: form(map[string][]byte{"keyFile": encrypted, "certFile": rsaLeaf.CertPEM, "password": []byte("s3cret")}),
			want: 200, typ: "KEY_CERT", nCerts: 1, msg: "CN=rsa.test"},
		{name: "Go client HttpBody wrapping multipart", query: "format=keycertfile&alias=wrapped",
			body: func() (string, []byte) { return wrap(multipartForm(t, map[string][]byte{"certFile": ca.CertPEM})) },
			want: 200, typ: "CERT", nCerts: 1, msg: "CN=Test CA"},
		{name: "glued chain with ignoreNewlineValidation", query: "format=keycertfile&alias=glued&ignoreNewlineValidation=true",
			body: form(map[string][]byte{"certFile": glued}), want: 200, typ: "CERT", nCerts: 2, msg: "CN=server.test"},
		{name: "expired with ignoreExpiryValidation", query: "format=keycertfile&alias=old&ignoreExpiryValidation=true",
			body: form(map[string][]byte{"certFile": expired.CertPEM}), want: 200, typ: "CERT", nCerts: 1, msg: "CN=old.test", isValid: "No"},
		{name: "pkcs12", query: "format=pkcs12&alias=p12", body: form(map[string][]byte{"file": p12, "password": []byte("p12pass")}),
			want: 200, typ: "KEY_CERT", nCerts: 2, msg: "CN=server.test"},
		{name: "pkcs12 truststore", query: "format=pkcs12&alias=p12trust", body: form(map[string][]byte{"file": p12Trust, "password": []byte("p12pass")}),
			want: 200, typ: "CERT", nCerts: 1, msg: "CN=Test CA"},
		{name: "self-signed", query: "format=selfsignedcert",
			body: func() (string, []byte) {
				return "application/json", []byte(`{"alias":"self","keySize":"2048","sigAlg":"SHA256withRSA","subject":{"commonName":"self.test","org":"Acme"},"subjectAlternativeDNSNames":{"subjectAlternativeName":["self.test","127.0.0.1"]},"certValidityInDays":30}`)
			},
			want: 200, typ: "KEY_CERT", nCerts: 1, msg: "CN=self.test"},

		{name: "key does not match cert", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"keyFile": other.KeyPEM, "certFile": leaf.CertPEM}),
			want: 400, msg: "keyFile and certFile do not match"},
		{name: "cert is not PEM", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"certFile": []byte("hello")}),
			want: 400, msg: "certFile holds no PEM certificate"},
		{name: "cert file holds a key", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"certFile": leaf.KeyPEM}),
			want: 400, msg: `unexpected PEM block "PRIVATE KEY"`},
		{name: "corrupt certificate", query: "format=keycertfile&alias=bad",
			body: form(map[string][]byte{"certFile": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})}),
			want: 400, msg: "certificate 1 is not a valid X.509 certificate"},
		{name: "key file without key", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"keyFile": leaf.CertPEM, "certFile": leaf.CertPEM}),
			want: 400, msg: "keyFile holds no PEM private key"},
		{name: "encrypted key without password", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"keyFile": encrypted, "certFile": rsaLeaf.CertPEM}),
			want: 400, msg: "keyFile is encrypted"},
		{name: "encrypted key, wrong password", query: "format=keycertfile&alias=bad",
			body: form(map[string][]byte{"keyFile": encrypted, "certFile": rsaLeaf.CertPEM, "password": []byte("nope")}),
			want: 400, msg: "cannot decrypt"},
		{name: "glued chain", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"certFile": glued}),
			want: 400, msg: "not separated by a newline"},
		{name: "expired", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"certFile": expired.CertPEM}),
			want: 400, msg: "expired on"},
		{name: "pkcs12 wrong password", query: "format=pkcs12&alias=bad", body: form(map[string][]byte{"file": p12, "password": []byte("x")}),
			want: 400, msg: "password is incorrect"},
		{name: "pkcs12 garbage", query: "format=pkcs12&alias=bad", body: form(map[string][]byte{"file": []byte("junk")}),
			want: 400, msg: "not a readable PKCS#12"},
		{name: "no certFile part", query: "format=keycertfile&alias=bad", body: form(map[string][]byte{"keyFile": leaf.KeyPEM}),
			want: 400, msg: `no certFile part (found parts "keyFile")`},
		{name: "keycertfile without multipart", query: "format=keycertfile&alias=bad",
			body: func() (string, []byte) { return "application/x-pem-file", leaf.CertPEM }, want: 400, msg: "needs a multipart/form-data body"},
		{name: "no format", query: "alias=bad", body: form(map[string][]byte{"certFile": ca.CertPEM}), want: 400, msg: "format is required"},
		{name: "unknown format", query: "format=jks&alias=bad", body: form(map[string][]byte{"certFile": ca.CertPEM}), want: 400, msg: `Unsupported format "jks"`},
		{name: "no alias", query: "format=keycertfile", body: form(map[string][]byte{"certFile": ca.CertPEM}), want: 400, msg: "Alias name is required"},
		{name: "bad alias name", query: "format=keycertfile&alias=a%2Fb", body: form(map[string][]byte{"certFile": ca.CertPEM}), want: 400, msg: "Invalid Alias name"},
		{name: "self-signed without common name", query: "format=selfsignedcert&alias=bad",
			body: func() (string, []byte) { return "application/json", []byte(`{"subject":{}}`) }, want: 400, msg: "subject.commonName is required"},
		{name: "self-signed bad key size", query: "format=selfsignedcert&alias=bad",
			body: func() (string, []byte) {
				return "application/json", []byte(`{"keySize":512,"subject":{"commonName":"x"}}`)
			}, want: 400, msg: "keySize 512"},
		{name: "duplicate alias", query: "format=keycertfile&alias=ca", body: form(map[string][]byte{"certFile": ca.CertPEM}), want: 409, msg: "already exists"},
	}
	k := newKSAPI(t)
	k.json("POST", ksBase+"/keystores", map[string]string{"name": "ks"}, http.StatusOK, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := tc.body()
			before := k.version()
			code, got := k.do("POST", ksBase+"/keystores/ks/aliases?"+tc.query, ct, body)
			require.Equal(t, tc.want, code, "%s", got)
			if tc.want != http.StatusOK {
				var e apiErr
				require.NoError(t, json.Unmarshal(got, &e))
				require.Contains(t, e.Error.Message, tc.msg)
				require.Equal(t, before, k.version(), "a refused upload changes nothing")
				if tc.want == http.StatusBadRequest {
					k.json("GET", ksBase+"/keystores/ks/aliases/bad", nil, http.StatusNotFound, nil)
				}
				return
			}
			var a aliasResp
			require.NoError(t, json.Unmarshal(got, &a))
			require.Equal(t, tc.typ, a.Type)
			require.Len(t, a.CertsInfo.CertInfo, tc.nCerts)
			require.Contains(t, a.CertsInfo.CertInfo[0].Subject, tc.msg)
			want := tc.isValid
			if want == "" {
				want = "Yes"
			}
			require.Equal(t, want, a.CertsInfo.CertInfo[0].IsValid)
			require.NotEmpty(t, a.CertsInfo.CertInfo[0].SerialNumber)
			require.Greater(t, k.version(), before)
			var again aliasResp
			k.json("GET", ksBase+"/keystores/ks/aliases/"+a.Alias, nil, http.StatusOK, &again)
			require.Equal(t, a, again)
		})
	}
	var ks keystoreView
	k.json("GET", ksBase+"/keystores/ks", nil, http.StatusOK, &ks)
	require.Equal(t, []string{"ca", "enc", "glued", "leaf", "old", "p12", "p12trust", "reordered", "rsa", "self", "wrapped"}, ks.Aliases)

	// The contract carries every alias, keys as PKCS#8 sealed under the
	// org's contract encryption key (never in clear), leaf first.
	code, raw := k.do("GET", ksBase+"/contract", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(raw), "PRIVATE KEY", "no private key in clear in the contract")
	c := k.contract()
	require.Len(t, c.Keystores, 1)
	byName := map[string]contract.KeystoreAlias{}
	for _, a := range c.Keystores[0].Aliases {
		byName[a.Name] = a
		require.Empty(t, a.KeyPEM, "alias %s", a.Name)
	}
	require.Empty(t, byName["ca"].KeyPEMSealed)
	sealer, err := k.store.ContractSealer("o")
	require.NoError(t, err)
	keyPEM, err := contract.OpenKey(sealer, "o", "e", "ks", "enc", byName["enc"].KeyPEMSealed)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(keyPEM, "-----BEGIN PRIVATE KEY-----"), "keys are stored decrypted as PKCS#8")
	_, err = contract.OpenKey(sealer, "o", "e", "ks", "rsa", byName["enc"].KeyPEMSealed)
	require.Error(t, err, "a sealed key is bound to its alias")
	fi, err := os.Stat(k.store.ContractKeyPath("o"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.True(t, strings.HasPrefix(byName["reordered"].CertPEM, string(leaf.CertPEM)))
}

func TestAliasCertificateCSRUpdateDelete(t *testing.T) {
	now := time.Now()
	ca := pkitest.Issue(t, "Test CA", pkitest.ECKey(t), nil, true, now.Add(-time.Hour), now.Add(24*time.Hour))
	key := pkitest.ECKey(t)
	leaf := pkitest.Issue(t, "server.test", key, ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	renewed := pkitest.Issue(t, "server.test", key, ca, false, now.Add(-time.Minute), now.Add(48*time.Hour))
	stranger := pkitest.Issue(t, "stranger.test", pkitest.ECKey(t), ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))

	k := newKSAPI(t)
	k.json("POST", ksBase+"/keystores", map[string]string{"name": "ks"}, http.StatusOK, nil)
	ct, body := multipartForm(t, map[string][]byte{"keyFile": leaf.KeyPEM, "certFile": leaf.CertPEM})
	code, got := k.do("POST", ksBase+"/keystores/ks/aliases?format=keycertfile&alias=srv", ct, body)
	require.Equal(t, http.StatusOK, code, "%s", got)
	ct, body = multipartForm(t, map[string][]byte{"certFile": ca.CertPEM})
	code, got = k.do("POST", ksBase+"/keystores/ks/aliases?format=keycertfile&alias=ca", ct, body)
	require.Equal(t, http.StatusOK, code, "%s", got)
	var names []string
	k.json("GET", ksBase+"/keystores/ks/aliases", nil, http.StatusOK, &names)
	require.Equal(t, []string{"ca", "srv"}, names)

	code, got = k.do("GET", ksBase+"/keystores/ks/aliases/srv/certificate", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(leaf.CertPEM), string(got))

	code, got = k.do("GET", ksBase+"/keystores/ks/aliases/srv/csr", "", nil)
	require.Equal(t, http.StatusOK, code, "%s", got)
	block, _ := pem.Decode(got)
	require.NotNil(t, block)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	require.NoError(t, err)
	require.NoError(t, csr.CheckSignature())
	require.Equal(t, "server.test", csr.Subject.CommonName)
	require.True(t, csr.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()))
	code, _ = k.do("GET", ksBase+"/keystores/ks/aliases/ca/csr", "", nil)
	require.Equal(t, http.StatusBadRequest, code, "a certificate-only alias has no key to sign a CSR")

	// Update: a renewed certificate for the same key, raw PEM or DER.
	code, got = k.do("PUT", ksBase+"/keystores/ks/aliases/srv?ignoreExpiryValidation=false", "application/x-pem-file", renewed.CertPEM)
	require.Equal(t, http.StatusOK, code, "%s", got)
	var a aliasResp
	require.NoError(t, json.Unmarshal(got, &a))
	require.Equal(t, "KEY_CERT", a.Type)
	code, got = k.do("PUT", ksBase+"/keystores/ks/aliases/srv", "application/octet-stream", renewed.Cert.Raw)
	require.Equal(t, http.StatusOK, code, "%s", got)
	code, got = k.do("PUT", ksBase+"/keystores/ks/aliases/srv", "application/x-pem-file", stranger.CertPEM)
	require.Equal(t, http.StatusBadRequest, code, "a certificate for another key cannot replace a KEY_CERT alias's: %s", got)
	require.Contains(t, string(got), "do not match")
	code, got = k.do("GET", ksBase+"/keystores/ks/aliases/srv/certificate", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(renewed.CertPEM), string(got), "the refused update left the alias as it was")

	k.json("DELETE", ksBase+"/keystores/ks/aliases/srv", nil, http.StatusOK, &a)
	require.Equal(t, "srv", a.Alias)
	k.json("GET", ksBase+"/keystores/ks/aliases/srv", nil, http.StatusNotFound, nil)
	k.json("DELETE", ksBase+"/keystores/ks/aliases/srv", nil, http.StatusNotFound, nil)
	k.json("GET", ksBase+"/keystores/nope/aliases/srv", nil, http.StatusNotFound, nil)
}

func TestReferencesReachTheContract(t *testing.T) {
	now := time.Now()
	ca := pkitest.Issue(t, "Test CA", pkitest.ECKey(t), nil, true, now.Add(-time.Hour), now.Add(24*time.Hour))
	k := newKSAPI(t)
	for _, n := range []string{"ts-2025", "ts-2026"} {
		k.json("POST", ksBase+"/keystores", map[string]string{"name": n}, http.StatusOK, nil)
		ct, body := multipartForm(t, map[string][]byte{"certFile": ca.CertPEM})
		code, got := k.do("POST", ksBase+"/keystores/"+n+"/aliases?format=keycertfile&alias=ca-"+n, ct, body)
		require.Equal(t, http.StatusOK, code, "%s", got)
	}
	for _, tc := range []struct {
		name string
		body map[string]string
		want int
		msg  string
	}{
		{"no name", map[string]string{"refers": "ts-2025", "resourceType": "TrustStore"}, 400, "name is required"},
		{"bad type", map[string]string{"name": "r", "refers": "ts-2025", "resourceType": "Vault"}, 400, "must be KeyStore or TrustStore"},
		{"no type", map[string]string{"name": "r", "refers": "ts-2025"}, 400, "resourceType is required"},
		{"missing keystore", map[string]string{"name": "r", "refers": "nope", "resourceType": "TrustStore"}, 400, `"nope" is not a keystore`},
		{"clashes with a keystore", map[string]string{"name": "ts-2026", "refers": "ts-2025", "resourceType": "TrustStore"}, 409, "one namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			k.json("POST", ksBase+"/references", tc.body, tc.want, &e)
			require.Contains(t, e.Error.Message, tc.msg)
		})
	}
	var ref referenceView
	k.json("POST", ksBase+"/references", map[string]string{"name": "backend-ts", "refers": "ts-2025", "resourceType": "TrustStore", "description": "d"}, http.StatusOK, &ref)
	require.Equal(t, referenceView{Name: "backend-ts", Description: "d", ResourceType: "TrustStore", Refers: "ts-2025"}, ref)
	k.json("POST", ksBase+"/references", map[string]string{"name": "backend-ts", "refers": "ts-2025", "resourceType": "TrustStore"}, http.StatusConflict, nil)
	var e apiErr
	k.json("POST", ksBase+"/keystores", map[string]string{"name": "backend-ts"}, http.StatusConflict, &e)
	require.Contains(t, e.Error.Message, "one namespace")

	aliasesOf := func(c *contract.Contract, name string) []string {
		for _, ks := range c.Keystores {
			if ks.Name == name {
				var out []string
				for _, a := range ks.Aliases {
					out = append(out, a.Name)
				}
				return out
			}
		}
		return nil
	}
	c := k.contract()
	require.Equal(t, []string{"ca-ts-2025"}, aliasesOf(c, "backend-ts"), "ref://backend-ts resolves to the referred keystore")

	// Switching the reference is how certificates rotate without a redeploy.
	v := k.version()
	k.json("PUT", ksBase+"/references/backend-ts", map[string]string{"refers": "ts-2026", "resourceType": "TrustStore"}, http.StatusOK, &ref)
	require.Equal(t, "ts-2026", ref.Refers)
	require.Greater(t, k.version(), v)
	require.Equal(t, []string{"ca-ts-2026"}, aliasesOf(k.contract(), "backend-ts"))
	k.json("PUT", ksBase+"/references/nope", map[string]string{"refers": "ts-2026", "resourceType": "TrustStore"}, http.StatusNotFound, nil)
	k.json("PUT", ksBase+"/references/backend-ts", map[string]string{"name": "other", "refers": "ts-2026", "resourceType": "TrustStore"}, http.StatusBadRequest, nil)

	var names []string
	k.json("GET", ksBase+"/references", nil, http.StatusOK, &names)
	require.Equal(t, []string{"backend-ts"}, names)
	k.json("GET", ksBase+"/references/backend-ts", nil, http.StatusOK, &ref)
	require.Equal(t, "ts-2026", ref.Refers)

	k.json("DELETE", ksBase+"/keystores/ts-2026", nil, http.StatusBadRequest, &e)
	require.Contains(t, e.Error.Message, "referred to by reference(s) backend-ts")
	k.json("GET", ksBase+"/keystores/ts-2026", nil, http.StatusOK, nil)

	k.json("DELETE", ksBase+"/references/backend-ts", nil, http.StatusOK, &ref)
	k.json("GET", ksBase+"/references/backend-ts", nil, http.StatusNotFound, nil)
	k.json("DELETE", ksBase+"/keystores/ts-2026", nil, http.StatusOK, nil)
	require.Nil(t, aliasesOf(k.contract(), "backend-ts"))
}
