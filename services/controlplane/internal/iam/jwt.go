package iam

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// jwtHeader is the JOSE header of an RS256 JWT.
type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// jwtClaims are the claims Google's service-account flows send: the
// JWT-bearer assertion (iss, scope, aud = token URI, iat, exp, optional
// sub) and the self-signed access JWT (iss = sub, aud or scope).
type jwtClaims struct {
	Iss            string `json:"iss"`
	Sub            string `json:"sub"`
	Aud            string `json:"aud"`
	Scope          string `json:"scope"`
	TargetAudience string `json:"target_audience"`
	Iat            int64  `json:"iat"`
	Exp            int64  `json:"exp"`
}

// parsedJWT is a decoded but not yet verified JWT.
type parsedJWT struct {
	header       jwtHeader
	claims       jwtClaims
	signingInput string // "header.payload", what the signature covers
	signature    []byte
}

var errMalformedJWT = errors.New("malformed JWT")

// parseJWT decodes a compact JWS. It checks the shape only; verify checks
// the signature.
func parseJWT(tok string) (*parsedJWT, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errMalformedJWT
	}
	var p parsedJWT
	if err := decodeSegment(parts[0], &p.header); err != nil {
		return nil, errMalformedJWT
	}
	if err := decodeSegment(parts[1], &p.claims); err != nil {
		return nil, errMalformedJWT
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return nil, errMalformedJWT
	}
	p.signingInput = parts[0] + "." + parts[1]
	p.signature = sig
	return &p, nil
}

func decodeSegment(seg string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// verify checks the RS256 signature with pub.
func (p *parsedJWT) verify(pub *rsa.PublicKey) bool {
	if p.header.Alg != "RS256" {
		return false
	}
	sum := sha256.Sum256([]byte(p.signingInput))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], p.signature) == nil
}

// looksLikeJWT tells a JWT bearer token from an opaque one without
// verifying it.
func looksLikeJWT(tok string) bool {
	if strings.Count(tok, ".") != 2 {
		return false
	}
	p, err := parseJWT(tok)
	return err == nil && p.header.Alg != ""
}
