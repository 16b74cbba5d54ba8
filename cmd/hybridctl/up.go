package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// runUp brings up the local stack with scripts/up.sh, as make up does:
// Cassandra (downloaded on first use, with a progress bar on a terminal),
// the schema and every service, waiting until all are ready.
func runUp(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	regions := fs.Int("regions", 1, "1, or 2: two instances over a two-datacenter Cassandra (make up REGIONS=2)")
	seed := fs.String("seed", "", "an Apigee workspace folder to apply once everything is ready (hybridctl apply DIR; make up SEED=DIR)")
	root := fs.String("root", "", "the repository checkout (default: found above the working directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (up takes flags only)", fs.Arg(0))
	}
	if *regions != 1 && *regions != 2 {
		return fmt.Errorf("--regions must be 1 or 2, not %d", *regions)
	}
	env := []string{"HYBRID_REGIONS=" + strconv.Itoa(*regions)}
	if *seed != "" {
		abs, err := filepath.Abs(*seed)
		if err != nil {
			return err
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return fmt.Errorf("--seed %s: not a folder", *seed)
		}
		env = append(env, "HYBRID_SEED="+abs)
	}
	return runScript(ctx, *root, "up.sh", env, stdout)
}

// runDown stops every local service and Cassandra (scripts/down.sh).
func runDown(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	root := fs.String("root", "", "the repository checkout (default: found above the working directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return runScript(ctx, *root, "down.sh", nil, stdout)
}

// runScript runs one of the repository's scripts with the terminal as its
// own (so it can draw progress and colour), plus env.
func runScript(ctx context.Context, root, script string, env []string, stdout io.Writer) error {
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", script))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scripts/%s: %w", script, err)
	}
	return nil
}
