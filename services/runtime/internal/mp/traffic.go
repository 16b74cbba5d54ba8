package mp

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
)

// TrafficMaxHeaderBytes is the traffic listener's hard cap on the request
// line plus headers. It sits well above Apigee's limits (7 KB request
// line, 25 KB headers) so that the engine, not net/http, answers requests
// between the two with Apigee's 414 protocol.http.TooBigLine and 431
// protocol.http.TooBigHeaders; beyond it the framing guard refuses with
// the same faults before net/http reads the head (framing.go).
const TrafficMaxHeaderBytes = 2 * (engine.DefaultMaxRequestLine + engine.DefaultMaxRequestHeaders)

// listenTraffic binds the traffic listener and serves h on it through
// the strict framing guard (framing.go), with the traffic server's
// settings. HTTP/1.x only: the listener is plain TCP and the server
// enables no unencrypted HTTP/2.
func listenTraffic(svc *service.Service, addr string, h http.Handler) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen traffic on %s: %w", svc.Name(), addr, err)
	}
	gln, gh := guardTraffic(ln, h)
	return svc.AddListener("traffic", gln, gh, trafficServer), nil
}

// trafficServer tunes the traffic listener's http.Server. The service
// defaults (header timeout, idle timeout) stay; there is deliberately no
// ReadTimeout or WriteTimeout, which would cut streamed payloads:
// clientDeadlines bounds pauses instead.
func trafficServer(srv *http.Server) {
	srv.MaxHeaderBytes = TrafficMaxHeaderBytes
}

// clientDeadlines gives each read of a request payload its own deadline
// (http.ResponseController): a client may stream for as long as it keeps
// sending, but a pause longer than d fails the read, which the engine
// answers as a client error.
func clientDeadlines(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &deadlineBody{rc: r.Body, ctl: http.NewResponseController(w), d: d}
		}
		h.ServeHTTP(w, r)
	})
}

type deadlineBody struct {
	rc  io.ReadCloser
	ctl *http.ResponseController
	d   time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	_ = b.ctl.SetReadDeadline(time.Now().Add(b.d)) // not supported (e.g. a recorder): no deadline
	n, err := b.rc.Read(p)
	if err != nil {
		// Payload done: lift the deadline, or net/http's background read
		// of the idle connection would hit it and cancel the request
		// while the target is still answering.
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.rc.Close() }

// holdRetryAfter is the Retry-After of a held call: contracts load within
// a poll of the synchronizer, so a second is a fair first guess.
const holdRetryAfter = time.Second

// holdUntilLoaded answers 503 with Apigee's ServiceUnavailable fault and
// a Retry-After until loaded reports every environment's contract in, then
// hands every call to h. Without it a message processor restarted during
// a control plane outage answered its first calls with 404
// ApplicationNotFound: its listener was up before its stored contract
// (from the synchronizer) was compiled, so no proxy matched. Hybrid's
// runtime is kept out of the ingress's endpoints by its readiness probe
// until then, and the ingress answers 503; the emulator has no ingress
// in front, so the listener says it itself. Once loaded, it stays so
// (contracts are replaced, never removed), and the check costs an atomic
// load.
func holdUntilLoaded(loaded func() bool, h http.Handler) http.Handler {
	var open atomic.Bool
	fault := &engine.Fault{Status: http.StatusServiceUnavailable, Message: "The Service is temporarily unavailable", Code: engine.CodeServiceUnavailable}
	retryAfter := strconv.Itoa(int(holdRetryAfter / time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open.Load() {
			if !loaded() {
				w.Header().Set("Retry-After", retryAfter)
				fault.Write(w)
				return
			}
			open.Store(true)
		}
		h.ServeHTTP(w, r)
	})
}
