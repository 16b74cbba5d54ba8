// Package faults is the mock control plane's outage switch: it takes down
// all of the control plane or single upstream services (the Apigee API,
// IAM credentials and the token endpoint, Apigee Connect, storage,
// monitoring, logging) so a local runtime plane can be watched going "off
// the grid" (../../../../docs, shared seed hybrid-off-the-grid). Faults are
// in memory only: they never outlive the control plane process, so a
// crashed test cannot leave a stack broken.
//
// The switch itself (Handler) is never wrapped by a fault: it is how an
// outage is ended.
package faults

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// The upstream services of the seed's table, by their googleapis.com names.
const (
	Apigee         = "apigee"         // apigee.googleapis.com: the Apigee API, contracts, datalocation, MART paths
	IAMCredentials = "iamcredentials" // iamcredentials.googleapis.com and oauth2: token endpoint, IAM
	ApigeeConnect  = "apigeeconnect"  // apigeeconnect.googleapis.com: the Connect gRPC service
	Storage        = "storage"        // storage.googleapis.com: signed-URL uploads
	Monitoring     = "monitoring"     // monitoring.googleapis.com: the mock time series API (/v3/projects/{p}/timeSeries)
	Logging        = "logging"        // logging.googleapis.com: the mock entries API (/v2/entries:write, :list)
)

// Services are the names a fault can target, in table order.
var Services = []string{Apigee, IAMCredentials, ApigeeConnect, Storage, Monitoring, Logging}

// aliases map other spellings people use to the canonical names.
var aliases = map[string]string{
	"oauth2": IAMCredentials, "iam": IAMCredentials, "token": IAMCredentials,
	"connect": ApigeeConnect,
}

// Mode is how a faulted call fails.
type Mode string

const (
	// ModeNone adds latency only.
	ModeNone Mode = ""
	// ModeUnavailable answers 503 UNAVAILABLE in Google's error shape
	// (codes.Unavailable for gRPC).
	ModeUnavailable Mode = "unavailable"
	// ModeReset resets the connection (TCP RST) before answering; for
	// gRPC it is codes.Unavailable too, as a reset stream is to a client.
	ModeReset Mode = "reset"
)

// Scope is who a fault cuts off.
type Scope string

const (
	// ScopeAll fails every caller: the control plane is gone.
	ScopeAll Scope = "all"
	// ScopeRuntime fails the runtime plane's calls only, while operators
	// (callers the server's Operator func recognises: people and tools
	// with an admin's rights) still reach the management API: the
	// runtime plane's own network is cut, as when a hybrid cluster loses
	// its internet egress. Deployments made then go live on recovery.
	ScopeRuntime Scope = "runtime"
)

// Fault is what is applied to one service.
type Fault struct {
	Service string `json:"service"`
	// Scope is all (the default) or runtime.
	Scope Scope `json:"scope,omitempty"`
	// Mode is unavailable, reset or "" (latency only).
	Mode Mode `json:"mode,omitempty"`
	// Latency is added before every call is answered (or failed).
	Latency time.Duration `json:"-"`
	// ErrorRate is the probability (0–1] that a call fails with Mode.
	ErrorRate float64   `json:"errorRate,omitempty"`
	Since     time.Time `json:"since"`
}

// Spec is a request to start faults.
type Spec struct {
	// Services to fault; empty means all.
	Services []string `json:"services,omitempty"`
	// Mode defaults to unavailable unless only Latency is given.
	Mode string `json:"mode,omitempty"`
	// Latency is a Go duration ("500ms", "2s").
	Latency string `json:"latency,omitempty"`
	// ErrorRate defaults to 1 when a mode applies.
	ErrorRate *float64 `json:"errorRate,omitempty"`
	// Scope is all (default) or runtime.
	Scope string `json:"scope,omitempty"`
}

// ValidationError is a bad Spec (unknown service, negative latency, …):
// nothing was applied.
type ValidationError struct{ msg string }

func (e *ValidationError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &ValidationError{msg: fmt.Sprintf(format, args...)}
}

// Canonical resolves a service name or alias ("oauth2" → iamcredentials).
func Canonical(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimSuffix(n, ".googleapis.com")
	if a, ok := aliases[n]; ok {
		return a, true
	}
	if slices.Contains(Services, n) {
		return n, true
	}
	return "", false
}

// Injector holds the active faults.
type Injector struct {
	log      *zap.Logger
	injected *prometheus.CounterVec
	delayed  *prometheus.CounterVec

	mu     sync.Mutex
	faults map[string]Fault
	// down is closed when a failing fault starts on a service, so long
	// streams (Connect tethers) are dropped as a real outage drops them.
	down map[string]chan struct{}
	rnd  *rand.Rand
	// operator tells an operator's HTTP call from the runtime plane's
	// (ScopeRuntime spares it); nil: every caller is the runtime plane.
	operator func(r *http.Request) bool
}

// SetOperator sets how ScopeRuntime faults recognise the operators they
// spare; call it before serving.
func (in *Injector) SetOperator(f func(r *http.Request) bool) { in.operator = f }

// New returns an injector with no faults; reg, when set, gets the
// controlplane_faults_injected_total counter.
func New(log *zap.Logger, reg prometheus.Registerer) *Injector {
	if log == nil {
		log = zap.NewNop()
	}
	in := &Injector{
		log: log,
		injected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controlplane_faults_injected_total",
			Help: "Calls the fault switch failed (mode unavailable or reset), by service and mode.",
		}, []string{"service", "mode"}),
		delayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "controlplane_faults_delayed_total",
			Help: "Calls the fault switch delayed by added latency, by service.",
		}, []string{"service"}),
		faults: map[string]Fault{},
		down:   map[string]chan struct{}{},
		rnd:    rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x0ff9)),
	}
	for _, s := range Services {
		in.down[s] = make(chan struct{})
	}
	if reg != nil {
		reg.MustRegister(in.injected, in.delayed)
	}
	return in
}

// Start validates spec and applies it to each named service (all when
// none are named), replacing what they had. Nothing is applied on error.
func (in *Injector) Start(spec Spec) ([]Fault, error) {
	services := spec.Services
	if len(services) == 0 {
		services = Services
	}
	var names []string
	for _, s := range services {
		c, ok := Canonical(s)
		if !ok {
			return nil, invalid("unknown service %q: one of %s (aliases oauth2, iam, connect)", s, strings.Join(Services, ", "))
		}
		if !slices.Contains(names, c) {
			names = append(names, c)
		}
	}
	var latency time.Duration
	if spec.Latency != "" {
		d, err := time.ParseDuration(spec.Latency)
		if err != nil {
			return nil, invalid("invalid latency %q: a duration such as 500ms or 2s", spec.Latency)
		}
		if d < 0 {
			return nil, invalid("latency %s is negative", spec.Latency)
		}
		latency = d
	}
	scope := Scope(strings.ToLower(spec.Scope))
	switch scope {
	case "":
		scope = ScopeAll
	case ScopeAll, ScopeRuntime:
	default:
		return nil, invalid("unknown scope %q: all or runtime", spec.Scope)
	}
	mode := Mode(strings.ToLower(spec.Mode))
	switch mode {
	case ModeUnavailable, ModeReset:
	case ModeNone:
		// Latency alone slows calls down; anything else is an outage.
		if latency == 0 || spec.ErrorRate != nil {
			mode = ModeUnavailable
		}
	default:
		return nil, invalid("unknown mode %q: unavailable or reset", spec.Mode)
	}
	rate := 0.0
	if mode != ModeNone {
		rate = 1
	}
	if spec.ErrorRate != nil {
		rate = *spec.ErrorRate
		if rate < 0 || rate > 1 || rate != rate {
			return nil, invalid("errorRate %v is outside 0-1", rate)
		}
	}
	now := time.Now().UTC()
	out := make([]Fault, 0, len(names))
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, s := range names {
		f := Fault{Service: s, Scope: scope, Mode: mode, Latency: latency, ErrorRate: rate, Since: now}
		in.faults[s] = f
		if f.fails() {
			// Drop the service's long streams; later calls see the fault.
			close(in.down[s])
			in.down[s] = make(chan struct{})
		}
		in.log.Warn("fault injected", zap.String("service", s), zap.String("mode", f.modeName()), zap.String("scope", string(scope)),
			zap.Duration("latency", latency), zap.Float64("errorRate", rate))
		out = append(out, f)
	}
	return out, nil
}

// Stop restores the named services (all when none are named) and returns
// the faults that were ended.
func (in *Injector) Stop(services ...string) ([]Fault, error) {
	if len(services) == 0 {
		services = Services
	}
	var names []string
	for _, s := range services {
		c, ok := Canonical(s)
		if !ok {
			return nil, invalid("unknown service %q: one of %s", s, strings.Join(Services, ", "))
		}
		names = append(names, c)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Fault
	for _, s := range names {
		f, ok := in.faults[s]
		if !ok {
			continue
		}
		delete(in.faults, s)
		in.log.Warn("fault cleared", zap.String("service", s), zap.String("mode", "restored"),
			zap.Duration("lasted", time.Since(f.Since).Round(time.Millisecond)))
		out = append(out, f)
	}
	return out, nil
}

// Active returns the faults in force, in table order.
func (in *Injector) Active() []Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Fault, 0, len(in.faults))
	for _, f := range in.faults {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		return slices.Index(Services, out[i].Service) < slices.Index(Services, out[j].Service)
	})
	return out
}

// spares reports whether the fault on service, if any, leaves r alone:
// an operator's call under a runtime-scoped fault.
func (in *Injector) spares(service string, r *http.Request) bool {
	in.mu.Lock()
	f, ok := in.faults[service]
	in.mu.Unlock()
	return ok && f.Scope == ScopeRuntime && in.operator != nil && in.operator(r)
}

// decide is what one call to service gets: a delay, and whether (and
// how) it fails.
func (in *Injector) decide(service string) (time.Duration, Mode) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f, ok := in.faults[service]
	if !ok {
		return 0, ModeNone
	}
	if f.Latency > 0 {
		in.delayed.WithLabelValues(service).Inc()
	}
	if !f.fails() || (f.ErrorRate < 1 && in.rnd.Float64() >= f.ErrorRate) {
		return f.Latency, ModeNone
	}
	in.injected.WithLabelValues(service, string(f.Mode)).Inc()
	return f.Latency, f.Mode
}

// downSignal is closed when a failing fault next starts on service.
func (in *Injector) downSignal(service string) <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.down[service]
}

// mode is the failing mode in force on service (unavailable when the
// fault was cleared meanwhile: the call was cut all the same).
func (in *Injector) mode(service string) Mode {
	in.mu.Lock()
	defer in.mu.Unlock()
	if f, ok := in.faults[service]; ok && f.fails() {
		return f.Mode
	}
	return ModeUnavailable
}

func (f Fault) fails() bool { return f.Mode != ModeNone && f.ErrorRate > 0 }

func (f Fault) modeName() string {
	if f.Mode == ModeNone {
		return "latency"
	}
	return string(f.Mode)
}

// errUnavailable is the message a faulted call carries.
func unavailableMessage(service string) string {
	return fmt.Sprintf("The service %s.googleapis.com is currently unavailable (emulated outage).", service)
}

// IsValidation reports whether err is a bad Spec.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}
