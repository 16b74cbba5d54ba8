package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The states a report row can be in. Anything but stateOK is what an
// outage looks like from that component.
const (
	stateOK          = "ok"
	stateOutage      = "OUTAGE"
	stateDegraded    = "DEGRADED"
	stateBuffering   = "BUFFERING"
	stateStale       = "STALE"
	stateUnreachable = "UNREACHABLE"
)

// reportRow is one component of `hybridctl outage report`: the seed's
// impact table (hybrid-off-the-grid) beside what the running stack shows.
type reportRow struct {
	Component string `json:"component"`
	State     string `json:"state"`
	// Expected is the seed's impact during an outage, abridged.
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	// Since is when the current state began, when the component knows.
	Since *time.Time `json:"since,omitempty"`
}

type outageReport struct {
	At   time.Time   `json:"at"`
	Rows []reportRow `json:"rows"`
}

// seedImpact is the seed's impact table, one line per component, in its
// order.
var seedImpact = map[string]string{
	"controlplane":  "the runtime plane loses apigee, iamcredentials, apigeeconnect, storage, monitoring, logging (googleapis.com)",
	"synchronizer":  "newer configuration fails to download; existing keeps working; probe fails after 5 consecutive errors (CrashLoopBackOff); a restart serves the contract from Cassandra",
	"runtime":       "existing APIs keep serving; new deployments and debug sessions do not arrive; a restart resumes from Cassandra",
	"udca":          "uploads fail; files are buffered, retried after 60s and discarded after 3 retries",
	"mart":          "existing runtime data keeps serving traffic; new data from the control plane cannot be written",
	"connect-agent": "the tether drops, so the control plane cannot reach MART; it reconnects on recovery",
	"watcher":       "newer ingress configuration does not arrive; deployment status in the control plane goes stale",
	"telemetry":     "metrics and logs are not pushed to Cloud Monitoring and Logging (buffered and retried)",
}

// stackReader is what the report reads from the running stack, one
// method per endpoint, so tests can fake each one.
type stackReader interface {
	// Outage is the control plane's outage switch.
	Outage(ctx context.Context) (outageStatus, error)
	// Ready is a component's readiness probe.
	Ready(ctx context.Context, component string) probeResult
	// SynchronizerStatus is GET /v1/synchronizer/status.
	SynchronizerStatus(ctx context.Context) (syncStatus, error)
	// RuntimeStatus is the message processor's GET /v1/runtime/status.
	RuntimeStatus(ctx context.Context) (runtimeStatus, error)
	// WatcherStatus is GET /v1/watcher/status.
	WatcherStatus(ctx context.Context) (watcherStatus, error)
	// TelemetryStatus is the telemetry forwarder's GET /v1/telemetry/status.
	TelemetryStatus(ctx context.Context) (telemetryStatus, error)
	// Metrics are a component's /metrics samples, summed over labels
	// other than the ones named in the key (name{label="value"}).
	Metrics(ctx context.Context, component string) (metricSamples, error)
}

// syncStatus is the synchronizer's status (its Status type).
type syncStatus struct {
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

// runtimeStatus is the message processor's status endpoint.
type runtimeStatus struct {
	Environments map[string]struct {
		ContractVersion string `json:"contractVersion"`
		Deployments     []struct {
			APIProxy string `json:"apiProxy"`
			Revision string `json:"revision"`
			State    string `json:"state"`
		} `json:"deployments"`
	} `json:"environments"`
}

type watcherStatus struct {
	LastReport *time.Time `json:"lastReport"`
}

// telemetryUpstream is one role's view of its upstream.
type telemetryUpstream struct {
	LastSuccess  *time.Time `json:"lastSuccess"`
	FailingSince *time.Time `json:"failingSince"`
	LastError    string     `json:"lastError"`
	Failures     int        `json:"consecutiveFailures"`
}

// telemetryStatus is the forwarder's status (its Status type).
type telemetryStatus struct {
	Metrics *struct {
		Upstream      telemetryUpstream `json:"upstream"`
		QueuedScrapes int               `json:"queuedScrapes"`
		QueuedPoints  int               `json:"queuedPoints"`
	} `json:"metrics"`
	Logging *struct {
		Upstream     telemetryUpstream `json:"upstream"`
		BacklogBytes int64             `json:"backlogBytes"`
	} `json:"logging"`
}

// metricSamples maps `name` and `name{label="value"}` to values.
type metricSamples map[string]float64

// runOutageReport prints each component's observed state against the
// seed's impact table.
func runOutageReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("outage report", flag.ContinueOnError)
	override := fs.String("endpoints", "", "comma-separated name=url pairs replacing or adding to the default endpoints (as hybridctl status)")
	base := fs.String("url", envOr("HYBRID_CONTROLPLANE_URL", ""), "control plane base URL (env HYBRID_CONTROLPLANE_URL; default: the controlplane endpoint)")
	stale := fs.Duration("stale", time.Minute, "a watcher report older than this is stale")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	eps, err := endpoints(*override)
	if err != nil {
		return err
	}
	urls := map[string]string{}
	for _, e := range eps {
		urls[e.name] = strings.TrimSuffix(e.url, "/")
	}
	if *base != "" {
		urls["controlplane"] = strings.TrimSuffix(*base, "/")
	}
	st := &httpStack{client: &http.Client{Timeout: 5 * time.Second}, urls: urls, token: envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token")}
	rep := buildReport(ctx, st, time.Now(), *stale)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printReport(stdout, rep)
}

// buildReport reads every component; one that cannot be read is a row
// saying so, never a failed report (during an outage some will not answer).
func buildReport(ctx context.Context, r stackReader, now time.Time, stale time.Duration) outageReport {
	rep := outageReport{At: now.UTC()}
	row := func(component, state, observed string, since *time.Time) {
		rep.Rows = append(rep.Rows, reportRow{Component: component, State: state, Expected: seedImpact[component], Observed: observed, Since: since})
	}

	// Control plane: the outage switch.
	var outageSince *time.Time
	if st, err := r.Outage(ctx); err != nil {
		row("controlplane", stateUnreachable, err.Error(), nil)
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
			row("controlplane", stateOK, "all upstream services up", nil)
		} else {
			row("controlplane", stateOutage, "faulted: "+strings.Join(down, ", "), outageSince)
		}
	}

	// Synchronizer: the probe, the error streak, the contracts it serves.
	syncVersions := map[string]string{}
	if st, err := r.SynchronizerStatus(ctx); err != nil {
		row("synchronizer", stateUnreachable, err.Error(), nil)
	} else {
		var parts []string
		state := stateOK
		ready := r.Ready(ctx, "synchronizer")
		if !ready.Ready {
			state = stateDegraded
			parts = append(parts, "probe failing: "+ready.Detail)
		}
		if st.ConsecutiveErrors > 0 {
			state = stateDegraded
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
		row("runtime", stateUnreachable, err.Error(), nil)
	} else {
		var parts []string
		state := stateOK
		if ready := r.Ready(ctx, "runtime"); !ready.Ready {
			state = stateDegraded
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
		row("udca", stateUnreachable, err.Error(), nil)
	} else {
		ready, failed := m[`local_file_count{state="READY_TO_UPLOAD"}`], m[`local_file_count{state="FAILED"}`]
		state := stateOK
		if ready+failed > 0 {
			state = stateBuffering
		}
		row("udca", state, fmt.Sprintf("%g files buffered (READY_TO_UPLOAD, including retries), %g FAILED, %g upload errors, %g discarded, %g uploaded",
			ready, failed, m["upstream_http_error_count"], m["discarded_file_count"], m[`local_file_count{state="UPLOADED"}`]), nil)
	}

	// MART: it reads Cassandra, so it stays up.
	if ready := r.Ready(ctx, "mart"); ready.Detail == "unreachable" {
		row("mart", stateUnreachable, "unreachable", nil)
	} else if !ready.Ready {
		row("mart", stateDegraded, "not ready: "+ready.Detail, nil)
	} else {
		row("mart", stateOK, "ready (serves runtime data from Cassandra)", nil)
	}

	// Connect agent: the tether.
	if m, err := r.Metrics(ctx, "connect-agent"); err != nil {
		row("connect-agent", stateUnreachable, err.Error(), nil)
	} else {
		open := m["connect_agent_open_streams"]
		state, what := stateOK, "tether up"
		if open == 0 {
			state, what = stateDegraded, "tether down"
		}
		row("connect-agent", state, fmt.Sprintf("%s: %g open streams, %g stream errors", what, open, m["connect_agent_stream_errors_total"]), nil)
	}

	// Watcher: the last report the control plane accepted.
	if st, err := r.WatcherStatus(ctx); err != nil {
		row("watcher", stateUnreachable, err.Error(), nil)
	} else if st.LastReport == nil {
		row("watcher", stateStale, "no deployment status report accepted yet", nil)
	} else {
		last := st.LastReport.UTC()
		state := stateOK
		// No report accepted since the outage began, or none for a
		// while: the control plane's deployment status is what it was.
		if (outageSince != nil && last.Before(*outageSince)) || now.Sub(last) > stale {
			state = stateStale
		}
		row("watcher", state, "last deployment status report accepted "+ago(now, last), &last)
	}

	// Telemetry: what the forwarder holds back from Cloud Monitoring and
	// Cloud Logging.
	if st, err := r.TelemetryStatus(ctx); err != nil {
		row("telemetry", stateUnreachable, err.Error(), nil)
	} else {
		state, parts := stateOK, []string{}
		var since *time.Time
		failing := func(up telemetryUpstream) {
			if up.FailingSince != nil {
				state = stateBuffering
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

func printReport(w io.Writer, rep outageReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tSTATE\tEXPECTED DURING AN OUTAGE (seed)\tOBSERVED\tSINCE")
	for _, r := range rep.Rows {
		since := "-"
		if r.Since != nil {
			since = r.Since.UTC().Format(time.RFC3339) + " (" + ago(rep.At, *r.Since) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Component, r.State, r.Expected, r.Observed, since)
	}
	return tw.Flush()
}

func ago(now, t time.Time) string {
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

// httpStack reads the running stack over HTTP, at the addresses
// `hybridctl status` uses.
type httpStack struct {
	client *http.Client
	urls   map[string]string // component → base URL
	token  string            // for the outage switch
}

func (s *httpStack) Outage(ctx context.Context) (outageStatus, error) {
	return callOutage(ctx, http.MethodGet, s.urls["controlplane"]+outagePath, s.token, nil)
}

func (s *httpStack) Ready(ctx context.Context, component string) probeResult {
	return probe(ctx, s.client, endpoint{component, s.urls[component]})
}

func (s *httpStack) SynchronizerStatus(ctx context.Context) (syncStatus, error) {
	var st syncStatus
	return st, s.getJSON(ctx, "synchronizer", "/v1/synchronizer/status", &st)
}

func (s *httpStack) RuntimeStatus(ctx context.Context) (runtimeStatus, error) {
	var st runtimeStatus
	return st, s.getJSON(ctx, "runtime", "/v1/runtime/status", &st)
}

func (s *httpStack) WatcherStatus(ctx context.Context) (watcherStatus, error) {
	var st watcherStatus
	return st, s.getJSON(ctx, "watcher", "/v1/watcher/status", &st)
}

func (s *httpStack) TelemetryStatus(ctx context.Context) (telemetryStatus, error) {
	var st telemetryStatus
	return st, s.getJSON(ctx, "telemetry", "/v1/telemetry/status", &st)
}

func (s *httpStack) Metrics(ctx context.Context, component string) (metricSamples, error) {
	body, err := s.get(ctx, component, "/metrics")
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return parseMetrics(body)
}

func (s *httpStack) getJSON(ctx context.Context, component, path string, v any) error {
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

func (s *httpStack) get(ctx context.Context, component, path string) (io.ReadCloser, error) {
	base, ok := s.urls[component]
	if !ok || base == "" {
		return nil, fmt.Errorf("no address for %s", component)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := s.client.Do(req)
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

// parseMetrics reads the Prometheus text format enough for the report:
// each sample under its full key, and under its bare name summed over
// its labels.
func parseMetrics(r io.Reader) (metricSamples, error) {
	out := metricSamples{}
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
