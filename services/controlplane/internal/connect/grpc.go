package connect

import (
	"context"
	"net"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// MaxMessageBytes bounds one gRPC message either way: a request or response
// body for MART plus framing.
const MaxMessageBytes = 64 << 20

// NewGRPCServer returns a gRPC server with the Tether and ConnectionService
// services registered. Agents keep their streams alive with pings, so the
// server accepts them as often as every 5s.
func NewGRPCServer(s *Service, extra ...grpc.ServerOption) *grpc.Server {
	opts := append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		// Static windows: tethers carry many small messages, and fixed
		// windows turn off the per-read BDP pings of dynamic sizing.
		grpc.InitialWindowSize(4 << 20),
		grpc.InitialConnWindowSize(16 << 20),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}, extra...)
	g := grpc.NewServer(opts...)
	pb.RegisterTetherServer(g, s)
	pb.RegisterConnectionServiceServer(g, s)
	return g
}

// Serve serves g on ln until ctx ends, then ends every tether (agents move
// to another control plane replica or retry) and stops g, forcefully once
// grace has passed.
func Serve(ctx context.Context, s *Service, g *grpc.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.Close()
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		g.Stop()
		<-stopped
	}
	<-errc
	return nil
}
