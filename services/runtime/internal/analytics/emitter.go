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
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

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

// Emitter is the engine's Observer for analytics. ObserveTransaction
// writes the call's record, already in the wire encoding, into the batch
// being filled (or drops and counts it when BufferSize records are held)
// and returns: it never waits for UDCA. Run sends full batches, and every
// FlushInterval what has gathered, and keeps each until UDCA acknowledges
// it, to resend it on a new stream when one breaks.
type Emitter struct {
	opts     Options
	dropped  *prometheus.CounterVec
	dropFull prometheus.Counter
	sent     prometheus.Counter

	mu      sync.Mutex
	cur     []byte   // the batch being filled: encoded Batch.api / Batch.raw entries
	curN    int      // records in cur
	ready   []*batch // full, not yet sent
	pending []*batch // sent or being sent, not acknowledged
	held    int      // records in cur, ready and pending: at most BufferSize
	free    [][]byte // acknowledged batches' buffers, for reuse
	// batchCap is what a new batch buffer is made with: a quarter more
	// than the largest batch so far, so that filling it rarely grows it.
	batchCap int
	seq      uint64
	wake     chan struct{} // signalled when a batch is ready
	acked    chan struct{} // signalled on each acknowledgement
}

// batch is an encoded Batch (records, then its seq).
type batch struct {
	data []byte
	n    int    // records
	seq  uint64 // once numbered, when taken for sending
	// sends counts the streams it was sent on: a batch sent on one only
	// is done with once acknowledged, and its buffer is reused.
	sends int
}

// maxFree bounds the batch buffers kept for reuse, maxBatchCap the size
// of one (a debug session's captures can make a batch large).
const (
	maxFree     = 8
	maxBatchCap = 4 << 20
)

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
	e := &Emitter{opts: opts, wake: make(chan struct{}, 1), acked: make(chan struct{}, 1),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "analytics_records_dropped_total",
			Help: "Analytics records dropped instead of holding up API calls: reason buffer_full (UDCA slow or away) or shutdown (not delivered before the message processor stopped)."},
			[]string{"reason"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "analytics_records_sent_total",
			Help: "Analytics records UDCA acknowledged."}),
	}
	e.dropFull = e.dropped.WithLabelValues("buffer_full")
	buffered := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "analytics_records_buffered",
		Help: "Analytics records held for UDCA (queued or awaiting acknowledgement)."}, func() float64 {
		return float64(e.backlog())
	})
	for _, c := range []prometheus.Collector{e.dropped, e.sent, buffered} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// ObserveTransaction implements engine.Observer: never blocks on UDCA.
// The record is filled on the stack and encoded into the batch.
func (e *Emitter) ObserveTransaction(tx *engine.Transaction) {
	var rec analyticsv1.ApiRecord
	var x extra
	capture(&rec, &x, tx, e.opts.PodName)
	e.add(&rec, &x)
}

// Offer queues a record, or drops and counts it when the buffer is full.
func (e *Emitter) Offer(rec *analyticsv1.ApiRecord) {
	e.add(rec, &extra{})
}

func (e *Emitter) add(rec *analyticsv1.ApiRecord, x *extra) {
	e.mu.Lock()
	if e.held >= e.opts.BufferSize {
		e.mu.Unlock()
		e.dropFull.Inc()
		return
	}
	e.cur = appendEntry(e.cur, batchAPI, rec, x)
	e.added()
	e.mu.Unlock()
}

// OfferTrace implements engine.DebugSink: it queues a captured
// transaction for UDCA's trace dataset, or drops and counts it.
func (e *Emitter) OfferTrace(org, env string, rec []byte) {
	raw, err := proto.Marshal(&analyticsv1.RawRecord{Dataset: "trace", Organization: org, Environment: env, Json: rec})
	if err != nil {
		e.opts.Log.Warn("debug session capture not encoded", zap.Error(err))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.held >= e.opts.BufferSize {
		e.dropFull.Inc()
		return
	}
	e.cur = protowire.AppendBytes(protowire.AppendTag(e.cur, batchRaw, protowire.BytesType), raw)
	e.added()
}

// added counts a record written into cur, under mu; a full batch is set
// aside for Run.
func (e *Emitter) added() {
	e.curN++
	e.held++
	if e.curN >= e.opts.BatchSize {
		e.seal()
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// seal sets cur aside as a batch to send, under mu.
func (e *Emitter) seal() {
	e.ready = append(e.ready, &batch{data: e.cur, n: e.curN})
	e.batchCap = min(max(e.batchCap, len(e.cur)+len(e.cur)/4), maxBatchCap)
	e.cur, e.curN = nil, 0
	if n := len(e.free); n > 0 {
		e.cur, e.free = e.free[n-1], e.free[:n-1]
	} else {
		e.cur = make([]byte, 0, e.batchCap)
	}
}

// take numbers the ready batches (with cur when flush is set) and moves
// them to pending; the caller sends them.
func (e *Emitter) take(flush bool) []*batch {
	e.mu.Lock()
	defer e.mu.Unlock()
	if flush && e.curN > 0 {
		e.seal()
	}
	out := e.ready
	e.ready = nil
	for _, b := range out {
		e.seq++
		b.seq = e.seq
		b.data = protowire.AppendVarint(protowire.AppendTag(b.data, batchSeq, protowire.VarintType), b.seq)
		b.sends++
	}
	e.pending = append(e.pending, out...)
	return out
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
	// every call is in a batch, filling, ready or pending.
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
	return e.held
}

// stream runs one stream: it resends what is pending, then sends batches
// as they fill (and every FlushInterval what has gathered), while a
// reader takes acknowledgements. With drain it returns once everything is
// acknowledged.
func (e *Emitter) stream(ctx context.Context, client analyticsv1.CollectorClient, drain bool) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The batches are encoded already: the codec sends their bytes.
	st, err := client.Stream(sctx, grpc.ForceCodecV2(codec{}))
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
	resend := append([]*batch(nil), e.pending...)
	for _, b := range resend {
		b.sends++ // before an acknowledgement from the old stream could free it
	}
	e.mu.Unlock()
	send := func(bs []*batch) error {
		for _, b := range bs {
			if err := st.SendMsg(encoded(b.data)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := send(resend); err != nil {
		return err
	}
	flush := time.NewTicker(e.opts.FlushInterval)
	defer flush.Stop()
	for {
		if drain {
			if err := send(e.take(true)); err != nil {
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
		case <-e.wake:
			if err := send(e.take(false)); err != nil {
				return err
			}
		case <-flush.C:
			if err := send(e.take(true)); err != nil {
				return err
			}
		}
	}
}

// ack forgets the batches up to seq.
func (e *Emitter) ack(seq uint64) {
	e.mu.Lock()
	n := 0
	for len(e.pending) > 0 && e.pending[0].seq <= seq {
		b := e.pending[0]
		e.pending[0] = nil
		e.pending = e.pending[1:]
		n += b.n
		if b.sends == 1 && len(e.free) < maxFree && cap(b.data) <= maxBatchCap {
			// Acknowledged, so gRPC has written it: the buffer is free.
			e.free = append(e.free, b.data[:0])
		}
	}
	e.held -= n
	e.mu.Unlock()
	e.sent.Add(float64(n))
	select {
	case e.acked <- struct{}{}:
	default:
	}
}

// encoded is a Batch in its wire encoding.
type encoded []byte

// codec is gRPC's proto codec, except that an encoded Batch is sent as
// it is (UDCA decodes it as any other Batch).
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(encoded); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("analytics: cannot encode %T", v)
	}
	b, err := proto.Marshal(m)
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("analytics: cannot decode into %T", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}
