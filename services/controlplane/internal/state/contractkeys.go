package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
)

// ContractKeyDir is where, under the state directory, each organization's
// contract encryption key is kept (<org>.key, base64, mode 0600). The
// runtime plane's message processors read it (contractEncryptionKeyPath),
// as hybrid's read defaults.org.contractEncryptionKey from a secret.
const ContractKeyDir = "contract-keys"

// ContractKeyPath is the file holding org's contract encryption key.
func (s *Store) ContractKeyPath(org string) string {
	return filepath.Join(s.dir, ContractKeyDir, org+".key")
}

// ContractKey returns org's contract encryption key, generating and
// writing it the first time. Concurrent first calls agree on one key: the
// file is published with a hard link, which fails if it already exists.
func (s *Store) ContractKey(org string) ([]byte, error) {
	path := s.ContractKeyPath(org)
	key, err := contract.ReadKeyFile(path)
	switch {
	case err == nil:
		return key, nil
	case !errors.Is(err, os.ErrNotExist):
		// Present but unreadable or malformed: never replace it. (A stat
		// after the read would race a concurrent first writer.)
		return nil, err
	}
	if key, err = seal.NewKey(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("contract keys: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+org+".key-*")
	if err != nil {
		return nil, fmt.Errorf("contract keys: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(contract.EncodeKey(key)); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("contract keys: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("contract keys: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("contract keys: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return contract.ReadKeyFile(path)
		}
		return nil, fmt.Errorf("contract keys: %w", err)
	}
	return key, nil
}

// ContractSealer is a sealer under org's contract encryption key.
func (s *Store) ContractSealer(org string) (*seal.Sealer, error) {
	key, err := s.ContractKey(org)
	if err != nil {
		return nil, err
	}
	return seal.New(key)
}
