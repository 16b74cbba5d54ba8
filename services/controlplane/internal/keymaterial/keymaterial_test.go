package keymaterial_test

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/keymaterial"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/keymaterial/pkitest"
)

// fixtures is one small PKI: a CA, leaves it signed and keys in the
// encodings uploads use.
type fixtures struct {
	now                         time.Time
	ca, leaf, other, expired    *pkitest.Cert
	rsaLeaf                     *pkitest.Cert
	rsaKey                      *rsa.PrivateKey
	chain, glued                []byte // leaf then CA; the same without the newline between
	pkcs1, sec1, encrypted      []byte // RSA PKCS#1, EC SEC 1 (after EC PARAMETERS), legacy-encrypted PKCS#1
	p12, p12Trust               []byte // password "p12pass"
	p8Encrypted, corruptKey     []byte
	corruptCert, unsupportedKey []byte
}

func newFixtures(tb testing.TB) *fixtures {
	tb.Helper()
	now := time.Now()
	f := &fixtures{now: now}
	f.ca = pkitest.Issue(tb, "Test CA", pkitest.ECKey(tb), nil, true, now.Add(-time.Hour), now.Add(24*time.Hour))
	f.leaf = pkitest.Issue(tb, "server.test", pkitest.ECKey(tb), f.ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	f.other = pkitest.Issue(tb, "other.test", pkitest.ECKey(tb), f.ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	f.expired = pkitest.Issue(tb, "old.test", pkitest.ECKey(tb), f.ca, false, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	var err error
	f.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(tb, err)
	f.rsaLeaf = pkitest.Issue(tb, "rsa.test", f.rsaKey, f.ca, false, now.Add(-time.Hour), now.Add(24*time.Hour))

	f.chain = append(append([]byte{}, f.leaf.CertPEM...), f.ca.CertPEM...)
	f.glued = bytes.Replace(f.chain, []byte("-----END CERTIFICATE-----\n-----BEGIN"), []byte("-----END CERTIFICATE----------BEGIN"), 1)

	f.pkcs1 = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(f.rsaKey)})
	sec1, err := x509.MarshalECPrivateKey(f.leaf.Key.(*ecdsa.PrivateKey))
	require.NoError(tb, err)
	f.sec1 = append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...)
	//nolint:staticcheck // legacy PEM encryption is what password-protected keyFile uploads use.
	enc, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsaKey), []byte("s3cret"), x509.PEMCipherAES256)
	require.NoError(tb, err)
	f.encrypted = pem.EncodeToMemory(enc)

	f.p12, err = pkcs12.Modern.Encode(f.leaf.Key, f.leaf.Cert, []*x509.Certificate{f.ca.Cert}, "p12pass")
	require.NoError(tb, err)
	f.p12Trust, err = pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{f.ca.Cert}, "p12pass")
	require.NoError(tb, err)

	f.p8Encrypted = pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("opaque")})
	f.corruptKey = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")})
	f.corruptCert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
	// X25519 keys parse as PKCS#8 but cannot sign.
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(tb, err)
	xkey, err := x509.MarshalPKCS8PrivateKey(x25519)
	require.NoError(tb, err)
	f.unsupportedKey = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: xkey})
	return f
}

// requireInvalid checks that err is a fault in the client's material whose
// message holds msg.
func requireInvalid(tb testing.TB, err error, msg string) {
	tb.Helper()
	var inv *keymaterial.InvalidError
	require.ErrorAs(tb, err, &inv)
	require.Contains(tb, err.Error(), msg)
}

// subjects lists the common names of a chain, in order.
func subjects(chain []*x509.Certificate) []string {
	var out []string
	for _, c := range chain {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestParseKeyCertFile(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		name          string
		cert, key     []byte
		password      string
		ignoreNewline bool
		want          []string // subjects, leaf first
		wantKey       bool
		err           string
	}{
		{name: "certificate only", cert: f.ca.CertPEM, want: []string{"Test CA"}},
		{name: "blank key file means certificate only", cert: f.ca.CertPEM, key: []byte(" \n"), want: []string{"Test CA"}},
		{name: "PKCS#8 key and chain", cert: f.chain, key: f.leaf.KeyPEM, want: []string{"server.test", "Test CA"}, wantKey: true},
		{name: "chain in any order comes back leaf first", cert: append(append([]byte{}, f.ca.CertPEM...), f.leaf.CertPEM...), key: f.leaf.KeyPEM,
			want: []string{"server.test", "Test CA"}, wantKey: true},
		{name: "RSA PKCS#1 key", cert: f.rsaLeaf.CertPEM, key: f.pkcs1, want: []string{"rsa.test"}, wantKey: true},
		{name: "EC SEC 1 key after EC PARAMETERS", cert: f.leaf.CertPEM, key: f.sec1, want: []string{"server.test"}, wantKey: true},
		{name: "legacy-encrypted key with its password", cert: f.rsaLeaf.CertPEM, key: f.encrypted, password: "s3cret", want: []string{"rsa.test"}, wantKey: true},
		{name: "glued chain with ignoreNewline", cert: f.glued, ignoreNewline: true, want: []string{"server.test", "Test CA"}},

		{name: "glued chain", cert: f.glued, err: "certFile: certificates in the chain are not separated by a newline"},
		{name: "certificate not PEM", cert: []byte("hello"), err: "certFile holds no PEM certificate"},
		{name: "certificate file holds a key", cert: f.leaf.KeyPEM, err: `certFile: unexpected PEM block "PRIVATE KEY"`},
		{name: "corrupt certificate", cert: f.corruptCert, err: "certFile: certificate 1 is not a valid X.509 certificate"},
		{name: "key file without a key", cert: f.leaf.CertPEM, key: f.leaf.CertPEM, err: "keyFile holds no PEM private key"},
		{name: "PKCS#8-encrypted key", cert: f.leaf.CertPEM, key: f.p8Encrypted, err: "keyFile: PKCS#8-encrypted keys (ENCRYPTED PRIVATE KEY) are not supported"},
		{name: "encrypted key without password", cert: f.rsaLeaf.CertPEM, key: f.encrypted, err: "keyFile is encrypted; send its password"},
		{name: "encrypted key, wrong password", cert: f.rsaLeaf.CertPEM, key: f.encrypted, password: "nope", err: "keyFile: cannot decrypt the private key"},
		{name: "corrupt key", cert: f.leaf.CertPEM, key: f.corruptKey, err: "keyFile: the PRIVATE KEY block is not a valid private key"},
		{name: "key that cannot sign", cert: f.leaf.CertPEM, key: f.unsupportedKey, err: "keyFile: unsupported private key type"},
		{name: "key and certificate do not match", cert: f.leaf.CertPEM, key: f.other.KeyPEM, err: `keyFile and certFile do not match: the private key does not belong to the certificate "CN=server.test,O=Test"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := keymaterial.ParseKeyCertFile(tc.cert, tc.key, tc.password, tc.ignoreNewline)
			if tc.err != "" {
				requireInvalid(t, err, tc.err)
				require.Nil(t, m)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, subjects(m.Chain))
			require.Equal(t, tc.wantKey, m.Key != nil)
			if tc.wantKey {
				require.True(t, m.Chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(m.Key.Public()), "the leaf is the key's certificate")
			}
		})
	}
}

func TestParseCertificates(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		name string
		data []byte
		want []string
		err  string
	}{
		{name: "PEM chain", data: f.chain, want: []string{"server.test", "Test CA"}},
		{name: "DER certificate", data: f.leaf.Cert.Raw, want: []string{"server.test"}},
		{name: "neither PEM nor DER", data: []byte("junk"), err: "The body is neither PEM nor a DER X.509 certificate"},
		{name: "PEM with no certificate", data: []byte("-----BEGIN nothing"), err: "certificate holds no PEM certificate"},
		{name: "PEM holding a key", data: f.leaf.KeyPEM, err: `certificate: unexpected PEM block "PRIVATE KEY"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := keymaterial.ParseCertificates(tc.data, false)
			if tc.err != "" {
				requireInvalid(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, subjects(chain))
		})
	}
}

func TestParsePKCS12(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		name     string
		data     []byte
		password string
		want     []string
		wantKey  bool
		err      string
	}{
		{name: "key and chain", data: f.p12, password: "p12pass", want: []string{"server.test", "Test CA"}, wantKey: true},
		{name: "truststore", data: f.p12Trust, password: "p12pass", want: []string{"Test CA"}},
		{name: "wrong password", data: f.p12, password: "x", err: "file: the PKCS#12 password is incorrect."},
		{name: "garbage", data: []byte("junk"), err: "file is not a readable PKCS#12 file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := keymaterial.ParsePKCS12(tc.data, tc.password)
			if tc.err != "" {
				requireInvalid(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, subjects(m.Chain))
			require.Equal(t, tc.wantKey, m.Key != nil)
		})
	}
}

func TestSelfSigned(t *testing.T) {
	now := time.Now()
	t.Run("as the spec asks", func(t *testing.T) {
		m, alias, err := keymaterial.SelfSigned([]byte(`{"alias":"self","keySize":"2048","sigAlg":"SHA384withRSA",
			"subject":{"commonName":"self.test","org":"Acme","countryCode":"NZ","email":"ops@self.test"},
			"subjectAlternativeDNSNames":{"subjectAlternativeName":["self.test","127.0.0.1"]},"certValidityInDays":"30"}`), now)
		require.NoError(t, err)
		require.Equal(t, "self", alias)
		require.Len(t, m.Chain, 1)
		c := m.Chain[0]
		require.Equal(t, "CN=self.test,O=Acme,C=NZ", c.Subject.String())
		require.Equal(t, c.Subject.String(), c.Issuer.String())
		require.Equal(t, x509.SHA384WithRSA, c.SignatureAlgorithm)
		require.Equal(t, []string{"self.test"}, c.DNSNames)
		require.Len(t, c.IPAddresses, 1)
		require.Equal(t, "127.0.0.1", c.IPAddresses[0].String())
		require.Equal(t, []string{"ops@self.test"}, c.EmailAddresses)
		require.WithinDuration(t, now.AddDate(0, 0, 30), c.NotAfter, time.Second)
		require.NoError(t, c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature), "self-signed")
		require.True(t, c.PublicKey.(*rsa.PublicKey).Equal(m.Key.Public()))
	})
	t.Run("defaults", func(t *testing.T) {
		m, alias, err := keymaterial.SelfSigned([]byte(`{"subject":{"commonName":"d.test"}}`), now)
		require.NoError(t, err)
		require.Empty(t, alias)
		c := m.Chain[0]
		require.Equal(t, 2048, c.PublicKey.(*rsa.PublicKey).N.BitLen())
		require.Equal(t, x509.SHA256WithRSA, c.SignatureAlgorithm)
		require.WithinDuration(t, now.AddDate(0, 0, 365), c.NotAfter, time.Second)
	})
	for _, tc := range []struct {
		name, spec, err string
	}{
		{"empty body", " ", "format=selfsignedcert needs a JSON CertificateGenerationSpec body."},
		{"not JSON", "{", "Invalid CertificateGenerationSpec"},
		{"number that is not one", `{"keySize":"big","subject":{"commonName":"x"}}`, `Invalid CertificateGenerationSpec: "big" is not an integer`},
		{"no common name", `{"subject":{}}`, "CertificateGenerationSpec: subject.commonName is required."},
		{"key size", `{"keySize":512,"subject":{"commonName":"x"}}`, "CertificateGenerationSpec: keySize 512 must be 2048, 3072 or 4096."},
		{"signature algorithm", `{"sigAlg":"SHA256withECDSA","subject":{"commonName":"x"}}`, `CertificateGenerationSpec: sigAlg "SHA256withECDSA" must be`},
		{"validity", `{"certValidityInDays":-1,"subject":{"commonName":"x"}}`, "CertificateGenerationSpec: certValidityInDays -1 must be positive."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, err := keymaterial.SelfSigned([]byte(tc.spec), now)
			requireInvalid(t, err, tc.err)
			require.Nil(t, m)
		})
	}
}

func TestCheckExpiry(t *testing.T) {
	f := newFixtures(t)
	for _, tc := range []struct {
		name   string
		chain  []*x509.Certificate
		ignore bool
		err    string
	}{
		{name: "valid", chain: []*x509.Certificate{f.leaf.Cert, f.ca.Cert}},
		{name: "expired", chain: []*x509.Certificate{f.expired.Cert, f.ca.Cert}, err: `Certificate "CN=old.test,O=Test" expired on`},
		{name: "expired, ignored", chain: []*x509.Certificate{f.expired.Cert}, ignore: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&keymaterial.Material{Chain: tc.chain}).CheckExpiry(f.now, tc.ignore)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, tc.err)
			require.Contains(t, err.Error(), "set ignoreExpiryValidation=true")
		})
	}
}

func TestPEMRoundTrip(t *testing.T) {
	f := newFixtures(t)
	for _, tc := range []struct {
		name string
		m    *keymaterial.Material
	}{
		{"key and chain", &keymaterial.Material{Chain: []*x509.Certificate{f.rsaLeaf.Cert, f.ca.Cert}, Key: f.rsaKey}},
		{"certificate only", &keymaterial.Material{Chain: []*x509.Certificate{f.ca.Cert}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, key, err := tc.m.PEM()
			require.NoError(t, err)
			require.Equal(t, tc.m.Key == nil, key == "")
			if key != "" {
				require.True(t, bytes.HasPrefix([]byte(key), []byte("-----BEGIN PRIVATE KEY-----")), "keys are stored as PKCS#8")
			}
			back, err := keymaterial.Load(certs, key)
			require.NoError(t, err)
			require.Equal(t, subjects(tc.m.Chain), subjects(back.Chain))
			for i := range back.Chain {
				require.True(t, back.Chain[i].Equal(tc.m.Chain[i]))
			}
			if tc.m.Key != nil {
				require.True(t, back.Key.Public().(*rsa.PublicKey).Equal(tc.m.Key.Public()))
			}
		})
	}
	_, err := keymaterial.Load("junk", "")
	requireInvalid(t, err, "stored certificate holds no PEM certificate")
}

func TestCSR(t *testing.T) {
	f := newFixtures(t)
	m, err := keymaterial.ParseKeyCertFile(f.leaf.CertPEM, f.leaf.KeyPEM, "", false)
	require.NoError(t, err)
	out, err := m.CSR()
	require.NoError(t, err)
	block, _ := pem.Decode(out)
	require.NotNil(t, block)
	require.Equal(t, "CERTIFICATE REQUEST", block.Type)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	require.NoError(t, err)
	require.NoError(t, csr.CheckSignature())
	require.Equal(t, f.leaf.Cert.Subject.String(), csr.Subject.String())
	require.Equal(t, f.leaf.Cert.DNSNames, csr.DNSNames)
	require.True(t, csr.PublicKey.(*ecdsa.PublicKey).Equal(f.leaf.Key.Public()))

	_, err = (&keymaterial.Material{Chain: []*x509.Certificate{f.ca.Cert}}).CSR()
	require.Error(t, err, "a certificate without a key cannot sign a request")
}

func TestNames(t *testing.T) {
	f := newFixtures(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for _, tc := range []struct{ got, want string }{
		{keymaterial.SigAlgName(x509.SHA256WithRSA), "SHA256withRSA"},
		{keymaterial.SigAlgName(x509.SHA512WithRSAPSS), "RSASSA-PSS"},
		{keymaterial.SigAlgName(x509.ECDSAWithSHA384), "SHA384withECDSA"},
		{keymaterial.SigAlgName(x509.PureEd25519), "Ed25519"},
		{keymaterial.SigAlgName(x509.MD5WithRSA), "MD5-RSA"},
		{keymaterial.PublicKeyName(f.rsaKey.Public()), "RSA Public Key, 2048 bits"},
		{keymaterial.PublicKeyName(f.leaf.Key.Public()), "EC Public Key, P-256"},
		{keymaterial.PublicKeyName(edKey.Public()), "Ed25519 Public Key"},
		{keymaterial.PublicKeyName("odd"), "string"},
		{keymaterial.SerialHex(nil), "00"},
		{keymaterial.SerialHex([]byte{0x01, 0xab, 0xff}), "01:ab:ff"},
	} {
		require.Equal(t, tc.want, tc.got)
	}
}
