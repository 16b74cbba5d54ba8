package analytics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	analyticsv1 "github.com/hybrid-emulator/hybrid/proto/analytics/v1"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBuild(t *testing.T) {
	t0 := time.UnixMilli(1715752630190)
	r := httptest.NewRequest(http.MethodPost, "http://api.example.com/hello/x?y=1", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("User-Agent", "curl/8")
	proxy := &flow.Proxy{Org: "org", Env: "test", Name: "hello", Revision: "3", Endpoint: "default", BasePath: "/hello"}
	mc := flow.New(proxy, message.FromRequest(r), r.RemoteAddr, zap.NewNop())
	mc.SetVar("client_id", "key-1")
	mc.SetVar("developer.email", "dev@example.com")
	mc.SetVar("developer.app.name", "app")
	mc.SetVar("apiproduct.name", "gold")
	mc.SetVar("statistics.region", "eu")
	mc.SetVar("statistics.weight", int64(7))
	tests := []struct {
		name  string
		tx    engine.Transaction
		check func(t *testing.T, rec *analyticsv1.ApiRecord)
	}{
		{"a call with a target and runtime data", engine.Transaction{Proxy: proxy, Request: r, PathSuffix: "/x", StatusCode: 200,
			TargetName: "default", TargetURL: "http://backend:8080/x", TargetStatus: 200, RequestSize: 0, ResponseSize: 12,
			ClientReceivedStart: t0, ClientReceivedEnd: t0, TargetSentStart: t0.Add(time.Millisecond), TargetSentEnd: t0.Add(time.Millisecond),
			TargetReceivedStart: t0.Add(5 * time.Millisecond), TargetReceivedEnd: t0.Add(6 * time.Millisecond),
			ClientSentStart: t0.Add(7 * time.Millisecond), ClientSentEnd: t0.Add(8 * time.Millisecond), MC: mc},
			func(t *testing.T, rec *analyticsv1.ApiRecord) {
				require.Equal(t, "org", rec.Organization)
				require.Equal(t, "hello", rec.Apiproxy)
				require.Equal(t, "3", rec.ApiproxyRevision)
				require.Equal(t, "/hello/x?y=1", rec.RequestUri)
				require.Equal(t, "/hello/x", rec.RequestPath)
				require.Equal(t, "POST", rec.RequestVerb)
				require.Equal(t, "10.1.2.3", rec.ClientIp)
				require.Equal(t, "curl/8", rec.Useragent)
				require.Equal(t, "backend", rec.TargetHost)
				require.Equal(t, "key-1", rec.ClientId)
				require.Equal(t, "dev@example.com", rec.DeveloperEmail)
				require.Equal(t, "app", rec.DeveloperApp)
				require.Equal(t, "gold", rec.ApiProduct)
				require.Equal(t, t0.UnixMilli(), rec.ClientReceivedStartTimestamp)
				require.Equal(t, t0.UnixMilli()+8, rec.ClientSentEndTimestamp)
				require.Equal(t, t0.UnixMilli()+5, rec.TargetReceivedStartTimestamp)
				require.False(t, rec.IsError)
				require.Equal(t, "eu", rec.CustomDimensions["dc_region"].GetStringValue())
				require.Equal(t, int64(7), rec.CustomDimensions["dc_weight"].GetIntValue())
				require.NotEmpty(t, rec.GatewayFlowId)
			}},
		{"a target failure on the pass-through path", engine.Transaction{Proxy: proxy, Request: r, StatusCode: 503,
			Fault: &flow.Fault{Code: "messaging.adaptors.http.flow.ServiceUnavailable"}, FaultState: flow.TargetRequest, TargetFault: true,
			ClientReceivedStart: t0, ClientSentEnd: t0},
			func(t *testing.T, rec *analyticsv1.ApiRecord) {
				require.True(t, rec.IsError)
				require.True(t, rec.IsTargetError)
				require.Equal(t, "target", rec.XApigeeFaultSource)
				require.Equal(t, "TARGET_REQ_FLOW", rec.XApigeeFaultFlow)
				require.Equal(t, "messaging.adaptors.http.flow.ServiceUnavailable", rec.XApigeeFaultCode)
				require.Zero(t, rec.TargetSentStartTimestamp)
			}},
		{"a policy fault", engine.Transaction{Proxy: proxy, Request: r, StatusCode: 401,
			Fault: &flow.Fault{Code: "oauth.v2.InvalidApiKey", Policy: "Verify"}, FaultState: flow.ProxyRequest},
			func(t *testing.T, rec *analyticsv1.ApiRecord) {
				require.True(t, rec.IsPolicyError)
				require.Equal(t, "policy", rec.XApigeeFaultSource)
				require.Equal(t, "Verify", rec.XApigeeFaultPolicy)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, Build(&tt.tx, "mp-1")) })
	}
}

// fakeUDCA acknowledges batches; with dropFirst it ends the first stream
// after taking one batch without acknowledging it (UDCA going away).
type fakeUDCA struct {
	analyticsv1.UnimplementedCollectorServer
	mu        sync.Mutex
	ids       map[string]int
	streams   int
	dropFirst bool
	raws      []*analyticsv1.RawRecord
}

func (f *fakeUDCA) Stream(st analyticsv1.Collector_StreamServer) error {
	f.mu.Lock()
	f.streams++
	first := f.streams == 1
	f.mu.Unlock()
	for {
		b, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		for _, r := range b.Api {
			f.ids[r.GatewayFlowId]++
		}
		f.raws = append(f.raws, b.Raw...)
		f.mu.Unlock()
		if first && f.dropFirst {
			return errors.New("gone")
		}
		if err := st.Send(&analyticsv1.Ack{Seq: b.Seq}); err != nil {
			return err
		}
	}
}

func (f *fakeUDCA) distinct() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids)
}

func serve(t *testing.T, f *fakeUDCA) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	analyticsv1.RegisterCollectorServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestEmitterDeliversAndResends(t *testing.T) {
	for _, dropFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "steady", true: "stream breaks"}[dropFirst], func(t *testing.T) {
			f := &fakeUDCA{ids: map[string]int{}, dropFirst: dropFirst}
			addr := serve(t, f)
			e, err := New(Options{Addr: addr, BatchSize: 10, FlushInterval: 5 * time.Millisecond, Retry: 10 * time.Millisecond}, prometheus.NewRegistry())
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- e.Run(ctx, time.Second) }()
			for range 95 {
				e.Offer(&analyticsv1.ApiRecord{GatewayFlowId: nextID()})
			}
			require.Eventually(t, func() bool { return f.distinct() == 95 && e.backlog() == 0 }, 10*time.Second, 5*time.Millisecond)
			require.Equal(t, 95.0, testutil.ToFloat64(e.sent))
			cancel()
			require.NoError(t, <-done)
			require.Equal(t, 0.0, testutil.ToFloat64(e.dropped.WithLabelValues("buffer_full")))
		})
	}
}

func TestEmitterDropsWhenFullAndDrainsOnStop(t *testing.T) {
	e, err := New(Options{Addr: "127.0.0.1:1", BufferSize: 5, Retry: 10 * time.Millisecond}, prometheus.NewRegistry())
	require.NoError(t, err)
	for range 8 {
		e.Offer(&analyticsv1.ApiRecord{GatewayFlowId: nextID()})
	}
	require.Equal(t, 3.0, testutil.ToFloat64(e.dropped.WithLabelValues("buffer_full")), "Offer never blocks: the overflow is counted")
	// UDCA comes up only at shutdown: the drain delivers what was held.
	f := &fakeUDCA{ids: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	analyticsv1.RegisterCollectorServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	e.opts.Addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, e.Run(ctx, 5*time.Second))
	require.Equal(t, 5, f.distinct())
	require.Equal(t, 0.0, testutil.ToFloat64(e.dropped.WithLabelValues("shutdown")))
}

// TestEmitterBatches sends more batches than buffers are kept for reuse,
// with debug session captures among the records, and the records of real
// transactions (gateway_flow_id made by the encoder).
func TestEmitterBatches(t *testing.T) {
	f := &fakeUDCA{ids: map[string]int{}}
	addr := serve(t, f)
	e, err := New(Options{Addr: addr, BatchSize: 7, FlushInterval: 5 * time.Millisecond, Retry: 10 * time.Millisecond}, prometheus.NewRegistry())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, time.Second) }()
	r := httptest.NewRequest(http.MethodGet, "http://api.example.com/hello/x?y=1", nil)
	tx := &engine.Transaction{Proxy: &flow.Proxy{Org: "org", Env: "test", Name: "hello"}, Request: r, StatusCode: 200}
	for i := range 500 {
		e.ObserveTransaction(tx)
		if i%50 == 0 {
			e.OfferTrace("org", "test", []byte(`{"n":`+strconv.Itoa(i)+`}`))
		}
	}
	require.Eventually(t, func() bool { return f.distinct() == 500 && e.backlog() == 0 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.raws, 10)
	require.Equal(t, "trace", f.raws[0].Dataset)
	require.JSONEq(t, `{"n":0}`, string(f.raws[0].Json))
	require.Equal(t, 510.0, testutil.ToFloat64(e.sent))
}

func nextID() string { return idPrefix + strconv.FormatUint(idSeq.Add(1), 10) }

func TestURLHost(t *testing.T) {
	for in, want := range map[string]string{"http://backend:8080/x": "backend", "https://h.example.com": "h.example.com",
		"http://u:p@[::1]:80/?q": "::1", "http://[::1]/": "::1", "nonsense": ""} {
		require.Equal(t, want, urlHost(in), in)
	}
	for in, want := range map[string]string{"10.1.2.3:5555": "10.1.2.3", "[::1]:80": "::1", "h": "h", "::1": "::1"} {
		require.Equal(t, want, hostOf(in), in)
	}
}
