package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
)

// writeTraceFile puts a trace file of org "hybrid", env "test" with
// records {"id": id} into dir's storage.
func writeTraceFile(t *testing.T, dir string, at time.Time, fileID string, ids ...string) string {
	t.Helper()
	var recs [][]byte
	for _, id := range ids {
		b, err := json.Marshal(map[string]string{"id": id})
		require.NoError(t, err)
		recs = append(recs, b)
	}
	name := analyticsfile.Name{Time: at, Dataset: "trace", Org: "hybrid", Env: "test", ID: fileID}
	path := filepath.Join(dir, Bucket("hybrid"), "trace", name.String())
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, gzipRecords(recs), 0o600))
	return path
}

// traceIDs reads every record's id, dropping those in drop.
func traceIDs(t *testing.T, dir string, drop map[string]bool) []string {
	t.Helper()
	var ids []string
	err := ReadTraces(context.Background(), dir, "hybrid", "test", func(rec []byte) error {
		var r struct{ ID string }
		require.NoError(t, json.Unmarshal(rec, &r))
		if drop[r.ID] {
			return ErrDropTrace
		}
		ids = append(ids, r.ID)
		return nil
	})
	require.NoError(t, err)
	return ids
}

func TestReadTracesDrop(t *testing.T) {
	t0 := time.UnixMilli(1764900000000)
	tests := []struct {
		name      string
		drop      []string
		wantAfter []string // what a second read sees
		files     int      // trace files left
	}{
		{"nothing dropped", nil, []string{"a1", "a2", "b1"}, 2},
		{"one record of a file", []string{"a2"}, []string{"a1", "b1"}, 2},
		{"a whole file", []string{"b1"}, []string{"a1", "a2"}, 1},
		{"everything", []string{"a1", "a2", "b1"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTraceFile(t, dir, t0, "0b6e3c9c-2f5e-4a0e-9d7e-3d1d5a1f0a01", "a1", "a2")
			writeTraceFile(t, dir, t0.Add(time.Second), "0b6e3c9c-2f5e-4a0e-9d7e-3d1d5a1f0a02", "b1")
			drop := map[string]bool{}
			for _, d := range tt.drop {
				drop[d] = true
			}
			traceIDs(t, dir, drop)
			require.Equal(t, tt.wantAfter, traceIDs(t, dir, nil))
			entries, err := os.ReadDir(filepath.Join(dir, Bucket("hybrid"), "trace"))
			require.NoError(t, err)
			require.Len(t, entries, tt.files, "no temporary files left, emptied files removed")
		})
	}
}

// An error from fn other than ErrDropTrace stops the read and changes
// nothing.
func TestReadTracesError(t *testing.T) {
	dir := t.TempDir()
	writeTraceFile(t, dir, time.UnixMilli(1764900000000), "0b6e3c9c-2f5e-4a0e-9d7e-3d1d5a1f0a01", "a1", "a2")
	boom := errors.New("boom")
	n := 0
	err := ReadTraces(context.Background(), dir, "hybrid", "test", func([]byte) error {
		if n++; n == 2 {
			return boom
		}
		return ErrDropTrace
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, []string{"a1", "a2"}, traceIDs(t, dir, nil))
}

func TestTraceRetention(t *testing.T) {
	end := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		keep time.Duration
		now  time.Time
		want bool
	}{
		{"session still running", 0, end.Add(-time.Minute), false},
		{"within the default 24 hours", 0, end.Add(24 * time.Hour), false},
		{"past the default 24 hours", 0, end.Add(24*time.Hour + time.Millisecond), true},
		{"a shorter setting", time.Hour, end.Add(61 * time.Minute), true},
		{"a longer setting", 48 * time.Hour, end.Add(25 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := TraceRetention{Keep: tt.keep, Now: func() time.Time { return tt.now }}
			require.Equal(t, tt.want, r.Expired(end))
		})
	}
}
