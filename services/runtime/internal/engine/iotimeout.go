package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// errIOTimeout is what a target exchange fails with when the target was
// silent for longer than io.timeout.millis: a timeout, so it becomes 504
// messaging.adaptors.http.flow.GatewayTimeout.
var errIOTimeout error = ioTimeoutError{}

type ioTimeoutError struct{}

func (ioTimeoutError) Error() string   { return "target I/O timeout (io.timeout.millis)" }
func (ioTimeoutError) Timeout() bool   { return true }
func (ioTimeoutError) Temporary() bool { return true }

// clientBodyError is a failure reading the client's request payload while
// sending it to the target (a malformed chunked encoding, a client that
// went away): the client's fault, not the target's.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "reading the request payload: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// timeoutRT applies io.timeout.millis the way Apigee's message processor
// does: not as a bound on the whole exchange but on each wait for the
// target — for the socket to take more of the request, for the response
// headers, for the next piece of the response payload. Time spent waiting
// for the client (reading its payload, writing to it) does not count.
type timeoutRT struct {
	rt http.RoundTripper
	d  time.Duration
}

// ioWatch is one exchange's inactivity timer; when it fires the exchange's
// context is cancelled, which aborts whatever read or write is pending.
type ioWatch struct {
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelFunc
	fired  atomic.Bool
	// responded is set once the response headers arrived: from then on
	// only the response payload's reads run the clock.
	responded atomic.Bool
}

func (w *ioWatch) fire() {
	w.fired.Store(true)
	w.cancel()
}

func (w *ioWatch) arm()    { w.timer.Reset(w.d) }
func (w *ioWatch) disarm() { w.timer.Stop() }

func (t *timeoutRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.d <= 0 {
		return t.rt.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	w := &ioWatch{d: t.d, cancel: cancel}
	// Armed from the start: connecting, writing the request head and
	// waiting for the response all count as waiting for the target.
	w.timer = time.AfterFunc(t.d, w.fire)
	out := req.WithContext(ctx)
	var body *watchedRequestBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &watchedRequestBody{rc: req.Body, w: w}
		out.Body = body
	}
	resp, err := t.rt.RoundTrip(out)
	if err != nil {
		w.disarm()
		cancel()
		if body != nil && !w.fired.Load() {
			if cerr := body.err.Load(); cerr != nil {
				return nil, cerr
			}
		}
		if w.fired.Load() {
			return nil, errIOTimeout
		}
		return nil, err
	}
	w.responded.Store(true)
	w.disarm()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The upgraded connection belongs to the caller now (its body is
		// the raw connection, which the reverse proxy needs unwrapped).
		return resp, nil
	}
	resp.Body = &watchedResponseBody{rc: resp.Body, w: w}
	return resp, nil
}

// watchedRequestBody is the client's payload on its way to the target:
// the clock runs while the transport writes what was read (the target
// not taking it is the stall), and stops while waiting for the client.
type watchedRequestBody struct {
	rc  io.ReadCloser
	w   *ioWatch
	err atomic.Pointer[clientBodyError] // a failure reading the client's payload
}

func (b *watchedRequestBody) Read(p []byte) (int, error) {
	if b.w.responded.Load() {
		return b.rc.Read(p)
	}
	b.w.disarm()
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && !b.w.fired.Load() {
		b.err.Store(&clientBodyError{err: err})
	}
	if !b.w.responded.Load() {
		b.w.arm() // writing this, then (after EOF) waiting for the response
	}
	return n, err
}

func (b *watchedRequestBody) Close() error { return b.rc.Close() }

// watchedResponseBody is the target's payload: the clock runs while
// waiting for the next bytes and stops while the caller writes them on.
type watchedResponseBody struct {
	rc io.ReadCloser
	w  *ioWatch
}

func (b *watchedResponseBody) Read(p []byte) (int, error) {
	b.w.arm()
	n, err := b.rc.Read(p)
	b.w.disarm()
	if err != nil && err != io.EOF && b.w.fired.Load() {
		return n, errIOTimeout
	}
	return n, err
}

func (b *watchedResponseBody) Close() error {
	b.w.disarm()
	err := b.rc.Close()
	b.w.cancel()
	return err
}

// isIOTimeout reports whether err is (or wraps) an io.timeout.millis stall.
func isIOTimeout(err error) bool { return errors.Is(err, errIOTimeout) }
