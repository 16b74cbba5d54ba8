package udca

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
)

// The upstream services an upload depends on, as hybrid's UDCA names them
// in its logs and its upstream_http_error_count metric.
const (
	svcDataLocation   = "DATALOCATION"
	svcCloudStorage   = "CLOUD_STORAGE"
	svcTokenGenerator = "TOKEN_GENERATOR"
)

// locator gets a signed URL for a file (the control plane's datalocation).
type locator interface {
	DataLocation(ctx context.Context, org, env, dataset, relativePath string) (cpclient.DataLocation, error)
}

// retryState is what UDCA remembers about a file that failed, kept in
// dataDir/retries.json so that a restart does not reset the count.
type retryState struct {
	Retries int       `json:"retries"`
	Next    time.Time `json:"next"`
}

// uploader sends ready buffer files to the control plane: a signed URL
// from datalocation, then a PUT of the file to it. A file that fails is
// put back and retried after RetryInterval; after MaxRetries failed
// retries it is discarded (or kept in failed/ with KeepFailed, and
// re-queued after the next successful upload).
type uploader struct {
	dir  string
	cfg  UploadConfig
	cp   locator
	http *http.Client
	now  func() time.Time
	log  *zap.Logger
	m    *metrics

	mu      sync.Mutex
	retries map[string]*retryState // by file name
}

func (u *uploader) statePath() string { return filepath.Join(u.dir, "retries.json") }

// loadState reads the retry counts; files that are gone are forgotten.
func (u *uploader) loadState() error {
	u.retries = map[string]*retryState{}
	data, err := os.ReadFile(u.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("retry state: %w", err)
	}
	if err := json.Unmarshal(data, &u.retries); err != nil {
		u.log.Warn("retry state unreadable; retry counts start afresh", zap.String("file", u.statePath()), zap.Error(err))
		u.retries = map[string]*retryState{}
	}
	for name := range u.retries {
		n, err := analyticsfile.ParseName(name)
		if err != nil {
			delete(u.retries, name)
			continue
		}
		if _, err := os.Stat(filepath.Join(u.dir, n.Dataset, name)); err != nil {
			delete(u.retries, name)
		}
	}
	return nil
}

// saveState writes the retry counts (under mu).
func (u *uploader) saveState() {
	data, _ := json.Marshal(u.retries)
	if err := atomicfile.Write(u.statePath(), data, 0o600); err != nil {
		u.log.Error("cannot save retry state", zap.Error(err))
	}
}

// readyFile is a file waiting in a dataset folder.
type readyFile struct {
	name analyticsfile.Name
	file string // base name
	path string
}

// ready lists the files waiting for upload, oldest first.
func (u *uploader) ready() []readyFile {
	var out []readyFile
	for _, ds := range analyticsfile.Datasets {
		dir := filepath.Join(u.dir, ds)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), analyticsfile.Ext) {
				continue
			}
			n, err := analyticsfile.ParseName(e.Name())
			if err != nil || n.Dataset != ds {
				continue // recover() moves such files aside at start
			}
			out = append(out, readyFile{name: n, file: e.Name(), path: filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].file < out[j].file })
	return out
}

// pass uploads every file that is due and returns when the next retry is
// due (zero when none waits). With final (shutdown) it tries every file
// once, retry schedule or not, and a failure does not count as a retry:
// the file is left for the next start.
func (u *uploader) pass(ctx context.Context, final bool) time.Time {
	var next time.Time
	for _, f := range u.ready() {
		if ctx.Err() != nil {
			break
		}
		u.mu.Lock()
		st := u.retries[f.file]
		u.mu.Unlock()
		if st != nil && !final && u.now().Before(st.Next) {
			if next.IsZero() || st.Next.Before(next) {
				next = st.Next
			}
			continue
		}
		if err := u.upload(ctx, f); err != nil {
			if final {
				continue
			}
			if n := u.failed(f); !n.IsZero() && (next.IsZero() || n.Before(next)) {
				next = n
			}
			continue
		}
		u.succeeded(f)
	}
	return next
}

// upload moves the file to staging/, gets a signed URL and PUTs the file
// there; on failure it logs hybrid's lines and puts the file back.
func (u *uploader) upload(ctx context.Context, f readyFile) error {
	staged := filepath.Join(u.dir, f.name.Dataset, dirStaging, f.file)
	if err := os.Rename(f.path, staged); err != nil {
		return fmt.Errorf("stage %s: %w", f.file, err)
	}
	err := u.send(ctx, f, staged)
	if err == nil {
		if rmErr := os.Remove(staged); rmErr != nil {
			u.log.Warn("uploaded file not removed", zap.String("file", staged), zap.Error(rmErr))
		}
		return nil
	}
	var ue *uploadError
	if errors.As(err, &ue) {
		u.m.upstreamErrors.WithLabelValues(ue.service, strconv.Itoa(ue.code), f.name.Dataset).Inc()
		if ue.code != 0 {
			u.log.Error(fmt.Sprintf("Encountered http error while uploading file %q. Details: http error received with code = %d for service = %q with message = %q",
				f.name.Base(), ue.code, ue.service, ue.message), zap.String("org", f.name.Org), zap.String("env", f.name.Env))
		} else {
			u.log.Error(fmt.Sprintf("Encountered error while uploading file %q. Details: error for service = %q: %s",
				f.name.Base(), ue.service, ue.message), zap.String("org", f.name.Org), zap.String("env", f.name.Env))
		}
	} else {
		u.log.Error(fmt.Sprintf("Encountered error while uploading file %q. Details: %v", f.name.Base(), err))
	}
	u.log.Info(fmt.Sprintf("Reverting file %q to original name %q", staged, f.path))
	if rerr := os.Rename(staged, f.path); rerr != nil {
		u.log.Error("cannot revert file", zap.String("file", staged), zap.Error(rerr))
	}
	return err
}

// uploadError is a failed upload step, by upstream service.
type uploadError struct {
	service string
	code    int // HTTP status; 0 when there was no answer
	message string
}

func (e *uploadError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.service, e.code, e.message)
}

func (u *uploader) send(ctx context.Context, f readyFile, path string) error {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout)
	defer cancel()
	loc, err := u.cp.DataLocation(ctx, f.name.Org, f.name.Env, f.name.Dataset, f.file)
	if err != nil {
		var ce *cpclient.Error
		switch {
		case cpclient.IsTokenError(err):
			return &uploadError{service: svcTokenGenerator, message: "unable to generate token. details: " + err.Error()}
		case errors.As(err, &ce):
			return &uploadError{service: svcDataLocation, code: ce.Status, message: "unable to generate signed url. details: " + ce.Body}
		default:
			return &uploadError{service: svcDataLocation, message: "unable to generate signed url. details: " + err.Error()}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.URL, bytes.NewReader(data))
	if err != nil {
		return &uploadError{service: svcCloudStorage, message: "bad signed url: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-gzip")
	resp, err := u.http.Do(req)
	if err != nil {
		return &uploadError{service: svcCloudStorage, message: "unable to upload file. details: " + err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return &uploadError{service: svcCloudStorage, code: resp.StatusCode, message: "unable to upload file. details: " + string(body)}
	}
	return nil
}

// succeeded counts an upload and, with KeepFailed, puts the files given
// up earlier back in the queue: the upstream works again.
func (u *uploader) succeeded(f readyFile) {
	u.m.uploaded.WithLabelValues(f.name.Dataset).Inc()
	u.m.uploadedFiles.Add(1)
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.retries[f.file]; ok {
		delete(u.retries, f.file)
		u.saveState()
	}
	if !u.cfg.KeepFailed {
		return
	}
	for _, ds := range analyticsfile.Datasets {
		dir := filepath.Join(u.dir, ds, dirFailed)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(u.dir, ds, e.Name())); err == nil {
				u.log.Info(fmt.Sprintf("Re-queueing failed file %q after a successful upload", strings.TrimSuffix(e.Name(), analyticsfile.Ext)))
			}
		}
	}
}

// failed counts a failed attempt: the retry count goes up and the file
// waits RetryInterval, or, past MaxRetries, it is given up. It returns
// when the file is due again (zero when given up).
func (u *uploader) failed(f readyFile) time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	defer u.saveState()
	st := u.retries[f.file]
	if st == nil {
		st = &retryState{}
		u.retries[f.file] = st
	}
	if st.Retries >= u.cfg.MaxRetries {
		delete(u.retries, f.file)
		if u.cfg.KeepFailed {
			dst := filepath.Join(u.dir, f.name.Dataset, dirFailed, f.file)
			if err := os.Rename(f.path, dst); err != nil {
				u.log.Error("cannot move failed file", zap.String("file", f.path), zap.Error(err))
			}
			u.log.Warn(fmt.Sprintf("Moving file %q to %q after %d failed retries", f.name.Base(), dst, st.Retries))
			return time.Time{}
		}
		if err := os.Remove(f.path); err != nil {
			u.log.Error("cannot discard file", zap.String("file", f.path), zap.Error(err))
		}
		u.m.discarded.WithLabelValues(f.name.Dataset).Inc()
		u.log.Warn(fmt.Sprintf("Discarding file %q after %d failed retries", f.name.Base(), st.Retries))
		return time.Time{}
	}
	st.Retries++
	st.Next = u.now().Add(u.cfg.RetryInterval)
	u.log.Info(fmt.Sprintf("Updating retry count for file %q to %d", f.name.Base(), st.Retries))
	return st.Next
}

// metrics are UDCA's Prometheus metrics, named as hybrid's UDCA names them.
type metrics struct {
	uploaded       *prometheus.CounterVec
	upstreamErrors *prometheus.CounterVec
	discarded      *prometheus.CounterVec
	received       *prometheus.CounterVec
	dropped        prometheus.Counter
	uploadedFiles  countValue
}

// countValue is a plain counter the file-count collector reads.
type countValue struct {
	mu sync.Mutex
	n  float64
}

func (c *countValue) Add(d float64) { c.mu.Lock(); c.n += d; c.mu.Unlock() }
func (c *countValue) Get() float64  { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func newMetrics(reg prometheus.Registerer, dir string) (*metrics, error) {
	m := &metrics{
		uploaded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "uploaded_file_count",
			Help: "Buffer files uploaded to the control plane, by dataset."}, []string{"dataset"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "upstream_http_error_count",
			Help: "Failed calls to the services an upload needs (DATALOCATION, CLOUD_STORAGE, TOKEN_GENERATOR), by HTTP status (0: no answer) and dataset."},
			[]string{"service", "response_code", "dataset"}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "discarded_file_count",
			Help: "Buffer files discarded after their last failed retry, by dataset."}, []string{"dataset"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "records_received_count",
			Help: "Records received from message processors and written to buffer files, by dataset."}, []string{"dataset"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "records_dropped_count",
			Help: "Records refused: an organization or environment that cannot name a file, an unknown dataset, or not one JSON object."}),
	}
	fc := &fileCounts{dir: dir, uploaded: &m.uploadedFiles, desc: prometheus.NewDesc("local_file_count",
		"Buffer files on local disk by state (READY_TO_UPLOAD includes files waiting to retry; UPLOADED counts files uploaded since start, which are deleted locally).",
		[]string{"state"}, nil)}
	for _, c := range []prometheus.Collector{m.uploaded, m.upstreamErrors, m.discarded, m.received, m.dropped, fc} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// fileCounts counts the buffer files on disk at each scrape, so the gauge
// is never out of step with the folders.
type fileCounts struct {
	dir      string
	uploaded *countValue
	desc     *prometheus.Desc
}

func (c *fileCounts) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *fileCounts) Collect(ch chan<- prometheus.Metric) {
	count := func(sub ...string) int {
		n := 0
		for _, ds := range analyticsfile.Datasets {
			entries, _ := os.ReadDir(filepath.Join(append([]string{c.dir, ds}, sub...)...))
			for _, e := range entries {
				if e.Type().IsRegular() && strings.HasSuffix(e.Name(), analyticsfile.Ext) {
					n++
				}
			}
		}
		return n
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(count()+count(dirStaging)), "READY_TO_UPLOAD")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(count(dirFailed)), "FAILED")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, c.uploaded.Get(), "UPLOADED")
}
