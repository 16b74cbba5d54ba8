package service

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProbesAnswerWhileStarting: a start-up step that blocks (a Cassandra
// that is not up yet) must not block the probes; readiness names the step.
func TestProbesAnswerWhileStarting(t *testing.T) {
	s := newTestService(t)
	release := make(chan struct{})
	var workerRan sync.WaitGroup
	workerRan.Add(1)
	s.Init("Cassandra", func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.Go("worker", func(ctx context.Context) error { workerRan.Done(); <-ctx.Done(); return nil })
		return nil
	})
	stop := runInBackground(t, s)
	base := "http://" + s.Addr("main")

	code, _ := get(t, base+LivePath)
	require.Equal(t, http.StatusOK, code)
	code, body := get(t, base+ReadyPath)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "Probe Cassandra failed: starting")

	close(release)
	workerRan.Wait() // a worker added by a step starts once the phase is over
	require.Eventually(t, func() bool { c, _ := get(t, base+ReadyPath); return c == http.StatusOK }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, stop())
}

// TestInitStepsRunInOrderBeforeWorkers: a worker never sees a half-started
// service.
func TestInitStepsRunInOrderBeforeWorkers(t *testing.T) {
	s := newTestService(t)
	var mu sync.Mutex
	var order []string
	note := func(x string) { mu.Lock(); order = append(order, x); mu.Unlock() }
	workerStarted := make(chan struct{})
	s.Go("worker", func(ctx context.Context) error { note("worker"); close(workerStarted); <-ctx.Done(); return nil })
	s.Init("first", func(context.Context) error { note("first"); return nil })
	s.Init("second", func(context.Context) error { note("second"); return nil })
	stop := runInBackground(t, s)
	<-workerStarted
	require.NoError(t, stop())
	require.Equal(t, []string{"first", "second", "worker"}, order)
}

// TestFailedStartReleasesEverything: a step that fails stops the service,
// closes every listener and rolls back what earlier steps opened, newest
// first; later steps and workers never run.
func TestFailedStartReleasesEverything(t *testing.T) {
	s := newTestService(t)
	_, err := s.Listen("traffic", "127.0.0.1:0", http.NotFoundHandler())
	require.NoError(t, err)
	other, err := s.ListenOther("grpc", "127.0.0.1:0")
	require.NoError(t, err)
	addrs := []string{s.Addr("main"), s.Addr("traffic"), other.Addr().String()}

	var undone []string
	boom := errors.New("keyspace kms_hybrid does not exist")
	s.Init("session", func(context.Context) error {
		s.OnStop("close session", func() { undone = append(undone, "session") })
		return nil
	})
	s.Init("cache", func(context.Context) error {
		s.OnStop("stop cache", func() { undone = append(undone, "cache") })
		return nil
	})
	s.Init("schema", func(context.Context) error { return boom })
	s.Init("never", func(context.Context) error { t.Error("a step after a failed one ran"); return nil })
	s.Go("worker", func(context.Context) error { t.Error("a worker ran although start failed"); return nil })

	err = s.Run(context.Background())
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "start schema")
	require.Equal(t, []string{"cache", "session"}, undone)
	for _, a := range addrs {
		requireClosed(t, a)
	}
}

// TestCloseBeforeRun: set-up that fails before Run leaves nothing bound.
func TestCloseBeforeRun(t *testing.T) {
	s := newTestService(t)
	_, err := s.Listen("traffic", "127.0.0.1:0", http.NotFoundHandler())
	require.NoError(t, err)
	ran := 0
	s.OnStop("cleanup", func() { ran++ })
	addrs := []string{s.Addr("main"), s.Addr("traffic")}
	s.Close()
	s.Close()
	require.Equal(t, 1, ran, "cleanups run once")
	for _, a := range addrs {
		requireClosed(t, a)
	}
	require.Error(t, s.Run(context.Background()), "a closed service does not run")
}

// TestStopWhileStarting: SIGTERM during a step that waits (Cassandra down)
// ends Run promptly and cleanly.
func TestStopWhileStarting(t *testing.T) {
	s := newTestService(t)
	entered := make(chan struct{})
	s.Init("Cassandra", func(ctx context.Context) error { close(entered); <-ctx.Done(); return ctx.Err() })
	s.Go("worker", func(context.Context) error { t.Error("a worker ran although start never finished"); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-entered
	cancel()
	require.NoError(t, <-done)
	requireClosed(t, s.Addr("main"))
}

func requireClosed(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	require.Error(t, err, "%s still accepts connections", addr)
}
