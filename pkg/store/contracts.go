// Package store is the runtime plane's data access over Cassandra, shared by
// the synchronizer, the message processor and MART.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// ErrNotFound is returned when no contract is stored.
var ErrNotFound = errors.New("store: not found")

// Contracts stores runtime contract versions in rtc_<org>.contracts.
type Contracts struct {
	session *gocql.Session
}

func NewContracts(s *gocql.Session) *Contracts { return &Contracts{session: s} }

// Has reports whether a version is already stored (by this or another
// region's synchronizer), so the caller can skip downloading it.
func (c *Contracts) Has(ctx context.Context, org, env, version string) (bool, error) {
	var v string
	err := c.session.Query(fmt.Sprintf(`SELECT version FROM %s.contracts WHERE environment = ? AND version = ?`, cassandra.Keyspace("rtc", org)),
		env, version).ScanContext(ctx, &v)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, gocql.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("store: read contract %s/%s@%s: %w", org, env, version, err)
	}
}

// Put stores a contract version if no one has stored it yet (a lightweight
// transaction: the first writer wins, later ones are told they lost).
func (c *Contracts) Put(ctx context.Context, ct *contract.Contract, storedBy string) (stored bool, err error) {
	body, err := contract.Marshal(ct)
	if err != nil {
		return false, err
	}
	applied, err := c.session.Query(fmt.Sprintf(
		`INSERT INTO %s.contracts (environment, version, body, stored_by, stored_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS`,
		cassandra.Keyspace("rtc", ct.Organization)),
		ct.Environment, ct.Version, body, storedBy, time.Now()).
		MapScanCASContext(ctx, map[string]any{})
	if err != nil {
		return false, fmt.Errorf("store: put contract %s/%s@%s: %w", ct.Organization, ct.Environment, ct.Version, err)
	}
	return applied, nil
}

// Get reads one version.
func (c *Contracts) Get(ctx context.Context, org, env, version string) (*contract.Contract, error) {
	var body []byte
	err := c.session.Query(fmt.Sprintf(`SELECT body FROM %s.contracts WHERE environment = ? AND version = ?`, cassandra.Keyspace("rtc", org)),
		env, version).ScanContext(ctx, &body)
	return decode(org, env, body, err)
}

// Latest reads the newest stored version of an environment's contract.
func (c *Contracts) Latest(ctx context.Context, org, env string) (*contract.Contract, error) {
	var body []byte
	err := c.session.Query(fmt.Sprintf(`SELECT body FROM %s.contracts WHERE environment = ? LIMIT 1`, cassandra.Keyspace("rtc", org)),
		env).ScanContext(ctx, &body)
	return decode(org, env, body, err)
}

func decode(org, env string, body []byte, err error) (*contract.Contract, error) {
	if errors.Is(err, gocql.ErrNotFound) {
		return nil, fmt.Errorf("contract for %s/%s: %w", org, env, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read contract %s/%s: %w", org, env, err)
	}
	return contract.Unmarshal(body)
}

// ClaimDownload claims the download of a contract version for claimant,
// across datacenters (SERIAL): it reports whether claimant holds the
// claim (newly or already) and who does. The claim lasts ttl.
func (c *Contracts) ClaimDownload(ctx context.Context, org, env, version, claimant string, ttl time.Duration) (bool, string, error) {
	prev := map[string]any{}
	applied, err := c.session.Query(fmt.Sprintf(
		`INSERT INTO %s.contract_claims (environment, version, claimant) VALUES (?, ?, ?) IF NOT EXISTS USING TTL %d`,
		cassandra.Keyspace("rtc", org), max(int(ttl/time.Second), 1)),
		env, version, claimant).SerialConsistency(gocql.Serial).MapScanCASContext(ctx, prev)
	if err != nil {
		return false, "", fmt.Errorf("store: claim contract %s/%s@%s: %w", org, env, version, err)
	}
	if applied {
		return true, claimant, nil
	}
	holder, _ := prev["claimant"].(string)
	return holder == claimant, holder, nil
}
