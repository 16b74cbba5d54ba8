// Package tlsca keeps local certificate authorities: the mock control
// plane's, for its HTTPS endpoint (apigeecli only speaks HTTPS; users
// trust the CA with SSL_CERT_FILE=<dir>/ca.pem), and the runtime plane's,
// which plays hybrid's apigee-ca (cert-manager) for internal mutual TLS
// between the message processor and the synchronizer (runtime.go). A CA is
// made once and reused; a certificate is re-issued when it nears expiry or
// its names change. Private keys are written 0600.
package tlsca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// File names inside the TLS directory.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
)

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 397 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour
)

// DefaultHosts are the names every server certificate carries.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Material is the loaded CA and server key pair.
type Material struct {
	CAPath string
	CA     *x509.Certificate
	Server tls.Certificate
	// Issued tells whether the server certificate was (re)issued by Ensure.
	Issued bool
}

// TLSConfig returns a server TLS config using the server certificate.
func (m *Material) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{m.Server}, MinVersion: tls.VersionTLS12}
}

// Ensure loads the CA and server certificate from dir, creating the CA if
// missing and (re)issuing the server certificate if missing, expiring
// within 30 days, not signed by the CA, or lacking one of hosts
// (DefaultHosts are always included).
func Ensure(dir string, hosts []string, now time.Time) (*Material, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls dir: %w", err)
	}
	hosts = normalizeHosts(hosts)
	caCert, caKey, err := loadOrCreateCA(dir, now)
	if err != nil {
		return nil, err
	}
	m := &Material{CAPath: filepath.Join(dir, CAFile), CA: caCert}
	l := Leaf{File: "server", CommonName: "hybrid emulator control plane", Hosts: hosts, Server: true}
	if kp, ok := loadLeaf(dir, caCert, l, now); ok {
		m.Server = kp
		return m, nil
	}
	kp, err := issueLeaf(dir, caCert, caKey, l, now)
	if err != nil {
		return nil, err
	}
	m.Server, m.Issued = kp, true
	return m, nil
}

func normalizeHosts(extra []string) []string {
	set := map[string]bool{}
	for _, h := range append(slices.Clone(DefaultHosts), extra...) {
		if h != "" {
			set[h] = true
		}
	}
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if cerr == nil && kerr == nil {
		cert, key, err := parsePair(certPEM, keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("CA in %s: %w (delete %s and %s to create a new one)", dir, err, CAFile, CAKeyFile)
		}
		if now.After(cert.NotAfter) {
			return nil, nil, fmt.Errorf("CA %s expired on %s (delete it and %s to create a new one)", certPath, cert.NotAfter.Format(time.RFC3339), CAKeyFile)
		}
		return cert, key, nil
	}
	if !errors.Is(cerr, os.ErrNotExist) && cerr != nil {
		return nil, nil, fmt.Errorf("read CA: %w", cerr)
	}
	if !errors.Is(kerr, os.ErrNotExist) && kerr != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", kerr)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "hybrid emulator local CA", Organization: []string{"hybrid-emulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writePair(certPath, keyPath, der, key); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// Leaf describes a certificate issued by the CA.
type Leaf struct {
	// File is the base of the file names: File.pem and File-key.pem.
	File string
	// CommonName is the subject CN; for a client certificate it is the
	// identity the server checks (e.g. apigee-runtime).
	CommonName string
	// Hosts are the DNS names and IP addresses of a server certificate.
	Hosts []string
	// Client and Server choose the extended key usages.
	Client, Server bool
}

func (l Leaf) ekus() []x509.ExtKeyUsage {
	var out []x509.ExtKeyUsage
	if l.Server {
		out = append(out, x509.ExtKeyUsageServerAuth)
	}
	if l.Client {
		out = append(out, x509.ExtKeyUsageClientAuth)
	}
	return out
}

// loadLeaf returns the stored key pair of l if it is still good: signed by
// ca, valid for 30 more days, with l's common name, usages and hosts.
func loadLeaf(dir string, ca *x509.Certificate, l Leaf, now time.Time) (tls.Certificate, bool) {
	kp, err := tls.LoadX509KeyPair(filepath.Join(dir, l.File+".pem"), filepath.Join(dir, l.File+"-key.pem"))
	if err != nil || len(kp.Certificate) == 0 {
		return tls.Certificate{}, false
	}
	leaf, err := x509.ParseCertificate(kp.Certificate[0])
	if err != nil || now.Add(renewBefore).After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return tls.Certificate{}, false
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil || leaf.Subject.CommonName != l.CommonName {
		return tls.Certificate{}, false
	}
	for _, u := range l.ekus() {
		if !slices.Contains(leaf.ExtKeyUsage, u) {
			return tls.Certificate{}, false
		}
	}
	for _, h := range l.Hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return tls.Certificate{}, false
		}
	}
	kp.Leaf = leaf
	return kp, true
}

func issueLeaf(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, l Leaf, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: []string{"hybrid-emulator"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  l.ekus(),
	}
	for _, h := range l.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue certificate %s: %w", l.File, err)
	}
	certPath, keyPath := filepath.Join(dir, l.File+".pem"), filepath.Join(dir, l.File+"-key.pem")
	if err := writePair(certPath, keyPath, der, key); err != nil {
		return tls.Certificate{}, err
	}
	kp, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	kp.Leaf, _ = x509.ParseCertificate(der)
	return kp, nil
}

// EnsureLeaf loads the CA in dir (creating it if missing) and l's key
// pair, (re)issuing it when missing, expiring within 30 days, not signed
// by the CA, or not matching l. The key file is written 0600.
func EnsureLeaf(dir string, l Leaf, now time.Time) (tls.Certificate, bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("tls dir: %w", err)
	}
	caCert, caKey, err := loadOrCreateCA(dir, now)
	if err != nil {
		return tls.Certificate{}, false, err
	}
	if kp, ok := loadLeaf(dir, caCert, l, now); ok {
		return kp, false, nil
	}
	kp, err := issueLeaf(dir, caCert, caKey, l, now)
	return kp, err == nil, err
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("CA key is not ECDSA")
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("CA key does not match the certificate")
	}
	return cert, key, nil
}

func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	var kb bytes.Buffer
	_ = pem.Encode(&kb, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := writeFile(keyPath, kb.Bytes(), 0o600); err != nil {
		return err
	}
	var cb bytes.Buffer
	_ = pem.Encode(&cb, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	return writeFile(certPath, cb.Bytes(), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
