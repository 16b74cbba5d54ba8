package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// proxyStats is one row of `hybridctl stats`.
type proxyStats struct {
	Proxy  string  `json:"proxy"`
	Calls  float64 `json:"calls"`
	Errors float64 `json:"errors"`
	P50Ms  float64 `json:"p50Ms"`
	P95Ms  float64 `json:"p95Ms"`
}

// statsSelect is what `hybridctl stats` asks the stats API for, in the
// order of proxyStats's numbers.
const statsSelect = "sum(message_count),sum(is_error),p50(total_response_time),p95(total_response_time)"

// runStats prints the last N minutes of traffic per API proxy from the
// control plane's stats API (GET …/environments/{env}/stats/apiproxy), so
// a person at a terminal sees their traffic without composing the URL.
func runStats(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	base := fs.String("url", envOr("HYBRID_CONTROLPLANE_URL", "http://127.0.0.1:8080"), "control plane base URL (env HYBRID_CONTROLPLANE_URL)")
	org := fs.String("org", envOr("HYBRID_ORG", "hybrid"), "organization (env HYBRID_ORG)")
	env := fs.String("env", envOr("HYBRID_ENV", "test"), "environment (env HYBRID_ENV)")
	minutes := fs.Int("minutes", 15, "how many minutes back to look")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *minutes < 1 {
		return errors.New("--minutes must be at least 1")
	}
	// The token is a secret: from the environment only, like the services'.
	token := envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token")
	rows, err := fetchStats(ctx, *base, token, *org, *env, time.Now().UTC(), *minutes)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "PROXY\tCALLS\tERRORS\tP50 ms\tP95 ms\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t\n", r.Proxy, r.Calls, r.Errors, r.P50Ms, r.P95Ms)
	}
	if len(rows) == 0 {
		fmt.Fprintf(tw, "(no traffic in the last %d minutes of %s/%s)\t\t\t\t\t\n", *minutes, *org, *env)
	}
	return tw.Flush()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// fetchStats asks the stats API for the minutes before now, by proxy,
// busiest first.
func fetchStats(ctx context.Context, base, token, org, env string, now time.Time, minutes int) ([]proxyStats, error) {
	const layout = "01/02/2006 15:04"
	from := now.Add(-time.Duration(minutes) * time.Minute).Truncate(time.Minute)
	to := now.Add(time.Minute).Truncate(time.Minute)
	q := url.Values{"select": {statsSelect}, "timeRange": {from.Format(layout) + "~" + to.Format(layout)},
		"sortby": {"sum(message_count)"}, "sort": {"DESC"}}
	u := strings.TrimSuffix(base, "/") + "/v1/organizations/" + url.PathEscape(org) + "/environments/" + url.PathEscape(env) + "/stats/apiproxy?" + q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stats API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("stats API: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stats API: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var out struct {
		Environments []struct {
			Dimensions []struct {
				Name    string `json:"name"`
				Metrics []struct {
					Name   string `json:"name"`
					Values []any  `json:"values"`
				} `json:"metrics"`
			} `json:"dimensions"`
		} `json:"environments"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("stats API: decode: %w", err)
	}
	rows := []proxyStats{}
	for _, e := range out.Environments {
		for _, d := range e.Dimensions {
			r := proxyStats{Proxy: d.Name}
			for _, m := range d.Metrics {
				v := 0.0
				if len(m.Values) > 0 {
					if s, ok := m.Values[0].(string); ok {
						v, _ = strconv.ParseFloat(s, 64)
					}
				}
				switch m.Name {
				case "sum(message_count)":
					r.Calls = v
				case "sum(is_error)":
					r.Errors = v
				case "p50(total_response_time)":
					r.P50Ms = v
				case "p95(total_response_time)":
					r.P95Ms = v
				}
			}
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Calls > rows[j].Calls })
	return rows, nil
}
