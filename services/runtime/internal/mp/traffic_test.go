package mp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
)

func TestTrafficDefaults(t *testing.T) {
	cfg := DefaultConfig()
	require.Equal(t, 55*time.Second, cfg.IOTimeout, "Apigee's default I/O timeout")
	require.Equal(t, 55*time.Second, cfg.ClientIOTimeout)

	srv := &http.Server{}
	trafficServer(srv)
	require.Equal(t, TrafficMaxHeaderBytes, srv.MaxHeaderBytes)
	require.Greater(t, TrafficMaxHeaderBytes, engine.DefaultMaxRequestLine+engine.DefaultMaxRequestHeaders,
		"the engine must see requests over Apigee's limits to answer them with Apigee's faults")

	s, err := service.NewWithLogger("runtime", service.DefaultCommon("127.0.0.1:0"), zaptest.NewLogger(t))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	_, err = listenTraffic(s, "127.0.0.1:0", http.NotFoundHandler())
	require.NoError(t, err)
	traffic := s.Server("traffic")
	require.Equal(t, TrafficMaxHeaderBytes, traffic.MaxHeaderBytes)
	require.Equal(t, service.DefaultIdleTimeout, traffic.IdleTimeout)
	require.Equal(t, service.DefaultReadHeaderTimeout, traffic.ReadHeaderTimeout)
	require.Zero(t, traffic.ReadTimeout, "a whole-request read timeout would cut streamed uploads")
}

// TestClientDeadlines: a client that pauses mid-payload longer than the
// deadline fails the read; one that keeps sending, however long in
// total, does not.
func TestClientDeadlines(t *testing.T) {
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	h := clientDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got <- result{string(b), err}
	}), 100*time.Millisecond)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// send streams chunks, calling gap after each; it runs beside the
	// handler, so it reports nothing itself.
	send := func(chunks []string, gap func()) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
			for _, ch := range chunks {
				_, _ = io.WriteString(c, strconv.FormatInt(int64(len(ch)), 16)+"\r\n"+ch+"\r\n")
				gap()
			}
			_, _ = io.WriteString(c, "0\r\n\r\n")
			_, _ = http.ReadResponse(bufio.NewReader(c), nil)
		}()
		return done
	}
	t.Run("steady stream longer than the deadline", func(t *testing.T) {
		// The client's pacing is the behaviour under test: a chunk every
		// 40 ms, 200 ms in all, longer than the 100 ms deadline.
		done := send([]string{"a", "b", "c", "d", "e"}, func() { time.Sleep(40 * time.Millisecond) })
		r := <-got
		<-done
		require.NoError(t, r.err)
		require.Equal(t, "abcde", r.body)
	})
	t.Run("pause longer than the deadline", func(t *testing.T) {
		// After one chunk the client goes quiet until the handler's read
		// has failed: no fixed pause.
		failed := make(chan struct{})
		done := send([]string{"a"}, func() { <-failed })
		r := <-got
		close(failed)
		<-done
		var ne net.Error
		require.ErrorAs(t, r.err, &ne)
		require.True(t, ne.Timeout())
	})
}

// TestHoldUntilLoaded: until every environment's contract is in, calls get
// Apigee's 503 ServiceUnavailable fault with a Retry-After, never a 404
// ApplicationNotFound from an engine with no proxies; then every call goes
// through, and the check is not made again.
func TestHoldUntilLoaded(t *testing.T) {
	var loaded atomic.Bool
	var checks atomic.Int64
	h := holdUntilLoaded(func() bool { checks.Add(1); return loaded.Load() },
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "proxied") }))
	for _, step := range []struct {
		name       string
		loaded     bool
		wantStatus int
		wantBody   string
		wantChecks int64
	}{
		{"before the contract: held", false, http.StatusServiceUnavailable,
			`{"fault":{"faultstring":"The Service is temporarily unavailable","detail":{"errorcode":"messaging.adaptors.http.flow.ServiceUnavailable"}}}`, 1},
		{"still held", false, http.StatusServiceUnavailable, "", 2},
		{"contract in: served", true, http.StatusOK, "proxied", 3},
		{"latched: not checked again", false, http.StatusOK, "proxied", 3},
	} {
		t.Run(step.name, func(t *testing.T) {
			loaded.Store(step.loaded)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://api.example.com/weather", nil))
			require.Equal(t, step.wantStatus, rec.Code)
			require.Equal(t, step.wantChecks, checks.Load())
			if step.wantStatus == http.StatusServiceUnavailable {
				require.Equal(t, "1", rec.Header().Get("Retry-After"))
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			}
			if step.wantBody != "" {
				require.Equal(t, step.wantBody, rec.Body.String())
			}
		})
	}
}
