// Package agenttest runs a real Connect agent in-process for tests in other
// modules (the control plane's Apigee Connect tests drive the agent this
// way). It only re-exports the agent; nothing here is a fake.
package agenttest

import (
	"context"
	"testing"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/connect-agent/internal/agent"
)

// Config is the agent's configuration.
type Config = agent.Config

// Agent is a running agent.
type Agent = agent.Agent

// UserAgent is what the agent sends to MART.
const UserAgent = agent.UserAgent

// SecretHeader carries the MART shared secret.
const SecretHeader = agent.SecretHeader

// DefaultConfig is the agent's default configuration.
func DefaultConfig() Config { return agent.DefaultConfig() }

// Run is the agent's main (see agent.Run).
func Run(ctx context.Context, cfg *Config) error { return agent.Run(ctx, cfg) }

// Running is an agent started by Start.
type Running struct {
	*agent.Agent
	Service *service.Service
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // Run's result, set before done closes
}

// Start runs an agent logging to log until Stop or the end of the test.
// cfg.Listen should be 127.0.0.1:0.
func Start(tb testing.TB, cfg Config, log *zap.Logger) *Running {
	tb.Helper()
	svc, err := service.NewWithLogger("connect-agent", cfg.ServiceCommon(), log)
	if err != nil {
		tb.Fatalf("agent service: %v", err)
	}
	a, err := agent.New(svc, &cfg)
	if err != nil {
		tb.Fatalf("agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Agent: a, Service: svc, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = svc.Run(ctx)
		close(r.done)
	}()
	tb.Cleanup(func() { _ = r.Stop() })
	return r
}

// Stop begins the graceful stop (as SIGTERM does) and waits for Run to
// return; it returns Run's error.
func (r *Running) Stop() error {
	r.cancel()
	<-r.done
	return r.err
}

// StopAsync begins the graceful stop and returns at once; Done reports
// Run's end.
func (r *Running) StopAsync() { r.cancel() }

// Done is closed when Run has returned; Err then has its result.
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is Run's result once Done is closed.
func (r *Running) Err() error {
	<-r.done
	return r.err
}
