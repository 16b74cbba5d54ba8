package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestService(t *testing.T) *Service {
	t.Helper()
	cfg := DefaultCommon("127.0.0.1:0")
	cfg.AddrFile = filepath.Join(t.TempDir(), "addrs.json")
	s, err := NewWithLogger("test", cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// runInBackground runs s and returns a func that stops it and returns Run's error.
func runInBackground(t *testing.T, s *Service) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	require.Eventually(t, func() bool {
		_, err := os.Stat(s.cfg.AddrFile)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
	return func() error { cancel(); return <-done }
}

func TestProbes(t *testing.T) {
	s := newTestService(t)
	var ready error = errors.New("contract not loaded")
	s.ReadyWhen("ContractLoaded", func(context.Context) error { return ready })
	s.ReadyWhen("Cassandra", func(context.Context) error { return nil })
	stop := runInBackground(t, s)
	base := "http://" + s.Addr("main")

	code, _ := get(t, base+LivePath)
	require.Equal(t, http.StatusOK, code)

	code, body := get(t, base+ReadyPath)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "Probe ContractLoaded failed: contract not loaded")
	require.NotContains(t, body, "Cassandra")

	ready = &StatusError{Code: http.StatusInternalServerError, Err: errors.New("no active contract")}
	code, _ = get(t, base+ReadyPath)
	require.Equal(t, http.StatusInternalServerError, code, "a check may choose its status code")

	ready = nil
	code, _ = get(t, base+ReadyPath)
	require.Equal(t, http.StatusOK, code)

	code, body = get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "go_goroutines")
	require.NoError(t, stop())
}

func TestAddrFileListsListeners(t *testing.T) {
	s := newTestService(t)
	_, err := s.Listen("traffic", "127.0.0.1:0", http.NotFoundHandler())
	require.NoError(t, err)
	grpcLn, err := s.ListenOther("grpc", "127.0.0.1:0")
	require.NoError(t, err)
	defer grpcLn.Close()
	stop := runInBackground(t, s)
	data, err := os.ReadFile(s.cfg.AddrFile)
	require.NoError(t, err)
	var addrs map[string]string
	require.NoError(t, json.Unmarshal(data, &addrs))
	require.Equal(t, map[string]string{"main": s.Addr("main"), "traffic": s.Addr("traffic"), "grpc": grpcLn.Addr().String()}, addrs)
	require.Equal(t, []string{"grpc", "main", "traffic"}, s.ListenerNames())
	require.NoError(t, stop())
}

// On shutdown readiness must turn 503 while an in-flight request is still
// being served, and that request must complete.
func TestGracefulDrain(t *testing.T) {
	s := newTestService(t)
	entered, release := make(chan struct{}), make(chan struct{})
	_, err := s.Listen("traffic", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	require.NoError(t, err)
	workerStopped := make(chan struct{})
	s.Go("worker", func(ctx context.Context) error { <-ctx.Done(); close(workerStopped); return nil })
	stop := runInBackground(t, s)

	inflight := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr("traffic"))
		if err != nil {
			inflight <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- string(b)
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	require.Eventually(t, func() bool {
		code, _ := get(t, "http://"+s.Addr("main")+ReadyPath)
		return code == http.StatusServiceUnavailable
	}, 5*time.Second, 5*time.Millisecond, "readiness must fail first")
	select {
	case <-workerStopped:
		t.Fatal("workers must outlive in-flight requests")
	default:
	}
	close(release)
	require.Equal(t, "finished", <-inflight)
	require.NoError(t, <-stopped)
	<-workerStopped
}

func TestWorkerFailureStopsService(t *testing.T) {
	s := newTestService(t)
	boom := errors.New("boom")
	s.Go("failing", func(context.Context) error { return boom })
	err := s.Run(context.Background())
	require.ErrorIs(t, err, boom)
}

type testConfig struct {
	Common  `yaml:",inline"`
	Org     string        `yaml:"org"`
	Envs    []string      `yaml:"environments"`
	Poll    time.Duration `yaml:"pollInterval"`
	Enabled bool          `yaml:"enabled"`
	Nested  struct {
		URL string `yaml:"url"`
	} `yaml:"controlPlane"`
}

func TestLoadConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cfg.yaml")
	require.NoError(t, os.WriteFile(file, []byte("org: from-file\nenvironments: [a, b]\ncontrolPlane:\n  url: http://file\npollInterval: 5s\n"), 0o644))
	t.Setenv("T_ORG", "from-env")
	t.Setenv("T_CONTROLPLANE_URL", "http://env")

	cfg := testConfig{Common: DefaultCommon(":1"), Org: "default", Poll: time.Minute}
	err := LoadConfig("t", "T", []string{"--config", file, "--controlPlane.url", "http://flag", "--enabled=true"}, &cfg)
	require.NoError(t, err)
	require.Equal(t, "from-env", cfg.Org, "env beats file")
	require.Equal(t, []string{"a", "b"}, cfg.Envs, "file beats default")
	require.Equal(t, "http://flag", cfg.Nested.URL, "flag beats env")
	require.Equal(t, 5*time.Second, cfg.Poll)
	require.True(t, cfg.Enabled)
	require.Equal(t, ":1", cfg.Listen)
}

func TestLoadConfigErrors(t *testing.T) {
	tests := map[string][]string{
		"bad duration": {"--pollInterval", "soon"},
		"bad bool":     {"--enabled", "maybe"},
		"unknown flag": {"--nope", "x"},
		"missing file": {"--config", "/does/not/exist.yaml"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig{}
			require.Error(t, LoadConfig("t", "T", args, &cfg))
		})
	}
	file := filepath.Join(t.TempDir(), "cfg.yaml")
	require.NoError(t, os.WriteFile(file, []byte("orgg: typo\n"), 0o644))
	require.ErrorContains(t, LoadConfig("t", "T", []string{"--config", file}, &testConfig{}), "orgg", "unknown YAML keys are rejected")
}

// TestListenerDefaults: every listener gets safe server limits, and a
// listener can tighten its own.
func TestListenerDefaults(t *testing.T) {
	s := newTestService(t)
	t.Cleanup(s.Close)
	_, err := s.Listen("extra", "127.0.0.1:0", http.NotFoundHandler(), func(srv *http.Server) { srv.MaxHeaderBytes = 64 << 10 })
	require.NoError(t, err)
	main := s.Server("main")
	require.Equal(t, DefaultReadHeaderTimeout, main.ReadHeaderTimeout)
	require.Equal(t, DefaultIdleTimeout, main.IdleTimeout)
	require.Equal(t, DefaultMaxHeaderBytes, main.MaxHeaderBytes)
	require.Zero(t, main.ReadTimeout, "an overall read timeout would cut streamed payloads")
	require.Zero(t, main.WriteTimeout)
	extra := s.Server("extra")
	require.Equal(t, 64<<10, extra.MaxHeaderBytes)
	require.Equal(t, DefaultIdleTimeout, extra.IdleTimeout)
	require.Nil(t, s.Server("nope"))
}

// A service given a log file writes its lines there, not to standard
// error, and closes the file when it stops.
func TestLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.log")
	cfg := DefaultCommon("127.0.0.1:0")
	cfg.LogFile = path
	s, err := New("logged", cfg)
	require.NoError(t, err)
	s.Logger().Info("hello from the log file")
	s.Close()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), `"message":"hello from the log file"`)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	cfg.LogFile = filepath.Join(t.TempDir(), "missing", "svc.log")
	_, err = New("logged", cfg)
	require.ErrorContains(t, err, "log file")
}
