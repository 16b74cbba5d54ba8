package connect_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	apigeeconnect "cloud.google.com/go/apigeeconnect/apiv1"
	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hybrid-emulator/hybrid/services/connect-agent/agenttest"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
)

const (
	adminToken   = "admin-token"
	agentToken   = "agent-token"   // principal "agent"
	noRoleToken  = "no-role-token" // principal "no-role": refused apigeeconnect.endpoints.connect
	testProject  = "proj-1"
	martSecret   = "mart-secret"
	noRolePrinci = "no-role"
)

// denyNoRole stands in for IAM: the principal without
// roles/apigeeconnect.Agent is refused everything.
type denyNoRole struct{}

func (denyNoRole) Authorize(_ context.Context, p apigee.Principal, permission, resource string) error {
	if p.Name == noRolePrinci {
		return errors.New("principal lacks " + permission + " on " + resource)
	}
	return nil
}

// cp is an Apigee Connect service on an ephemeral port.
type cp struct {
	svc  *connect.Service
	addr string
	logs *observer.ObservedLogs
}

// startCP serves the Connect service until the test ends.
func startCP(tb testing.TB, mutate ...func(*connect.Options)) *cp {
	tb.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(tb).Core(), core))
	opts := connect.Options{
		Authorizer: connect.TokenAuthorizer{
			Auth:  apigee.StaticTokens{AdminToken: adminToken, Tokens: map[string]string{agentToken: "agent", noRoleToken: noRolePrinci}},
			Authz: denyNoRole{},
		},
		Log: log,
	}
	for _, m := range mutate {
		m(&opts)
	}
	svc, err := connect.New(opts)
	require.NoError(tb, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	g := connect.NewGRPCServer(svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- connect.Serve(ctx, svc, g, ln, 5*time.Second) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
	})
	return &cp{svc: svc, addr: ln.Addr().String(), logs: logs}
}

// agentConfig is an agent of cluster name/region for c.
func (c *cp) agentConfig(martURL, cluster, region string, streams int) agenttest.Config {
	cfg := agenttest.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.ServerAddr = c.addr
	cfg.TargetServer = martURL
	cfg.ClusterName, cfg.ClusterRegion = cluster, region
	cfg.Project = "projects/" + testProject
	cfg.Streams = streams
	cfg.Token = agentToken
	cfg.MARTSecret = martSecret
	cfg.TerminationGracePeriod = 30 * time.Second
	cfg.ReconnectBackoff = 10 * time.Millisecond
	cfg.MaxReconnectBackoff = 100 * time.Millisecond
	return cfg
}

// startAgent runs a real agent and waits until its streams are open.
func (c *cp) startAgent(tb testing.TB, cfg agenttest.Config) *agenttest.Running {
	tb.Helper()
	a := agenttest.Start(tb, cfg, zaptest.NewLogger(tb, zaptest.Level(zapcore.WarnLevel)).Named(cfg.ClusterName))
	require.Eventually(tb, func() bool { return a.OpenStreams() == cfg.Streams }, 10*time.Second, 5*time.Millisecond,
		"agent %s never opened its %d streams", cfg.ClusterName, cfg.Streams)
	return a
}

// waitStreams waits until the project has n streams.
func (c *cp) waitStreams(tb testing.TB, n int) {
	tb.Helper()
	require.Eventually(tb, func() bool { return c.svc.Streams(testProject, pb.TetherEndpoint_APIGEE_MART) == n }, 10*time.Second, 5*time.Millisecond,
		"want %d streams, have %d", n, c.svc.Streams(testProject, pb.TetherEndpoint_APIGEE_MART))
}

// echo is what the MART stand-in answers with.
type echo struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Body      string `json:"body"`
	UserAgent string `json:"userAgent"`
	Secret    string `json:"secret"`
	Auth      string `json:"auth"`
	Type      string `json:"contentType"`
}

// mart is a narrow stand-in for MART: it echoes requests, and blocks on
// /block until released (or the request ends).
type mart struct {
	*httptest.Server
	arrived chan string   // a /block request has arrived (its method)
	release chan struct{} // closed to let /block requests finish
	once    sync.Once
}

func startMART(tb testing.TB) *mart {
	tb.Helper()
	m := &mart{arrived: make(chan string, 100), release: make(chan struct{})}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/block" {
			m.arrived <- r.Method
			select {
			case <-m.release:
			case <-r.Context().Done():
				return
			}
		}
		e := echo{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body),
			UserAgent: r.UserAgent(), Secret: r.Header.Get(agenttest.SecretHeader), Auth: r.Header.Get("Authorization"),
			Type: r.Header.Get("Content-Type")}
		status := http.StatusOK
		if r.URL.Path == "/v1/organizations/o/developers/missing@example.com" {
			status = http.StatusNotFound
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Mart", "yes")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(e)
	}))
	tb.Cleanup(func() {
		m.Release()
		m.Close()
	})
	return m
}

// Release lets every blocked request finish.
func (m *mart) Release() { m.once.Do(func() { close(m.release) }) }

// bearerCreds sends a token on every RPC over plaintext.
type bearerCreds string

func (b bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearerCreds) RequireTransportSecurity() bool { return false }

// connectionClient is Google's real ConnectionService client.
func (c *cp) connectionClient(tb testing.TB, token string) *apigeeconnect.ConnectionClient {
	tb.Helper()
	opts := []option.ClientOption{
		option.WithEndpoint(c.addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
	if token != "" {
		opts = append(opts, option.WithGRPCDialOption(grpc.WithPerRPCCredentials(bearerCreds(token))))
	}
	client, err := apigeeconnect.NewConnectionClient(context.Background(), opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = client.Close() })
	return client
}

// writeKeyFile writes a service account key in Google's JSON shape whose
// token_uri is tokenURI.
func writeKeyFile(tb testing.TB, tokenURI string) string {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(tb, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(tb, err)
	data, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     testProject,
		"private_key_id": "key-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "apigee-mart@" + testProject + ".iam.gserviceaccount.com",
		"client_id":      "1234567890",
		"token_uri":      tokenURI,
	})
	require.NoError(tb, err)
	path := filepath.Join(tb.TempDir(), "key.json")
	require.NoError(tb, os.WriteFile(path, data, 0o600))
	return path
}
