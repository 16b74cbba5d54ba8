package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
)

// casRetries bounds read-modify-write loops that lose to concurrent writers.
const casRetries = 8

func kmsKS(org string) string { return cassandra.Keyspace("kms", org) }
func kvmKS(org string) string { return cassandra.Keyspace("kvm", org) }

func millis(t time.Time) int64 { return t.UnixMilli() }

// encodeJSON stores nested values as JSON text; empty values are stored as
// null so that cqlsh shows nothing rather than "[]".
func encodeJSON[T any](v []T) (*string, error) {
	if len(v) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode: %w", err)
	}
	s := string(b)
	return &s, nil
}

func decodeJSON[T any](s string) ([]T, error) {
	if s == "" {
		return nil, nil
	}
	var out []T
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: decode: %w", err)
	}
	return out, nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomKey returns n characters from [A-Za-z0-9], like the consumer keys
// (48) and secrets (64) Apigee generates.
func randomKey(n int) (string, error) {
	var b strings.Builder
	b.Grow(n)
	max := big.NewInt(int64(len(keyAlphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("store: random key: %w", err)
		}
		b.WriteByte(keyAlphabet[i.Int64()])
	}
	return b.String(), nil
}

// casApplied runs a lightweight transaction and reports whether it applied.
func casApplied(ctx context.Context, q *gocql.Query) (bool, error) {
	return q.MapScanCASContext(ctx, map[string]any{})
}

// isNotFound reports gocql's "no rows".
func isNotFound(err error) bool { return err == gocql.ErrNotFound }

// parseUUID parses an id from a path; a malformed id is simply not found.
func parseUUID(s string) (gocql.UUID, bool) {
	u, err := gocql.ParseUUID(s)
	return u, err == nil
}

// dedupe keeps the first occurrence of each string.
func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scanNext reads the next row of iter with a row scanner; done is true once
// the rows are exhausted (the caller then checks iter.Close()).
func scanNext[T any](iter *gocql.Iter, scan func(func(...any) error) (T, error)) (row T, done bool, err error) {
	row, err = scan(func(dest ...any) error {
		if !iter.Scan(dest...) {
			done = true
			return gocql.ErrNotFound
		}
		return nil
	})
	return row, done, err
}
