package cassandra

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Multi-region: one Cassandra cluster with a datacenter per region, every
// keyspace replicated to each datacenter with NetworkTopologyStrategy.

// Datacenters lists the datacenters of the cluster's nodes (system.local
// and system.peers of the coordinator), sorted.
func Datacenters(ctx context.Context, s *gocql.Session) ([]string, error) {
	seen := map[string]bool{}
	var dc string
	if err := s.Query(`SELECT data_center FROM system.local`).ScanContext(ctx, &dc); err != nil {
		return nil, fmt.Errorf("cassandra: read datacenter: %w", err)
	}
	seen[dc] = true
	iter := s.Query(`SELECT data_center FROM system.peers`).IterContext(ctx)
	for iter.Scan(&dc) {
		seen[dc] = true
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("cassandra: read peers' datacenters: %w", err)
	}
	out := make([]string, 0, len(seen))
	for dc := range seen {
		if dc != "" {
			out = append(out, dc)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReplicationCQL renders a replication map for CQL:
// {'class': 'NetworkTopologyStrategy', 'dc1': 1, 'dc2': 1}.
func ReplicationCQL(rf map[string]int) string {
	dcs := make([]string, 0, len(rf))
	for dc := range rf {
		dcs = append(dcs, dc)
	}
	sort.Strings(dcs)
	parts := []string{"'class': 'NetworkTopologyStrategy'"}
	for _, dc := range dcs {
		parts = append(parts, fmt.Sprintf("'%s': %d", dc, rf[dc]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// KeyspaceReplication is a keyspace's replication map as
// system_schema.keyspaces holds it; found is false if there is no such
// keyspace.
func KeyspaceReplication(ctx context.Context, s *gocql.Session, keyspace string) (rf map[string]string, found bool, err error) {
	err = s.Query(`SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?`, keyspace).ScanContext(ctx, &rf)
	switch {
	case err == nil:
		return rf, true, nil
	case errors.Is(err, gocql.ErrNotFound):
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("cassandra: read replication of %s: %w", keyspace, err)
	}
}

// SameReplication reports whether a stored replication map is
// NetworkTopologyStrategy with exactly the factors in rf.
func SameReplication(stored map[string]string, rf map[string]int) bool {
	if !strings.HasSuffix(stored["class"], "NetworkTopologyStrategy") {
		return false
	}
	n := 0
	for k, v := range stored {
		if k == "class" {
			continue
		}
		n++
		if want, ok := rf[k]; !ok || strconv.Itoa(want) != v {
			return false
		}
	}
	return n == len(rf)
}

// AlterReplication makes a keyspace's replication NetworkTopologyStrategy
// with the factors in rf, if it is not already, and waits for schema
// agreement. It reports whether it changed anything; a keyspace that does
// not exist is left alone. Data written before a datacenter was added
// reaches that datacenter's nodes only by a rebuild (nodetool rebuild, or
// scripts/cassandra.sh --node 2 rebuild).
func AlterReplication(ctx context.Context, s *gocql.Session, keyspace string, rf map[string]int) (bool, error) {
	if len(rf) == 0 {
		return false, fmt.Errorf("cassandra: alter replication of %s: no datacenters given", keyspace)
	}
	stored, found, err := KeyspaceReplication(ctx, s, keyspace)
	if err != nil || !found || SameReplication(stored, rf) {
		return false, err
	}
	if err := s.Query(fmt.Sprintf(`ALTER KEYSPACE %s WITH replication = %s`, keyspace, ReplicationCQL(rf))).ExecContext(ctx); err != nil {
		return false, fmt.Errorf("cassandra: alter replication of %s: %w", keyspace, err)
	}
	if err := s.AwaitSchemaAgreement(ctx); err != nil {
		return true, fmt.Errorf("cassandra: alter replication of %s: schema agreement: %w", keyspace, err)
	}
	return true, nil
}

// ReplicateAuth gives system_auth (the logins) one replica in every
// datacenter of the cluster, so a login made on one node works on every
// node, and on the others while one is down. The nodes of a datacenter new
// to it must then stream it (nodetool rebuild --keyspace system_auth).
// expected names datacenters to include even if the contact node's
// system.peers does not list them yet: a node that has just joined is
// known to gossip (and Cassandra refuses a replication that leaves its
// datacenter out) before it is in system.peers.
func ReplicateAuth(ctx context.Context, s *gocql.Session, expected ...string) (map[string]int, bool, error) {
	dcs, err := Datacenters(ctx, s)
	if err != nil {
		return nil, false, err
	}
	rf := map[string]int{}
	for _, dc := range append(dcs, expected...) {
		rf[dc] = 1
	}
	changed, err := AlterReplication(ctx, s, "system_auth", rf)
	return rf, changed, err
}
