package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/workspace"
)

// isApplyDir tells apply's DIR form (an Apigee workspace folder) from its
// -f overrides.yaml form.
func isApplyDir(args []string) bool {
	for _, a := range args {
		if a == "-f" || a == "--f" || strings.HasPrefix(a, "-f=") || strings.HasPrefix(a, "--f=") {
			return false
		}
	}
	return true
}

// runApplyDir applies an Apigee workspace folder (or zip) to the control
// plane: bundles imported and deployed (only when their content changed),
// target servers, flow hooks, key value maps, and the test data's
// products, developers, apps and maps (see docs/SEED_FOLDERS.md).
func runApplyDir(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	base := fs.String("url", envOr("HYBRID_CONTROLPLANE_URL", "http://127.0.0.1:8080"), "control plane base URL (env HYBRID_CONTROLPLANE_URL)")
	org := fs.String("org", envOr("HYBRID_ORG", "hybrid"), "organization (env HYBRID_ORG)")
	env := fs.String("env", "", "apply only environments/ENV/ (default: every environment folder, each to the environment of its name; a workspace without environments/ deploys to $HYBRID_ENV or test)")
	wait := fs.Duration("wait", 60*time.Second, "how long each deployment may take to become READY")
	dryRun := fs.Bool("dry-run", false, "read and check the folder, print what it holds, send nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	// Flags may come before or after DIR.
	var dirs []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		dirs, rest = append(dirs, fs.Arg(0)), fs.Args()[1:]
	}
	if len(dirs) != 1 {
		return errors.New("usage: hybridctl apply DIR|ZIP [--env E] [--org O] [--wait D] [--dry-run] [--json]  (or apply -f overrides.yaml)")
	}
	plan, err := workspace.ParseDir(dirs[0])
	if err != nil {
		return err
	}
	for _, f := range plan.Ignored {
		fmt.Fprintf(os.Stderr, "hybridctl apply: not applied (the emulator does not use it): %s\n", f)
	}
	if *dryRun {
		return printPlan(stdout, plan, *asJSON)
	}
	a := &workspace.Applier{
		Client:  &http.Client{Timeout: time.Minute},
		BaseURL: *base, Org: *org, Token: envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token"), Wait: *wait,
	}
	if !*asJSON {
		a.Progress = func(c workspace.Change) { fmt.Fprintln(stdout, describeChange(c)) }
	}
	res, err := a.Apply(ctx, plan, workspace.ApplyOptions{Env: *env, DefaultEnv: envOr("HYBRID_ENV", "test")})
	if *asJSON && res != nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if !*asJSON {
		if n := res.Changed(); n == 0 {
			fmt.Fprintln(stdout, "nothing changed")
		} else {
			fmt.Fprintf(stdout, "%d changed, %d unchanged\n", n, len(res.Changes)-n)
		}
	}
	return nil
}

func describeChange(c workspace.Change) string {
	s := c.Kind + " " + c.Name
	if c.Env != "" {
		s += " in " + c.Env
	}
	s += ": " + c.Action
	if c.Revision != "" {
		s += " revision " + c.Revision
		if c.State != "" {
			s += " (" + c.State + ")"
		}
	}
	return s
}

func printPlan(w io.Writer, p *workspace.Plan, asJSON bool) error {
	type env struct {
		Name          string   `json:"name"`
		Proxies       []string `json:"proxies,omitempty"`
		SharedFlows   []string `json:"sharedFlows,omitempty"`
		FlowHooks     []string `json:"flowHooks,omitempty"`
		TargetServers []string `json:"targetServers,omitempty"`
		KVMs          []string `json:"kvms,omitempty"`
	}
	out := struct {
		Proxies     []string `json:"proxies,omitempty"`
		SharedFlows []string `json:"sharedFlows,omitempty"`
		Envs        []env    `json:"environments,omitempty"`
		Products    []string `json:"products,omitempty"`
		Developers  []string `json:"developers,omitempty"`
		Apps        []string `json:"apps,omitempty"`
		Maps        []string `json:"maps,omitempty"`
	}{}
	for _, b := range p.Proxies {
		out.Proxies = append(out.Proxies, b.Name)
	}
	for _, b := range p.SharedFlows {
		out.SharedFlows = append(out.SharedFlows, b.Name)
	}
	for _, e := range p.Envs {
		v := env{Name: e.Name}
		for _, d := range e.Proxies {
			v.Proxies = append(v.Proxies, d.Name)
		}
		for _, d := range e.SharedFlows {
			v.SharedFlows = append(v.SharedFlows, d.Name)
		}
		for _, f := range e.FlowHooks {
			v.FlowHooks = append(v.FlowHooks, f.Point+"="+f.SharedFlow)
		}
		for _, t := range e.TargetServers {
			v.TargetServers = append(v.TargetServers, fmt.Sprintf("%s=%s:%d", t.Name, t.Host, t.Port))
		}
		for _, k := range e.KVMs {
			v.KVMs = append(v.KVMs, k.Name)
		}
		out.Envs = append(out.Envs, v)
	}
	for _, o := range p.TestData.Products {
		out.Products = append(out.Products, o.Key)
	}
	for _, o := range p.TestData.Developers {
		out.Developers = append(out.Developers, o.Key)
	}
	for _, a := range p.TestData.Apps {
		out.Apps = append(out.Apps, a.Developer+"/"+a.Name)
	}
	for _, k := range p.TestData.Maps {
		out.Maps = append(out.Maps, k.Name)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	line := func(label string, items []string) {
		if len(items) > 0 {
			fmt.Fprintf(w, "%s: %s\n", label, strings.Join(items, ", "))
		}
	}
	line("proxies", out.Proxies)
	line("shared flows", out.SharedFlows)
	for _, e := range out.Envs {
		fmt.Fprintf(w, "environment %s:\n", e.Name)
		line("  deploy proxies", e.Proxies)
		line("  deploy shared flows", e.SharedFlows)
		line("  flow hooks", e.FlowHooks)
		line("  target servers", e.TargetServers)
		line("  key value maps", e.KVMs)
	}
	line("products", out.Products)
	line("developers", out.Developers)
	line("apps", out.Apps)
	line("maps", out.Maps)
	return nil
}
