package httplog_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hybrid-emulator/hybrid/pkg/httplog"
)

func TestHandlerLogsAndMeters(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	m := httplog.NewMetrics("req_total", "Requests.", "req_seconds", "Latency.")
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, m.Register(reg))
	require.Error(t, m.Register(reg), "registered twice")
	var seen *http.Request
	h := httplog.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/rewritten" // a handler's own rewrite
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusOK) // ignored: the first status counts
		_, _ = w.Write([]byte("hello"))
	}), httplog.Options{
		Log: zap.New(core), Metrics: m,
		Fields: func(r *http.Request, rec httplog.Record) []zap.Field {
			seen = r
			return []zap.Field{zap.String("path", r.URL.Path), zap.Int("status", rec.Status), zap.Int64("bytes", rec.Bytes)}
		},
	})
	r := httptest.NewRequest("POST", "/a?b=c", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)

	require.Same(t, r, seen)
	entries := logs.FilterMessage("request").All()
	require.Len(t, entries, 1)
	require.Equal(t, zapcore.InfoLevel, entries[0].Level)
	require.Equal(t, map[string]any{"path": "/rewritten", "status": int64(418), "bytes": int64(5)}, entries[0].ContextMap())
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = fmt.Sprint(m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount()))
		}
	}
	require.Equal(t, map[string]string{"req_total{code=418,method=POST}": "1", "req_seconds{method=POST}": "1"}, got)
}

func TestHandlerDefaultsToOK(t *testing.T) {
	var got httplog.Record
	h := httplog.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httplog.Options{
		Log: zap.NewNop(),
		Fields: func(_ *http.Request, rec httplog.Record) []zap.Field {
			got = rec
			return nil
		},
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.Equal(t, http.StatusOK, got.Status)
	require.Zero(t, got.Bytes)

	// Without a log or metrics the handler still serves.
	w := httptest.NewRecorder()
	httplog.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }), httplog.Options{}).
		ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	require.Equal(t, 204, w.Code)
}

func TestRecorder(t *testing.T) {
	w := httptest.NewRecorder()
	rec := &httplog.Recorder{ResponseWriter: w}
	require.Equal(t, http.StatusOK, rec.Status())
	_, _ = rec.Write([]byte("abc"))
	rec.WriteHeader(http.StatusNotFound) // too late: the write sent 200
	require.Equal(t, http.StatusOK, rec.Status())
	rec.Flush()
	require.True(t, w.Flushed)
}
