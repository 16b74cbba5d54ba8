package engine

import (
	"io"
	"net/http"
	"time"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// Transaction is one API call as the engine saw it, handed to the
// Observer when the call has ended (response sent, PostClientFlow run).
// Analytics records are built from it; metrics (request and response
// counts, latencies) and debug sessions can hang off the same hook.
//
// A Transaction and everything it points to are valid only during
// ObserveTransaction: the engine reuses nothing, but the request and
// message context belong to a finished call, so an observer copies what it
// keeps.
type Transaction struct {
	// Proxy names the deployed revision and endpoint that served the call.
	Proxy *flow.Proxy
	// Request is the client's request (method, URL, headers, RemoteAddr).
	Request *http.Request
	// PathSuffix is proxy.pathsuffix.
	PathSuffix string
	// StatusCode is the status sent to the client.
	StatusCode int
	// TargetName and TargetURL name the target called ("" without one);
	// TargetStatus is its response status (0 when it did not answer).
	TargetName, TargetURL string
	TargetStatus          int
	// RequestSize and ResponseSize are payload bytes received from and
	// sent to the client (-1 when unknown).
	RequestSize, ResponseSize int64

	// The eight analytics timestamps (zero when the step did not happen:
	// the target ones without a target call). ClientReceivedStart is when
	// the engine took the request (its head parsed); ClientReceivedEnd
	// when its payload was read to the end (the start without payload).
	ClientReceivedStart, ClientReceivedEnd time.Time
	TargetSentStart, TargetSentEnd         time.Time
	TargetReceivedStart, TargetReceivedEnd time.Time
	ClientSentStart, ClientSentEnd         time.Time

	// Fault is the first fault of the call (nil without one) and
	// FaultState the flow it happened in; TargetFault says the target
	// caused it (unreachable, timed out, or an error status).
	Fault       *flow.Fault
	FaultState  flow.State
	TargetFault bool

	// MC is the call's message context, for the flow variables an
	// observer reads (client_id, developer.email, statistics.*); nil on
	// the pass-through fast path, which runs no policy.
	MC *flow.MessageContext
}

// IsError reports whether the proxy failed (Apigee's is_error).
func (t *Transaction) IsError() bool { return t.Fault != nil }

// Observer is told about every API call the engine served (not about
// requests refused before routing: bad paths, no matching proxy). It runs
// on the request's goroutine after the response went out, so it must be
// quick and must not block: hand the work to a buffer.
type Observer interface {
	ObserveTransaction(t *Transaction)
}

// timedBody records when a payload was read to its end (io.EOF) and how
// many bytes it had: client_received_end and request_size.
type timedBody struct {
	rc   io.ReadCloser
	n    int64
	done time.Time
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if err == io.EOF && b.done.IsZero() {
		b.done = time.Now()
	}
	return n, err
}

func (b *timedBody) Close() error { return b.rc.Close() }

// observeRequest prepares t for a request the engine is about to serve:
// the start time and, for a request with a payload, a body that notes
// when it has been read.
func (t *Transaction) observeRequest(r *http.Request, start time.Time) *timedBody {
	t.Request, t.ClientReceivedStart, t.RequestSize, t.ResponseSize = r, start, r.ContentLength, -1
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		t.ClientReceivedEnd, t.RequestSize = start, 0
		return nil
	}
	tb := &timedBody{rc: r.Body}
	r.Body = tb
	return tb
}

// requestDone fills what the request body knows once the call is over.
func (t *Transaction) requestDone(tb *timedBody) {
	if tb == nil {
		t.TargetSentEnd = t.TargetSentStart // nothing to send after the head
		return
	}
	if t.RequestSize < 0 {
		t.RequestSize = tb.n
	}
	t.ClientReceivedEnd = tb.done
	if t.ClientReceivedEnd.IsZero() {
		// Never read to the end (no policy read it, no target took it):
		// Apigee counts the request received when the flow started.
		t.ClientReceivedEnd = t.ClientReceivedStart
	}
	if !t.TargetSentStart.IsZero() {
		// The payload streamed to the target as it arrived, so it was
		// sent when it had been read; a buffered one went out at once.
		t.TargetSentEnd = t.TargetSentStart
		if tb.done.After(t.TargetSentStart) {
			t.TargetSentEnd = tb.done
		}
	}
}

// passWriter watches the pass-through path's response: its status, size
// and timing, and whether the engine answered for an unreachable target.
type passWriter struct {
	http.ResponseWriter
	tx    *Transaction
	wrote bool
}

func (w *passWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.tx.StatusCode = code
		w.tx.ClientSentStart = time.Now()
		w.tx.ResponseSize = 0
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *passWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.tx.ResponseSize += int64(n)
	return n, err
}

// Flush keeps streamed (chunked) target responses flowing.
func (w *passWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *passWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
