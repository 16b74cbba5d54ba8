// Package keymaterial turns the key material of a keystore alias — PEM
// key/certificate files, PKCS#12 files, DER certificates or a request for a
// self-signed certificate — into a checked certificate chain and private
// key, and back into PEM for storage.
//
// Faults in what a client sent are *InvalidError values whose text is fit to
// show the client; any other error is a failure of this process.
package keymaterial

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// InvalidError is a fault in the material a client sent.
type InvalidError struct{ msg string }

func (e *InvalidError) Error() string { return e.msg }

func invalidf(format string, args ...any) error {
	return &InvalidError{msg: fmt.Sprintf(format, args...)}
}

// Material is a checked certificate chain, leaf first, and, for a
// key/certificate pair, the leaf's private key (nil for a certificate only).
type Material struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// ParseKeyCertFile reads a keycertfile upload: certFile a PEM chain,
// keyFile (optional) a PEM private key matching one of its certificates,
// which then comes first. password decrypts a legacy-encrypted key;
// ignoreNewline accepts certificates glued together without a newline.
func ParseKeyCertFile(certFile, keyFile []byte, password string, ignoreNewline bool) (*Material, error) {
	chain, err := ParseCertChain("certFile", certFile, ignoreNewline)
	if err != nil {
		return nil, err
	}
	m := &Material{Chain: chain}
	if len(bytes.TrimSpace(keyFile)) == 0 {
		return m, nil
	}
	if m.Key, err = ParsePrivateKey(keyFile, password); err != nil {
		return nil, err
	}
	if err := m.OrderByKey(); err != nil {
		return nil, err
	}
	return m, nil
}

var glued = []byte("-----END CERTIFICATE----------BEGIN CERTIFICATE-----")

// ParseCertChain reads the PEM certificates in data, in order; field names
// the data in error messages.
func ParseCertChain(field string, data []byte, ignoreNewline bool) ([]*x509.Certificate, error) {
	if bytes.Contains(data, glued) {
		if !ignoreNewline {
			return nil, invalidf("%s: certificates in the chain are not separated by a newline; fix the file or set ignoreNewlineValidation=true.", field)
		}
		data = bytes.ReplaceAll(data, glued, []byte("-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----"))
	}
	var chain []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, invalidf("%s: unexpected PEM block %q (only CERTIFICATE blocks belong here).", field, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, invalidf("%s: certificate %d is not a valid X.509 certificate: %v", field, len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, invalidf("%s holds no PEM certificate (expected -----BEGIN CERTIFICATE-----).", field)
	}
	return chain, nil
}

// ParseCertificates reads a certificate upload: a PEM chain or, when data
// holds no PEM header, one DER certificate.
func ParseCertificates(data []byte, ignoreNewline bool) ([]*x509.Certificate, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, invalidf("The body is neither PEM nor a DER X.509 certificate: %v", err)
		}
		return []*x509.Certificate{c}, nil
	}
	return ParseCertChain("certificate", data, ignoreNewline)
}

// ParsePrivateKey reads the first PEM private key in data (PKCS#8, PKCS#1
// RSA or SEC 1 EC), decrypting legacy PEM encryption with password.
func ParsePrivateKey(data []byte, password string) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, invalidf("keyFile holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or RSA/EC PRIVATE KEY).")
		}
		der := block.Bytes
		switch block.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, invalidf("keyFile: PKCS#8-encrypted keys (ENCRYPTED PRIVATE KEY) are not supported; upload the key unencrypted or with legacy PEM encryption, or use format=pkcs12.")
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		default:
			continue // e.g. EC PARAMETERS before the key
		}
		// Legacy PEM encryption (Proc-Type: 4,ENCRYPTED) is what password-
		// protected keycertfile uploads use; the deprecated calls are the
		// only standard-library way to read it.
		if x509.IsEncryptedPEMBlock(block) {
			if password == "" {
				return nil, invalidf("keyFile is encrypted; send its password in the password part.")
			}
			var err error
			if der, err = x509.DecryptPEMBlock(block, []byte(password)); err != nil {
				return nil, invalidf("keyFile: cannot decrypt the private key with the given password: %v", err)
			}
		}
		var key any
		var err error
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(der)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(der)
		default:
			key, err = x509.ParsePKCS8PrivateKey(der)
		}
		if err != nil {
			return nil, invalidf("keyFile: the %s block is not a valid private key: %v", block.Type, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, invalidf("keyFile: unsupported private key type %T.", key)
		}
		return s, nil
	}
}

// OrderByKey puts the certificate that matches the key first; none
// matching is the classic key/certificate mismatch.
func (m *Material) OrderByKey() error {
	pub, ok := m.Key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return invalidf("keyFile: unsupported private key type %T.", m.Key)
	}
	for i, c := range m.Chain {
		if pub.Equal(c.PublicKey) {
			if i > 0 {
				m.Chain[0], m.Chain[i] = m.Chain[i], m.Chain[0]
			}
			return nil
		}
	}
	return invalidf("keyFile and certFile do not match: the private key does not belong to the certificate %q.", m.Chain[0].Subject.String())
}

// ParsePKCS12 reads a PKCS#12 file: a key with its chain or, for a
// truststore, certificates alone.
func ParsePKCS12(data []byte, password string) (*Material, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, invalidf("file: the PKCS#12 password is incorrect.")
		}
		// A PKCS#12 truststore holds certificates without a key.
		if certs, terr := pkcs12.DecodeTrustStore(data, password); terr == nil && len(certs) > 0 {
			return &Material{Chain: certs}, nil
		}
		return nil, invalidf("file is not a readable PKCS#12 file: %v", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, invalidf("file: unsupported private key type %T.", key)
	}
	m := &Material{Chain: append([]*x509.Certificate{leaf}, cas...), Key: s}
	if err := m.OrderByKey(); err != nil {
		return nil, err
	}
	return m, nil
}

// CheckExpiry refuses a chain with a certificate expired at now, unless
// ignore.
func (m *Material) CheckExpiry(now time.Time, ignore bool) error {
	if ignore {
		return nil
	}
	for _, c := range m.Chain {
		if now.After(c.NotAfter) {
			return invalidf("Certificate %q expired on %s; set ignoreExpiryValidation=true to store it anyway.",
				c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// PEM encodes the material for storage: the chain as PEM certificates and
// the key, if any, as unencrypted PKCS#8 PEM (empty without a key).
func (m *Material) PEM() (certs, key string, err error) {
	var b bytes.Buffer
	for _, c := range m.Chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	if m.Key == nil {
		return b.String(), "", nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(m.Key)
	if err != nil {
		return "", "", invalidf("keyFile: cannot store the private key: %v", err)
	}
	return b.String(), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// Load decodes material that PEM encoded (keyPEM empty for a certificate
// only).
func Load(certPEM, keyPEM string) (*Material, error) {
	chain, err := ParseCertChain("stored certificate", []byte(certPEM), false)
	if err != nil {
		return nil, err
	}
	m := &Material{Chain: chain}
	if keyPEM != "" {
		if m.Key, err = ParsePrivateKey([]byte(keyPEM), ""); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// CSR returns a PEM PKCS #10 request, signed with the key, for the leaf's
// subject and names. The material must hold a key.
func (m *Material) CSR() ([]byte, error) {
	if m.Key == nil {
		return nil, errors.New("create CSR: no private key")
	}
	leaf := m.Chain[0]
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: leaf.Subject, DNSNames: leaf.DNSNames, IPAddresses: leaf.IPAddresses, EmailAddresses: leaf.EmailAddresses, URIs: leaf.URIs,
	}, m.Key)
	if err != nil {
		return nil, fmt.Errorf("create CSR: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}
