package store

import (
	"context"
	"fmt"
	"sync"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/seal"
)

// Purposes of the per-org data-encryption keys in kms_<org>.encryption_keys.
const (
	keyPurposeKVM = "kvm" // key value map entry values
	keyPurposeKMS = "kms" // consumer secrets
)

// keyring hands out the org's sealers. Each key is created once per org and
// purpose by whichever process needs it first (a lightweight transaction),
// so every MART and message processor, in every region, seals and opens
// with the same key; processes cache it once read.
type keyring struct {
	session *gocql.Session
	mu      sync.Mutex
	sealers map[string]*seal.Sealer
}

func newKeyring(s *gocql.Session) *keyring {
	return &keyring{session: s, sealers: map[string]*seal.Sealer{}}
}

func (k *keyring) sealer(ctx context.Context, org, purpose string) (*seal.Sealer, error) {
	id := kmsKS(org) + "/" + purpose
	k.mu.Lock()
	s, ok := k.sealers[id]
	k.mu.Unlock()
	if ok {
		return s, nil
	}
	var key []byte
	err := k.session.Query(fmt.Sprintf(`SELECT key FROM %s.encryption_keys WHERE purpose = ?`, kmsKS(org)), purpose).
		ScanContext(ctx, &key)
	switch {
	case isNotFound(err):
		fresh, err := seal.NewKey()
		if err != nil {
			return nil, err
		}
		prev := map[string]any{}
		applied, err := k.session.Query(fmt.Sprintf(
			`INSERT INTO %s.encryption_keys (purpose, key, created_at) VALUES (?, ?, toUnixTimestamp(now())) IF NOT EXISTS`, kmsKS(org)),
			purpose, fresh).MapScanCASContext(ctx, prev)
		if err != nil {
			return nil, fmt.Errorf("store: create %s encryption key for %s: %w", purpose, org, err)
		}
		if applied {
			key = fresh
		} else if b, ok := prev["key"].([]byte); ok {
			key = b // another process created it first: use theirs
		} else {
			return nil, fmt.Errorf("store: %s encryption key for %s: unexpected LWT result %v", purpose, org, prev)
		}
	case err != nil:
		return nil, fmt.Errorf("store: read %s encryption key for %s: %w", purpose, org, err)
	}
	s, err = seal.New(key)
	if err != nil {
		return nil, fmt.Errorf("store: %s encryption key for %s: %w", purpose, org, err)
	}
	k.mu.Lock()
	k.sealers[id] = s
	k.mu.Unlock()
	return s, nil
}
