package udca

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeStorage is the signed-URL target: it fails while failing is set.
type fakeStorage struct {
	srv     *httptest.Server
	failing atomic.Bool
	puts    atomic.Int32
}

func newFakeStorage(tb testing.TB) *fakeStorage {
	fs := &fakeStorage{}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fs.failing.Load() {
			http.Error(w, "<Error><Code>InternalError</Code></Error>", http.StatusInternalServerError)
			return
		}
		fs.puts.Add(1)
	}))
	tb.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeStorage) DataLocation(_ context.Context, org, env, dataset, file string) (cpclient.DataLocation, error) {
	return cpclient.DataLocation{URL: fs.srv.URL + "/" + dataset + "/" + file}, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newUploader(tb testing.TB, dir string, cfg UploadConfig, loc locator, c *clock) (*uploader, *observer.ObservedLogs) {
	tb.Helper()
	core, logs := observer.New(zap.InfoLevel)
	require.NoError(tb, prepare(dir, zap.New(core)))
	m, err := newMetrics(prometheus.NewRegistry(), dir)
	require.NoError(tb, err)
	u := &uploader{dir: dir, cfg: cfg, cp: loc, http: http.DefaultClient, now: c.now, log: zap.New(core), m: m}
	require.NoError(tb, u.loadState())
	return u, logs
}

// readyFile writes a buffer file of n records into the api folder.
func writeReady(tb testing.TB, dir string, n int) analyticsfile.Name {
	tb.Helper()
	name := analyticsfile.Name{Time: time.UnixMilli(1715471290207), Dataset: "api", Org: "org", Env: "test", ID: "65fef1f5-baa7-47f7-966e-f4cb5b0c86f1"}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for range n {
		_, _ = zw.Write([]byte("{\"apiproxy\":\"p\"}\n"))
	}
	require.NoError(tb, zw.Close())
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "api", name.String()), b.Bytes(), 0o600))
	return name
}

func messages(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.TakeAll() {
		out = append(out, e.Message)
	}
	return out
}

func TestUploadRetryRules(t *testing.T) {
	tests := []struct {
		name       string
		keepFailed bool
	}{{"seed: discard after 3 failed retries", false}, {"keepFailed: failed/ and re-queued after a success", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{t: time.Unix(1715752630, 0)}
			fs := newFakeStorage(t)
			fs.failing.Store(true)
			u, logs := newUploader(t, dir, UploadConfig{RetryInterval: time.Minute, MaxRetries: 3, KeepFailed: tt.keepFailed, Timeout: 5 * time.Second}, fs, c)
			name := writeReady(t, dir, 2)
			ctx := context.Background()

			next := u.pass(ctx, false)
			require.Equal(t, c.t.Add(time.Minute), next)
			msgs := messages(logs)
			require.Len(t, msgs, 3)
			require.Contains(t, msgs[0], `Encountered http error while uploading file "`+name.Base()+`". Details: http error received with code = 500 for service = "CLOUD_STORAGE"`)
			require.Contains(t, msgs[1], `Reverting file "`+filepath.Join(dir, "api", "staging", name.String())+`" to original name "`+filepath.Join(dir, "api", name.String())+`"`)
			require.Equal(t, `Updating retry count for file "`+name.Base()+`" to 1`, msgs[2])

			// Not due before the retry interval.
			c.t = c.t.Add(59 * time.Second)
			u.pass(ctx, false)
			require.Empty(t, messages(logs))
			for retry := 2; retry <= 3; retry++ {
				c.t = c.t.Add(time.Minute)
				u.pass(ctx, false)
				require.Contains(t, messages(logs), `Updating retry count for file "`+name.Base()+`" to `+string(rune('0'+retry)))
			}
			// The retry count survives a restart.
			u2, logs2 := newUploader(t, dir, u.cfg, fs, c)
			c.t = c.t.Add(time.Minute)
			u2.pass(ctx, false)
			last := messages(logs2)
			require.Equal(t, 1.0, testutil.ToFloat64(u2.m.upstreamErrors.WithLabelValues("CLOUD_STORAGE", "500", "api")))
			if !tt.keepFailed {
				require.Contains(t, last[len(last)-1], `Discarding file "`+name.Base()+`" after 3 failed retries`)
				require.NoFileExists(t, filepath.Join(dir, "api", name.String()))
				require.Equal(t, 1.0, testutil.ToFloat64(u2.m.discarded.WithLabelValues("api")))
				return
			}
			require.FileExists(t, filepath.Join(dir, "api", "failed", name.String()))
			require.Equal(t, 1.0, gauge(t, u2, "FAILED"))
			// Storage recovers: the next upload succeeds and re-queues the failed file.
			fs.failing.Store(false)
			other := analyticsfile.Name{Time: name.Time.Add(time.Second), Dataset: "api", Org: "org", Env: "test", ID: name.ID}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "api", other.String()), nil, 0o600))
			u2.pass(ctx, false)
			u2.pass(ctx, false)
			require.Equal(t, int32(2), fs.puts.Load())
			require.Equal(t, 2.0, testutil.ToFloat64(u2.m.uploaded.WithLabelValues("api")))
			require.Equal(t, 0.0, gauge(t, u2, "FAILED"))
			require.Equal(t, 2.0, gauge(t, u2, "UPLOADED"))
		})
	}
}

func gauge(t *testing.T, u *uploader, state string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	fc := &fileCounts{dir: u.dir, uploaded: &u.m.uploadedFiles, desc: prometheus.NewDesc("local_file_count", "", []string{"state"}, nil)}
	reg.MustRegister(fc)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == state {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s", state)
	return 0
}

func TestPrepareRecovers(t *testing.T) {
	dir := t.TempDir()
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	require.NoError(t, prepare(dir, log))
	// A file cut short while being written, one left in staging, garbage.
	name := analyticsfile.Name{Time: time.UnixMilli(1), Dataset: "api", Org: "org", Env: "test", ID: "65fef1f5-baa7-47f7-966e-f4cb5b0c86f1"}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for range 100 {
		_, _ = zw.Write([]byte("{\"apiproxy\":\"p\"}\n"))
	}
	require.NoError(t, zw.Flush())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api", "open", name.String()), b.Bytes(), 0o600))
	staged := analyticsfile.Name{Time: time.UnixMilli(2), Dataset: "api", Org: "org", Env: "test", ID: name.ID}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api", "staging", staged.String()), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api", "junk.gz"), []byte("x"), 0o600))
	bad := analyticsfile.Name{Time: time.UnixMilli(3), Dataset: "api", Org: "org", Env: "test", ID: name.ID}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api", bad.String()), []byte("not gzip"), 0o600))

	require.NoError(t, prepare(dir, log))
	require.FileExists(t, filepath.Join(dir, "api", staged.String()))
	require.FileExists(t, filepath.Join(dir, "api", "corrupt", "junk.gz"))
	require.FileExists(t, filepath.Join(dir, "api", "corrupt", bad.String()))
	require.FileExists(t, filepath.Join(dir, "api", "corrupt", name.String()))
	f, err := os.Open(filepath.Join(dir, "api", name.String()))
	require.NoError(t, err)
	defer f.Close()
	n, err := analyticsfile.Read(f, func([]byte) error { return nil })
	require.NoError(t, err)
	require.Equal(t, 100, n, "the salvaged file keeps every complete record")
	var moved int
	for _, m := range messages(logs) {
		if strings.HasPrefix(m, "Moving corrupt file") {
			moved++
		}
	}
	require.Equal(t, 3, moved)
}

func TestCollectorWritesAndAcks(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, prepare(dir, zap.NewNop()))
	m, err := newMetrics(prometheus.NewRegistry(), dir)
	require.NoError(t, err)
	var rolled atomic.Int32
	ws := newWriters(dir, FilesConfig{MaxBytes: 1 << 20, MaxAge: time.Hour}, time.Now, func() { rolled.Add(1) })
	stopping := make(chan struct{})
	srv := grpc.NewServer()
	analyticsv1.RegisterCollectorServer(srv, &collector{w: ws, m: m, stopping: stopping, log: zap.NewNop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	st, err := analyticsv1.NewCollectorClient(conn).Stream(context.Background())
	require.NoError(t, err)
	require.NoError(t, st.Send(&analyticsv1.Batch{Seq: 7, Api: []*analyticsv1.ApiRecord{
		{Organization: "org", Environment: "test", Apiproxy: "p", GatewayFlowId: "a"},
		{Organization: "Bad Org", Environment: "test"},
	}, Raw: []*analyticsv1.RawRecord{{Dataset: "event", Organization: "org", Environment: "test", Json: []byte(`{"type":"deploy"}`)}}}))
	ack, err := st.Recv()
	require.NoError(t, err)
	require.Equal(t, uint64(7), ack.GetSeq())
	require.Equal(t, 1.0, testutil.ToFloat64(m.dropped))
	require.NoError(t, ws.close())
	require.Equal(t, int32(2), rolled.Load())
	var got []string
	for _, ds := range []string{"api", "event"} {
		for _, f := range files(filepath.Join(dir, ds)) {
			fh, err := os.Open(filepath.Join(dir, ds, f))
			require.NoError(t, err)
			_, err = analyticsfile.Read(fh, func(rec []byte) error { got = append(got, string(rec)); return nil })
			fh.Close()
			require.NoError(t, err)
		}
	}
	require.Equal(t, []string{`{"organization":"org","environment":"test","apiproxy":"p","gateway_flow_id":"a"}`, `{"type":"deploy"}`}, got)
	close(stopping)
	_ = st.CloseSend()
}
