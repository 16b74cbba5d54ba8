package tlsca

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The runtime plane's internal PKI, as hybrid's apigee-ca issues it with
// cert-manager: the synchronizer serves contracts only over TLS to clients
// presenting a certificate from this CA for the runtime identity.
const (
	// RuntimeIdentity is the common name of the message processor's client
	// certificate, the only identity the synchronizer hands contracts to.
	RuntimeIdentity = "apigee-runtime"
	// SynchronizerIdentity is the common name of the synchronizer's server
	// certificate.
	SynchronizerIdentity = "apigee-synchronizer"
	// File bases in a runtime PKI directory.
	SynchronizerFile = "synchronizer"
	RuntimeFile      = "runtime"
)

// RuntimePKI is where the runtime plane's CA and certificates are.
type RuntimePKI struct {
	Dir string
}

// Paths of the files in the directory.
func (p RuntimePKI) CA() string               { return filepath.Join(p.Dir, CAFile) }
func (p RuntimePKI) SynchronizerCert() string { return filepath.Join(p.Dir, SynchronizerFile+".pem") }
func (p RuntimePKI) SynchronizerKey() string {
	return filepath.Join(p.Dir, SynchronizerFile+"-key.pem")
}
func (p RuntimePKI) RuntimeCert() string { return filepath.Join(p.Dir, RuntimeFile+".pem") }
func (p RuntimePKI) RuntimeKey() string  { return filepath.Join(p.Dir, RuntimeFile+"-key.pem") }

// EnsureRuntimePKI makes (or reuses) the runtime plane's CA in dir, the
// synchronizer's server certificate for synchronizerHosts (DefaultHosts
// always included) and the message processor's client certificate
// (CN apigee-runtime).
func EnsureRuntimePKI(dir string, synchronizerHosts []string, now time.Time) (RuntimePKI, error) {
	p := RuntimePKI{Dir: dir}
	if _, _, err := EnsureLeaf(dir, Leaf{File: SynchronizerFile, CommonName: SynchronizerIdentity,
		Hosts: normalizeHosts(synchronizerHosts), Server: true}, now); err != nil {
		return p, err
	}
	if _, _, err := EnsureLeaf(dir, Leaf{File: RuntimeFile, CommonName: RuntimeIdentity, Client: true}, now); err != nil {
		return p, err
	}
	return p, nil
}

func loadPool(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// MutualTLSServer is a server TLS configuration that requires a client
// certificate issued by the CA in clientCAFile whose common name (or a DNS
// or URI SAN) is one of allowed; any other client fails the handshake.
func MutualTLSServer(certFile, keyFile, clientCAFile string, allowed []string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" || clientCAFile == "" {
		return nil, errors.New("certFile, keyFile and clientCAFile are required")
	}
	if len(allowed) == 0 {
		return nil, errors.New("no client identity is allowed")
	}
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	pool, err := loadPool(clientCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{kp},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		// The chain is verified (ClientCAs, client-auth usage) before this.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no client certificate")
			}
			if id := Identity(cs.PeerCertificates[0], allowed); id == "" {
				return fmt.Errorf("client certificate %q is not one of the allowed identities %v", cs.PeerCertificates[0].Subject.CommonName, allowed)
			}
			return nil
		},
	}, nil
}

// Identity returns the first of allowed that cert names (common name, DNS
// SAN or URI SAN), or "".
func Identity(cert *x509.Certificate, allowed []string) string {
	names := append([]string{cert.Subject.CommonName}, cert.DNSNames...)
	for _, u := range cert.URIs {
		names = append(names, u.String())
	}
	for _, a := range allowed {
		if slices.Contains(names, a) {
			return a
		}
	}
	return ""
}

// MutualTLSClient is a client TLS configuration that trusts caFile and
// presents the key pair certFile/keyFile.
func MutualTLSClient(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" || certFile == "" || keyFile == "" {
		return nil, errors.New("caFile, certFile and keyFile are required")
	}
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{kp}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
