package analytics

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
)

// ErrDropTrace, returned by ReadTraces' fn for a record, deletes that
// record from storage and goes on with the next: debug session data is
// deleted (deleteData, retention) by the reader that decides it is gone,
// since only the Apigee API knows the sessions.
var ErrDropTrace = errors.New("drop this trace record")

// DefaultTraceRetention is how long a debug session's data is kept after
// the session ends: Apigee hybrid's management plane keeps trace data 24
// hours and deletes a completed session's data within 24 hours of its end
// (docs.apigee.com/hybrid/trace).
const DefaultTraceRetention = 24 * time.Hour

// TraceRetention decides when debug session data has expired.
type TraceRetention struct {
	// Keep is how long data is kept after its session ends (0:
	// DefaultTraceRetention).
	Keep time.Duration
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time
}

// Expired reports whether data of a session that ended (or ends) at end
// is past keeping.
func (r TraceRetention) Expired(end time.Time) bool {
	keep, now := r.Keep, r.Now
	if keep <= 0 {
		keep = DefaultTraceRetention
	}
	if now == nil {
		now = time.Now
	}
	return now().After(end.Add(keep))
}

// traceFiles serializes the readers that may rewrite trace files: two
// rewriting one file at once would each put back what the other dropped.
// Trace data is small (count ≤ 15 per session and message processor), so
// one lock for all of storage costs nothing that matters.
var traceFiles sync.Mutex

// ReadTraces passes each record of org/env's uploaded "trace" files
// (storageDir/{bucket}/trace/…) to fn, oldest file first. Trace files
// stay in storage: debug session data is read where UDCA put it rather
// than loaded into the stats store, since it is only ever looked up by
// session and is small. A damaged file yields the records before the
// damage.
//
// A record for which fn returns ErrDropTrace is deleted: its file is
// rewritten without it (atomically: a reader sees the old file or the new
// one), or removed once it has no records left.
func ReadTraces(ctx context.Context, storageDir, org, env string, fn func(rec []byte) error) error {
	dir := filepath.Join(storageDir, Bucket(org), "trace")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trace files: %w", err)
	}
	var names []analyticsfile.Name
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		n, err := analyticsfile.ParseName(e.Name())
		if err != nil || n.Org != org || n.Env != env || n.Dataset != "trace" {
			continue
		}
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Time.Before(names[j].Time) })
	traceFiles.Lock()
	defer traceFiles.Unlock()
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := readTraceFile(filepath.Join(dir, n.String()), fn); err != nil {
			return err
		}
	}
	return nil
}

func readTraceFile(path string, fn func(rec []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // replaced or removed since the listing
	}
	if err != nil {
		return fmt.Errorf("trace file: %w", err)
	}
	defer f.Close()
	var kept [][]byte
	dropped := false
	_, err = analyticsfile.Read(f, func(rec []byte) error {
		switch err := fn(rec); {
		case errors.Is(err, ErrDropTrace):
			dropped = true
		case err != nil:
			return err
		default:
			kept = append(kept, append([]byte(nil), rec...))
		}
		return nil
	})
	corrupt := errors.Is(err, analyticsfile.ErrCorrupt)
	if err != nil && !corrupt {
		return err
	}
	if !dropped {
		return nil
	}
	// A damaged file is rewritten with the records before the damage:
	// what follows it could not be read anyway.
	if len(kept) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delete trace file: %w", err)
		}
		return nil
	}
	if err := atomicfile.Write(path, gzipRecords(kept), 0o600); err != nil {
		return fmt.Errorf("rewrite trace file: %w", err)
	}
	return nil
}

// gzipRecords is records in the buffer-file format: gzip'd
// newline-delimited JSON.
func gzipRecords(recs [][]byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for _, r := range recs {
		_, _ = zw.Write(r) // a bytes.Buffer does not fail
		_, _ = zw.Write([]byte{'\n'})
	}
	_ = zw.Close()
	return b.Bytes()
}
