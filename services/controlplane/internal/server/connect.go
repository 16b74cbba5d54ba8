package server

import (
	"context"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/faults"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/martproxy"
)

// attachConnect adds the Apigee Connect service — gRPC on grpc.listen, the
// REST ListConnections on the API — and routes the MART paths of the API
// through it (or to mart.hostAlias for orgs with Connect off).
func (s *Server) attachConnect(svc *service.Service, cfg *Config) error {
	log := svc.Logger()
	var err error
	s.Connect, err = connect.New(connect.Options{
		// The IAM authenticates the agent's token, checks
		// apigeeconnect.endpoints.connect / apigeeconnect.connections.list
		// and writes the audit entries.
		Authorizer:           iam.GRPCAuthorizer{IAM: s.IAM},
		AuthorizerAudits:     true,
		Log:                  log.Named("apigeeconnect"),
		Registerer:           svc.Registry(),
		RequestTimeout:       cfg.Connect.RequestTimeout,
		InFlightPerStream:    cfg.Connect.InFlightPerStream,
		MaxStreamsPerCluster: cfg.Connect.MaxStreamsPerCluster,
	})
	if err != nil {
		return err
	}
	proxy, err := martproxy.New(martproxy.Options{
		Store: s.Store, Tether: s.Connect,
		HostAlias: cfg.MART.HostAlias, SharedSecret: cfg.MART.SharedSecret, Timeout: cfg.MART.Timeout,
		Log: log.Named("mart"),
	})
	if err != nil {
		return err
	}
	s.API.MountMART(proxy)
	s.API.MountConnections(s.Connect.ConnectionsHandler())
	log.Info("MART paths", zap.String("hostAlias", cfg.MART.HostAlias), zap.Bool("sharedSecret", cfg.MART.SharedSecret != ""))

	if cfg.GRPC.Listen == "" {
		return nil
	}
	ln, err := svc.ListenOther("grpc", cfg.GRPC.Listen)
	if err != nil {
		return err
	}
	// An outage of apigeeconnect refuses new tethers and drops open ones.
	g := connect.NewGRPCServer(s.Connect,
		grpc.ChainUnaryInterceptor(s.Faults.UnaryInterceptor(faults.ApigeeConnect)),
		grpc.ChainStreamInterceptor(s.Faults.StreamInterceptor(faults.ApigeeConnect)))
	svc.Go("apigeeconnect", func(ctx context.Context) error {
		return connect.Serve(ctx, s.Connect, g, ln, cfg.ShutdownTimeout)
	})
	log.Info("Apigee Connect gRPC service", zap.String("addr", ln.Addr().String()))
	return nil
}
