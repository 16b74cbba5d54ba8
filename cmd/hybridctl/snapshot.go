package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
	"github.com/hybrid-emulator/hybrid/pkg/workspace"
)

// runSnapshot exports an organization as a workspace zip (export) and
// applies one (import): a reproducible setup to share. Import is apply:
// idempotent, and it adds and updates without deleting.
func runSnapshot(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		return errors.New("usage: hybridctl snapshot export [-o FILE] [--org O] | snapshot import FILE [--org O]")
	}
	if args[0] == "import" {
		return runApplyDir(ctx, args[1:], stdout)
	}
	fs := flag.NewFlagSet("snapshot export", flag.ContinueOnError)
	base := fs.String("url", envOr("HYBRID_CONTROLPLANE_URL", "http://127.0.0.1:8080"), "control plane base URL (env HYBRID_CONTROLPLANE_URL)")
	org := fs.String("org", envOr("HYBRID_ORG", "hybrid"), "organization (env HYBRID_ORG)")
	out := fs.String("o", "", "the zip to write (default: <org>-snapshot.zip)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (snapshot export writes to -o FILE)", fs.Arg(0))
	}
	if *out == "" {
		*out = *org + "-snapshot.zip"
	}
	a := &workspace.Applier{Client: &http.Client{Timeout: time.Minute}, BaseURL: *base, Org: *org,
		Token: envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token")}
	data, m, err := workspace.Export(ctx, a)
	if err != nil {
		return err
	}
	// Consumer secrets and KVM values are in the file: owner only.
	if err := atomicfile.Write(*out, data, 0o600); err != nil {
		return err
	}
	kinds := make([]string, 0, len(m.Counts))
	for k, n := range m.Counts {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(stdout, "wrote %s: organization %s, environments %s; %s\n", *out, m.Organization,
		strings.Join(m.Environments, ", "), strings.Join(kinds, ", "))
	fmt.Fprintf(stdout, "not in it: %s\n", strings.Join(m.NotIncluded, "; "))
	fmt.Fprintf(stdout, "apply it with: hybridctl snapshot import %s [--org O]\n", *out)
	return nil
}
