package contract

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/seal"
)

// The private keys of keystore aliases travel sealed, as in Apigee hybrid,
// whose runtime decrypts contract secrets with the org's
// contractEncryptionKey (overrides: defaults.org.contractEncryptionKey, a
// base64 AES key in a Kubernetes secret). Here the control plane generates
// one key per organization and writes it, base64, to a 0600 file the
// message processor reads (contractEncryptionKeyPath); synchronizers and
// Cassandra only ever see ciphertext.

// keyAAD binds a sealed key to the alias it belongs to, so a ciphertext
// copied to another alias, keystore, environment or organization does not
// open.
func keyAAD(org, env, keystore, alias string) []byte {
	return []byte("contract-key\x00" + org + "\x00" + env + "\x00" + keystore + "\x00" + alias)
}

// SealKey seals an alias's private key for the contract of org/env.
func SealKey(s *seal.Sealer, org, env, keystore, alias, keyPEM string) ([]byte, error) {
	return s.Seal([]byte(keyPEM), keyAAD(org, env, keystore, alias))
}

// OpenKey opens a key sealed by SealKey.
func OpenKey(s *seal.Sealer, org, env, keystore, alias string, sealed []byte) (string, error) {
	pt, err := s.Open(sealed, keyAAD(org, env, keystore, alias))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// EncodeKey is the text form of a contract encryption key (base64, as
// hybrid's contractEncryptionKey).
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) + "\n" }

// ReadKeyFile reads a contract encryption key written with EncodeKey.
func ReadKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no contract encryption key configured (contractEncryptionKeyPath)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contract encryption key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != seal.KeySize {
		return nil, fmt.Errorf("contract encryption key %s: want base64 of %d bytes", path, seal.KeySize)
	}
	return key, nil
}
