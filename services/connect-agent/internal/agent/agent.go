// Package agent is the Apigee Connect agent. It dials out to the control
// plane's Apigee Connect service, keeps N Tether/Egress streams open (more
// when the server sends OPEN_NEW_STREAM), calls MART for every HttpRequest
// the server streams down, and streams the answers back, matched by id.
//
// Wire conventions shared with the control plane (services/controlplane/
// internal/connect): the agent names its project, endpoint and cluster in
// gRPC metadata (x-apigee-project, x-apigee-endpoint, x-apigee-cluster-name,
// x-apigee-cluster-region, x-apigee-agent-id) plus the bearer token; on
// shutdown it sends each stream a drain notice (an EgressResponse with no id
// and Status UNAVAILABLE), keeps answering what it has been sent, and waits
// for the server to end the stream — bounded by terminationGracePeriod.
package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/backoff"
	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// UserAgent is what MART sees on requests the agent carries (MART's access
// log shows it, as the seed's "Test the installation" step checks).
const UserAgent = "apigee-connect-agent-1.0"

// SecretHeader carries the MART shared secret.
const SecretHeader = "X-Apigee-MART-Secret"

// Metadata keys naming the stream's owner (see package connect of the
// control plane).
const (
	MDProject       = "x-apigee-project"
	MDEndpoint      = "x-apigee-endpoint"
	MDClusterName   = "x-apigee-cluster-name"
	MDClusterRegion = "x-apigee-cluster-region"
	MDAgentID       = "x-apigee-agent-id"
)

// maxMessageBytes bounds one gRPC message (a MART response plus framing).
const maxMessageBytes = 64 << 20

// Config is the agent's configuration, named after the real agent's flags
// (server_addr, target_server, cluster_name, …) and overrides keys
// (replicaCountMin → streams, terminationGracePeriodSeconds).
type Config struct {
	service.Common `yaml:",inline"`

	ServerAddr     string `yaml:"serverAddr" usage:"Apigee Connect gRPC endpoint of the control plane (plaintext)"`
	TargetServer   string `yaml:"targetServer" usage:"MART base URL"`
	ClusterName    string `yaml:"clusterName" usage:"cluster name shown by ListConnections"`
	ClusterRegion  string `yaml:"clusterRegion" usage:"cluster region shown by ListConnections"`
	Project        string `yaml:"project" usage:"GCP project of the org, projects/{project} or {project}"`
	TetherEndpoint string `yaml:"tetherEndpoint" usage:"tether endpoint served (APIGEE_MART)"`
	AgentID        string `yaml:"agentID" usage:"this agent's name in the control plane's logs (default host name and pid)"`

	Streams    int `yaml:"streams" usage:"tether streams kept open (replicaCountMin-style)"`
	MaxStreams int `yaml:"maxStreams" usage:"upper bound for streams opened on the server's OPEN_NEW_STREAM"`

	HTTPClientTimeout      time.Duration `yaml:"httpClientTimeout" usage:"bound of one MART call (the server's per-request timeout bounds it too)"`
	TerminationGracePeriod time.Duration `yaml:"terminationGracePeriod" usage:"on shutdown, how long in-flight requests may take before the streams are cut"`
	ReconnectBackoff       time.Duration `yaml:"reconnectBackoff" usage:"first wait before reopening a failed stream (doubles, with jitter)"`
	MaxReconnectBackoff    time.Duration `yaml:"maxReconnectBackoff" usage:"longest wait between reconnect attempts"`

	ServiceAccountPath string `yaml:"serviceAccountPath" usage:"service account key file (JSON, token_uri at the control plane); tokens via the JWT-bearer flow"`
	Token              string `yaml:"token" secret:"true" usage:"static bearer token, used when serviceAccountPath is empty"`
	MARTSecret         string `yaml:"martSecret" secret:"true" usage:"shared secret sent to MART in X-Apigee-MART-Secret"`
}

// DefaultConfig is the local-mode configuration.
func DefaultConfig() Config {
	return Config{
		Common:                 service.DefaultCommon("127.0.0.1:7070"),
		ServerAddr:             "127.0.0.1:8081",
		TargetServer:           "http://127.0.0.1:8845",
		ClusterName:            "local",
		ClusterRegion:          "local",
		Project:                "projects/hybrid",
		TetherEndpoint:         "APIGEE_MART",
		Streams:                2,
		MaxStreams:             16,
		HTTPClientTimeout:      2 * time.Minute,
		TerminationGracePeriod: 600 * time.Second,
		ReconnectBackoff:       500 * time.Millisecond,
		MaxReconnectBackoff:    30 * time.Second,
		Token:                  "hybrid-admin-token",
	}
}

// ServiceCommon returns cfg's service settings with a shutdown bound long enough
// for the termination grace period: the tethers drain inside it.
func (cfg *Config) ServiceCommon() service.Common {
	c := cfg.Common
	if min := cfg.TerminationGracePeriod + 10*time.Second; c.ShutdownTimeout < min {
		c.ShutdownTimeout = min
	}
	return c
}

func (cfg *Config) validate() error {
	var problems []string
	if cfg.ServerAddr == "" {
		problems = append(problems, "serverAddr is empty")
	}
	if u, err := url.Parse(cfg.TargetServer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("targetServer %q is not an http(s) base URL", cfg.TargetServer))
	}
	if p := strings.TrimPrefix(cfg.Project, "projects/"); p == "" || strings.Contains(p, "/") {
		problems = append(problems, fmt.Sprintf("project %q must be projects/{project}", cfg.Project))
	}
	if v, ok := pb.TetherEndpoint_value[strings.ToUpper(cfg.TetherEndpoint)]; !ok || v == 0 {
		problems = append(problems, fmt.Sprintf("tetherEndpoint %q is not one of APIGEE_MART, APIGEE_RUNTIME, APIGEE_MINT_RATING", cfg.TetherEndpoint))
	}
	if cfg.Streams < 1 {
		problems = append(problems, "streams must be at least 1")
	}
	if cfg.MaxStreams < cfg.Streams {
		problems = append(problems, "maxStreams must be at least streams")
	}
	if cfg.HTTPClientTimeout <= 0 || cfg.TerminationGracePeriod < 0 || cfg.ReconnectBackoff <= 0 || cfg.MaxReconnectBackoff < cfg.ReconnectBackoff {
		problems = append(problems, "httpClientTimeout and reconnectBackoff must be positive, maxReconnectBackoff at least reconnectBackoff, terminationGracePeriod not negative")
	}
	if len(problems) > 0 {
		return fmt.Errorf("connect-agent config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Run starts the agent and blocks until ctx ends (then drains) or the
// server refuses the agent (PermissionDenied: an error, so the process
// exits non-zero).
func Run(ctx context.Context, cfg *Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	svc, err := service.New("connect-agent", cfg.ServiceCommon())
	if err != nil {
		return err
	}
	if _, err := New(svc, cfg); err != nil {
		svc.Close()
		return err
	}
	return svc.Run(ctx)
}

// Agent is a running agent attached to a service.
type Agent struct {
	cfg    Config
	log    *zap.Logger
	fatal  *zap.Logger // logs at fatal level without exiting: Run returns the error
	base   string      // target server without trailing slash
	host   string      // target host for logs
	client *http.Client
	conn   *grpc.ClientConn
	tether pb.TetherClient
	md     metadata.MD
	m      *metrics

	open atomic.Int32

	mu       sync.Mutex
	slots    int
	draining bool
	slotWG   sync.WaitGroup
	drainCh  chan struct{}
	hard     context.Context // ends when the grace period is over
	fatalErr chan error
}

// New attaches an agent to svc: its tether streams run as a worker, and
// readiness waits for one open stream. The caller runs svc.
func New(svc *service.Service, cfg *Config) (*Agent, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := svc.Logger()
	agentID := cfg.AgentID
	if agentID == "" {
		host, _ := os.Hostname()
		agentID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	a := &Agent{
		cfg: *cfg, log: log,
		fatal:    log.WithOptions(zap.WithFatalHook(returnHook{})),
		base:     strings.TrimSuffix(cfg.TargetServer, "/"),
		drainCh:  make(chan struct{}),
		fatalErr: make(chan error, 1),
		md: metadata.Pairs(
			MDProject, "projects/"+strings.TrimPrefix(cfg.Project, "projects/"),
			MDEndpoint, strings.ToUpper(cfg.TetherEndpoint),
			MDClusterName, cfg.ClusterName,
			MDClusterRegion, cfg.ClusterRegion,
			MDAgentID, agentID,
		),
	}
	u, _ := url.Parse(cfg.TargetServer)
	a.host = u.Host
	log.Info("Agent's flag values below",
		zap.String("server_addr", cfg.ServerAddr), zap.String("target_server", cfg.TargetServer),
		zap.String("cluster_name", cfg.ClusterName), zap.String("cluster_region", cfg.ClusterRegion),
		zap.String("project", cfg.Project), zap.String("tether_endpoint", cfg.TetherEndpoint),
		zap.Int("streams", cfg.Streams), zap.Int("max_streams", cfg.MaxStreams),
		zap.Duration("http_client_timeout", cfg.HTTPClientTimeout),
		zap.Duration("termination_grace_period", cfg.TerminationGracePeriod),
		zap.String("service_account_path", cfg.ServiceAccountPath), zap.Bool("token_set", cfg.Token != ""),
		zap.Bool("mart_secret_set", cfg.MARTSecret != ""), zap.String("agent_id", agentID))

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	a.client = &http.Client{Transport: tr}
	log.Info("successfully initiated http client")

	ts, err := tokenSource(cfg)
	if err != nil {
		return nil, err
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
		// Static windows (see the control plane's server options).
		grpc.WithInitialWindowSize(4 << 20),
		grpc.WithInitialConnWindowSize(16 << 20),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	}
	if ts != nil {
		// Plaintext is allowed: the local control plane listens on loopback.
		dial = append(dial, grpc.WithPerRPCCredentials(gcpauth.PerRPCCredentials(ts, false)))
	}
	a.conn, err = grpc.NewClient(cfg.ServerAddr, dial...)
	if err != nil {
		return nil, fmt.Errorf("connect-agent: dial %s: %w", cfg.ServerAddr, err)
	}
	a.tether = pb.NewTetherClient(a.conn)
	a.m, err = newMetrics(svc.Registry(), a)
	if err != nil {
		_ = a.conn.Close()
		return nil, err
	}
	svc.ReadyWhen("tether", func(context.Context) error {
		if a.open.Load() == 0 {
			return errors.New("no Apigee Connect tether stream is open")
		}
		return nil
	})
	svc.Go("tether", a.run)
	return a, nil
}

// OpenStreams is how many streams are open now.
func (a *Agent) OpenStreams() int { return int(a.open.Load()) }

// returnHook makes a fatal-level log line return instead of exiting, so the
// error travels back through Run and the process still exits non-zero.
type returnHook struct{}

func (returnHook) OnWrite(*zapcore.CheckedEntry, []zapcore.Field) {}

// tokenSource picks the agent's credentials: a service account key file
// (pkg/gcpauth: the standard Google library runs the JWT-bearer flow
// against the key's token_uri), else the static token.
func tokenSource(cfg *Config) (oauth2.TokenSource, error) {
	if cfg.ServiceAccountPath != "" {
		ts, err := gcpauth.TokenSourceFromFile(context.Background(), cfg.ServiceAccountPath)
		if err != nil {
			return nil, fmt.Errorf("connect-agent: serviceAccountPath: %w", err)
		}
		return ts, nil
	}
	if cfg.Token != "" {
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cfg.Token, TokenType: "Bearer"}), nil
	}
	return nil, nil
}

// run is the tether worker: it keeps the streams open until ctx ends, then
// drains them within the grace period.
func (a *Agent) run(ctx context.Context) error {
	hard, cutStreams := context.WithCancel(context.WithoutCancel(ctx))
	defer cutStreams()
	defer a.conn.Close()
	a.mu.Lock()
	a.hard = hard
	a.mu.Unlock()
	for range a.cfg.Streams {
		a.addSlot()
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-a.fatalErr:
	}
	a.mu.Lock()
	a.draining = true
	close(a.drainCh)
	a.mu.Unlock()

	done := make(chan struct{})
	go func() { a.slotWG.Wait(); close(done) }()
	if err != nil {
		cutStreams()
		<-done
		return err
	}
	a.log.Info("draining tether streams", zap.Int("open", a.OpenStreams()), zap.Duration("gracePeriod", a.cfg.TerminationGracePeriod))
	t := time.NewTimer(a.cfg.TerminationGracePeriod)
	defer t.Stop()
	select {
	case <-done:
		a.log.Info("all tether streams drained")
	case <-t.C:
		a.log.Warn("termination grace period over, cutting the streams still open", zap.Int("open", a.OpenStreams()))
		cutStreams()
		<-done
	}
	select {
	case err = <-a.fatalErr:
	default:
	}
	return err
}

// addSlot starts one more stream slot unless draining or at maxStreams.
func (a *Agent) addSlot() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.draining || a.slots >= a.cfg.MaxStreams {
		return false
	}
	a.slots++
	a.slotWG.Add(1)
	go a.slot()
	return true
}

func (a *Agent) isDraining() bool {
	select {
	case <-a.drainCh:
		return true
	default:
		return false
	}
}

// slot keeps one stream open: it reopens it when it ends, with exponential
// backoff and full jitter, until the agent drains.
func (a *Agent) slot() {
	defer a.slotWG.Done()
	retry := backoff.New(backoff.Policy{Initial: a.cfg.ReconnectBackoff, Max: a.cfg.MaxReconnectBackoff, FullJitter: true})
	for {
		if a.isDraining() {
			return
		}
		established, err := a.serveStream()
		if status.Code(err) == codes.PermissionDenied {
			msg := fmt.Sprintf("failed to register stream with Apigee Connect, got 'PermissionDenied': %v", err)
			a.fatal.Fatal(msg)
			select {
			case a.fatalErr <- errors.New(msg):
			default:
			}
			return
		}
		if a.isDraining() {
			return
		}
		if err != nil {
			a.m.streamErrors.Inc()
			a.log.Warn("tether stream failed, reconnecting", zap.Error(err))
		}
		if established {
			retry.Reset()
		}
		t := time.NewTimer(retry.Next())
		select {
		case <-t.C:
		case <-a.drainCh:
			t.Stop()
			return
		}
	}
}
