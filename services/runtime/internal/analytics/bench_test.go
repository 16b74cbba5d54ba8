package analytics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// benchTransactions are typical finished calls: the pass-through fast path
// (no message context) and a policy chain that set a few variables and a
// StatisticsCollector dimension (e2e's chain proxy).
func benchTransactions(b *testing.B) map[string]*engine.Transaction {
	b.Helper()
	t0 := time.Now()
	r := httptest.NewRequest(http.MethodGet, "http://bench.example.com/chain/x?id=7", nil)
	r.RemoteAddr = "127.0.0.1:40312"
	r.Header.Set("User-Agent", "wrk")
	proxy := &flow.Proxy{Org: "org", Env: "test", Name: "chain", Revision: "1", Endpoint: "default", BasePath: "/chain"}
	mc := flow.New(proxy, message.FromRequest(r), r.RemoteAddr, zap.NewNop())
	mc.SetVar("q.id", "7")
	mc.SetVar("route.key", "GET:7")
	mc.SetVar("statistics.id", "7")
	tx := func(mc *flow.MessageContext) *engine.Transaction {
		return &engine.Transaction{Proxy: proxy, Request: r, PathSuffix: "/x", StatusCode: 200,
			TargetName: "default", TargetURL: "http://127.0.0.1:39999/x?id=7", TargetStatus: 200, RequestSize: 0, ResponseSize: 2,
			ClientReceivedStart: t0, ClientReceivedEnd: t0, TargetSentStart: t0, TargetSentEnd: t0,
			TargetReceivedStart: t0, TargetReceivedEnd: t0, ClientSentStart: t0, ClientSentEnd: t0, MC: mc}
	}
	return map[string]*engine.Transaction{"pass": tx(nil), "chain": tx(mc)}
}

// BenchmarkRecord is a record alone, as the request's goroutine makes it:
// filled from the transaction and encoded (the emitter then copies
// nothing: it encodes straight into the batch).
func BenchmarkRecord(b *testing.B) {
	for name, tx := range benchTransactions(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var rec analyticsv1.ApiRecord
				var x extra
				capture(&rec, &x, tx, "mp-1")
				buf = appendRecord(buf[:0], &rec, &x)
			}
		})
	}
}

// BenchmarkEmit is the message processor's whole share of a record: the
// observer on the request's goroutine, and the streamer batching and
// sending it over gRPC on loopback to a receiver that only acknowledges
// (it reads the batch's seq and nothing else, so its CPU is negligible).
// The timed region ends when every record is acknowledged; cpu-ns/op is
// the process's CPU time (user + system) per record, the figure that
// decides throughput on a machine whose CPUs are all busy.
func BenchmarkEmit(b *testing.B) {
	for name, tx := range benchTransactions(b) {
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := grpc.NewServer(grpc.ForceServerCodecV2(seqOnlyCodec{}))
			analyticsv1.RegisterCollectorServer(srv, ackOnly{})
			go func() { _ = srv.Serve(ln) }()
			defer srv.Stop()
			e, err := New(Options{Addr: ln.Addr().String(), BufferSize: 1 << 16}, prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx, time.Minute) }()
			defer cancel()
			b.ReportAllocs()
			cpu0 := cpuNow()
			n := 0
			for b.Loop() {
				e.ObserveTransaction(tx)
				// Keep within the buffer: the benchmark measures the
				// records' cost, not their dropping.
				if n++; n%1024 == 0 {
					// A pause, not an event: waking on every acknowledgement
					// would add the benchmark's own CPU to what it measures.
					for e.backlog() > 1<<15 {
						time.Sleep(100 * time.Microsecond)
					}
				}
			}
			// Run delivers everything queued before it returns.
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(cpuNow()-cpu0)/float64(b.N), "cpu-ns/op")
			for _, reason := range []string{"buffer_full", "shutdown"} {
				if d := testutil.ToFloat64(e.dropped.WithLabelValues(reason)); d > 0 {
					b.Fatalf("%v records dropped (%s)", d, reason)
				}
			}
		})
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type ackOnly struct {
	analyticsv1.UnimplementedCollectorServer
}

func (ackOnly) Stream(st analyticsv1.Collector_StreamServer) error {
	for {
		b, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.Send(&analyticsv1.Ack{Seq: b.Seq}); err != nil {
			return err
		}
	}
}

// seqOnlyCodec decodes a Batch's seq only, and encodes with proto.
type seqOnlyCodec struct{}

func (seqOnlyCodec) Name() string { return "proto" }

func (seqOnlyCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (seqOnlyCodec) Unmarshal(data mem.BufferSlice, v any) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	batch := v.(*analyticsv1.Batch)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			seq, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			batch.Seq = seq
			return nil
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

var _ encoding.CodecV2 = seqOnlyCodec{}
