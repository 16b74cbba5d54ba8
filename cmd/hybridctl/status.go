package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/outagereport"
)

// defaultEndpoints are the documented local ports (README, docs/ARCHITECTURE.md).
var defaultEndpoints = []endpoint{
	{name: "controlplane", url: "http://127.0.0.1:8080"},
	{name: "synchronizer", url: "http://127.0.0.1:8844"},
	{name: "runtime", url: "http://127.0.0.1:8843"},
	{name: "mart", url: "http://127.0.0.1:8845"},
	{name: "udca", url: "http://127.0.0.1:8846"},
	{name: "watcher", url: "http://127.0.0.1:8847"},
	{name: "connect-agent", url: "http://127.0.0.1:7070"},
	{name: "telemetry", url: "http://127.0.0.1:8849"},
}

// endpoint is one process to probe: an http(s) URL (its readiness probe)
// or tcp://host:port (a listener, e.g. a Cassandra node).
type endpoint struct{ name, url string }

type probeResult struct {
	Instance string `json:"instance,omitempty"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	Ready    bool   `json:"ready"`
	Status   int    `json:"status,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// layoutFile is where scripts/up.sh lists the processes of a multi-instance
// layout (make up REGIONS=2): $HYBRID_RUN_DIR/layout, else .run/layout.
func layoutFile() string {
	if run := os.Getenv("HYBRID_RUN_DIR"); run != "" {
		return filepath.Join(run, "layout")
	}
	return filepath.Join(".run", "layout")
}

// readLayout reads a layout file: one "instance service url" line per
// process ("-" as the instance of org-wide ones), # comments. It returns
// the processes and the instance of each (by name; names are unique).
func readLayout(path string) ([]endpoint, map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var out []endpoint
	instances := map[string]string{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, nil, fmt.Errorf("%s:%d: want \"instance service url\"", path, n+1)
		}
		if _, dup := instances[f[1]]; dup {
			return nil, nil, fmt.Errorf("%s:%d: service %s listed twice", path, n+1, f[1])
		}
		if f[0] == "-" {
			f[0] = ""
		}
		out = append(out, endpoint{name: f[1], url: f[2]})
		instances[f[1]] = f[0]
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s: no processes", path)
	}
	return out, instances, nil
}

func runStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	override := fs.String("endpoints", "", "comma-separated name=url pairs replacing or adding to the default endpoints")
	wait := fs.Duration("wait", 0, "keep checking until all are ready or this much time has passed")
	asJSON := fs.Bool("json", false, "print JSON")
	// In a container image HYBRID_SERVICE names the image's own service,
	// so the image's HEALTHCHECK is a bare `hybridctl status`.
	only := fs.String("only", os.Getenv("HYBRID_SERVICE"), "comma-separated service names to check (default: $HYBRID_SERVICE, else all)")
	layout := fs.String("layout", "", "file listing every process of every instance (\"instance service url\" lines; default: $HYBRID_RUN_DIR/layout or .run/layout when it exists and --endpoints is not given; make up REGIONS=2 writes it)")
	instance := fs.String("instance", "", "comma-separated instances whose processes to check (with a layout; org-wide processes are kept)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, instanceOf := defaultEndpoints, map[string]string{}
	path := *layout
	if path == "" && *override == "" {
		if _, err := os.Stat(layoutFile()); err == nil {
			path = layoutFile()
		}
	}
	if path != "" {
		var err error
		if base, instanceOf, err = readLayout(path); err != nil {
			return fmt.Errorf("status: layout: %w", err)
		}
	}
	eps, err := endpointsFrom(base, *override)
	if err != nil {
		return err
	}
	if *only != "" {
		eps, err = selectEndpoints(eps, splitList(*only))
		if err != nil {
			return err
		}
	}
	if *instance != "" {
		eps = selectInstances(eps, instanceOf, splitList(*instance))
	}
	deadline := time.Now().Add(*wait)
	var results []probeResult
	for {
		results = probeAll(ctx, eps)
		for i := range results {
			results[i].Instance = instanceOf[results[i].Name]
		}
		if allReady(results) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		// Rows are aligned first and coloured after: escape codes would
		// count as width in the tabwriter.
		var table bytes.Buffer
		tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
		byInstance := false
		for _, r := range results {
			byInstance = byInstance || r.Instance != ""
		}
		if byInstance {
			fmt.Fprintln(tw, "INSTANCE\tSERVICE\tURL\tREADY\tDETAIL")
		} else {
			fmt.Fprintln(tw, "SERVICE\tURL\tREADY\tDETAIL")
		}
		for _, r := range results {
			if byInstance {
				inst := r.Instance
				if inst == "" {
					inst = "-"
				}
				fmt.Fprintf(tw, "%s\t", inst)
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", r.Name, r.URL, r.Ready, r.Detail)
		}
		tw.Flush()
		colour := useColour(stdout)
		lines := strings.SplitAfter(table.String(), "\n")
		for i, line := range lines {
			switch {
			case line == "":
			case i == 0:
				line = paint(colour, bold, strings.TrimSuffix(line, "\n")) + "\n"
			case results[i-1].Ready:
				line = paint(colour, green, strings.TrimSuffix(line, "\n")) + "\n"
			default:
				line = paint(colour, red, strings.TrimSuffix(line, "\n")) + "\n"
			}
			if _, err := io.WriteString(stdout, line); err != nil {
				return err
			}
		}
	}
	if !allReady(results) {
		return errNotReady
	}
	return nil
}

// endpoints are the default endpoints with --endpoints overrides applied.
func endpoints(override string) ([]endpoint, error) { return endpointsFrom(defaultEndpoints, override) }

// endpointsFrom applies --endpoints overrides (name=url) to base.
func endpointsFrom(base []endpoint, override string) ([]endpoint, error) {
	byName := map[string]string{}
	for _, e := range base {
		byName[e.name] = e.url
	}
	if override != "" {
		for _, pair := range strings.Split(override, ",") {
			name, url, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || name == "" || url == "" {
				return nil, fmt.Errorf("--endpoints: %q is not name=url", pair)
			}
			byName[name] = url
		}
	}
	var out []endpoint
	for _, e := range base {
		out = append(out, endpoint{name: e.name, url: byName[e.name]})
		delete(byName, e.name)
	}
	extra := make([]string, 0, len(byName))
	for name := range byName {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	for _, name := range extra {
		out = append(out, endpoint{name: name, url: byName[name]})
	}
	return out, nil
}

func selectEndpoints(eps []endpoint, names []string) ([]endpoint, error) {
	var out []endpoint
	for _, n := range names {
		found := false
		for _, e := range eps {
			if e.name == n {
				out, found = append(out, e), true
			}
		}
		if !found {
			return nil, fmt.Errorf("--only: unknown service %q", n)
		}
	}
	return out, nil
}

// selectInstances keeps the processes of the named instances and the
// org-wide ones.
func selectInstances(eps []endpoint, instanceOf map[string]string, names []string) []endpoint {
	var out []endpoint
	for _, e := range eps {
		if inst := instanceOf[e.name]; inst == "" || slices.Contains(names, inst) {
			out = append(out, e)
		}
	}
	return out
}

func probeAll(ctx context.Context, eps []endpoint) []probeResult {
	client := &http.Client{Timeout: 3 * time.Second}
	out := make([]probeResult, len(eps))
	done := make(chan struct{}, len(eps))
	for i, e := range eps {
		go func() {
			out[i] = probe(ctx, client, e)
			done <- struct{}{}
		}()
	}
	for range eps {
		<-done
	}
	return out
}

func probe(ctx context.Context, client *http.Client, e endpoint) probeResult {
	r := probeResult{Name: e.name, URL: e.url}
	if addr, ok := strings.CutPrefix(e.url, "tcp://"); ok {
		var d net.Dialer
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			r.Detail = "unreachable"
			return r
		}
		conn.Close()
		r.Ready = true
		return r
	}
	p := outagereport.Probe(ctx, client, e.url)
	r.Ready, r.Status, r.Detail = p.Ready, p.Status, p.Detail
	return r
}

func allReady(rs []probeResult) bool {
	for _, r := range rs {
		if !r.Ready {
			return false
		}
	}
	return len(rs) > 0
}
