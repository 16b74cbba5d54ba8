package analytics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
)

// BucketSuffix names an organization's analytics bucket in the mock
// storage: {org}-apigee-analytics.
const BucketSuffix = "-apigee-analytics"

// Bucket is the storage bucket UDCA uploads an organization's files to.
func Bucket(org string) string { return org + BucketSuffix }

// Object is the object name of an uploaded buffer file.
func Object(dataset, file string) string { return dataset + "/" + file }

// Ingester loads the "api" files UDCA uploaded into the store. An
// uploaded object stays in storage until the transaction that stores its
// records (and marks the file loaded) has committed; only then is it
// deleted. So a control plane that stops mid-ingest loads the file on its
// next sweep (every start sweeps), and a file is never loaded twice.
// Files of the other datasets (trace, event) are left for their readers.
type Ingester struct {
	Store Store
	// StorageDir is the mock storage's directory ({bucket}/{object}).
	StorageDir string
	// RejectDir receives files that cannot be read, moved aside.
	RejectDir string
	// Interval is how often storage is swept besides the notifications.
	Interval time.Duration
	Log      *zap.Logger

	wake chan struct{}
}

// NewIngester returns an ingester; call Run.
func NewIngester(store Store, storageDir, rejectDir string, interval time.Duration, log *zap.Logger) *Ingester {
	return &Ingester{Store: store, StorageDir: storageDir, RejectDir: rejectDir, Interval: interval, Log: log, wake: make(chan struct{}, 1)}
}

// Notify asks for a sweep soon (an upload has arrived); never blocks.
func (in *Ingester) Notify() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Run sweeps at once, then on each notification and every Interval,
// until ctx ends.
func (in *Ingester) Run(ctx context.Context) error {
	t := time.NewTicker(in.Interval)
	defer t.Stop()
	for {
		in.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-in.wake:
		case <-t.C:
		}
	}
}

// Sweep loads every "api" file waiting in storage and returns how many
// it loaded.
func (in *Ingester) Sweep(ctx context.Context) int {
	buckets, _ := os.ReadDir(in.StorageDir)
	n := 0
	for _, b := range buckets {
		org, ok := strings.CutSuffix(b.Name(), BucketSuffix)
		if !b.IsDir() || !ok {
			continue
		}
		dir := filepath.Join(in.StorageDir, b.Name(), "api")
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if ctx.Err() != nil {
				return n
			}
			if !f.Type().IsRegular() || strings.HasPrefix(f.Name(), ".") {
				continue
			}
			if err := in.load(ctx, org, filepath.Join(dir, f.Name())); err != nil {
				if ctx.Err() == nil {
					in.Log.Error("analytics ingest failed; the file stays for the next sweep", zap.String("file", f.Name()), zap.Error(err))
				}
				continue
			}
			n++
		}
	}
	return n
}

// load ingests one file and deletes it; an unreadable one is moved to
// RejectDir with a log line.
func (in *Ingester) load(ctx context.Context, org, path string) error {
	base := filepath.Base(path)
	name, err := analyticsfile.ParseName(base)
	if err == nil && (name.Org != org || name.Dataset != "api") {
		err = fmt.Errorf("file of %s/%s in the bucket of %s", name.Org, name.Dataset, org)
	}
	if err != nil {
		in.reject(path, err)
		return nil
	}
	done, err := in.Store.Ingested(ctx, base)
	if err != nil {
		return err
	}
	if !done {
		recs, err := readRecords(path, name)
		if err != nil {
			if errors.Is(err, analyticsfile.ErrCorrupt) {
				in.reject(path, err)
				return nil
			}
			return err
		}
		if err := in.Store.IngestFile(ctx, base, recs); err != nil {
			return err
		}
		in.Log.Debug("analytics file ingested", zap.String("file", base), zap.Int("records", len(recs)))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// readRecords decodes a file's records. Organization and environment
// come from the file's name, which the signed URL was issued for: a
// record cannot claim another organization's data.
func readRecords(path string, name analyticsfile.Name) ([]Values, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []Values
	_, err = analyticsfile.Read(f, func(line []byte) error {
		v, err := decodeRecord(line, name.Org, name.Env)
		if err != nil {
			return fmt.Errorf("%w: %v", analyticsfile.ErrCorrupt, err)
		}
		recs = append(recs, v)
		return nil
	})
	return recs, err
}

func (in *Ingester) reject(path string, why error) {
	if err := os.MkdirAll(in.RejectDir, 0o700); err != nil {
		in.Log.Error("cannot make reject folder", zap.Error(err))
		return
	}
	to := filepath.Join(in.RejectDir, filepath.Base(path))
	in.Log.Warn(fmt.Sprintf("Moving unreadable analytics file %q aside to %q: %v", path, to, why))
	if err := os.Rename(path, to); err != nil {
		in.Log.Error("cannot move analytics file aside", zap.String("file", path), zap.Error(err))
	}
}
