// Package harness runs the real service binaries against a real Cassandra
// for end-to-end tests: each process listens on port 0, writes its bound
// addresses to a file, and the harness waits on that file and on the
// service's readiness probe — never on a fixed sleep.
package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Binaries are the commands the harness builds, by name.
var Binaries = []string{"controlplane", "synchronizer", "runtime", "mart", "udca", "watcher", "connect-agent", "telemetry", "hybridctl"}

// AdminToken is the control plane admin token the harness configures.
const AdminToken = "e2e-admin-token"

// MARTSecret is the shared secret between MART and its callers (the
// Connect agent, and the control plane when Connect is off).
const MARTSecret = "e2e-mart-secret"

// Harness owns the built binaries and the Cassandra session.
type Harness struct {
	Root          string // repository root
	BinDir        string
	CassandraHost string
	CassandraPort int
	// CassandraCredentials is the CQL credentials file ("" for a node
	// without authentication).
	CassandraCredentials string
	session              *gocql.Session
	keysDir              string // organizations' data encryption keys
	keysMu               sync.Mutex
}

// Setup builds the binaries, makes sure Cassandra is up (reusing a running
// node, or starting one with the project's script) and connects to it.
// Call it from TestMain; the returned func cleans up.
func Setup(ctx context.Context) (*Harness, func(), error) {
	root, err := repoRoot()
	if err != nil {
		return nil, nil, err
	}
	bin, err := os.MkdirTemp("", "hybrid-e2e-bin-")
	if err != nil {
		return nil, nil, err
	}
	keysDir, err := os.MkdirTemp("", "hybrid-e2e-keys-")
	if err != nil {
		os.RemoveAll(bin)
		return nil, nil, err
	}
	h := &Harness{Root: root, BinDir: bin, keysDir: keysDir}
	cleanup := func() {
		if h.session != nil {
			h.session.Close()
		}
		os.RemoveAll(bin)
		os.RemoveAll(keysDir)
	}
	for _, b := range Binaries {
		pkg := "./services/" + b
		if b == "hybridctl" {
			pkg = "./cmd/hybridctl"
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, b), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("build %s: %w\n%s", b, err, out)
		}
	}
	h.CassandraHost, h.CassandraPort = "127.0.0.1", 9042
	if hp := os.Getenv("HYBRID_CASSANDRA"); hp != "" {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("HYBRID_CASSANDRA=%q: %w", hp, err)
		}
		h.CassandraHost = host
		h.CassandraPort, _ = strconv.Atoi(port)
	} else {
		// Not started by `make test`: start (or reuse) the project's node.
		cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "cassandra.sh"), "start")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("start cassandra: %w", err)
		}
	}
	h.CassandraCredentials = cassandratest.CredentialsFile()
	cfg := cassandra.DefaultConfig()
	cfg.Hosts, cfg.Port, cfg.CredentialsFile = []string{h.CassandraHost}, h.CassandraPort, h.CassandraCredentials
	if h.session, err = cassandra.Connect(ctx, cfg); err != nil {
		cleanup()
		return nil, nil, err
	}
	return h, cleanup, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: go.work not found above the working directory")
		}
		dir = parent
	}
}

// Session is the harness's Cassandra session (for asserting on stored data).
func (h *Harness) Session() *gocql.Session { return h.session }

// CassandraArgs are the flags that point a service at the harness's
// Cassandra, login included.
func (h *Harness) CassandraArgs() []string {
	args := []string{"--cassandra.hosts", h.CassandraHost, "--cassandra.port", strconv.Itoa(h.CassandraPort)}
	if h.CassandraCredentials != "" {
		args = append(args, "--cassandra.credentialsFile", h.CassandraCredentials)
	}
	return args
}

// EncryptionKeysPath is the org's data encryption keys file (0600), made on
// first use; MART and the message processor of the org share it.
func (h *Harness) EncryptionKeysPath(tb testing.TB, org string) string {
	tb.Helper()
	h.keysMu.Lock()
	defer h.keysMu.Unlock()
	path := filepath.Join(h.keysDir, org+".yaml")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	keys, err := store.GenerateEncryptionKeys()
	if err == nil {
		err = store.WriteEncryptionKeys(path, keys)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// EncryptionKeys are the org's data encryption keys, for tests that write
// sealed runtime data straight into Cassandra.
func (h *Harness) EncryptionKeys(tb testing.TB, org string) store.EncryptionKeys {
	tb.Helper()
	keys, err := store.ReadEncryptionKeys(h.EncryptionKeysPath(tb, org))
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// NewOrg returns a fresh organization name with its schema applied, so
// tests sharing one Cassandra never see each other's data. Its keyspaces
// are dropped when the test ends; the drop is registered before the
// cluster's processes, so it runs after they stop.
func (h *Harness) NewOrg(tb testing.TB) string {
	tb.Helper()
	return cassandratest.NewOrgWithPrefix(tb, h.session, "e2e-")
}

// Process is one running service binary.
type Process struct {
	Name     string
	LogPath  string
	cmd      *exec.Cmd
	addrs    map[string]string
	exited   chan struct{}
	exitErr  error
	stopOnce sync.Once
}

// Start runs a binary with args plus --addrFile, and waits until it has
// bound its listeners. The process is stopped when the test ends.
func (h *Harness) Start(tb testing.TB, name string, args ...string) *Process {
	tb.Helper()
	p := h.StartNoWait(tb, name, args...)
	p.waitAddrs(tb)
	return p
}

// StartNoWait starts a binary without waiting for its listeners (for
// processes expected to exit, such as a failing agent).
func (h *Harness) StartNoWait(tb testing.TB, name string, args ...string) *Process {
	tb.Helper()
	dir := tb.TempDir()
	addrFile := filepath.Join(dir, "addrs.json")
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(h.BinDir, name), append(args, "--addrFile", addrFile)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Secrets travel in the environment, never on command lines.
	cmd.Env = append(os.Environ(), "HYBRID_ADMIN_TOKEN="+AdminToken,
		"HYBRID_MART_AUTH_SHAREDSECRET="+MARTSecret,
		"HYBRID_CONTROLPLANE_MART_SHAREDSECRET="+MARTSecret,
		"HYBRID_CONNECT_AGENT_MARTSECRET="+MARTSecret)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	p.addrs = map[string]string{"file": addrFile}
	go func() {
		p.exitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		p.Stop(tb)
		if tb.Failed() {
			tb.Logf("--- last lines of %s log (%s) ---\n%s", name, logPath, tail(logPath, 60))
		}
	})
	return p
}

func (p *Process) waitAddrs(tb testing.TB) {
	tb.Helper()
	file := p.addrs["file"]
	deadline := time.After(2 * time.Minute)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if data, err := os.ReadFile(file); err == nil {
			addrs := map[string]string{}
			if err := json.Unmarshal(data, &addrs); err != nil {
				tb.Fatalf("%s addr file: %v", p.Name, err)
			}
			addrs["file"] = file
			p.addrs = addrs
			return
		}
		select {
		case <-p.exited:
			tb.Fatalf("%s exited before listening: %v\n%s", p.Name, p.exitErr, tail(p.LogPath, 40))
		case <-deadline:
			tb.Fatalf("%s did not start listening within 2m\n%s", p.Name, tail(p.LogPath, 40))
		case <-tick.C:
		}
	}
}

// Running reports whether the process has not exited.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Pid is the process id (benchmarks read its CPU time from /proc).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Addr returns a bound listener address ("main" unless named otherwise).
func (p *Process) Addr(listener string) string { return p.addrs[listener] }

// URL returns http://<addr> of a listener.
func (p *Process) URL(listener string) string { return "http://" + p.addrs[listener] }

// WaitReady polls the readiness probe until it answers 200.
func (p *Process) WaitReady(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	p.waitProbe(tb, "/v1/probes/ready", timeout)
}

// WaitLive polls the liveness probe until it answers 200.
func (p *Process) WaitLive(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	p.waitProbe(tb, "/v1/probes/live", timeout)
}

func (p *Process) waitProbe(tb testing.TB, path string, timeout time.Duration) {
	tb.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		resp, err := client.Get(p.URL("main") + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.exited:
			tb.Fatalf("%s exited: %v\n%s", p.Name, p.exitErr, tail(p.LogPath, 40))
		case <-deadline:
			tb.Fatalf("%s %s not OK within %s (last: %s)\n%s", p.Name, path, timeout, last, tail(p.LogPath, 40))
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM and waits for the process to drain and exit.
func (p *Process) Stop(tb testing.TB) {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(45 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			tb.Errorf("%s did not stop within 45s of SIGTERM", p.Name)
		}
	})
}

// Kill ends the process with SIGKILL, as a crashed pod: nothing it holds
// is released.
func (p *Process) Kill(tb testing.TB) {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
}

// Wait blocks until the process exits (or timeout) and returns its error.
func (p *Process) Wait(tb testing.TB, timeout time.Duration) error {
	tb.Helper()
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(timeout):
		tb.Fatalf("%s still running after %s", p.Name, timeout)
		return nil
	}
}

// Log returns the process's output so far.
func (p *Process) Log() string {
	data, _ := os.ReadFile(p.LogPath)
	return string(data)
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Build compiles one more command (relative package path from the
// repository root) into the harness's bin directory.
func (h *Harness) Build(tb testing.TB, name, pkg string) {
	tb.Helper()
	cmd := exec.Command("go", "build", "-o", filepath.Join(h.BinDir, name), pkg)
	cmd.Dir = h.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", name, err, out)
	}
}
