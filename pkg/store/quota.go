package store

import (
	"context"
	"fmt"
)

// QuotaCountersTable is the table in kms_<org> that holds distributed quota
// counters (migration 0003_quota.cql); the message processor's Quota policy
// writes it (services/runtime/internal/rtdata/quota.go).
const QuotaCountersTable = "quota_counters"

// QuotaCounter names one quota counter: the environment and API proxy it
// counts in, the Quota policy's name or <SharedName>, and the identifier
// ("_default" for a quota without <Identifier>).
type QuotaCounter struct {
	Env, Proxy, Policy, Identifier string
}

// DefaultQuotaIdentifier is the identifier of a quota without <Identifier>.
const DefaultQuotaIdentifier = "_default"

// ResetQuotaCounter deletes every window of a distributed quota counter, so
// the next request starts a fresh count on every message processor.
func (k *KMS) ResetQuotaCounter(ctx context.Context, org string, c QuotaCounter) error {
	if c.Env == "" || c.Proxy == "" || c.Policy == "" {
		return errorf(ErrInvalid, "A quota counter needs an environment, an API proxy and a quota (policy or shared) name.")
	}
	if c.Identifier == "" {
		c.Identifier = DefaultQuotaIdentifier
	}
	err := k.session.Query(fmt.Sprintf(`DELETE FROM %s.%s WHERE env = ? AND proxy = ? AND policy = ? AND identifier = ?`, kmsKS(org), QuotaCountersTable),
		c.Env, c.Proxy, c.Policy, c.Identifier).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("store: reset quota counter: %w", err)
	}
	return nil
}
