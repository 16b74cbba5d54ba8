package analytics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
)

// Options configure an Emitter.
type Options struct {
	// Addr is UDCA's record intake (host:port).
	Addr string
	// BufferSize bounds the records held for UDCA (waiting to be sent or
	// sent and not yet acknowledged); beyond it new records are dropped
	// and counted.
	BufferSize int
	// BatchSize is the most records sent in one message; FlushInterval
	// the longest a record waits for a batch to fill.
	BatchSize     int
	FlushInterval time.Duration
	// PodName is this message processor's name in the records.
	PodName string
	// Retry is the wait before reconnecting to UDCA after a failure.
	Retry time.Duration
	Log   *zap.Logger
}

// Emitter is the engine's Observer for analytics: ObserveTransaction only
// builds a record and offers it to a bounded channel; Run streams them.
type Emitter struct {
	opts    Options
	ch      chan *analyticsv1.ApiRecord
	raw     chan *analyticsv1.RawRecord // debug session captures (trace dataset)
	dropped *prometheus.CounterVec
	sent    prometheus.Counter

	mu      sync.Mutex
	pending []*analyticsv1.Batch // sent or about to be, not acknowledged
	held    int                  // records in pending
	seq     uint64
	acked   chan struct{} // signalled on each acknowledgement
}

// New returns an emitter; its metrics go to reg.
func New(opts Options, reg prometheus.Registerer) (*Emitter, error) {
	if opts.BufferSize <= 0 {
		opts.BufferSize = 10000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 100 * time.Millisecond
	}
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	e := &Emitter{opts: opts, ch: make(chan *analyticsv1.ApiRecord, opts.BufferSize), acked: make(chan struct{}, 1),
		raw: make(chan *analyticsv1.RawRecord, traceBuffer),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "analytics_records_dropped_total",
			Help: "Analytics records dropped instead of holding up API calls: reason buffer_full (UDCA slow or away) or shutdown (not delivered before the message processor stopped)."},
			[]string{"reason"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "analytics_records_sent_total",
			Help: "Analytics records UDCA acknowledged."}),
	}
	buffered := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "analytics_records_buffered",
		Help: "Analytics records held for UDCA (queued or awaiting acknowledgement)."}, func() float64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return float64(len(e.ch) + len(e.raw) + e.held)
	})
	for _, c := range []prometheus.Collector{e.dropped, e.sent, buffered} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// ObserveTransaction implements engine.Observer: never blocks.
func (e *Emitter) ObserveTransaction(tx *engine.Transaction) {
	e.Offer(Build(tx, e.opts.PodName))
}

// Offer queues a record, or drops and counts it when the buffer is full.
func (e *Emitter) Offer(rec *analyticsv1.ApiRecord) {
	select {
	case e.ch <- rec:
	default:
		e.dropped.WithLabelValues("buffer_full").Inc()
	}
}

// traceBuffer bounds the debug session captures waiting for the stream;
// sessions capture at most a few dozen transactions.
const traceBuffer = 256

// OfferTrace implements engine.DebugSink: it queues a captured
// transaction for UDCA's trace dataset, or drops and counts it.
func (e *Emitter) OfferTrace(org, env string, rec []byte) {
	select {
	case e.raw <- &analyticsv1.RawRecord{Dataset: "trace", Organization: org, Environment: env, Json: rec}:
	default:
		e.dropped.WithLabelValues("buffer_full").Inc()
	}
}

// Run streams records to UDCA until ctx ends, reconnecting after
// failures; then, for at most drain, it sends what is left and waits for
// UDCA to acknowledge it.
func (e *Emitter) Run(ctx context.Context, drain time.Duration) error {
	conn, err := grpc.NewClient(e.opts.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("analytics: UDCA address %q: %w", e.opts.Addr, err)
	}
	defer conn.Close()
	client := analyticsv1.NewCollectorClient(conn)
	log := e.opts.Log
	failing := false
	for ctx.Err() == nil {
		err := e.stream(ctx, client, false)
		if ctx.Err() != nil {
			break
		}
		if !failing {
			log.Warn("analytics stream to UDCA failed; records are held and resent", zap.String("udca", e.opts.Addr), zap.Error(err))
			failing = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(e.opts.Retry):
		}
	}
	// Draining: the traffic listener has stopped, so every record of
	// every call is in the channel or pending.
	drainCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	for drainCtx.Err() == nil && e.backlog() > 0 {
		if err := e.stream(drainCtx, client, true); err != nil && drainCtx.Err() == nil {
			select {
			case <-drainCtx.Done():
			case <-time.After(min(e.opts.Retry, 100*time.Millisecond)):
			}
		}
	}
	if n := e.backlog(); n > 0 {
		e.dropped.WithLabelValues("shutdown").Add(float64(n))
		log.Warn("analytics records not delivered before shutdown", zap.Int("records", n))
	}
	return nil
}

func (e *Emitter) backlog() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.ch) + len(e.raw) + e.held
}

// stream runs one stream: it resends what is pending, then sends new
// batches as records arrive, while a reader takes acknowledgements. With
// drain it returns once everything is acknowledged.
func (e *Emitter) stream(ctx context.Context, client analyticsv1.CollectorClient, drain bool) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := client.Stream(sctx)
	if err != nil {
		return err
	}
	recvErr := make(chan error, 1)
	go func() {
		for {
			ack, err := st.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			e.ack(ack.GetSeq())
		}
	}()
	e.mu.Lock()
	resend := append([]*analyticsv1.Batch(nil), e.pending...)
	e.mu.Unlock()
	for _, b := range resend {
		if err := st.Send(b); err != nil {
			return err
		}
	}
	flush := time.NewTicker(e.opts.FlushInterval)
	defer flush.Stop()
	var recs []*analyticsv1.ApiRecord
	var raws []*analyticsv1.RawRecord
	// Records taken from the channel are never lost with the stream:
	// held (pending) before they are sent, or on the way out.
	defer func() {
		if len(recs)+len(raws) > 0 {
			e.hold(recs, raws)
		}
	}()
	send := func() error {
		if len(recs)+len(raws) == 0 {
			return nil
		}
		b := e.hold(recs, raws)
		recs, raws = nil, nil
		return st.Send(b)
	}
	for {
		if drain && len(e.ch) == 0 && len(e.raw) == 0 {
			if err := send(); err != nil {
				return err
			}
			if err := st.CloseSend(); err != nil {
				return err
			}
			for e.backlog() > 0 {
				select {
				case err := <-recvErr:
					return err
				case <-e.acked:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			if errors.Is(err, context.Canceled) {
				return err
			}
			return fmt.Errorf("udca closed the stream: %w", err)
		case r := <-e.raw:
			raws = append(raws, r)
		case r := <-e.ch:
			recs = append(recs, r)
			if len(recs) >= e.opts.BatchSize {
				if err := send(); err != nil {
					return err
				}
			}
		case <-flush.C:
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// hold numbers a batch and keeps it until acknowledged; beyond
// BufferSize the oldest pending batches are given up.
func (e *Emitter) hold(recs []*analyticsv1.ApiRecord, raws []*analyticsv1.RawRecord) *analyticsv1.Batch {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	b := &analyticsv1.Batch{Seq: e.seq, Api: recs, Raw: raws}
	e.pending = append(e.pending, b)
	e.held += len(recs) + len(raws)
	for e.held > e.opts.BufferSize && len(e.pending) > 1 {
		old := e.pending[0]
		e.pending = e.pending[1:]
		n := len(old.Api) + len(old.Raw)
		e.held -= n
		e.dropped.WithLabelValues("buffer_full").Add(float64(n))
	}
	return b
}

// ack forgets the batches up to seq.
func (e *Emitter) ack(seq uint64) {
	e.mu.Lock()
	n := 0
	for len(e.pending) > 0 && e.pending[0].Seq <= seq {
		n += len(e.pending[0].Api) + len(e.pending[0].Raw)
		e.pending = e.pending[1:]
	}
	e.held -= n
	e.mu.Unlock()
	e.sent.Add(float64(n))
	select {
	case e.acked <- struct{}{}:
	default:
	}
}
