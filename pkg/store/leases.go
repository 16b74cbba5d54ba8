package store

import (
	"context"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
)

// Leases are leader leases in rtc_<org>.leases: a member holds a lease
// while its row names it, and the row's TTL is the term. Writes are
// lightweight transactions, so two members never both believe they hold
// it; a holder that stops renewing loses it when the term ends.
type Leases struct {
	session *gocql.Session
	org     string
}

func NewLeases(s *gocql.Session, org string) *Leases { return &Leases{session: s, org: org} }

func (l *Leases) table() string { return cassandra.Keyspace("rtc", l.org) + ".leases" }

// Acquire takes the lease for holder for term, or renews it if holder
// already has it. It reports whether holder holds the lease now and, if
// not, who does.
func (l *Leases) Acquire(ctx context.Context, name, holder string, term time.Duration) (held bool, current string, err error) {
	ttl := max(int(term/time.Second), 1)
	prev := map[string]any{}
	applied, err := l.session.Query(fmt.Sprintf(`INSERT INTO %s (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL %d`, l.table(), ttl),
		name, holder, time.Now()).MapScanCASContext(ctx, prev)
	if err != nil {
		return false, "", fmt.Errorf("store: acquire lease %s: %w", name, err)
	}
	if applied {
		return true, holder, nil
	}
	current, _ = prev["holder"].(string)
	if current != holder {
		return false, current, nil
	}
	// Ours already: renew the term of every cell (keeping when it was
	// acquired). The condition fails if the row expired and someone else
	// took it between the two statements.
	acquired, _ := prev["acquired_at"].(time.Time)
	prev = map[string]any{}
	applied, err = l.session.Query(fmt.Sprintf(`UPDATE %s USING TTL %d SET holder = ?, acquired_at = ? WHERE name = ? IF holder = ?`, l.table(), ttl),
		holder, acquired, name, holder).MapScanCASContext(ctx, prev)
	if err != nil {
		return false, "", fmt.Errorf("store: renew lease %s: %w", name, err)
	}
	if !applied {
		current, _ = prev["holder"].(string)
		return false, current, nil
	}
	return true, holder, nil
}

// Release gives the lease up if holder has it, so a successor need not
// wait for the term to end.
func (l *Leases) Release(ctx context.Context, name, holder string) error {
	_, err := l.session.Query(fmt.Sprintf(`DELETE FROM %s WHERE name = ? IF holder = ?`, l.table()), name, holder).
		MapScanCASContext(ctx, map[string]any{})
	if err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}
