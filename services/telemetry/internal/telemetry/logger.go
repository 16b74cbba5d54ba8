package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	logging "google.golang.org/api/logging/v2"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
)

// maxLine bounds one log entry: a longer line is cut there (the rest
// becomes the next entry) so one runaway line cannot stall the tail.
const maxLine = 256 << 10

// logger is the logging role, hybrid's fluent-bit: it tails the services'
// log files and writes each line to Cloud Logging as an entry of the
// k8s_container resource the line's container would have. The files are
// the buffer: an offset per file advances only once Cloud Logging has
// taken the lines before it, so an outage delays logs and loses none
// (unless a file is truncated or replaced meanwhile), and with a
// positions file a restart resumes where it stopped.
type logger struct {
	cfg      LoggingConfig
	project  string
	location string
	cluster  string
	writer   logWriter
	log      *zap.Logger
	m        *selfMetrics
	now      func() time.Time

	health  health
	backlog atomic.Int64 // unsent bytes, as of the last round

	mu  sync.Mutex
	pos map[string]filePos // by path
}

// filePos is how far a file has been sent; the file is known by its
// device and inode, so a replaced file starts again from its top.
type filePos struct {
	Dev    uint64 `json:"dev"`
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

func newLogger(cfg LoggingConfig) (*logger, error) {
	l := &logger{cfg: cfg, pos: map[string]filePos{}, now: time.Now}
	if cfg.PositionsFile == "" {
		return l, nil
	}
	b, err := os.ReadFile(cfg.PositionsFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("logging.positionsFile: %w", err)
	}
	if err := json.Unmarshal(b, &l.pos); err != nil {
		return nil, fmt.Errorf("logging.positionsFile %s: %w", cfg.PositionsFile, err)
	}
	return l, nil
}

// run sends new lines until ctx ends. It reads again at once while there
// is more to send, and waits an interval when there is nothing new or
// Cloud Logging failed.
func (l *logger) run(ctx context.Context) error {
	for {
		more := l.round(ctx)
		wait := l.cfg.Interval
		if more {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// pending is what one round read: entries and the offsets they end at.
type pending struct {
	entries []*logging.LogEntry
	upto    map[string]filePos
}

// round sends one batch; it reports whether more lines are waiting.
func (l *logger) round(ctx context.Context) bool {
	files := l.files()
	p := pending{upto: map[string]filePos{}}
	backlog := int64(0)
	full := false
	for _, path := range files {
		n, err := l.read(path, &p, l.cfg.BatchEntries-len(p.entries))
		backlog += n
		if err != nil {
			l.log.Debug("cannot read log file", zap.String("path", path), zap.Error(err))
		}
		if len(p.entries) >= l.cfg.BatchEntries {
			full = true
		}
	}
	l.m.logBacklog.Set(float64(backlog))
	l.backlog.Store(backlog)
	if len(p.entries) == 0 {
		return false
	}
	err := l.writer.WriteEntries(ctx, &logging.WriteLogEntriesRequest{Entries: p.entries, PartialSuccess: true})
	if err != nil && !permanent(err) {
		if ctx.Err() == nil {
			l.m.upstreamErrors.WithLabelValues("logging").Inc()
			logUpstream(l.log, &l.health, "Cloud Logging", err, zap.Int64("backlogBytes", backlog))
		}
		return false
	}
	if err != nil {
		// With partialSuccess the valid entries were written; the rest
		// can never be.
		l.m.batchesRejected.Inc()
		l.log.Error("Cloud Logging refused log entries", zap.Error(err), zap.Int("entries", len(p.entries)))
	} else {
		l.m.entriesSent.Add(float64(len(p.entries)))
		logUpstream(l.log, &l.health, "Cloud Logging", nil, zap.Int64("backlogBytes", backlog))
	}
	l.commit(p.upto)
	return full
}

// files are the paths the globs match now, sorted.
func (l *logger) files() []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range l.cfg.Paths {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if abs, err := filepath.Abs(m); err == nil && !seen[abs] {
				seen[abs] = true
				out = append(out, abs)
			}
		}
	}
	sort.Strings(out)
	return out
}

// read appends up to limit entries from path's unsent lines to p; it
// returns how many bytes of the file are unsent.
func (l *logger) read(path string, p *pending, limit int) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	id := fileID(fi)
	l.mu.Lock()
	pos, known := l.pos[path]
	l.mu.Unlock()
	if !known || pos.Dev != id.Dev || pos.Inode != id.Inode || fi.Size() < pos.Offset {
		// New, replaced or truncated: from the top.
		pos = filePos{Dev: id.Dev, Inode: id.Inode}
	}
	backlog := fi.Size() - pos.Offset
	if limit <= 0 || backlog == 0 {
		return backlog, nil
	}
	// Enough for the batch's lines, and never less than one whole line up
	// to maxLine: a shorter read could end inside a line and never move on.
	buf := make([]byte, min(backlog, max(int64(limit)*4096, maxLine+1), 4<<20))
	n, err := f.ReadAt(buf, pos.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return backlog, err
	}
	buf = buf[:n]
	res := l.resource(path)
	for len(buf) > 0 && limit > 0 {
		i := bytes.IndexByte(buf, '\n')
		var line []byte
		switch {
		case i >= 0 && i <= maxLine:
			line, buf = buf[:i], buf[i+1:]
			pos.Offset += int64(i) + 1
		case len(buf) >= maxLine || i > maxLine:
			line, buf = buf[:maxLine], buf[maxLine:]
			pos.Offset += maxLine
		default:
			// A partial last line: the writer is still on it.
			buf = nil
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		p.entries = append(p.entries, l.entry(line, res))
		limit--
	}
	p.upto[path] = pos
	return backlog, nil
}

func fileID(fi os.FileInfo) filePos {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return filePos{Dev: uint64(st.Dev), Inode: st.Ino} //nolint:unconvert // Dev is int32 on some platforms
	}
	return filePos{}
}

// commit records offsets Cloud Logging has taken, and saves them.
func (l *logger) commit(upto map[string]filePos) {
	l.mu.Lock()
	for path, pos := range upto {
		l.pos[path] = pos
	}
	var b []byte
	if l.cfg.PositionsFile != "" {
		b, _ = json.Marshal(l.pos)
	}
	l.mu.Unlock()
	if b != nil {
		if err := atomicfile.Write(l.cfg.PositionsFile, b, 0o600); err != nil {
			l.log.Warn("cannot save log positions; a restart may send lines again", zap.Error(err))
		}
	}
}

// regionSuffix is the "-2" of a second region's process ("runtime-2.log").
var regionSuffix = regexp.MustCompile(`-[0-9]+$`)

// resource is the k8s_container resource a log file's lines come from:
// "runtime-2.log" is pod runtime-2 of container apigee-runtime, in
// namespace apigee of the instance's cluster.
func (l *logger) resource(path string) *logging.MonitoredResource {
	pod := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return &logging.MonitoredResource{Type: "k8s_container", Labels: map[string]string{
		"project_id":     l.project,
		"location":       l.location,
		"cluster_name":   l.cluster,
		"namespace_name": "apigee",
		"pod_name":       pod,
		"container_name": "apigee-" + regionSuffix.ReplaceAllString(pod, ""),
	}}
}

// entry is one line as a LogEntry: a JSON line (what every service
// writes) becomes the jsonPayload, with its severity and time lifted to
// the entry's; anything else is a textPayload.
func (l *logger) entry(line []byte, res *logging.MonitoredResource) *logging.LogEntry {
	e := &logging.LogEntry{
		LogName:  "projects/" + l.project + "/logs/stdout",
		Resource: res,
		Severity: "DEFAULT",
	}
	var fields map[string]any
	if json.Unmarshal(line, &fields) == nil && fields != nil {
		e.JsonPayload = append([]byte(nil), line...)
		e.Severity = severity(fields)
		e.Timestamp = timestamp(fields)
	} else {
		e.TextPayload = strings.ToValidUTF8(string(line), "\uFFFD")
	}
	if e.Timestamp == "" {
		e.Timestamp = l.now().UTC().Format(time.RFC3339Nano)
	}
	return e
}

// severity maps a line's level to Cloud Logging's LogSeverity: the
// services' zap lines carry "severity" (INFO …) and "level" (info …),
// the seed's Java-style lines SEVERE.
func severity(f map[string]any) string {
	for _, k := range []string{"severity", "level"} {
		s, ok := f[k].(string)
		if !ok {
			continue
		}
		switch strings.ToUpper(s) {
		case "DEBUG", "TRACE", "FINE", "FINER", "FINEST":
			return "DEBUG"
		case "INFO", "CONFIG":
			return "INFO"
		case "NOTICE":
			return "NOTICE"
		case "WARN", "WARNING":
			return "WARNING"
		case "ERROR", "SEVERE":
			return "ERROR"
		case "DPANIC", "PANIC", "FATAL", "CRITICAL":
			return "CRITICAL"
		}
	}
	return "DEFAULT"
}

// timestamp is the line's own time: formattedDate (RFC 3339), time, or
// ts (Unix seconds, zap's default).
func timestamp(f map[string]any) string {
	for _, k := range []string{"formattedDate", "time", "timestamp"} {
		if s, ok := f[k].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UTC().Format(time.RFC3339Nano)
			}
		}
	}
	if ts, ok := f["ts"].(float64); ok && ts > 0 && !math.IsInf(ts, 0) {
		sec, frac := math.Modf(ts)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// LoggingStatus is the logging role in the status endpoint.
type LoggingStatus struct {
	Upstream HealthView `json:"upstream"`
	Files    []string   `json:"files"`
	// BacklogBytes are what the files hold that Cloud Logging has not
	// taken yet (the logger's buffer is the files themselves).
	BacklogBytes int64 `json:"backlogBytes"`
}

func (l *logger) status() LoggingStatus {
	return LoggingStatus{Upstream: l.health.view(), Files: l.files(), BacklogBytes: l.backlog.Load()}
}
