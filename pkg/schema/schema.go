// Package schema is the runtime plane's schema job: it applies the CQL
// migrations embedded in the binary, in order, once each, recording them in
// hybrid_system.schema_migrations. It takes a lease (a lightweight
// transaction with a TTL) so two jobs started together do not interleave,
// and every statement is IF NOT EXISTS so a run cut short can be repeated.
package schema

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
)

//go:embed migrations
var migrationsFS embed.FS

// ErrLocked is returned when another schema job holds the lease.
var ErrLocked = errors.New("schema: another schema job is running")

// Options says what to apply.
type Options struct {
	Orgs []string
	// Replication maps datacenter → replication factor (NetworkTopologyStrategy).
	// Empty: new keyspaces get {'dc1': 1} and existing ones are left as they
	// are. Given: new keyspaces are made with it and existing ones (the
	// system keyspace and the orgs' in Orgs) are altered to it, which is how
	// a second datacenter (region) is added; its nodes then need a rebuild
	// for the data written before (scripts/cassandra.sh --node 2 rebuild).
	Replication map[string]int
	// LockTTL bounds how long a crashed job blocks the next one.
	LockTTL time.Duration
	// WaitForLease makes Apply wait for a running job to finish instead of
	// returning ErrLocked.
	WaitForLease bool
}

// Migration is one embedded CQL file.
type Migration struct {
	Scope   string // "system" or "org"
	Version int
	Name    string
	text    string
}

// Migrations lists the embedded migrations of a scope in version order.
func Migrations(scope string) ([]Migration, error) {
	dir := path.Join("migrations", scope)
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".cql") {
			return nil, fmt.Errorf("schema: migration %s/%s must be named NNNN_name.cql", scope, name)
		}
		data, err := migrationsFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Scope: scope, Version: v, Name: strings.TrimSuffix(name, ".cql"), text: string(data)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

type templateData struct {
	org         string
	Replication string
}

func (d templateData) Keyspace(concern string) string { return cassandra.Keyspace(concern, d.org) }

// Statements renders a migration for an org and splits it into statements.
func (m Migration) Statements(org string, replication map[string]int) ([]string, error) {
	tmpl, err := template.New(m.Name).Parse(m.text)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", m.Name, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, templateData{org: org, Replication: replicationCQL(replication)}); err != nil {
		return nil, fmt.Errorf("schema: %s: %w", m.Name, err)
	}
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(buf.String(), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, fmt.Errorf("schema: %s: last statement lacks a terminating ';'", m.Name)
	}
	return stmts, nil
}

func replicationCQL(rf map[string]int) string {
	if len(rf) == 0 {
		rf = map[string]int{"dc1": 1}
	}
	return cassandra.ReplicationCQL(rf)
}

// SystemKeyspace is the runtime plane's bookkeeping keyspace.
const SystemKeyspace = "hybrid_system"

// OrgKeyspaces lists the keyspaces the org migrations make for an org.
func OrgKeyspaces(org string) ([]string, error) {
	ms, err := Migrations("org")
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range ms {
		stmts, err := m.Statements(org, nil)
		if err != nil {
			return nil, err
		}
		for _, stmt := range stmts {
			fields := strings.Fields(stmt)
			// "CREATE KEYSPACE IF NOT EXISTS <name> …"
			if len(fields) > 5 && strings.EqualFold(fields[0], "CREATE") && strings.EqualFold(fields[1], "KEYSPACE") && !seen[fields[5]] {
				seen[fields[5]] = true
				out = append(out, fields[5])
			}
		}
	}
	return out, nil
}

// alterReplication brings existing keyspaces to the asked replication
// (nothing when none was asked).
func alterReplication(ctx context.Context, s *gocql.Session, keyspaces []string, rf map[string]int, log *zap.Logger) error {
	if len(rf) == 0 {
		return nil
	}
	for _, ks := range keyspaces {
		changed, err := cassandra.AlterReplication(ctx, s, ks, rf)
		if err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		if changed {
			log.Info("altered keyspace replication", zap.String("keyspace", ks), zap.String("replication", cassandra.ReplicationCQL(rf)))
		}
	}
	return nil
}

// Apply brings the store up to date and reports how many migrations ran.
func Apply(ctx context.Context, s *gocql.Session, opts Options, log *zap.Logger) (int, error) {
	if opts.LockTTL == 0 {
		opts.LockTTL = 5 * time.Minute
	}
	system, err := Migrations("system")
	if err != nil {
		return 0, err
	}
	// The bookkeeping keyspace must exist before the lease can be taken; its
	// statements are idempotent, so running them unguarded is safe.
	if err := execAll(ctx, s, system[0], "", opts.Replication); err != nil {
		return 0, err
	}
	// Before anything is written to it, so a new datacenter gets the
	// lease and the migration records too.
	if err := alterReplication(ctx, s, []string{SystemKeyspace}, opts.Replication, log); err != nil {
		return 0, err
	}
	owner := uuid.NewString()
	for {
		applied, err := s.Query(`INSERT INTO hybrid_system.locks (name, owner) VALUES ('schema', ?) IF NOT EXISTS USING TTL ?`,
			owner, int(opts.LockTTL.Seconds())).MapScanCASContext(ctx, map[string]any{})
		if err != nil {
			if opts.WaitForLease && ctx.Err() != nil {
				// Out of time before the lease was ours, whether the last
				// attempt saw another job's row or was still in flight.
				return 0, fmt.Errorf("%w (gave up waiting: %w)", ErrLocked, err)
			}
			return 0, fmt.Errorf("schema: take lease: %w", err)
		}
		if applied {
			break
		}
		if !opts.WaitForLease {
			return 0, ErrLocked
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%w (gave up waiting: %w)", ErrLocked, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer func() {
		_ = s.Query(`DELETE FROM hybrid_system.locks WHERE name = 'schema' IF owner = ?`, owner).
			ExecContext(context.WithoutCancel(ctx))
	}()

	count := 0
	run := func(ms []Migration, keyspaceOf func() string, org string) error {
		for _, m := range ms {
			ks := keyspaceOf()
			var existing int
			err := s.Query(`SELECT version FROM hybrid_system.schema_migrations WHERE keyspace_name = ? AND version = ?`, ks, m.Version).
				ScanContext(ctx, &existing)
			if err == nil {
				continue
			}
			if !errors.Is(err, gocql.ErrNotFound) {
				return fmt.Errorf("schema: read applied migrations: %w", err)
			}
			if err := execAll(ctx, s, m, org, opts.Replication); err != nil {
				return err
			}
			if err := s.Query(`INSERT INTO hybrid_system.schema_migrations (keyspace_name, version, name, applied_at) VALUES (?, ?, ?, ?)`,
				ks, m.Version, m.Name, time.Now()).ExecContext(ctx); err != nil {
				return fmt.Errorf("schema: record %s: %w", m.Name, err)
			}
			log.Info("applied migration", zap.String("keyspace", ks), zap.String("migration", m.Name))
			count++
		}
		return nil
	}
	if err := run(system, func() string { return "hybrid_system" }, ""); err != nil {
		return count, err
	}
	orgMigrations, err := Migrations("org")
	if err != nil {
		return count, err
	}
	for _, org := range opts.Orgs {
		// Existing keyspaces first, so data the migrations write reaches
		// every datacenter asked for.
		kss, err := OrgKeyspaces(org)
		if err != nil {
			return count, err
		}
		if err := alterReplication(ctx, s, kss, opts.Replication, log); err != nil {
			return count, err
		}
		if err := run(orgMigrations, func() string { return "org:" + org }, org); err != nil {
			return count, err
		}
	}
	return count, nil
}

func execAll(ctx context.Context, s *gocql.Session, m Migration, org string, rf map[string]int) error {
	stmts, err := m.Statements(org, rf)
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if err := s.Query(stmt).ExecContext(ctx); err != nil {
			return fmt.Errorf("schema: %s: %w\n%s", m.Name, err, stmt)
		}
	}
	if err := s.AwaitSchemaAgreement(ctx); err != nil {
		return fmt.Errorf("schema: %s: schema agreement: %w", m.Name, err)
	}
	return nil
}

// Check reports whether an org's runtime keyspaces exist, so services can
// refuse readiness (rather than fail queries) until the schema job has run.
func Check(ctx context.Context, s *gocql.Session, org string) error {
	want, err := Migrations("org")
	if err != nil {
		return err
	}
	latest := want[len(want)-1].Version
	var v int
	err = s.Query(`SELECT version FROM hybrid_system.schema_migrations WHERE keyspace_name = ? AND version = ?`, "org:"+org, latest).ScanContext(ctx, &v)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gocql.ErrNotFound), strings.Contains(err.Error(), "unconfigured table"), strings.Contains(err.Error(), "does not exist"):
		return fmt.Errorf("schema for org %q is not applied up to migration %d (run `hybridctl schema apply`)", org, latest)
	default:
		// Cassandra unreachable, or no system keyspace yet: say so rather
		// than send the user to the schema job.
		return fmt.Errorf("cannot check the schema for org %q: %w", org, err)
	}
}

// Drop removes an org's keyspaces and its migration records: the inverse of
// Apply for one org. Tests use it so that the orgs they create do not pile
// up in a shared Cassandra.
func Drop(ctx context.Context, s *gocql.Session, org string) error {
	kss, err := OrgKeyspaces(org)
	if err != nil {
		return err
	}
	for _, ks := range kss {
		if err := s.Query("DROP KEYSPACE IF EXISTS " + ks).ExecContext(ctx); err != nil {
			return fmt.Errorf("schema: drop %s: %w", ks, err)
		}
	}
	if err := s.Query(`DELETE FROM hybrid_system.schema_migrations WHERE keyspace_name = ?`, "org:"+org).ExecContext(ctx); err != nil {
		return fmt.Errorf("schema: forget migrations of %s: %w", org, err)
	}
	return nil
}
