// Package analytics is the control plane's analytics backend: the ingest
// that loads the "api" files UDCA uploads to storage (ingest.go), the
// embedded analytical store they go into (this file: SQLite through
// modernc.org/sqlite, behind the Store interface), and the stats API's
// query language and response (query.go, stats.go).
package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

// Store keeps analytics records and answers aggregate queries over them.
// SQLStore is the one implementation; the interface keeps the stats API
// and the ingest independent of the engine (DuckDB would fit it too).
type Store interface {
	// IngestFile stores a file's records and remembers the file, in one
	// transaction: a file is loaded whole or not at all, and loading it
	// again changes nothing (records are keyed by gateway_flow_id).
	IngestFile(ctx context.Context, name string, recs []Values) error
	// Ingested reports whether a file has been loaded.
	Ingested(ctx context.Context, name string) (bool, error)
	// Query runs an aggregate query (see Query).
	Query(ctx context.Context, q *Query) ([]Row, error)
	Close() error
}

// column is one column of the api table.
type column struct {
	name string
	sql  string // SQLite type
	kind protoreflect.Kind
}

// derived are computed at ingest from the timestamps, as Apigee's
// analytics derives them; message_count is 1 for every record.
var derived = []column{
	{name: "message_count", sql: "INTEGER"},
	{name: "total_response_time", sql: "INTEGER"},
	{name: "target_response_time", sql: "INTEGER"},
	{name: "request_processing_latency", sql: "INTEGER"},
	{name: "response_processing_latency", sql: "INTEGER"},
	{name: "custom", sql: "TEXT"}, // JSON object of the dc_* dimensions
}

// columns are the record's fields (from records.proto) plus the derived
// ones: a field added to the proto becomes a column without code here.
var columns = func() []column {
	var out []column
	fields := (&analyticsv1.ApiRecord{}).ProtoReflect().Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() {
			continue
		}
		t := "INTEGER"
		switch fd.Kind() {
		case protoreflect.StringKind:
			t = "TEXT"
		case protoreflect.DoubleKind, protoreflect.FloatKind:
			t = "REAL"
		}
		out = append(out, column{name: string(fd.Name()), sql: t, kind: fd.Kind()})
	}
	return append(out, derived...)
}()

func columnByName(name string) (column, bool) {
	for _, c := range columns {
		if c.name == name {
			return c, true
		}
	}
	return column{}, false
}

// SQLStore is the Store on SQLite (modernc.org/sqlite: pure Go, so the
// control plane stays a static binary built with CGO_ENABLED=0). One
// writer at a time (SQLite's rule), WAL so queries run beside the ingest.
type SQLStore struct {
	db *sql.DB
}

// OpenSQL opens (creating) the store in dir/analytics.db.
func OpenSQL(dir string) (*SQLStore, error) {
	dsn := "file:" + filepath.Join(dir, "analytics.db") +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("analytics store: %w", err)
	}
	db.SetMaxOpenConns(4)
	s := &SQLStore{db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// migrate creates the tables and adds columns for fields added to the
// record since the database was made.
func (s *SQLStore) migrate() error {
	var defs []string
	for _, c := range columns {
		def := c.name + " " + c.sql
		if c.name == "gateway_flow_id" {
			def += " PRIMARY KEY"
		}
		defs = append(defs, def)
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, records INTEGER NOT NULL, ingested_at INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS api (` + strings.Join(defs, ", ") + `)`,
		`CREATE INDEX IF NOT EXISTS api_org_env_ts ON api (organization, environment, client_received_start_timestamp)`,
	}
	for _, st := range stmts {
		if _, err := s.db.Exec(st); err != nil {
			return fmt.Errorf("analytics store: %w", err)
		}
	}
	rows, err := s.db.Query(`SELECT name FROM pragma_table_info('api')`)
	if err != nil {
		return fmt.Errorf("analytics store: %w", err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		have[n] = true
	}
	rows.Close()
	for _, c := range columns {
		if !have[c.name] {
			if _, err := s.db.Exec(`ALTER TABLE api ADD COLUMN ` + c.name + ` ` + c.sql); err != nil {
				return fmt.Errorf("analytics store: add column %s: %w", c.name, err)
			}
		}
	}
	return nil
}

// Close closes the database.
func (s *SQLStore) Close() error { return s.db.Close() }

// Ingested implements Store.
func (s *SQLStore) Ingested(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE name = ?`, name).Scan(&n)
	return n > 0, err
}

// IngestFile implements Store. Rows go in by the hundred per statement:
// per-statement work, not per-row work, is most of SQLite's cost here.
func (s *SQLStore) IngestFile(ctx context.Context, name string, recs []Values) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE name = ?`, name).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	names := make([]string, len(columns))
	marks := make([]string, len(columns))
	for i, c := range columns {
		names[i], marks[i] = c.name, "?"
	}
	row := "(" + strings.Join(marks, ",") + ")"
	total := len(recs)
	const perStmt = 100
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	for len(recs) > 0 {
		n := min(len(recs), perStmt)
		st := stmts[n]
		if st == nil {
			rows := make([]string, n)
			for i := range rows {
				rows[i] = row
			}
			if st, err = tx.PrepareContext(ctx, `INSERT OR IGNORE INTO api (`+strings.Join(names, ",")+`) VALUES `+strings.Join(rows, ",")); err != nil {
				return err
			}
			stmts[n] = st
		}
		args := make([]any, 0, n*len(columns))
		for _, r := range recs[:n] {
			args = append(args, r...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert records: %w", err)
		}
		recs = recs[n:]
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO files (name, records, ingested_at) VALUES (?, ?, strftime('%s','now'))`, name, total); err != nil {
		return err
	}
	return tx.Commit()
}
