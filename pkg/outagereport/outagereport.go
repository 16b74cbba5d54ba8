// Package outagereport compares what the running runtime plane shows
// with the seed's impact table ("Hybrid off the Grid"), component by
// component: the control plane's outage switch, the synchronizer's error
// streak and contracts, the message processor's contracts, UDCA's
// buffered files, MART, the Connect tether, the watcher's last report
// and the telemetry forwarder's backlog. hybridctl outage report prints
// it; the control plane serves it to the web console.
package outagereport

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OutageService is one upstream service's state on the outage switch
// (GET /v1/emulator/outage).
type OutageService struct {
	Service   string  `json:"service"`
	Active    bool    `json:"active"`
	Scope     string  `json:"scope,omitempty"`
	Mode      string  `json:"mode,omitempty"`
	Latency   string  `json:"latency,omitempty"`
	ErrorRate float64 `json:"errorRate,omitempty"`
	Since     string  `json:"since,omitempty"`
}

// OutageStatus is the outage switch's answer.
type OutageStatus struct {
	Services []OutageService `json:"services"`
}

// ProbeResult is a readiness probe's outcome.
type ProbeResult struct {
	Ready  bool   `json:"ready"`
	Status int    `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Probe asks base's readiness probe (GET /v1/probes/ready); Detail is
// "unreachable" when nothing answers, else the probe's failure messages.
func Probe(ctx context.Context, client *http.Client, base string) ProbeResult {
	var r ProbeResult
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/v1/probes/ready", nil)
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Detail = "unreachable"
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	r.Ready = resp.StatusCode == http.StatusOK
	if !r.Ready {
		var body struct {
			Status   string   `json:"status"`
			Failures []string `json:"failureMessages"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(data, &body) == nil && (body.Status != "" || len(body.Failures) > 0) {
			r.Detail = strings.TrimSpace(body.Status + ": " + strings.Join(body.Failures, "; "))
		} else {
			r.Detail = resp.Status
		}
	}
	return r
}

// The states a report row can be in. Anything but StateOK is what an
// outage looks like from that component.
const (
	StateOK          = "ok"
	StateOutage      = "OUTAGE"
	StateDegraded    = "DEGRADED"
	StateBuffering   = "BUFFERING"
	StateStale       = "STALE"
	StateUnreachable = "UNREACHABLE"
)

// Row is one component of `hybridctl outage report`: the seed's
// impact table (hybrid-off-the-grid) beside what the running stack shows.
type Row struct {
	Component string `json:"component"`
	State     string `json:"state"`
	// Expected is the seed's impact during an outage, abridged.
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	// Since is when the current state began, when the component knows.
	Since *time.Time `json:"since,omitempty"`
}

type Report struct {
	At   time.Time `json:"at"`
	Rows []Row     `json:"rows"`
}

// SeedImpact is the seed's impact table, one line per component, in its
// order.
var SeedImpact = map[string]string{
	"controlplane":  "the runtime plane loses apigee, iamcredentials, apigeeconnect, storage, monitoring, logging (googleapis.com)",
	"synchronizer":  "newer configuration fails to download; existing keeps working; probe fails after 5 consecutive errors (CrashLoopBackOff); a restart serves the contract from Cassandra",
	"runtime":       "existing APIs keep serving; new deployments and debug sessions do not arrive; a restart resumes from Cassandra",
	"udca":          "uploads fail; files are buffered, retried after 60s and discarded after 3 retries",
	"mart":          "existing runtime data keeps serving traffic; new data from the control plane cannot be written",
	"connect-agent": "the tether drops, so the control plane cannot reach MART; it reconnects on recovery",
	"watcher":       "newer ingress configuration does not arrive; deployment status in the control plane goes stale",
	"telemetry":     "metrics and logs are not pushed to Cloud Monitoring and Logging (buffered and retried)",
}

// Reader is what the report reads from the running stack, one
// method per endpoint, so tests can fake each one.
type Reader interface {
	// Outage is the control plane's outage switch.
	Outage(ctx context.Context) (OutageStatus, error)
	// Ready is a component's readiness probe.
	Ready(ctx context.Context, component string) ProbeResult
	// SynchronizerStatus is GET /v1/synchronizer/status.
	SynchronizerStatus(ctx context.Context) (SyncStatus, error)
	// RuntimeStatus is the message processor's GET /v1/runtime/status.
	RuntimeStatus(ctx context.Context) (RuntimeStatus, error)
	// WatcherStatus is GET /v1/watcher/status.
	WatcherStatus(ctx context.Context) (WatcherStatus, error)
	// TelemetryStatus is the telemetry forwarder's GET /v1/telemetry/status.
	TelemetryStatus(ctx context.Context) (TelemetryStatus, error)
	// Metrics are a component's /metrics samples, summed over labels
	// other than the ones named in the key (name{label="value"}).
	Metrics(ctx context.Context, component string) (MetricSamples, error)
}

// SyncStatus is the synchronizer's status (its Status type).
type SyncStatus struct {
	Healthy               bool       `json:"healthy"`
	ConsecutiveErrors     int64      `json:"consecutiveErrors"`
	MaxControlPlaneErrors int        `json:"maxControlPlaneErrors"`
	FailingSince          *time.Time `json:"failingSince"`
	LastError             string     `json:"lastError"`
	Environments          map[string]struct {
		Version string     `json:"version"`
		Source  string     `json:"source"`
		Since   *time.Time `json:"since"`
	} `json:"environments"`
}

// RuntimeStatus is the message processor's status endpoint.
type RuntimeStatus struct {
	Environments map[string]struct {
		ContractVersion string `json:"contractVersion"`
		Deployments     []struct {
			APIProxy string `json:"apiProxy"`
			Revision string `json:"revision"`
			State    string `json:"state"`
		} `json:"deployments"`
	} `json:"environments"`
}

type WatcherStatus struct {
	LastReport *time.Time `json:"lastReport"`
}

// TelemetryUpstream is one role's view of its upstream.
type TelemetryUpstream struct {
	LastSuccess  *time.Time `json:"lastSuccess"`
	FailingSince *time.Time `json:"failingSince"`
	LastError    string     `json:"lastError"`
	Failures     int        `json:"consecutiveFailures"`
}

// TelemetryStatus is the forwarder's status (its Status type).
type TelemetryStatus struct {
	Metrics *struct {
		Upstream      TelemetryUpstream `json:"upstream"`
		QueuedScrapes int               `json:"queuedScrapes"`
		QueuedPoints  int               `json:"queuedPoints"`
	} `json:"metrics"`
	Logging *struct {
		Upstream     TelemetryUpstream `json:"upstream"`
		BacklogBytes int64             `json:"backlogBytes"`
	} `json:"logging"`
}

// MetricSamples maps `name` and `name{label="value"}` to values.
type MetricSamples map[string]float64

// Build reads every component; one that cannot be read is a row
// saying so, never a failed report (during an outage some will not answer).
func Build(ctx context.Context, r Reader, now time.Time, stale time.Duration) Report {
	rep := Report{At: now.UTC()}
	row := func(component, state, observed string, since *time.Time) {
		rep.Rows = append(rep.Rows, Row{Component: component, State: state, Expected: SeedImpact[component], Observed: observed, Since: since})
	}

	// Control plane: the outage switch.
	var outageSince *time.Time
	if st, err := r.Outage(ctx); err != nil {
		row("controlplane", StateUnreachable, err.Error(), nil)
	} else {
		var down []string
		for _, s := range st.Services {
			if !s.Active {
				continue
			}
			down = append(down, s.Service+" ("+firstNonEmpty(s.Mode, "latency "+s.Latency)+")")
			if t, err := time.Parse(time.RFC3339Nano, s.Since); err == nil && (outageSince == nil || t.Before(*outageSince)) {
				outageSince = &t
			}
		}
		if len(down) == 0 {
			row("controlplane", StateOK, "all upstream services up", nil)
		} else {
			row("controlplane", StateOutage, "faulted: "+strings.Join(down, ", "), outageSince)
		}
	}

	// Synchronizer: the probe, the error streak, the contracts it serves.
	syncVersions := map[string]string{}
	if st, err := r.SynchronizerStatus(ctx); err != nil {
		row("synchronizer", StateUnreachable, err.Error(), nil)
	} else {
		var parts []string
		state := StateOK
		ready := r.Ready(ctx, "synchronizer")
		if !ready.Ready {
			state = StateDegraded
			parts = append(parts, "probe failing: "+ready.Detail)
		}
		if st.ConsecutiveErrors > 0 {
			state = StateDegraded
			parts = append(parts, fmt.Sprintf("%d consecutive control plane errors (probe fails after %d)", st.ConsecutiveErrors, st.MaxControlPlaneErrors))
		}
		for _, env := range sortedKeys(st.Environments) {
			e := st.Environments[env]
			syncVersions[env] = e.Version
			if e.Version == "" {
				parts = append(parts, env+": no contract")
				continue
			}
			parts = append(parts, fmt.Sprintf("serving %s@%s (from %s)", env, e.Version, e.Source))
		}
		row("synchronizer", state, strings.Join(parts, "; "), st.FailingSince)
	}

	// Message processor: contracts loaded and readiness.
	if st, err := r.RuntimeStatus(ctx); err != nil {
		row("runtime", StateUnreachable, err.Error(), nil)
	} else {
		var parts []string
		state := StateOK
		if ready := r.Ready(ctx, "runtime"); !ready.Ready {
			state = StateDegraded
			parts = append(parts, "not ready: "+ready.Detail)
		}
		for _, env := range sortedKeys(st.Environments) {
			e := st.Environments[env]
			ok := 0
			for _, d := range e.Deployments {
				if d.State == "READY" {
					ok++
				}
			}
			p := fmt.Sprintf("%s@%s loaded, %d/%d deployments READY", env, e.ContractVersion, ok, len(e.Deployments))
			if v := syncVersions[env]; v != "" && v != e.ContractVersion {
				p += " (synchronizer serves " + v + ")"
			}
			parts = append(parts, p)
		}
		if len(st.Environments) == 0 {
			parts = append(parts, "no contract loaded (traffic answers 503)")
		}
		row("runtime", state, strings.Join(parts, "; "), nil)
	}

	// UDCA: what is buffered.
	if m, err := r.Metrics(ctx, "udca"); err != nil {
		row("udca", StateUnreachable, err.Error(), nil)
	} else {
		ready, failed := m[`local_file_count{state="READY_TO_UPLOAD"}`], m[`local_file_count{state="FAILED"}`]
		state := StateOK
		if ready+failed > 0 {
			state = StateBuffering
		}
		row("udca", state, fmt.Sprintf("%g files buffered (READY_TO_UPLOAD, including retries), %g FAILED, %g upload errors, %g discarded, %g uploaded",
			ready, failed, m["upstream_http_error_count"], m["discarded_file_count"], m[`local_file_count{state="UPLOADED"}`]), nil)
	}

	// MART: it reads Cassandra, so it stays up.
	if ready := r.Ready(ctx, "mart"); ready.Detail == "unreachable" {
		row("mart", StateUnreachable, "unreachable", nil)
	} else if !ready.Ready {
		row("mart", StateDegraded, "not ready: "+ready.Detail, nil)
	} else {
		row("mart", StateOK, "ready (serves runtime data from Cassandra)", nil)
	}

	// Connect agent: the tether.
	if m, err := r.Metrics(ctx, "connect-agent"); err != nil {
		row("connect-agent", StateUnreachable, err.Error(), nil)
	} else {
		open := m["connect_agent_open_streams"]
		state, what := StateOK, "tether up"
		if open == 0 {
			state, what = StateDegraded, "tether down"
		}
		row("connect-agent", state, fmt.Sprintf("%s: %g open streams, %g stream errors", what, open, m["connect_agent_stream_errors_total"]), nil)
	}

	// Watcher: the last report the control plane accepted.
	if st, err := r.WatcherStatus(ctx); err != nil {
		row("watcher", StateUnreachable, err.Error(), nil)
	} else if st.LastReport == nil {
		row("watcher", StateStale, "no deployment status report accepted yet", nil)
	} else {
		last := st.LastReport.UTC()
		state := StateOK
		// No report accepted since the outage began, or none for a
		// while: the control plane's deployment status is what it was.
		if (outageSince != nil && last.Before(*outageSince)) || now.Sub(last) > stale {
			state = StateStale
		}
		row("watcher", state, "last deployment status report accepted "+Ago(now, last), &last)
	}

	// Telemetry: what the forwarder holds back from Cloud Monitoring and
	// Cloud Logging.
	if st, err := r.TelemetryStatus(ctx); err != nil {
		row("telemetry", StateUnreachable, err.Error(), nil)
	} else {
		state, parts := StateOK, []string{}
		var since *time.Time
		failing := func(up TelemetryUpstream) {
			if up.FailingSince != nil {
				state = StateBuffering
				if since == nil || up.FailingSince.Before(*since) {
					since = up.FailingSince
				}
			}
		}
		if m := st.Metrics; m != nil {
			failing(m.Upstream)
			parts = append(parts, fmt.Sprintf("metrics: %d scrapes (%d points) queued for Cloud Monitoring", m.QueuedScrapes, m.QueuedPoints))
		}
		if l := st.Logging; l != nil {
			failing(l.Upstream)
			parts = append(parts, fmt.Sprintf("logs: %d bytes not yet in Cloud Logging", l.BacklogBytes))
		}
		if len(parts) == 0 {
			parts = append(parts, "both roles switched off")
		}
		row("telemetry", state, strings.Join(parts, "; "), since)
	}
	return rep
}

// Ago says how long before now t was, in whole seconds.
func Ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// HTTPReader reads the running stack over HTTP.
type HTTPReader struct {
	Client *http.Client
	// URLs maps each component (synchronizer, runtime, udca, mart,
	// connect-agent, watcher, telemetry) to its base URL.
	URLs map[string]string
	// OutageStatus reads the control plane's outage switch (over HTTP
	// with a token in hybridctl, in-process in the control plane).
	OutageStatus func(ctx context.Context) (OutageStatus, error)
}

// Outage implements Reader.
func (s *HTTPReader) Outage(ctx context.Context) (OutageStatus, error) { return s.OutageStatus(ctx) }

// Ready implements Reader.
func (s *HTTPReader) Ready(ctx context.Context, component string) ProbeResult {
	base := s.URLs[component]
	if base == "" {
		return ProbeResult{Detail: "unreachable"}
	}
	return Probe(ctx, s.Client, base)
}

func (s *HTTPReader) SynchronizerStatus(ctx context.Context) (SyncStatus, error) {
	var st SyncStatus
	return st, s.getJSON(ctx, "synchronizer", "/v1/synchronizer/status", &st)
}

func (s *HTTPReader) RuntimeStatus(ctx context.Context) (RuntimeStatus, error) {
	var st RuntimeStatus
	return st, s.getJSON(ctx, "runtime", "/v1/runtime/status", &st)
}

func (s *HTTPReader) WatcherStatus(ctx context.Context) (WatcherStatus, error) {
	var st WatcherStatus
	return st, s.getJSON(ctx, "watcher", "/v1/watcher/status", &st)
}

func (s *HTTPReader) TelemetryStatus(ctx context.Context) (TelemetryStatus, error) {
	var st TelemetryStatus
	return st, s.getJSON(ctx, "telemetry", "/v1/telemetry/status", &st)
}

func (s *HTTPReader) Metrics(ctx context.Context, component string) (MetricSamples, error) {
	body, err := s.get(ctx, component, "/metrics")
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return ParseMetrics(body)
}

func (s *HTTPReader) getJSON(ctx context.Context, component, path string, v any) error {
	body, err := s.get(ctx, component, path)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s %s: %w", component, path, err)
	}
	return nil
}

func (s *HTTPReader) get(ctx context.Context, component, path string) (io.ReadCloser, error) {
	base, ok := s.URLs[component]
	if !ok || base == "" {
		return nil, fmt.Errorf("no address for %s", component)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := s.Client.Do(req)
	if err != nil {
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%s: timed out", component)
		}
		return nil, fmt.Errorf("%s unreachable: %w", component, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("%s %s: %s", component, path, res.Status)
	}
	return res.Body, nil
}

// ParseMetrics reads the Prometheus text format enough for the report:
// each sample under its full key, and under its bare name summed over
// its labels.
func ParseMetrics(r io.Reader) (MetricSamples, error) {
	out := MetricSamples{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		key, val := line[:i], line[i+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		out[key] += v
		if name, _, ok := strings.Cut(key, "{"); ok {
			out[name] += v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}
