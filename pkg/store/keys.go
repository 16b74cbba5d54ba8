package store

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
	"github.com/hybrid-emulator/hybrid/pkg/secretfile"
)

// EncryptionKeys are an organization's data encryption keys. Hybrid keeps
// them outside Cassandra, in the org's Kubernetes secret (overrides:
// kmsEncryptionKey, kvmEncryptionKey); here they live in a 0600 file that
// MART and the message processor read (encryptionKeysPath), so a copy of
// Cassandra's data holds only ciphertext.
type EncryptionKeys struct {
	// KMS seals consumer secrets.
	KMS []byte `yaml:"kmsEncryptionKey"`
	// KVM seals key value map entry values.
	KVM []byte `yaml:"kvmEncryptionKey"`
}

// ErrNoEncryptionKeys is returned by reads and writes of sealed values when
// the store was made without keys.
var ErrNoEncryptionKeys = errors.New("store: no data encryption keys configured (encryptionKeysPath)")

// GenerateEncryptionKeys returns fresh random keys.
func GenerateEncryptionKeys() (EncryptionKeys, error) {
	kms, err := seal.NewKey()
	if err != nil {
		return EncryptionKeys{}, err
	}
	kvm, err := seal.NewKey()
	if err != nil {
		return EncryptionKeys{}, err
	}
	return EncryptionKeys{KMS: kms, KVM: kvm}, nil
}

type encryptionKeysFile struct {
	KMS string `yaml:"kmsEncryptionKey"`
	KVM string `yaml:"kvmEncryptionKey"`
}

// WriteEncryptionKeys writes keys to path (mode 0600, atomically), base64 as
// in hybrid's overrides.
func WriteEncryptionKeys(path string, keys EncryptionKeys) error {
	text := fmt.Sprintf("# Data encryption keys of one organization (base64 AES-256). Keep this file 0600.\nkmsEncryptionKey: %s\nkvmEncryptionKey: %s\n",
		base64.StdEncoding.EncodeToString(keys.KMS), base64.StdEncoding.EncodeToString(keys.KVM))
	return atomicfile.Write(path, []byte(text), 0o600)
}

// ReadEncryptionKeys reads a file written by WriteEncryptionKeys. It must
// be 0600 (or stricter) and hold both keys.
func ReadEncryptionKeys(path string) (EncryptionKeys, error) {
	data, err := secretfile.Read(path)
	if err != nil {
		return EncryptionKeys{}, fmt.Errorf("encryption keys: %w", err)
	}
	var f encryptionKeysFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return EncryptionKeys{}, fmt.Errorf("encryption keys %s: %w", path, err)
	}
	var keys EncryptionKeys
	for _, k := range []struct {
		field string
		text  string
		dst   *[]byte
	}{{"kmsEncryptionKey", f.KMS, &keys.KMS}, {"kvmEncryptionKey", f.KVM, &keys.KVM}} {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k.text))
		if err != nil || len(b) != seal.KeySize {
			return EncryptionKeys{}, fmt.Errorf("encryption keys %s: %s: want base64 of %d bytes", path, k.field, seal.KeySize)
		}
		*k.dst = b
	}
	return keys, nil
}

// keyring holds the sealers of the configured keys; a missing or malformed
// key fails the first read or write that needs it, naming the key.
type keyring struct {
	kms, kvm *seal.Sealer
	kmsErr   error
	kvmErr   error
}

func newKeyring(keys EncryptionKeys) *keyring {
	k := &keyring{}
	k.kms, k.kmsErr = sealerFor("kmsEncryptionKey", keys.KMS)
	k.kvm, k.kvmErr = sealerFor("kvmEncryptionKey", keys.KVM)
	return k
}

func sealerFor(name string, key []byte) (*seal.Sealer, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: %s missing", ErrNoEncryptionKeys, name)
	}
	s, err := seal.New(key)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", name, err)
	}
	return s, nil
}

func (k *keyring) consumerSecrets() (*seal.Sealer, error) { return k.kms, k.kmsErr }
func (k *keyring) mapValues() (*seal.Sealer, error)       { return k.kvm, k.kvmErr }
