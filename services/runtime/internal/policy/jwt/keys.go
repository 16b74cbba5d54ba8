package jwt

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// normalizePEM drops the indentation a PEM picks up inside XML or JSON.
func normalizePEM(s string) []byte {
	s = strings.ReplaceAll(s, `\n`, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return []byte(strings.Join(lines, "\n"))
}

func decodeSecret(s, enc string) ([]byte, error) {
	switch enc {
	case "base16", "hex":
		return hex.DecodeString(s)
	case "base64":
		return base64.StdEncoding.DecodeString(s)
	case "base64url":
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return []byte(s), nil
}

func parsePrivateKey(s, password string) (any, error) {
	block, _ := pem.Decode(normalizePEM(s))
	if block == nil {
		return nil, errors.New("the private key is not PEM")
	}
	der := block.Bytes
	//lint:ignore SA1019 legacy encrypted PEM is what <Password> decrypts.
	if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck
		if password == "" {
			return nil, errors.New("the private key is encrypted and no password was given")
		}
		var err error
		//lint:ignore SA1019 see above
		if der, err = x509.DecryptPEMBlock(block, []byte(password)); err != nil { //nolint:staticcheck
			return nil, fmt.Errorf("decrypting the private key: %v", err)
		}
	} else if block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("encrypted PKCS#8 private keys are not supported; use a legacy encrypted PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("cannot parse the %s PEM block", block.Type)
}

func parsePublicKey(s string) (any, error) {
	block, _ := pem.Decode(normalizePEM(s))
	if block == nil {
		return nil, errors.New("the public key is not PEM")
	}
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}

func parseJWKS(data []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("the JWKS is not valid: %v", err)
	}
	return &set, nil
}

// jwksCache fetches a JWKS over HTTP and keeps it for a TTL per URI.
type jwksCache struct {
	client *http.Client
	ttl    time.Duration
	now    func() time.Time // tests move it to expire a set
	mu     sync.Mutex
	sets   map[string]jwksEntry
}

type jwksEntry struct {
	set     *jose.JSONWebKeySet
	fetched time.Time
}

func newJWKSCache(c *http.Client) *jwksCache {
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &jwksCache{client: c, ttl: 5 * time.Minute, now: time.Now, sets: map[string]jwksEntry{}}
}

func (c *jwksCache) get(ctx context.Context, uri string) (*jose.JSONWebKeySet, error) {
	c.mu.Lock()
	e, ok := c.sets[uri]
	c.mu.Unlock()
	if ok && c.now().Sub(e.fetched) < c.ttl {
		return e.set, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching JWKS %s: status %d", uri, resp.StatusCode)
	}
	set, err := parseJWKS(body)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.sets[uri] = jwksEntry{set: set, fetched: c.now()}
	c.mu.Unlock()
	return set, nil
}
