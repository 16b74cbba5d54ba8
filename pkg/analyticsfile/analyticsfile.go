// Package analyticsfile is the buffer-file format UDCA writes and the
// control plane ingests: gzip'd newline-delimited JSON, one record per
// line, in files named as hybrid's UDCA names them,
// {unixts}.{dataset}.{org}.{env}.{uuid}.gz (unixts in milliseconds).
//
// Both sides read files through Read, which never trusts them: a file cut
// short by a crash, a damaged gzip stream or a line that is not a JSON
// object ends the read with ErrCorrupt after the good records before the
// damage, so UDCA can salvage them and move the file aside, and the
// ingest can refuse it without crashing (FuzzRead).
package analyticsfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Datasets are the kinds of data UDCA carries: analytics records, debug
// session traces and runtime events.
var Datasets = []string{"api", "trace", "event"}

// ValidDataset reports whether d is one of Datasets.
func ValidDataset(d string) bool {
	for _, x := range Datasets {
		if d == x {
			return true
		}
	}
	return false
}

// Name is a buffer file's name, parsed.
type Name struct {
	Time    time.Time // when the file was opened (millisecond precision)
	Dataset string
	Org     string
	Env     string
	ID      string // a UUID
}

// Ext is the buffer files' extension.
const Ext = ".gz"

var (
	orgRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	envRE  = regexp.MustCompile(`^[.a-zA-Z0-9_\-]{1,255}$`)
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// String is the file name: {unixts}.{dataset}.{org}.{env}.{uuid}.gz.
func (n Name) String() string {
	return strconv.FormatInt(n.Time.UnixMilli(), 10) + "." + n.Dataset + "." + n.Org + "." + n.Env + "." + n.ID + Ext
}

// Base is the name without its extension, as UDCA's log lines name a file.
func (n Name) Base() string { return strings.TrimSuffix(n.String(), Ext) }

// ParseName parses a buffer file's name. Organization names have no dots
// and UUIDs none either, so an environment name may contain dots.
func ParseName(s string) (Name, error) {
	rest, ok := strings.CutSuffix(s, Ext)
	if !ok {
		return Name{}, fmt.Errorf("analytics file name %q: no %s extension", s, Ext)
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 5 {
		return Name{}, fmt.Errorf("analytics file name %q: want {unixts}.{dataset}.{org}.{env}.{uuid}%s", s, Ext)
	}
	ms, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || ms < 0 || parts[0] != strconv.FormatInt(ms, 10) {
		return Name{}, fmt.Errorf("analytics file name %q: bad timestamp %q", s, parts[0])
	}
	n := Name{Time: time.UnixMilli(ms).UTC(), Dataset: parts[1], Org: parts[2],
		Env: strings.Join(parts[3:len(parts)-1], "."), ID: parts[len(parts)-1]}
	switch {
	case !ValidDataset(n.Dataset):
		return Name{}, fmt.Errorf("analytics file name %q: unknown dataset %q", s, n.Dataset)
	case !orgRE.MatchString(n.Org):
		return Name{}, fmt.Errorf("analytics file name %q: bad organization %q", s, n.Org)
	case !envRE.MatchString(n.Env) || n.Env == "." || n.Env == "..":
		return Name{}, fmt.Errorf("analytics file name %q: bad environment %q", s, n.Env)
	case !uuidRE.MatchString(n.ID):
		return Name{}, fmt.Errorf("analytics file name %q: bad id %q", s, n.ID)
	}
	return n, nil
}

// ErrCorrupt is wrapped by Read's error for a file that is damaged.
var ErrCorrupt = errors.New("corrupt analytics file")

// MaxLine bounds one record; a longer line is damage, not a record.
const MaxLine = 4 << 20

// Read passes each record (one JSON object, without its newline) of a
// buffer file to fn, in order, and returns how many it passed. The slice
// is only valid during the call. An empty file (no gzip stream at all) has
// no records; any damage returns an error wrapping ErrCorrupt after the
// records before it; an error from fn stops the read and is returned as
// it is.
func Read(r io.Reader, fn func(record []byte) error) (int, error) {
	br := bufio.NewReader(r)
	if _, err := br.Peek(1); err == io.EOF {
		return 0, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return n, fmt.Errorf("%w: record %d is not a JSON object", ErrCorrupt, n+1)
		}
		if err := fn(line); err != nil {
			return n, err
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("%w: after %d records: %v", ErrCorrupt, n, err)
	}
	return n, nil
}
