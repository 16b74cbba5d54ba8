// Package connect is the mock control plane's Apigee Connect service
// (google.cloud.apigeeconnect.v1): Tether/Egress accepts the streams Connect
// agents dial out from the runtime plane, and the control plane sends HTTP
// requests for MART down them (Do); ConnectionService/ListConnections shows
// each cluster's stream count.
//
// The agent names itself with gRPC metadata when it opens a stream (the real
// agent takes the same values as flags; the wire form is ours):
//
//	authorization            Bearer <access token>
//	x-apigee-project         projects/<project> or <project> (required)
//	x-apigee-endpoint        TetherEndpoint name, default APIGEE_MART
//	x-apigee-cluster-name    cluster name shown by ListConnections (default "default")
//	x-apigee-cluster-region  cluster region shown by ListConnections
//	x-apigee-agent-id        the agent instance (logs only)
//
// The server's first message on every stream is an EgressRequest carrying
// StreamInfo (the tether id the agent logs). An agent that wants to stop —
// graceful shutdown — sends an EgressResponse with an empty id and a Status
// of code UNAVAILABLE (DrainNotice); the server then sends that stream no new
// request, waits for the answers of those already sent, and ends the stream
// with OK, so no request is lost while agents roll.
package connect

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata keys an agent sends when it opens a Tether/Egress stream.
const (
	MDProject       = "x-apigee-project"
	MDEndpoint      = "x-apigee-endpoint"
	MDClusterName   = "x-apigee-cluster-name"
	MDClusterRegion = "x-apigee-cluster-region"
	MDAgentID       = "x-apigee-agent-id"
)

// Permissions checked by the service (the real IAM names).
const (
	PermConnect         = "apigeeconnect.endpoints.connect"
	PermListConnections = "apigeeconnect.connections.list"
)

// Audit log method names (Cloud Audit Logs' methodName).
const (
	MethodEgress          = "google.cloud.apigeeconnect.v1.Tether.Egress"
	MethodListConnections = "google.cloud.apigeeconnect.v1.ConnectionService.ListConnections"
)

// DrainNotice is what an agent sends to stop receiving new requests on a
// stream.
func DrainNotice() *pb.EgressResponse {
	return &pb.EgressResponse{Status: &spb.Status{Code: int32(codes.Unavailable), Message: "agent is draining"}}
}

// isDrainNotice tells a drain notice from a response.
func isDrainNotice(r *pb.EgressResponse) bool {
	return r.GetId() == "" && r.GetStatus() != nil && codes.Code(r.GetStatus().GetCode()) == codes.Unavailable
}

// Options configure the service.
type Options struct {
	// Authorizer checks callers; nil accepts everyone (tests only).
	Authorizer Authorizer
	Log        *zap.Logger
	// Audit receives the audit log lines (DATA_WRITE Tether.Egress,
	// DATA_READ ConnectionService.ListConnections); default Log.Named("audit").
	Audit *zap.Logger
	// AuthorizerAudits says the Authorizer records the audit entries
	// itself (the emulated IAM's GRPCAuthorizer does), so the service
	// writes none of its own.
	AuthorizerAudits bool
	// Registerer receives the service's metrics when set.
	Registerer prometheus.Registerer
	// RequestTimeout bounds a request sent down a tether when the caller
	// sets no shorter one (default 60s).
	RequestTimeout time.Duration
	// InFlightPerStream is the load at which the service asks a cluster for
	// one more stream (OPEN_NEW_STREAM): when the cluster's requests in
	// flight reach this many per open stream (default 4).
	InFlightPerStream int
	// MaxStreamsPerCluster caps the streams the service asks for (default 16).
	MaxStreamsPerCluster int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the Apigee Connect service: the gRPC Tether and
// ConnectionService servers and the tether manager behind Do.
type Service struct {
	pb.UnimplementedTetherServer
	pb.UnimplementedConnectionServiceServer

	opts  Options
	log   *zap.Logger
	audit *zap.Logger
	m     metrics

	mu      sync.Mutex
	streams map[endpointKey][]*stream // every open stream, draining ones included
	asked   map[clusterID]time.Time   // when OPEN_NEW_STREAM was last sent to a cluster
	changed chan struct{}             // closed and replaced whenever streams change
	rr      uint64                    // round-robin cursor for ties

	closing   chan struct{}
	closeOnce sync.Once
}

// endpointKey is one project's tether endpoint (APIGEE_MART, …).
type endpointKey struct {
	project  string // without "projects/"
	endpoint pb.TetherEndpoint
}

// Cluster is a runtime cluster as ListConnections shows it.
type Cluster struct {
	Name, Region string
}

type clusterID struct {
	endpointKey
	Cluster
}

// New builds the service.
func New(opts Options) (*Service, error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Audit == nil {
		opts.Audit = opts.Log.Named("audit")
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.InFlightPerStream <= 0 {
		opts.InFlightPerStream = 4
	}
	if opts.MaxStreamsPerCluster <= 0 {
		opts.MaxStreamsPerCluster = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Authorizer == nil {
		opts.Authorizer = allowAll{}
	}
	s := &Service{
		opts: opts, log: opts.Log, audit: opts.Audit,
		streams: map[endpointKey][]*stream{},
		asked:   map[clusterID]time.Time{},
		changed: make(chan struct{}),
		closing: make(chan struct{}),
	}
	s.m = newMetrics(s)
	if opts.Registerer != nil {
		if err := s.m.register(opts.Registerer); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close ends every tether (agents reconnect elsewhere) and fails the
// requests still waiting for one. The service is unusable afterwards.
func (s *Service) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// notifyLocked wakes everyone waiting for a change of the streams.
func (s *Service) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Streams returns how many streams are open for a project's endpoint,
// draining ones included.
func (s *Service) Streams(project string, endpoint pb.TetherEndpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams[endpointKey{trimProject(project), endpoint}])
}

// ResourceName is the IAM resource of a project's tether endpoint, as the
// real service names it in PermissionDenied errors.
func ResourceName(project string, endpoint pb.TetherEndpoint) string {
	return fmt.Sprintf("//apigeeconnect.googleapis.com/projects/%s/endpoints/%s", trimProject(project), endpoint)
}

// PermissionDeniedError is the error agents and callers get when refused.
func PermissionDeniedError(resource string) error {
	return status.Errorf(codes.PermissionDenied, "Permission denied on resource '%s' (or it may not exist).", resource)
}

func trimProject(p string) string { return strings.TrimPrefix(strings.TrimSpace(p), "projects/") }

// parseEndpoint accepts the enum name in any case ("apigee_mart" as the
// seed's REST call spells it, "APIGEE_MART" as the enum does).
func parseEndpoint(s string) (pb.TetherEndpoint, bool) {
	if s == "" {
		return pb.TetherEndpoint_APIGEE_MART, true
	}
	v, ok := pb.TetherEndpoint_value[strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, false
	}
	return pb.TetherEndpoint(v), true
}

// parseParent splits "projects/{p}/endpoints/{e}".
func parseParent(parent string) (endpointKey, error) {
	parts := strings.Split(parent, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "endpoints" || parts[1] == "" {
		return endpointKey{}, status.Errorf(codes.InvalidArgument, "parent %q must look like projects/{project}/endpoints/{endpoint}", parent)
	}
	ep, ok := parseEndpoint(parts[3])
	if !ok {
		return endpointKey{}, status.Errorf(codes.InvalidArgument, "unknown endpoint %q in parent %q (one of APIGEE_MART, APIGEE_RUNTIME, APIGEE_MINT_RATING)", parts[3], parent)
	}
	return endpointKey{project: parts[1], endpoint: ep}, nil
}

func mdValue(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// streamIdentity is who opened a stream, from its metadata.
type streamIdentity struct {
	ep      endpointKey
	cluster Cluster
	agent   string
}

func identityFrom(ctx context.Context) (streamIdentity, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var id streamIdentity
	id.ep.project = trimProject(mdValue(md, MDProject))
	if id.ep.project == "" || strings.Contains(id.ep.project, "/") {
		return id, status.Errorf(codes.InvalidArgument, "metadata %s must name the project (projects/{project}), got %q", MDProject, mdValue(md, MDProject))
	}
	ep, ok := parseEndpoint(mdValue(md, MDEndpoint))
	if !ok {
		return id, status.Errorf(codes.InvalidArgument, "metadata %s: unknown tether endpoint %q", MDEndpoint, mdValue(md, MDEndpoint))
	}
	id.ep.endpoint = ep
	id.cluster = Cluster{Name: mdValue(md, MDClusterName), Region: mdValue(md, MDClusterRegion)}
	if id.cluster.Name == "" {
		id.cluster.Name = "default"
	}
	id.agent = mdValue(md, MDAgentID)
	return id, nil
}
