package keymaterial

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
)

// SigAlgName names a signature algorithm the way Apigee (Java) does.
func SigAlgName(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.SHA1WithRSA:
		return "SHA1withRSA"
	case x509.SHA256WithRSA:
		return "SHA256withRSA"
	case x509.SHA384WithRSA:
		return "SHA384withRSA"
	case x509.SHA512WithRSA:
		return "SHA512withRSA"
	case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return "RSASSA-PSS"
	case x509.ECDSAWithSHA1:
		return "SHA1withECDSA"
	case x509.ECDSAWithSHA256:
		return "SHA256withECDSA"
	case x509.ECDSAWithSHA384:
		return "SHA384withECDSA"
	case x509.ECDSAWithSHA512:
		return "SHA512withECDSA"
	case x509.PureEd25519:
		return "Ed25519"
	}
	return a.String()
}

// PublicKeyName describes a certificate's public key: its algorithm and
// size or curve.
func PublicKeyName(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA Public Key, %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC Public Key, " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519 Public Key"
	}
	return fmt.Sprintf("%T", k)
}

// SerialHex writes a serial number's bytes as colon-separated hex pairs
// ("00" for none).
func SerialHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}
