package udca

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

// Directory layout under dataDir, per dataset:
//
//	{dataset}/             files ready to upload, {unixts}.{dataset}.{org}.{env}.{uuid}.gz
//	{dataset}/open/        files being written; a crash leaves them here (recovered at start)
//	{dataset}/staging/     the file being uploaded (moved here for the upload, as hybrid's UDCA does)
//	{dataset}/failed/      files given up with upload.keepFailed
//	{dataset}/corrupt/     files that could not be read, moved aside
const (
	dirOpen    = "open"
	dirStaging = "staging"
	dirFailed  = "failed"
	dirCorrupt = "corrupt"
)

type fileKey struct{ dataset, org, env string }

// openFile is one buffer file being written: records go through gzip and
// a buffer into the file in open/; rolling closes it and moves it up into
// the dataset's folder, ready for upload.
type openFile struct {
	name   analyticsfile.Name
	path   string
	f      *os.File
	bw     *bufio.Writer
	zw     *gzip.Writer
	bytes  int64
	opened time.Time
}

// writers holds the open buffer file of each dataset, org and environment.
type writers struct {
	dir      string
	maxBytes int64
	maxAge   time.Duration
	now      func() time.Time
	// ready is told about each file rolled (under mu: it must not block).
	ready func()

	mu     sync.Mutex
	open   map[fileKey]*openFile
	closed bool
}

func newWriters(dir string, files FilesConfig, now func() time.Time, ready func()) *writers {
	return &writers{dir: dir, maxBytes: files.MaxBytes, maxAge: files.MaxAge, now: now, ready: ready, open: map[fileKey]*openFile{}}
}

// errClosed refuses records once UDCA is shutting down: the sender keeps
// them and resends them to the next UDCA.
var errClosed = errors.New("udca is shutting down")

// encoded is a batch's records as file lines, grouped by the file they go
// to; encoding happens before the lock is taken.
type encoded map[fileKey]*bytes.Buffer

// encode turns a batch into lines. Records whose organization or
// environment cannot be part of a file name, and raw records of an
// unknown dataset or that are not one JSON object, are refused (counted
// by the caller).
func encode(b *analyticsv1.Batch) (out encoded, counts map[string]int, dropped int) {
	out, counts = encoded{}, map[string]int{}
	buf := func(k fileKey) *bytes.Buffer {
		bb := out[k]
		if bb == nil {
			bb = &bytes.Buffer{}
			out[k] = bb
		}
		return bb
	}
	for _, r := range b.GetApi() {
		k := fileKey{"api", r.GetOrganization(), r.GetEnvironment()}
		if !validKey(k) {
			dropped++
			continue
		}
		bb := buf(k)
		bb.Write(analyticsv1.AppendJSON(bb.AvailableBuffer(), r))
		bb.WriteByte('\n')
		counts["api"]++
	}
	for _, r := range b.GetRaw() {
		k := fileKey{r.GetDataset(), r.GetOrganization(), r.GetEnvironment()}
		j := bytes.TrimSpace(r.GetJson())
		if !validKey(k) || len(j) == 0 || j[0] != '{' || bytes.IndexByte(j, '\n') >= 0 {
			dropped++
			continue
		}
		bb := buf(k)
		bb.Write(j)
		bb.WriteByte('\n')
		counts[k.dataset]++
	}
	return out, counts, dropped
}

// validKey reports whether records of k can go into a file name.
func validKey(k fileKey) bool {
	n := analyticsfile.Name{Time: time.UnixMilli(0), Dataset: k.dataset, Org: k.org, Env: k.env, ID: "00000000-0000-0000-0000-000000000000"}
	_, err := analyticsfile.ParseName(n.String())
	return err == nil
}

// write appends encoded lines to their files, rolling those that reach
// maxBytes.
func (ws *writers) write(e encoded) error {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return errClosed
	}
	for k, lines := range e {
		f := ws.open[k]
		if f == nil {
			var err error
			if f, err = ws.create(k); err != nil {
				return err
			}
			ws.open[k] = f
		}
		if _, err := f.zw.Write(lines.Bytes()); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		f.bytes += int64(lines.Len())
		if ws.maxBytes > 0 && f.bytes >= ws.maxBytes {
			if err := ws.roll(k, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ws *writers) create(k fileKey) (*openFile, error) {
	now := ws.now()
	n := analyticsfile.Name{Time: now, Dataset: k.dataset, Org: k.org, Env: k.env, ID: uuid.NewString()}
	path := filepath.Join(ws.dir, k.dataset, dirOpen, n.String())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create buffer file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	// Fastest compression: UDCA has to keep up with every message
	// processor it serves, and the files are short-lived.
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	return &openFile{name: n, path: path, f: f, bw: bw, zw: zw, opened: now}, nil
}

// roll closes a file (gzip trailer, flushed, synced) and moves it into
// the dataset's folder, where the uploader finds it.
func (ws *writers) roll(k fileKey, f *openFile) error {
	delete(ws.open, k)
	err := f.zw.Close()
	if err == nil {
		err = f.bw.Flush()
	}
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close buffer file %s: %w", f.path, err)
	}
	if err := os.Rename(f.path, filepath.Join(ws.dir, k.dataset, f.name.String())); err != nil {
		return fmt.Errorf("queue buffer file: %w", err)
	}
	ws.ready()
	return nil
}

// rollExpired rolls the files opened more than maxAge ago (all of them
// with all set) and returns when the next one will be due.
func (ws *writers) rollExpired(all bool) (next time.Time, err error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	now := ws.now()
	for k, f := range ws.open {
		due := f.opened.Add(ws.maxAge)
		if all || !now.Before(due) {
			if e := ws.roll(k, f); e != nil && err == nil {
				err = e
			}
			continue
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next, err
}

// close rolls every open file and refuses further records.
func (ws *writers) close() error {
	_, err := ws.rollExpired(true)
	ws.mu.Lock()
	ws.closed = true
	ws.mu.Unlock()
	return err
}
