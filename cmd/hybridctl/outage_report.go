package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/outagereport"
)

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
	token := envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token")
	st := &outagereport.HTTPReader{Client: &http.Client{Timeout: 5 * time.Second}, URLs: urls,
		OutageStatus: func(ctx context.Context) (outagereport.OutageStatus, error) {
			return callOutage(ctx, http.MethodGet, urls["controlplane"]+outagePath, token, nil)
		}}
	rep := outagereport.Build(ctx, st, time.Now(), *stale)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printReport(stdout, rep)
}

func printReport(w io.Writer, rep outagereport.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tSTATE\tEXPECTED DURING AN OUTAGE (seed)\tOBSERVED\tSINCE")
	for _, r := range rep.Rows {
		since := "-"
		if r.Since != nil {
			since = r.Since.UTC().Format(time.RFC3339) + " (" + outagereport.Ago(rep.At, *r.Since) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Component, r.State, r.Expected, r.Observed, since)
	}
	return tw.Flush()
}
