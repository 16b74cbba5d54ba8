package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// defaultEndpoints are the documented local ports (README, docs/ARCHITECTURE.md).
var defaultEndpoints = []endpoint{
	{"controlplane", "http://127.0.0.1:8080"},
	{"synchronizer", "http://127.0.0.1:8844"},
	{"runtime", "http://127.0.0.1:8843"},
	{"mart", "http://127.0.0.1:8845"},
	{"udca", "http://127.0.0.1:8846"},
	{"watcher", "http://127.0.0.1:8847"},
	{"connect-agent", "http://127.0.0.1:7070"},
}

type endpoint struct{ name, url string }

type probeResult struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Ready  bool   `json:"ready"`
	Status int    `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func runStatus(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	override := fs.String("endpoints", "", "comma-separated name=url pairs replacing or adding to the default endpoints")
	wait := fs.Duration("wait", 0, "keep checking until all are ready or this much time has passed")
	asJSON := fs.Bool("json", false, "print JSON")
	// In a container image HYBRID_SERVICE names the image's own service,
	// so the image's HEALTHCHECK is a bare `hybridctl status`.
	only := fs.String("only", os.Getenv("HYBRID_SERVICE"), "comma-separated service names to check (default: $HYBRID_SERVICE, else all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	eps, err := endpoints(*override)
	if err != nil {
		return err
	}
	if *only != "" {
		eps, err = selectEndpoints(eps, splitList(*only))
		if err != nil {
			return err
		}
	}
	deadline := time.Now().Add(*wait)
	var results []probeResult
	for {
		results = probeAll(ctx, eps)
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
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVICE\tURL\tREADY\tDETAIL")
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", r.Name, r.URL, r.Ready, r.Detail)
		}
		tw.Flush()
	}
	if !allReady(results) {
		return errNotReady
	}
	return nil
}

func endpoints(override string) ([]endpoint, error) {
	byName := map[string]string{}
	for _, e := range defaultEndpoints {
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
	for _, e := range defaultEndpoints {
		out = append(out, endpoint{e.name, byName[e.name]})
		delete(byName, e.name)
	}
	extra := make([]string, 0, len(byName))
	for name := range byName {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	for _, name := range extra {
		out = append(out, endpoint{name, byName[name]})
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(e.url, "/")+"/v1/probes/ready", nil)
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

func allReady(rs []probeResult) bool {
	for _, r := range rs {
		if !r.Ready {
			return false
		}
	}
	return len(rs) > 0
}
