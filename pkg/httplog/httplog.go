// Package httplog is the request-logging middleware of the emulator's HTTP
// APIs: it records each response's status and size, meters the call and
// writes one access-log line whose fields each service chooses.
package httplog

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Record is what the middleware saw of one call.
type Record struct {
	Status  int   // 200 when the handler wrote nothing
	Bytes   int64 // response body bytes written
	Latency time.Duration
}

// Options configure Handler.
type Options struct {
	// Log receives one Info line "request" per call (nil: no log).
	Log *zap.Logger
	// Fields returns the line's fields (nil: none); r is the request as
	// the middleware received it, so a handler's rewrites do not show.
	Fields func(r *http.Request, rec Record) []zap.Field
	// Metrics, when set, count and time every call.
	Metrics *Metrics
}

// Metrics are a service's request metrics.
type Metrics struct {
	// Requests counts calls by method and status code.
	Requests *prometheus.CounterVec
	// Latency observes each call's seconds by method.
	Latency *prometheus.HistogramVec
}

// NewMetrics makes the counter (labels method, code) and the latency
// histogram (label method, Prometheus's default buckets) under these
// names and help texts.
func NewMetrics(requestsName, requestsHelp, latencyName, latencyHelp string) *Metrics {
	return &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: requestsName,
			Help: requestsHelp,
		}, []string{"method", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    latencyName,
			Help:    latencyHelp,
			Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
	}
}

// Register registers both metrics with reg, stopping at the first error.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.Requests, m.Latency} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler wraps next: once next returns, the call is counted, timed and
// logged.
func Handler(next http.Handler, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &Recorder{ResponseWriter: w}
		defer func() {
			rr := Record{Status: rec.Status(), Bytes: rec.bytes, Latency: time.Since(start)}
			if m := o.Metrics; m != nil {
				m.Requests.WithLabelValues(r.Method, strconv.Itoa(rr.Status)).Inc()
				m.Latency.WithLabelValues(r.Method).Observe(rr.Latency.Seconds())
			}
			if o.Log != nil {
				var fields []zap.Field
				if o.Fields != nil {
					fields = o.Fields(r, rr)
				}
				o.Log.Info("request", fields...)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// Recorder is an http.ResponseWriter that remembers the status code
// (the first one written) and counts body bytes.
type Recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// Status is the status code written so far, 200 when there was none.
func (s *Recorder) Status() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

func (s *Recorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *Recorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Flush passes on to the underlying writer when it can flush.
func (s *Recorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
