package keymaterial

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"
)

// certGenSpec is Apigee's CertificateGenerationSpec; numbers may come as
// JSON numbers or strings.
type certGenSpec struct {
	Alias   string  `json:"alias"`
	KeySize flexInt `json:"keySize"`
	SigAlg  string  `json:"sigAlg"`
	Subject struct {
		CountryCode string `json:"countryCode"`
		State       string `json:"state"`
		Locality    string `json:"locality"`
		Org         string `json:"org"`
		OrgUnit     string `json:"orgUnit"`
		CommonName  string `json:"commonName"`
		Email       string `json:"email"`
	} `json:"subject"`
	SubjectAlternativeDNSNames struct {
		SubjectAlternativeName []string `json:"subjectAlternativeName"`
	} `json:"subjectAlternativeDNSNames"`
	CertValidityInDays flexInt `json:"certValidityInDays"`
}

type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*f = flexInt(n)
	return nil
}

var rsaSigAlgs = map[string]x509.SignatureAlgorithm{
	"SHA256withRSA": x509.SHA256WithRSA, "SHA384withRSA": x509.SHA384WithRSA, "SHA512withRSA": x509.SHA512WithRSA,
}

// SelfSigned generates an RSA key and a self-signed certificate, valid from
// now, as the JSON CertificateGenerationSpec in spec asks; it also returns
// the spec's alias name (empty when the spec names none).
func SelfSigned(spec []byte, now time.Time) (*Material, string, error) {
	var s certGenSpec
	if len(bytes.TrimSpace(spec)) == 0 {
		return nil, "", invalidf("format=selfsignedcert needs a JSON CertificateGenerationSpec body.")
	}
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, "", invalidf("Invalid CertificateGenerationSpec: %v", err)
	}
	if s.Subject.CommonName == "" {
		return nil, "", invalidf("CertificateGenerationSpec: subject.commonName is required.")
	}
	bits := int(s.KeySize)
	switch bits {
	case 0:
		bits = 2048
	case 2048, 3072, 4096:
	default:
		return nil, "", invalidf("CertificateGenerationSpec: keySize %d must be 2048, 3072 or 4096.", bits)
	}
	if s.SigAlg == "" {
		s.SigAlg = "SHA256withRSA"
	}
	sigAlg, ok := rsaSigAlgs[s.SigAlg]
	if !ok {
		return nil, "", invalidf("CertificateGenerationSpec: sigAlg %q must be SHA256withRSA, SHA384withRSA or SHA512withRSA.", s.SigAlg)
	}
	days := int(s.CertValidityInDays)
	if days == 0 {
		days = 365
	}
	if days < 0 {
		return nil, "", invalidf("CertificateGenerationSpec: certValidityInDays %d must be positive.", days)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, "", fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, "", fmt.Errorf("serial number: %w", err)
	}
	subj := pkix.Name{CommonName: s.Subject.CommonName}
	appendNonEmpty := func(dst *[]string, v string) {
		if v != "" {
			*dst = append(*dst, v)
		}
	}
	appendNonEmpty(&subj.Country, s.Subject.CountryCode)
	appendNonEmpty(&subj.Province, s.Subject.State)
	appendNonEmpty(&subj.Locality, s.Subject.Locality)
	appendNonEmpty(&subj.Organization, s.Subject.Org)
	appendNonEmpty(&subj.OrganizationalUnit, s.Subject.OrgUnit)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subj, NotBefore: now.Add(-time.Minute), NotAfter: now.AddDate(0, 0, days),
		SignatureAlgorithm: sigAlg, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if s.Subject.Email != "" {
		tmpl.EmailAddresses = []string{s.Subject.Email}
	}
	for _, n := range s.SubjectAlternativeDNSNames.SubjectAlternativeName {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, "", invalidf("CertificateGenerationSpec: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", fmt.Errorf("parse generated certificate: %w", err)
	}
	return &Material{Chain: []*x509.Certificate{c}, Key: key}, s.Alias, nil
}
