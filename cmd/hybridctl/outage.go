package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/outagereport"
)

// outagePath is the mock control plane's outage switch (emulator only).
const outagePath = "/v1/emulator/outage"

// outageService is one row of the switch's status.
// outageStatus is the outage switch's answer (GET /v1/emulator/outage),
// as the report reads it.
type outageStatus = outagereport.OutageStatus

// multiFlag collects a repeated flag (--service a --service b or a,b).
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*m = append(*m, s)
		}
	}
	return nil
}

// runOutage drives the control plane's fault switch, so a person can
// watch the runtime plane go "off the grid" (the seed's impact table)
// and come back: start, stop, status, and report (outage_report.go).
func runOutage(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: hybridctl outage start|stop|status|report [flags]")
	}
	sub := args[0]
	if sub == "report" {
		return runOutageReport(ctx, args[1:], stdout)
	}
	fs := flag.NewFlagSet("outage "+sub, flag.ContinueOnError)
	base := fs.String("url", envOr("HYBRID_CONTROLPLANE_URL", "http://127.0.0.1:8080"), "control plane base URL (env HYBRID_CONTROLPLANE_URL)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	var services multiFlag
	var latency time.Duration
	var rate float64
	var mode, scope string
	switch sub {
	case "start":
		fs.Var(&services, "service", "service to take down, repeatable: apigee, iamcredentials (oauth2, iam), apigeeconnect, storage, monitoring, logging (default all)")
		fs.DurationVar(&latency, "latency", 0, "latency added to every call (e.g. 2s)")
		fs.Float64Var(&rate, "error-rate", -1, "probability 0-1 that a call fails (default 1 unless only --latency is given)")
		fs.StringVar(&mode, "mode", "", "how calls fail: unavailable (503 / gRPC UNAVAILABLE) or reset (connection reset)")
		fs.StringVar(&scope, "scope", "", "who is cut off: all (default) or runtime (the runtime plane only; you keep the management API, so deploys made during the outage go live after it)")
	case "stop":
		fs.Var(&services, "service", "service to restore, repeatable (default all)")
	case "status":
	default:
		return fmt.Errorf("unknown subcommand %q: start, stop, status or report", sub)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	token := envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token")
	var (
		st  outageStatus
		err error
	)
	switch sub {
	case "start":
		if latency < 0 {
			return errors.New("--latency must not be negative")
		}
		spec := map[string]any{}
		if len(services) > 0 {
			spec["services"] = []string(services)
		}
		if mode != "" {
			spec["mode"] = mode
		}
		if scope != "" {
			spec["scope"] = scope
		}
		if latency > 0 {
			spec["latency"] = latency.String()
		}
		if rate != -1 {
			if rate < 0 || rate > 1 {
				return errors.New("--error-rate must be between 0 and 1")
			}
			spec["errorRate"] = rate
		}
		st, err = callOutage(ctx, http.MethodPost, *base+outagePath, token, spec)
	case "stop":
		q := url.Values{"service": services}
		target := *base + outagePath
		if len(services) > 0 {
			target += "?" + q.Encode()
		}
		st, err = callOutage(ctx, http.MethodDelete, target, token, nil)
	default:
		st, err = callOutage(ctx, http.MethodGet, *base+outagePath, token, nil)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printOutage(stdout, st)
}

func printOutage(w io.Writer, st outageStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tSCOPE\tMODE\tLATENCY\tERROR RATE\tSINCE\t")
	for _, s := range st.Services {
		state, scope, mode, lat, rate, since := "up", "-", "-", "-", "-", "-"
		if s.Active {
			state = "FAULTED"
			scope = s.Scope
			mode = s.Mode
			if s.Latency != "" {
				lat = s.Latency
			}
			if s.ErrorRate > 0 {
				rate = fmt.Sprintf("%g", s.ErrorRate)
			}
			since = s.Since
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Service, state, scope, mode, lat, rate, since)
	}
	return tw.Flush()
}

// callOutage makes one call to the switch and decodes its status answer;
// a Google-shaped error body becomes the error's text.
func callOutage(ctx context.Context, method, target, token string, body any) (outageStatus, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return outageStatus{}, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return outageStatus{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return outageStatus{}, fmt.Errorf("outage switch: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return outageStatus{}, fmt.Errorf("outage switch: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var g struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &g) == nil && g.Error.Message != "" {
			return outageStatus{}, fmt.Errorf("outage switch: %s: %s", res.Status, g.Error.Message)
		}
		return outageStatus{}, fmt.Errorf("outage switch: %s", res.Status)
	}
	var st outageStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return outageStatus{}, fmt.Errorf("outage switch: decode status: %w", err)
	}
	return st, nil
}
