// Package seal encrypts small values at rest (KVM entries, consumer
// secrets) with AES-256-GCM. A sealed value is self-describing:
//
//	version (1 byte, 0x01) | nonce (12 bytes) | ciphertext+tag
//
// Callers pass associated data naming where the value lives (map id and
// entry name, consumer key, …) so that a ciphertext copied into another row
// fails to open instead of decrypting as that row's value.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

const version byte = 0x01

// ErrOpen means a sealed value could not be opened: wrong key, wrong
// associated data, or tampered bytes. The cause is deliberately not told.
var ErrOpen = errors.New("seal: cannot open sealed value")

// NewKey returns a fresh random key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("seal: generate key: %w", err)
	}
	return k, nil
}

// Sealer seals and opens values under one key. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a KeySize-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad. Every call uses a fresh random
// nonce, so sealing the same value twice gives different bytes.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+ns], plaintext, aad), nil
}

// Open decrypts a value produced by Seal with the same aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open([]byte{}, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
