package server_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	apigeeconnect "cloud.google.com/go/apigeeconnect/apiv1"
	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// The IAM plugs into the Apigee Connect service as its Authorizer.
var (
	_ connect.Authorizer     = iam.GRPCAuthorizer{}
	_ connect.PrincipalNamer = iam.GRPCAuthorizer{}
)

// TestConnectUsesIAM runs the Apigee Connect gRPC service with the IAM as
// its authorizer and calls it with Google's client and seeded key files:
// the Connect Agent role opens tethers, the org admin lists connections,
// an account without the role gets the agent's PermissionDenied text, and
// both calls land in the audit log.
func TestConnectUsesIAM(t *testing.T) {
	c := startCP(t, t.TempDir())
	ctx := context.Background()
	svc, err := connect.New(connect.Options{Authorizer: iam.GRPCAuthorizer{IAM: c.srv.IAM}})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := connect.NewGRPCServer(svc)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- connect.Serve(sctx, svc, g, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	dialAs := func(account string) *grpc.ClientConn {
		ts, err := gcpauth.TokenSource(ctx, c.seededKey(account))
		require.NoError(t, err)
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(gcpauth.PerRPCCredentials(ts, false)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	egress := func(account string) (pb.Tether_EgressClient, error) {
		md := metadata.Pairs(connect.MDProject, "projects/hybrid", connect.MDClusterName, "cluster-1", connect.MDClusterRegion, "local")
		return pb.NewTetherClient(dialAs(account)).Egress(metadata.NewOutgoingContext(ctx, md))
	}

	// apigee-mart holds roles/apigeeconnect.Agent: the stream opens.
	stream, err := egress("apigee-mart")
	require.NoError(t, err)
	first, err := stream.Recv()
	require.NoError(t, err)
	require.NotEmpty(t, first.GetPayload().GetStreamInfo().GetId())

	// apigee-runtime does not.
	stream2, err := egress("apigee-runtime")
	require.NoError(t, err)
	_, err = stream2.Recv()
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.Equal(t, "Permission denied on resource '//apigeeconnect.googleapis.com/projects/hybrid/endpoints/APIGEE_MART' (or it may not exist).",
		status.Convert(err).Message())

	// The org admin lists connections with Google's client.
	ts, err := gcpauth.TokenSource(ctx, c.seededKey("apigee-org-admin"))
	require.NoError(t, err)
	client, err := apigeeconnect.NewConnectionClient(ctx, option.WithEndpoint(ln.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithGRPCDialOption(grpc.WithPerRPCCredentials(gcpauth.PerRPCCredentials(ts, false))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	it := client.ListConnections(ctx, &pb.ListConnectionsRequest{Parent: "projects/hybrid/endpoints/APIGEE_MART"})
	conn, err := it.Next()
	require.NoError(t, err)
	require.Equal(t, "cluster-1", conn.GetCluster().GetName())
	require.EqualValues(t, 1, conn.GetStreamCount())

	var audit struct {
		Entries []struct {
			Category   string `json:"category"`
			MethodName string `json:"methodName"`
			Principal  string `json:"principalEmail"`
			Granted    bool   `json:"granted"`
		} `json:"entries"`
	}
	c.doJSON("GET", "/v1/projects/hybrid/auditLogs?methodName=Tether.Egress", nil, http.StatusOK, &audit)
	require.Len(t, audit.Entries, 2)
	require.Equal(t, "DATA_WRITE", audit.Entries[0].Category)
	require.Equal(t, "apigee-runtime@hybrid.iam.gserviceaccount.com", audit.Entries[0].Principal)
	require.False(t, audit.Entries[0].Granted)
	require.Equal(t, "apigee-mart@hybrid.iam.gserviceaccount.com", audit.Entries[1].Principal)
	require.True(t, audit.Entries[1].Granted)
	c.doJSON("GET", "/v1/projects/hybrid/auditLogs?category=DATA_READ&methodName=ConnectionService.ListConnections", nil, http.StatusOK, &audit)
	require.Len(t, audit.Entries, 1)
	require.Equal(t, "google.cloud.apigeeconnect.v1.ConnectionService.ListConnections", audit.Entries[0].MethodName)
	require.Equal(t, "apigee-org-admin@hybrid.iam.gserviceaccount.com", audit.Entries[0].Principal)

	require.NoError(t, stream.CloseSend())
}
