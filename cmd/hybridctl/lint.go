package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/lint"
)

// errLintFindings makes lint exit 1 when it found something, like a
// compiler's warnings-as-errors, so that scripts and CI can gate on it.
var errLintFindings = errors.New("lint found warnings")

// lintReport is lint's --json output.
type lintReport struct {
	Bundle   string         `json:"bundle"`
	Findings []lint.Finding `json:"findings"`
}

// runLint lints a bundle folder or zip offline, with the rules the control
// plane applies at import plus BN010 (steps naming missing policies, which
// an import refuses outright). Exit code: 0 without findings, 1 with
// findings or when the bundle cannot be read or parsed, 2 on usage errors.
func runLint(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON: {bundle, findings: [{rule, severity, file, message}]}")
	tsFile := fs.String("targetservers", "", "the environment's target servers, a JSON file (Apigee's TargetServer objects, as in environments/<env>/targetservers.json, or names); enables HY001")
	var tsNames []string
	fs.Func("targetserver", "a target server the environment defines (repeatable); enables HY001", func(v string) error {
		tsNames = append(tsNames, v)
		return nil
	})
	rules := fs.Bool("rules", false, "list the rules and exit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: hybridctl lint [--json] [--targetservers FILE] [--targetserver NAME]… DIR|ZIP\n\nExit code 0: no findings; 1: warnings found (or the bundle does not parse); 2: usage.")
		fs.PrintDefaults()
	}
	// Flags may follow the bundle too (hybridctl lint DIR --json).
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return flag.ErrHelp // the flag package has printed the problem and the usage
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *rules {
		return printRules(stdout, *asJSON)
	}
	if len(positional) != 1 {
		fs.Usage()
		return flag.ErrHelp
	}
	var opts lint.Options
	if *tsFile != "" || len(tsNames) > 0 {
		known := map[string]bool{}
		for _, n := range tsNames {
			known[n] = true
		}
		if *tsFile != "" {
			names, err := readTargetServers(*tsFile)
			if err != nil {
				return err
			}
			for _, n := range names {
				known[n] = true
			}
		}
		opts.TargetServerExists = func(name string) bool { return known[name] }
	}
	data, shared, name, err := bundleZip(positional[0])
	if err != nil {
		return err
	}
	kind := bundle.KindProxy
	if shared {
		kind = bundle.KindSharedFlow
	}
	findings, err := lint.Zip(data, kind, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", positional[0], err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(lintReport{Bundle: name, Findings: findings}); err != nil {
			return err
		}
	} else if len(findings) == 0 {
		fmt.Fprintf(stdout, "%s: no findings\n", name)
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tFILE\tMESSAGE")
		for _, f := range findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Rule, f.File, f.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(findings) > 0 {
		return fmt.Errorf("%w: %d in %s", errLintFindings, len(findings), name)
	}
	return nil
}

func printRules(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(lint.Rules())
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tAPIGEELINT\tAT IMPORT\tCATCHES")
	for _, r := range lint.Rules() {
		at := "yes"
		if !r.ImportTime {
			at = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, orDefault(r.Apigeelint, "-"), at, r.Summary)
	}
	return tw.Flush()
}

// readTargetServers reads target server names from a JSON file: an array
// of TargetServer objects (the seed layout's targetservers.json and
// Apigee's resource), an array of names, or Apigee's list response
// {"targetServer": [...]}.
func readTargetServers(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		var wrapped struct {
			TargetServer []json.RawMessage `json:"targetServer"`
		}
		if err2 := json.Unmarshal(raw, &wrapped); err2 != nil || wrapped.TargetServer == nil {
			return nil, fmt.Errorf("%s: want a JSON array of target servers or names: %w", path, err)
		}
		list = wrapped.TargetServer
	}
	names := make([]string, 0, len(list))
	for i, item := range list {
		var name string
		if err := json.Unmarshal(item, &name); err != nil {
			var ts struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(item, &ts); err != nil {
				return nil, fmt.Errorf("%s: item %d: want a name or an object with \"name\": %w", path, i, err)
			}
			name = ts.Name
		}
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%s: item %d has no name", path, i)
		}
		names = append(names, name)
	}
	return names, nil
}
