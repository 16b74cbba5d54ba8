//go:build integration

package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
)

func TestApplyIsIdempotent(t *testing.T) {
	s := cassandratest.Session(t)
	org := cassandratest.Org(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := zaptest.NewLogger(t)
	opts := schema.Options{Orgs: []string{org}, WaitForLease: true}

	require.Error(t, schema.Check(ctx, s, org), "a new org has no schema yet")
	n, err := schema.Apply(ctx, s, opts, log)
	require.NoError(t, err)
	require.Positive(t, n)
	require.NoError(t, schema.Check(ctx, s, org))

	n, err = schema.Apply(ctx, s, opts, log)
	require.NoError(t, err)
	require.Zero(t, n, "a second run applies nothing")

	var ks string
	require.NoError(t, s.Query(`SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?`,
		cassandra.Keyspace("rtc", org)).ScanContext(ctx, &ks))

	require.NoError(t, schema.Drop(ctx, s, org))
	require.Error(t, schema.Check(ctx, s, org), "dropped")
	var n2 int
	require.NoError(t, s.Query(`SELECT count(*) FROM system_schema.keyspaces WHERE keyspace_name IN ?`,
		[]string{cassandra.Keyspace("rtc", org), cassandra.Keyspace("kms", org), cassandra.Keyspace("kvm", org)}).ScanContext(ctx, &n2))
	require.Zero(t, n2)
}

// While another job holds the lease, Apply refuses (or waits, if asked).
func TestApplyHonoursTheLease(t *testing.T) {
	s := cassandratest.Session(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := zaptest.NewLogger(t)
	_, err := schema.Apply(ctx, s, schema.Options{WaitForLease: true}, log) // bookkeeping keyspace exists
	require.NoError(t, err)

	const owner = "another-job"
	require.Eventually(t, func() bool { // other packages' tests may hold it briefly
		applied, err := s.Query(`INSERT INTO hybrid_system.locks (name, owner) VALUES ('schema', ?) IF NOT EXISTS USING TTL 60`, owner).
			MapScanCASContext(ctx, map[string]any{})
		require.NoError(t, err)
		return applied
	}, time.Minute, 50*time.Millisecond)

	org := cassandratest.Org(t)
	_, err = schema.Apply(ctx, s, schema.Options{Orgs: []string{org}}, log)
	require.ErrorIs(t, err, schema.ErrLocked)

	short, cancelShort := context.WithTimeout(ctx, 5*time.Second)
	defer cancelShort()
	_, err = schema.Apply(short, s, schema.Options{Orgs: []string{org}, WaitForLease: true}, log)
	require.ErrorIs(t, err, schema.ErrLocked)
	require.Error(t, schema.Check(ctx, s, org), "nothing was applied while locked out")

	require.NoError(t, s.Query(`DELETE FROM hybrid_system.locks WHERE name = 'schema' IF owner = ?`, owner).ExecContext(ctx))
	_, err = schema.Apply(ctx, s, schema.Options{Orgs: []string{org}, WaitForLease: true}, log)
	require.NoError(t, err)
	require.NoError(t, schema.Check(ctx, s, org))
}

// Re-applying with a second datacenter alters the keyspaces that exist
// (the system keyspace and the org's) to NetworkTopologyStrategy over both.
// It needs the second node (scripts/cassandra.sh --node 2 start).
func TestApplyAltersReplicationToANewDatacenter(t *testing.T) {
	cassandratest.DC2(t)
	s := cassandratest.Session(t)
	org := cassandratest.NewOrg(t, s) // made with the default, {'dc1': 1}
	// Two more runs of the schema job, each waiting for the shared lease.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	kss, err := schema.OrgKeyspaces(org)
	require.NoError(t, err)
	require.Contains(t, kss, cassandra.Keyspace("rtc", org))
	for _, ks := range kss {
		rf, found, err := cassandra.KeyspaceReplication(ctx, s, ks)
		require.NoError(t, err)
		require.True(t, found, ks)
		require.Equal(t, "1", rf["dc1"])
		require.NotContains(t, rf, "dc2")
	}

	both := map[string]int{"dc1": 1, "dc2": 1}
	_, err = schema.Apply(ctx, s, schema.Options{Orgs: []string{org}, Replication: both, WaitForLease: true}, zaptest.NewLogger(t))
	require.NoError(t, err)
	for _, ks := range append(kss, schema.SystemKeyspace) {
		rf, _, err := cassandra.KeyspaceReplication(ctx, s, ks)
		require.NoError(t, err)
		require.True(t, cassandra.SameReplication(rf, both), "%s: %v", ks, rf)
	}
	// Without a replication asked for, nothing is altered back.
	_, err = schema.Apply(ctx, s, schema.Options{Orgs: []string{org}, WaitForLease: true}, zaptest.NewLogger(t))
	require.NoError(t, err)
	rf, _, err := cassandra.KeyspaceReplication(ctx, s, cassandra.Keyspace("kvm", org))
	require.NoError(t, err)
	require.True(t, cassandra.SameReplication(rf, both), "%v", rf)
}
