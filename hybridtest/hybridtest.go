// Package hybridtest runs a whole hybrid runtime plane inside a Go test,
// the way net/http/httptest runs one handler: the mock control plane, a
// synchronizer, a message processor, a watcher and MART, each started in
// the test's own process on 127.0.0.1 port 0 against a running Cassandra.
// A test deploys bundles from its testdata, calls its proxies through the
// message processor, drives the Apigee API with Google's Go client, and
// the test's cleanup stops everything and drops the organization's
// keyspaces.
//
//	func TestHello(t *testing.T) {
//		stack := hybridtest.Start(t, hybridtest.Options{})
//		stack.Deploy(t, "testdata/hello")
//		resp := stack.Get(t, "/hello")
//		...
//	}
//
// Cassandra is not started here: point Options.Cassandra (or
// $HYBRID_CASSANDRA) at a node, such as the one `make cassandra-start`
// runs. Services write their logs to files under the test's temporary
// directory; a failed test prints the end of each.
package hybridtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
	controlplane "github.com/hybrid-emulator/hybrid/services/controlplane/app"
	mart "github.com/hybrid-emulator/hybrid/services/mart/app"
	runtime "github.com/hybrid-emulator/hybrid/services/runtime/app"
	synchronizer "github.com/hybrid-emulator/hybrid/services/synchronizer/app"
	watcher "github.com/hybrid-emulator/hybrid/services/watcher/app"
)

// Options choose the stack.
type Options struct {
	// Cassandra is a running node's host:port (default $HYBRID_CASSANDRA,
	// else 127.0.0.1:9042).
	Cassandra string
	// CassandraCredentials is its login file in cqlsh's --credentials
	// format (default $HYBRID_CASSANDRA_CREDENTIALS, else the workspace's
	// .run/cassandra/credentials when there is one).
	CassandraCredentials string
	// Org is the organization (default a fresh random name, so parallel
	// tests never share runtime data). Its keyspaces are dropped when the
	// test ends.
	Org string
	// Env is the environment (default "test").
	Env string
	// Hostname is the environment group's host name; Do and Get send it
	// as the Host header (default "api.hybridtest.local").
	Hostname string
	// WithoutMART leaves MART out: developers, apps, products and KVMs
	// are then unavailable through the API.
	WithoutMART bool
}

// StartTimeout bounds how long Start waits for each service to be ready.
const StartTimeout = 90 * time.Second

// Stack is a running runtime plane.
type Stack struct {
	Org, Env, Hostname string
	// APIURL is the control plane's Apigee API base, http://127.0.0.1:port.
	APIURL string
	// TrafficURL is the message processor's traffic endpoint.
	TrafficURL string
	// Token is the bearer token with full access to APIURL.
	Token string
	// Dir holds the stack's state, configuration and logs (under the
	// test's temporary directory).
	Dir string

	services []*running
}

// running is one service of the stack.
type running struct {
	name    string
	logPath string
	addrs   map[string]string
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
}

// Start starts the stack and registers its shutdown with tb.Cleanup. It
// fails the test when a service does not become ready.
func Start(tb testing.TB, opts Options) *Stack {
	tb.Helper()
	s, err := start(tb, opts)
	if err != nil {
		tb.Fatalf("hybridtest: %v", err)
	}
	return s
}

func start(tb testing.TB, opts Options) (*Stack, error) {
	opts = withDefaults(opts)
	host, portText, err := net.SplitHostPort(opts.Cassandra)
	if err != nil {
		return nil, fmt.Errorf("cassandra address %q: %w", opts.Cassandra, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("cassandra address %q: %w", opts.Cassandra, err)
	}
	session, err := connect(host, port, opts.CassandraCredentials)
	if err != nil {
		return nil, err
	}
	defer session.Close()
	if opts.Org == "" {
		opts.Org = cassandratest.OrgWithPrefix(tb, "ht-")
	}
	if err := applySchema(tb, session, opts); err != nil {
		return nil, err
	}

	dir := tb.TempDir()
	s := &Stack{Org: opts.Org, Env: opts.Env, Hostname: opts.Hostname, Dir: dir, Token: randomSecret()}
	tb.Cleanup(func() { s.stop(tb) })
	cql := []string{"--cassandra.hosts", host, "--cassandra.port", portText}
	if opts.CassandraCredentials != "" {
		cql = append(cql, "--cassandra.credentialsFile", opts.CassandraCredentials)
	}
	pki, err := tlsca.EnsureRuntimePKI(filepath.Join(dir, "pki"), nil, time.Now())
	if err != nil {
		return nil, err
	}
	dataKeys := filepath.Join(dir, "encryption-keys.yaml")
	keys, err := store.GenerateEncryptionKeys()
	if err == nil {
		err = store.WriteEncryptionKeys(dataKeys, keys)
	}
	if err != nil {
		return nil, err
	}
	martSecret := randomSecret()
	stateDir := filepath.Join(dir, "controlplane")
	keyFile := func(account string) string {
		return filepath.Join(stateDir, "service-accounts", s.Org+"-"+account+".json")
	}
	orgArgs := []string{"--org", s.Org, "--environments", s.Env}

	var martURL string
	if !opts.WithoutMART {
		m, err := s.run("mart", mart.Command, map[string]any{"auth": map[string]any{"sharedSecret": martSecret}},
			append([]string{"--org", s.Org, "--encryptionKeysPath", dataKeys}, cql...)...)
		if err != nil {
			return nil, err
		}
		martURL = m.url("main")
	}
	cpConfig := map[string]any{
		"adminToken": s.Token,
		"orgs": []map[string]any{{
			"name": s.Org, "projectId": s.Org, "environments": []string{s.Env},
			// MART is called directly (Apigee Connect off), as hybrid
			// does with mart.hostAlias.
			"properties": map[string]string{"features.hybrid.enabled": "true", "features.mart.connect.enabled": "false"},
			"envGroups":  []map[string]any{{"name": "default", "hostnames": []string{s.Hostname}, "environments": []string{s.Env}}},
		}},
	}
	cpArgs := []string{"--stateDir", stateDir, "--https.listen", "", "--grpc.listen", ""}
	if martURL != "" {
		cpConfig["mart"] = map[string]any{"sharedSecret": martSecret}
		cpArgs = append(cpArgs, "--mart.hostAlias", martURL)
	}
	cp, err := s.run("controlplane", controlplane.Command, cpConfig, cpArgs...)
	if err != nil {
		return nil, err
	}
	s.APIURL = cp.url("main")

	sync, err := s.run("synchronizer", synchronizer.Command, nil, append(append(orgArgs,
		"--runtimeListen", "127.0.0.1:0",
		"--runtimeTLS.certFile", pki.SynchronizerCert(), "--runtimeTLS.keyFile", pki.SynchronizerKey(),
		"--runtimeTLS.clientCAFile", pki.CA(),
		"--controlPlane.url", s.APIURL, "--controlPlane.serviceAccountPath", keyFile("apigee-synchronizer")), cql...)...)
	if err != nil {
		return nil, err
	}
	mp, err := s.run("runtime", runtime.Command, nil, append(append(orgArgs,
		"--trafficListen", "127.0.0.1:0", "--analytics.enabled=false",
		"--synchronizer", "https://"+sync.addrs["runtime"],
		"--synchronizerTLS.caFile", pki.CA(), "--synchronizerTLS.certFile", pki.RuntimeCert(),
		"--synchronizerTLS.keyFile", pki.RuntimeKey(),
		"--contractEncryptionKeyPath", filepath.Join(stateDir, "contract-keys", s.Org+".key"),
		"--encryptionKeysPath", dataKeys,
		// Keys and products made through the API work within a second.
		"--runtimeData.keyTTL", "1s",
		"--controlPlane.url", s.APIURL, "--controlPlane.serviceAccountPath", keyFile("apigee-runtime")), cql...)...)
	if err != nil {
		return nil, err
	}
	s.TrafficURL = mp.url("traffic")
	if _, err := s.run("watcher", watcher.Command, nil, append(append(orgArgs,
		"--runtimes", mp.url("main"),
		"--controlPlane.url", s.APIURL, "--controlPlane.serviceAccountPath", keyFile("apigee-watcher"),
		"--interval", "100ms", "--ingressInterval", "200ms"), cql...)...); err != nil {
		return nil, err
	}
	return s, nil
}

// withDefaults fills in what the caller left empty.
func withDefaults(o Options) Options {
	if o.Cassandra == "" {
		o.Cassandra = os.Getenv("HYBRID_CASSANDRA")
	}
	if o.Cassandra == "" {
		o.Cassandra = "127.0.0.1:9042"
	}
	if o.CassandraCredentials == "" {
		o.CassandraCredentials = cassandratest.CredentialsFile()
	}
	if o.Env == "" {
		o.Env = "test"
	}
	if o.Hostname == "" {
		o.Hostname = "api.hybridtest.local"
	}
	return o
}

func connect(host string, port int, credentials string) (*gocql.Session, error) {
	cfg := cassandra.DefaultConfig()
	cfg.Hosts, cfg.Port, cfg.CredentialsFile = []string{host}, port, credentials
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	session, err := cassandra.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cassandra at %s:%d (is it running? make cassandra-start): %w", host, port, err)
	}
	return session, nil
}

// applySchema creates the organization's keyspaces and drops them when
// the test ends (after the services have stopped: cleanups run last
// registered first).
func applySchema(tb testing.TB, session *gocql.Session, opts Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := schema.Apply(ctx, session, schema.Options{Orgs: []string{opts.Org}, WaitForLease: true}, zap.NewNop()); err != nil {
		return fmt.Errorf("schema for %s: %w", opts.Org, err)
	}
	host, port, _ := net.SplitHostPort(opts.Cassandra)
	tb.Cleanup(func() {
		p, _ := strconv.Atoi(port)
		s, err := connect(host, p, opts.CassandraCredentials)
		if err != nil {
			tb.Errorf("hybridtest: drop %s: %v", opts.Org, err)
			return
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := schema.Drop(ctx, s, opts.Org); err != nil {
			tb.Errorf("hybridtest: drop %s: %v", opts.Org, err)
		}
	})
	return nil
}

// command is a service's entry point (services/<name>/app).
type command interface {
	RunArgs(ctx context.Context, args []string) error
}

// run starts a service in a goroutine with args (plus its listener on
// port 0, an address file and a log file), config as its YAML file (where
// its secrets go: they may not be flags), and waits until it is ready.
func (s *Stack) run(name string, cmd command, config map[string]any, args ...string) (*running, error) {
	dir := filepath.Join(s.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	r := &running{name: name, logPath: filepath.Join(dir, "service.log"), done: make(chan struct{})}
	addrFile := filepath.Join(dir, "addrs.json")
	args = append([]string{"--listen", "127.0.0.1:0", "--addrFile", addrFile, "--logFile", r.logPath}, args...)
	if config != nil {
		data, err := json.Marshal(config) // JSON is YAML
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--config", path)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	s.services = append(s.services, r)
	go func() {
		defer close(r.done)
		r.err = cmd.RunArgs(ctx, args)
	}()
	if err := r.waitReady(addrFile); err != nil {
		return nil, fmt.Errorf("%s (log %s): %w", r.name, r.logPath, err)
	}
	return r, nil
}

// waitReady waits for the address file, then for the readiness probe.
func (r *running) waitReady(addrFile string) error {
	deadline := time.Now().Add(StartTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			if r.err == nil {
				r.err = errors.New("stopped before it was ready")
			}
			return r.err
		case <-time.After(20 * time.Millisecond):
		}
		if r.addrs == nil {
			data, err := os.ReadFile(addrFile)
			if err != nil || json.Unmarshal(data, &r.addrs) != nil {
				r.addrs = nil
				continue
			}
		}
		resp, err := client.Get(r.url("main") + service.ReadyPath)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return fmt.Errorf("not ready within %s", StartTimeout)
}

func (r *running) url(listener string) string { return "http://" + r.addrs[listener] }

// stop stops the services in reverse order of start, each draining as on
// SIGTERM, and prints the end of their logs when the test failed.
func (s *Stack) stop(tb testing.TB) {
	for i := len(s.services) - 1; i >= 0; i-- {
		r := s.services[i]
		r.cancel()
		<-r.done
		if r.err != nil {
			tb.Errorf("hybridtest: %s: %v", r.name, r.err)
		}
	}
	if tb.Failed() {
		for _, r := range s.services {
			data, _ := os.ReadFile(r.logPath)
			lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
			tb.Logf("--- last lines of %s (%s) ---\n%s", r.name, r.logPath, bytes.Join(lines[max(0, len(lines)-30):], []byte("\n")))
		}
	}
}

// randomSecret is a token or shared secret for one stack.
func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
