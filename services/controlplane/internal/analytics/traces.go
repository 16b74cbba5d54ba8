package analytics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
)

// ReadTraces passes each record of org/env's uploaded "trace" files
// (storageDir/{bucket}/trace/…) to fn, oldest file first. Trace files
// stay in storage: debug session data is read where UDCA put it rather
// than loaded into the stats store, since it is only ever looked up by
// session and is small (count ≤ 15 per session and message processor).
// A damaged file yields the records before the damage.
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
	_, err = analyticsfile.Read(f, fn)
	if errors.Is(err, analyticsfile.ErrCorrupt) {
		return nil
	}
	return err
}
