// Package service is the one runtime every hybrid service runs on: config,
// logging, Prometheus metrics, the real probe paths and a graceful drain on
// SIGTERM.
//
// A service's life has three phases, in the manner of caddy's app
// start/stop:
//
//  1. Build (before Run, must not block): New binds the main listener;
//     the service binds its other listeners and attaches handlers,
//     readiness checks, start-up steps (Init), workers (Go) and cleanups
//     (OnStop). If building fails, Close releases what was bound.
//  2. Start (inside Run): the listeners serve at once, so the probes
//     answer from the first moment; then the Init steps run in order,
//     each showing as "Probe <name> failed: starting" on the readiness
//     probe until it returns. Connections to Cassandra or the control
//     plane are made here, never in phase 1. A failed step stops the
//     service: listeners close and the OnStop cleanups of what was
//     opened run in reverse order.
//  3. Serve: the workers start once every Init step has returned; on
//     SIGTERM the service drains (readiness 503, listeners stop, workers
//     are cancelled), then the OnStop cleanups run in reverse order.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Probe paths used by hybrid's runtime, synchronizer and MART pods.
const (
	LivePath  = "/v1/probes/live"
	ReadyPath = "/v1/probes/ready"
)

// Common is the part of every service's configuration the runtime owns.
type Common struct {
	Listen          string        `yaml:"listen" usage:"address of the service's HTTP endpoint (API, probes, /metrics)"`
	LogLevel        string        `yaml:"logLevel" usage:"debug, info, warn or error"`
	DrainDelay      time.Duration `yaml:"drainDelay" usage:"how long readiness reports 503 before listeners close"`
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout" usage:"upper bound for in-flight work to finish on shutdown"`
	AddrFile        string        `yaml:"addrFile" usage:"if set, bound addresses are written here as JSON once listening"`
	// LogFile lets services that share a process (the hybridtest harness)
	// keep their logs apart.
	LogFile string `yaml:"logFile" usage:"append the logs to this file instead of standard error"`
}

// DefaultCommon returns the defaults for a service listening on addr.
func DefaultCommon(addr string) Common {
	return Common{Listen: addr, LogLevel: "info", ShutdownTimeout: 30 * time.Second}
}

// StatusError lets a readiness check choose the probe's status code (the
// message processor answers 500 while it has no contract, as hybrid does).
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

type readyCheck struct {
	name string
	fn   func(ctx context.Context) error
}

type listener struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

type worker struct {
	name string
	fn   func(ctx context.Context) error
}

type initStep struct {
	name string
	fn   func(ctx context.Context) error
	done atomic.Bool
}

// ErrStarting is what the readiness probe reports for a start-up step that
// has not returned yet.
var ErrStarting = errors.New("starting")

// Service is one running hybrid component.
type Service struct {
	name     string
	cfg      Common
	log      *zap.Logger
	reg      *prometheus.Registry
	mux      *http.ServeMux
	draining atomic.Bool

	mu        sync.Mutex
	checks    []readyCheck
	listeners []listener // listeners[0] is the main one; it closes last
	others    []listener // bound here, served by the caller (e.g. gRPC); srv is nil
	workers   []worker
	inits     []*initStep
	cleanups  []cleanup
	closed    bool
}

type cleanup struct {
	name string
	fn   func()
}

// New binds the main listener right away so Addr is known before Run.
func New(name string, cfg Common) (*Service, error) {
	if cfg.LogFile == "" {
		log, err := NewLogger(name, cfg.LogLevel)
		if err != nil {
			return nil, err
		}
		return NewWithLogger(name, cfg, log)
	}
	f, err := os.OpenFile(cfg.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	log, err := newLoggerTo(name, cfg.LogLevel, zapcore.Lock(f))
	if err == nil {
		var s *Service
		if s, err = NewWithLogger(name, cfg, log); err == nil {
			s.OnStop("log file", func() { _ = f.Close() }) // the first cleanup runs last
			return s, nil
		}
	}
	_ = f.Close()
	return nil, err
}

// NewWithLogger is New with a caller-supplied logger (tests use zaptest).
func NewWithLogger(name string, cfg Common, log *zap.Logger) (*Service, error) {
	s := &Service{name: name, cfg: cfg, log: log, reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.mux.HandleFunc("GET "+LivePath, s.live)
	s.mux.HandleFunc("GET "+ReadyPath, s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	if _, err := s.Listen("main", cfg.Listen, s.mux); err != nil {
		return nil, err
	}
	return s, nil
}

// Init adds a start-up step. Steps run in the order added, inside Run,
// after the listeners serve; until a step returns the readiness probe
// reports "Probe <name> failed: starting". A step may add handlers,
// readiness checks, workers and cleanups. Its context ends when the service
// is asked to stop; an error stops the service.
func (s *Service) Init(name string, fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inits = append(s.inits, &initStep{name: name, fn: fn})
	s.checks = append(s.checks, readyCheck{name: name, fn: s.inits[len(s.inits)-1].ready})
}

func (st *initStep) ready(context.Context) error {
	if !st.done.Load() {
		return ErrStarting
	}
	return nil
}

// OnStop adds a cleanup (closing a session, stopping monitors). Cleanups
// run once, in reverse order of registration, when Run returns or when
// Close is called on a service that never ran.
func (s *Service) OnStop(name string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, cleanup{name: name, fn: fn})
}

// Close releases a service that will not run (its build failed): it
// closes every bound listener and runs the cleanups. It is safe to call
// more than once and after Run.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	listeners := append(append([]listener(nil), s.listeners...), s.others...)
	cleanups := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for _, l := range listeners {
		_ = l.ln.Close()
	}
	s.runCleanups(cleanups)
}

func (s *Service) runCleanups(cleanups []cleanup) {
	for i := len(cleanups) - 1; i >= 0; i-- {
		s.log.Debug("cleanup", zap.String("step", cleanups[i].name))
		cleanups[i].fn()
	}
}

func (s *Service) Name() string                   { return s.name }
func (s *Service) Logger() *zap.Logger            { return s.log }
func (s *Service) Registry() *prometheus.Registry { return s.reg }
func (s *Service) Draining() bool                 { return s.draining.Load() }

// Handle adds a route to the main listener.
func (s *Service) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Listen binds an extra listener (e.g. the message processor's traffic port).
func (s *Service) Listen(name, addr string, h http.Handler, opts ...ServerOption) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s on %s: %w", s.name, name, addr, err)
	}
	return s.AddListener(name, ln, h, opts...), nil
}

// ServerOption adjusts the http.Server of one listener (the message
// processor's traffic port has its own header limit).
type ServerOption func(*http.Server)

// Listener defaults, safe for every service: a client gets 10 s to send
// its request headers, at most 1 MB of them (net/http's default, made
// explicit), and an idle keep-alive connection is closed after 2 min.
// There is no overall read or write timeout: it would cut streamed
// payloads and long polls.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = http.DefaultMaxHeaderBytes
)

// AddListener serves h on an already-bound listener (e.g. a TLS one).
func (s *Service) AddListener(name string, ln net.Listener, h http.Handler, opts ...ServerOption) net.Addr {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
		MaxHeaderBytes: DefaultMaxHeaderBytes, ErrorLog: zap.NewStdLog(s.log.Named("http"))}
	for _, o := range opts {
		o(srv)
	}
	s.mu.Lock()
	s.listeners = append(s.listeners, listener{name: name, ln: ln, srv: srv})
	s.mu.Unlock()
	return ln.Addr()
}

// ListenOther binds a listener for a protocol this runtime does not serve
// itself (gRPC): the caller serves and closes it, typically from a worker
// registered with Go; its address is reported by Addr and in the addr file
// like any other.
func (s *Service) ListenOther(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s on %s: %w", s.name, name, addr, err)
	}
	s.mu.Lock()
	s.others = append(s.others, listener{name: name, ln: ln})
	s.mu.Unlock()
	return ln, nil
}

// Addr returns the bound address of a listener ("main" for the main one).
func (s *Service) Addr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range append(s.listeners, s.others...) {
		if l.name == name {
			return l.ln.Addr().String()
		}
	}
	return ""
}

// ReadyWhen adds a readiness check; /v1/probes/ready fails while any fails.
func (s *Service) ReadyWhen(name string, check func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, readyCheck{name: name, fn: check})
}

// Go runs fn for the service's lifetime. Its context is cancelled after the
// listeners have drained; an error return stops the whole service.
func (s *Service) Go(name string, fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workers = append(s.workers, worker{name: name, fn: fn})
}

func (s *Service) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "live"})
}

func (s *Service) ready(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	failures, code := s.checkReady(r.Context())
	if len(failures) > 0 {
		writeJSON(w, code, map[string]any{"status": "not ready", "failureMessages": failures})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Service) checkReady(ctx context.Context) ([]string, int) {
	s.mu.Lock()
	checks := append([]readyCheck(nil), s.checks...)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var failures []string
	code := http.StatusServiceUnavailable
	for _, c := range checks {
		if err := c.fn(ctx); err != nil {
			failures = append(failures, fmt.Sprintf("Probe %s failed: %v", c.name, err))
			var se *StatusError
			if errors.As(err, &se) {
				code = se.Code
			}
		}
	}
	return failures, code
}

// Run serves until ctx is cancelled (SIGTERM in Main) or a worker fails,
// then drains: readiness turns 503, after DrainDelay the listeners stop
// accepting and in-flight requests finish (bounded by ShutdownTimeout),
// workers are cancelled and awaited, and the probe listener closes last.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%s: service already closed", s.name)
	}
	listeners := append([]listener(nil), s.listeners...)
	others := append([]listener(nil), s.others...)
	inits := append([]*initStep(nil), s.inits...)
	s.mu.Unlock()
	defer s.Close() // cleanups, and listeners that never served

	if err := s.writeAddrFile(append(append([]listener(nil), listeners...), others...)); err != nil {
		return err
	}
	serveErr := make(chan error, len(listeners))
	for _, l := range listeners {
		s.log.Info("listening", zap.String("listener", l.name), zap.String("addr", l.ln.Addr().String()))
		go func() {
			if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("%s listener: %w", l.name, err)
			}
		}()
	}

	// Start phase: the probes already answer; each step shows as
	// "starting" until it returns.
	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	started := make(chan error, 1)
	go func() { started <- s.start(startCtx, inits) }()

	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	workerErr := make(chan error, 1)
	workersDone := make(chan struct{})
	workersStarted := false
	startWorkers := func() {
		workersStarted = true
		s.mu.Lock()
		workers := append([]worker(nil), s.workers...)
		s.mu.Unlock()
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.fn(workCtx); err != nil && !errors.Is(err, context.Canceled) {
					select {
					case workerErr <- fmt.Errorf("%s: %w", w.name, err):
					default:
					}
				}
			}()
		}
		go func() { wg.Wait(); close(workersDone) }()
	}

	var runErr error
	startPending := started
wait:
	for {
		select {
		case <-ctx.Done():
			s.log.Info("shutdown requested, draining")
			break wait
		case err := <-startPending:
			startPending = nil
			if err != nil {
				if ctx.Err() == nil { // not just cut short by a stop request
					runErr = err
				}
				break wait
			}
			startWorkers()
		case runErr = <-serveErr:
			break wait
		case runErr = <-workerErr:
			break wait
		}
	}
	if runErr != nil {
		s.log.Error("stopping after failure", zap.Error(runErr))
	}
	if startPending != nil {
		cancelStart()
		<-startPending // a step that ignores its context holds shutdown here
	}
	if !workersStarted {
		close(workersDone)
	}

	s.draining.Store(true)
	if s.cfg.DrainDelay > 0 && runErr == nil {
		time.Sleep(s.cfg.DrainDelay) // let load balancers see the 503 before connections close
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	for i := len(listeners) - 1; i >= 1; i-- {
		if err := listeners[i].srv.Shutdown(shutdownCtx); err != nil {
			s.log.Warn("listener did not drain in time", zap.String("listener", listeners[i].name), zap.Error(err))
		}
	}
	cancelWork()
	select {
	case <-workersDone:
		if runErr == nil {
			select {
			case runErr = <-workerErr:
			default:
			}
		}
	case <-shutdownCtx.Done():
		s.log.Warn("workers did not stop in time")
	}
	_ = listeners[0].srv.Shutdown(shutdownCtx)
	s.log.Info("stopped")
	_ = s.log.Sync()
	return runErr
}

// start runs the Init steps in order; the first failure ends the phase.
func (s *Service) start(ctx context.Context, inits []*initStep) error {
	for _, st := range inits {
		began := time.Now()
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("start %s: %w", st.name, err)
		}
		st.done.Store(true)
		s.log.Info("started", zap.String("step", st.name), zap.Duration("took", time.Since(began)))
	}
	return nil
}

func (s *Service) writeAddrFile(listeners []listener) error {
	if s.cfg.AddrFile == "" {
		return nil
	}
	addrs := make(map[string]string, len(listeners))
	for _, l := range listeners {
		addrs[l.name] = l.ln.Addr().String()
	}
	data, err := json.Marshal(addrs)
	if err != nil {
		return err
	}
	tmp := s.cfg.AddrFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(s.cfg.AddrFile), 0o755); err != nil {
		return fmt.Errorf("addr file: %w", err)
	}
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("addr file: %w", err)
	}
	return os.Rename(tmp, s.cfg.AddrFile)
}

// Server returns the http.Server of a listener served by the service
// (nil for an unknown name or one bound with ListenOther).
func (s *Service) Server(name string) *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.name == name {
			return l.srv
		}
	}
	return nil
}

// ListenerNames returns the names of the bound listeners, sorted.
func (s *Service) ListenerNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.listeners)+len(s.others))
	for _, l := range append(s.listeners, s.others...) {
		names = append(names, l.name)
	}
	sort.Strings(names)
	return names
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
