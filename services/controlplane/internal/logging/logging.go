// Package logging is the mock control plane's Cloud Logging v2 entries API
// (logging.googleapis.com), in memory: the runtime plane's telemetry
// forwarder writes the services' logs with entries.write and tests read
// them back with entries.list, both through
// google.golang.org/api/logging/v2 unchanged.
//
// Writes are validated as the real API validates them (log names, a
// resource for every entry, one payload, known severities) so a forwarder
// that works here is not refused by Google. Nothing outlives the process:
// each project keeps a bounded ring of its newest entries.
package logging

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// Audience is the self-signed JWT audience of Cloud Logging.
const Audience = iam.LoggingAudience

// Bounds of the store and of a request.
const (
	// DefaultMaxEntries is how many entries a project keeps, oldest
	// dropped.
	DefaultMaxEntries = 100000
	// MaxEntriesPerRequest bounds entries.write.
	MaxEntriesPerRequest = 1000
	// MaxRequestBytes is the real API's request size limit (10 MB).
	MaxRequestBytes = 10 << 20
	// defaultPageSize and maxPageSize are entries.list's.
	defaultPageSize = 50
	maxPageSize     = 1000
	// maxLogIDLen bounds a log id (URL-encoded, as Google counts it).
	maxLogIDLen = 512
)

// Authorizer is the emulated IAM as the API uses it (*iam.IAM).
type Authorizer = gcpapi.Authorizer

// Projects tells which projects exist.
type Projects = gcpapi.Projects

// Options configure a Store.
type Options struct {
	// Auth authenticates and authorizes callers; nil lets every caller
	// in (unit tests of the API's behaviour).
	Auth Authorizer
	// Projects, when set, makes calls on other projects a 404.
	Projects Projects
	// Registerer, when set, gets controlplane_logging_entries_written_total.
	Registerer prometheus.Registerer
	// MaxEntries bounds each project's ring (0: DefaultMaxEntries).
	MaxEntries int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Store holds written entries per project and serves the API. It is safe
// for concurrent use.
type Store struct {
	opts    Options
	gate    gcpapi.Gate
	written prometheus.Counter

	mu       sync.Mutex
	projects map[string]*ring
	seq      uint64 // write order, the tie-break of equal timestamps
}

// stored is an entry as kept: parsed once at write, read by every list.
type stored struct {
	seq     uint64
	ts      time.Time
	entry   LogEntry
	jsonTop map[string]json.RawMessage
}

// ring keeps a project's newest entries in write order.
type ring struct {
	buf  []stored
	next int // the oldest entry once buf is full
}

func (r *ring) add(e stored, limit int) {
	if len(r.buf) < limit {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % limit
}

// each calls fn on every entry, oldest first.
func (r *ring) each(fn func(*stored)) {
	for i := range r.buf {
		fn(&r.buf[(r.next+i)%len(r.buf)])
	}
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{
		opts: opts,
		gate: gcpapi.Gate{Auth: opts.Auth, Projects: opts.Projects, Audience: Audience},
		written: gcpapi.WriteCounter(opts.Registerer, "controlplane_logging_entries_written_total",
			"Log entries the mock Cloud Logging API stored (entries.write)."),
		projects: map[string]*ring{},
	}
}

// Entries returns a copy of project's entries, oldest first: what
// in-process tests read.
func (s *Store) Entries(project string) []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.projects[project]
	if r == nil {
		return nil
	}
	out := make([]LogEntry, 0, len(r.buf))
	r.each(func(e *stored) { out = append(out, e.entry) })
	return out
}
