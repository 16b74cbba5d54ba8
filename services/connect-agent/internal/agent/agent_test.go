package agent_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/connect-agent/internal/agent"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*agent.Config)
		want   string
	}{
		{"no server", func(c *agent.Config) { c.ServerAddr = "" }, "serverAddr is empty"},
		{"bad target", func(c *agent.Config) { c.TargetServer = "mart:8843" }, "targetServer"},
		{"bad project", func(c *agent.Config) { c.Project = "projects/a/b" }, "project"},
		{"bad endpoint", func(c *agent.Config) { c.TetherEndpoint = "NOPE" }, "tetherEndpoint"},
		{"no streams", func(c *agent.Config) { c.Streams = 0 }, "streams must be at least 1"},
		{"max below streams", func(c *agent.Config) { c.MaxStreams = 1 }, "maxStreams"},
		{"negative grace", func(c *agent.Config) { c.TerminationGracePeriod = -time.Second }, "terminationGracePeriod"},
		{"missing key file", func(c *agent.Config) { c.ServiceAccountPath = "/nonexistent/key.json" }, "serviceAccountPath"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := agent.DefaultConfig()
			cfg.Listen = "127.0.0.1:0"
			tc.mutate(&cfg)
			err := agent.Run(context.Background(), &cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
	cfg := agent.DefaultConfig()
	require.Equal(t, 600*time.Second, cfg.TerminationGracePeriod)
	require.GreaterOrEqual(t, cfg.ServiceCommon().ShutdownTimeout, cfg.TerminationGracePeriod)
}

// tetherServer stands in for the control plane's Tether service (the real
// one lives in the control plane module; the cross-module tests are in
// services/controlplane/internal/connect).
type tetherServer struct {
	pb.UnimplementedTetherServer
	mu      sync.Mutex
	md      []metadata.MD
	streams map[string]*fakeStream
	opened  chan string
}

type fakeStream struct {
	send chan *pb.EgressRequest
	recv chan *pb.EgressResponse
	kill chan error
}

func (s *tetherServer) Egress(srv pb.Tether_EgressServer) error {
	md, _ := metadata.FromIncomingContext(srv.Context())
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	fs := &fakeStream{send: make(chan *pb.EgressRequest, 8), recv: make(chan *pb.EgressResponse, 8), kill: make(chan error, 1)}
	s.mu.Lock()
	s.md = append(s.md, md)
	s.streams[id] = fs
	s.mu.Unlock()
	if err := srv.Send(&pb.EgressRequest{Payload: &pb.Payload{Kind: &pb.Payload_StreamInfo{StreamInfo: &pb.StreamInfo{Id: id}}}}); err != nil {
		return err
	}
	s.opened <- id
	recvErr := make(chan error, 1)
	go func() {
		for {
			r, err := srv.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			fs.recv <- r
		}
	}()
	for {
		select {
		case m := <-fs.send:
			if m == nil {
				return nil // end the stream (drained)
			}
			if err := srv.Send(m); err != nil {
				return err
			}
		case err := <-fs.kill:
			return err
		case <-recvErr:
			return nil
		}
	}
}

func (s *tetherServer) stream(id string) *fakeStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

func startTether(tb testing.TB) (*tetherServer, string) {
	tb.Helper()
	ts := &tetherServer{streams: map[string]*fakeStream{}, opened: make(chan string, 16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	g := grpc.NewServer()
	pb.RegisterTetherServer(g, ts)
	go func() { _ = g.Serve(ln) }()
	tb.Cleanup(g.Stop)
	return ts, ln.Addr().String()
}

func startAgent(tb testing.TB, cfg agent.Config) (*service.Service, *agent.Agent, func() error) {
	tb.Helper()
	svc, err := service.NewWithLogger("connect-agent", cfg.ServiceCommon(), zaptest.NewLogger(tb))
	require.NoError(tb, err)
	a, err := agent.New(svc, &cfg)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	tb.Cleanup(func() { _ = stop() })
	return svc, a, stop
}

func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func testConfig(serverAddr, target string) agent.Config {
	cfg := agent.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.ServerAddr = serverAddr
	cfg.TargetServer = target
	cfg.Project = "projects/p1"
	cfg.ClusterName, cfg.ClusterRegion = "c1", "r1"
	cfg.Token = "tok"
	cfg.ReconnectBackoff = 10 * time.Millisecond
	cfg.MaxReconnectBackoff = 50 * time.Millisecond
	return cfg
}

func TestProbesMetricsReconnect(t *testing.T) {
	ts, addr := startTether(t)
	// Nothing listens at the target: the probe does not depend on MART.
	cfg := testConfig(addr, "http://127.0.0.1:1")
	cfg.TerminationGracePeriod = 10 * time.Millisecond // this server never ends drained streams
	svc, a, _ := startAgent(t, cfg)
	base := "http://" + svc.Addr("main")

	first := <-ts.opened
	<-ts.opened
	require.Eventually(t, func() bool { return a.OpenStreams() == 2 }, 10*time.Second, time.Millisecond)
	code, _ := get(t, base+service.ReadyPath)
	require.Equal(t, http.StatusOK, code)
	_, metrics := get(t, base+"/metrics")
	require.Contains(t, metrics, "connect_agent_open_streams 2")
	require.Contains(t, metrics, "connect_agent_stream_opens_total 2")

	ts.mu.Lock()
	md := ts.md[0]
	ts.mu.Unlock()
	require.Equal(t, []string{"projects/p1"}, md.Get(agent.MDProject))
	require.Equal(t, []string{"APIGEE_MART"}, md.Get(agent.MDEndpoint))
	require.Equal(t, []string{"c1"}, md.Get(agent.MDClusterName))
	require.Equal(t, []string{"r1"}, md.Get(agent.MDClusterRegion))
	require.Equal(t, []string{"Bearer tok"}, md.Get("authorization"))

	// The server breaks a stream: the agent opens another.
	ts.stream(first).kill <- status.Error(codes.Unavailable, "gone")
	third := <-ts.opened
	require.NotEqual(t, first, third)
	require.Eventually(t, func() bool { return a.OpenStreams() == 2 }, 10*time.Second, time.Millisecond)
}

func TestAnswersAndDrains(t *testing.T) {
	release := make(chan struct{})
	mart := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.URL.RequestURI()+" "+r.UserAgent()+" "+r.Header.Get(agent.SecretHeader))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	}))
	t.Cleanup(mart.Close)
	ts, addr := startTether(t)
	cfg := testConfig(addr, mart.URL)
	cfg.Streams = 1
	cfg.MARTSecret = "s3"
	_, _, stop := startAgent(t, cfg)
	fs := ts.stream(<-ts.opened)

	fs.send <- &pb.EgressRequest{Id: "req-1", Payload: &pb.Payload{Kind: &pb.Payload_HttpRequest{HttpRequest: &pb.HttpRequest{
		Id: "req-1", Method: "POST", Url: &pb.Url{Path: "/v1/organizations/o/developers?x=1"}, Body: []byte("hello"),
		Headers: []*pb.Header{{Key: "Content-Type", Values: []string{"text/plain"}}},
	}}}}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Stopping: the agent tells the server first, then still answers.
	notice := <-fs.recv
	require.Empty(t, notice.GetId())
	require.Equal(t, int32(codes.Unavailable), notice.GetStatus().GetCode())
	close(release)
	resp := <-fs.recv
	require.Equal(t, "req-1", resp.GetId())
	hr := resp.GetHttpResponse()
	require.EqualValues(t, http.StatusCreated, hr.GetStatusCode())
	require.Equal(t, "hello", string(hr.GetBody()))
	var seenHeader string
	for _, h := range hr.GetHeaders() {
		if h.GetKey() == "X-Seen" {
			seenHeader = strings.Join(h.GetValues(), ",")
		}
	}
	require.Equal(t, "POST /v1/organizations/o/developers?x=1 apigee-connect-agent-1.0 s3", seenHeader)
	select {
	case err := <-stopped:
		t.Fatalf("agent stopped before the server ended the stream: %v", err)
	default:
	}
	fs.send <- nil // the server ends the drained stream
	require.NoError(t, <-stopped)
}

func TestGracePeriodCutsStreams(t *testing.T) {
	ts, addr := startTether(t)
	cfg := testConfig(addr, "http://127.0.0.1:1")
	cfg.Streams = 1
	cfg.TerminationGracePeriod = 50 * time.Millisecond
	_, _, stop := startAgent(t, cfg)
	<-ts.opened
	// The server never ends the stream; the grace period bounds the stop.
	require.NoError(t, stop())
}
