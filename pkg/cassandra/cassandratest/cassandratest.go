// Package cassandratest connects integration tests to the real Cassandra
// that `make test` starts (address in HYBRID_CASSANDRA, default
// 127.0.0.1:9042; login from the credentials file in
// HYBRID_CASSANDRA_CREDENTIALS, default the one scripts/cassandra.sh writes
// under the workspace's .run). There is no fake: without Cassandra these
// tests fail.
package cassandratest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
)

// Config returns the Cassandra configuration for tests.
func Config(tb testing.TB) cassandra.Config {
	tb.Helper()
	cfg := cassandra.DefaultConfig()
	cfg.StartupWait = 30 * time.Second
	if hp := os.Getenv("HYBRID_CASSANDRA"); hp != "" {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			tb.Fatalf("HYBRID_CASSANDRA=%q: %v", hp, err)
		}
		cfg.Hosts = []string{host}
		cfg.Port, _ = strconv.Atoi(port)
	}
	cfg.CredentialsFile = CredentialsFile()
	return cfg
}

// CredentialsEnv names the CQL credentials file of the test Cassandra.
const CredentialsEnv = "HYBRID_CASSANDRA_CREDENTIALS"

// CredentialsFile is the CQL credentials file for tests: $HYBRID_CASSANDRA_CREDENTIALS,
// else .run/cassandra/credentials at the root of the Go workspace the test
// runs in if that file exists, else "" (a node without authentication).
func CredentialsFile() string {
	if f, ok := os.LookupEnv(CredentialsEnv); ok {
		return f
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			f := filepath.Join(dir, ".run", "cassandra", "credentials")
			if _, err := os.Stat(f); err == nil {
				return f
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Session opens a session closed at the end of the test.
func Session(tb testing.TB) *gocql.Session {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := cassandra.Connect(ctx, Config(tb))
	if err != nil {
		tb.Fatalf("integration tests need the project's Cassandra (make cassandra-start): %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Org returns a unique organization name, so tests never share keyspaces.
func Org(tb testing.TB) string { return OrgWithPrefix(tb, "it-") }

// OrgWithPrefix returns a unique organization name: prefix and eight hex
// digits (the e2e harness's orgs start with "e2e-").
func OrgWithPrefix(tb testing.TB, prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// NewOrg returns a unique organization with its schema applied; its
// keyspaces are dropped when the test ends, so a long test run does not
// fill Cassandra's heap with tables.
func NewOrg(tb testing.TB, s *gocql.Session) string {
	tb.Helper()
	return NewOrgWithPrefix(tb, s, "it-")
}

// NewOrgWithPrefix is NewOrg for an organization named by OrgWithPrefix.
// The drop is registered with tb.Cleanup before the caller goes on, so it
// runs after anything the test starts later (and stops in its own
// cleanup) has stopped.
func NewOrgWithPrefix(tb testing.TB, s *gocql.Session, prefix string) string {
	tb.Helper()
	org := OrgWithPrefix(tb, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := schema.Apply(ctx, s, schema.Options{Orgs: []string{org}, WaitForLease: true}, zap.NewNop()); err != nil {
		tb.Fatalf("schema for %s: %v", org, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := schema.Drop(ctx, s, org); err != nil {
			tb.Errorf("drop %s: %v", org, err)
		}
	})
	return org
}

// DC2Env names the second datacenter's node (host:port) the two-datacenter
// tests use; make test's second phase starts it (scripts/cassandra.sh
// --node 2 start) and sets it.
const DC2Env = "HYBRID_CASSANDRA_DC2"

// DC2 is the second datacenter's contact point. Like Session without
// Cassandra, a test that needs it fails when it is not set: make test runs
// such tests only in its second phase, which provides it.
func DC2(tb testing.TB) (host string, port int) {
	tb.Helper()
	hp := os.Getenv(DC2Env)
	if hp == "" {
		tb.Fatalf("%s is not set: this test needs a second Cassandra node in datacenter dc2 "+
			"(scripts/cassandra.sh --node 2 start, then %s=127.0.0.2:9042; make test does both)", DC2Env, DC2Env)
	}
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		tb.Fatalf("%s=%q: %v", DC2Env, hp, err)
	}
	if port, err = strconv.Atoi(p); err != nil {
		tb.Fatalf("%s=%q: %v", DC2Env, hp, err)
	}
	return host, port
}
