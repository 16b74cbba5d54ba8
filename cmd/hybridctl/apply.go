package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// runApply brings up the local stack an overrides file describes, or
// prints the Helm values / compose .env equivalent to it. Without -f it
// applies an Apigee workspace folder instead (apply_dir.go).
func runApply(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && isApplyDir(args) {
		return runApplyDir(ctx, args, stdout)
	}
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	file := fs.String("f", "", "overrides.yaml (Apigee hybrid's keys; see charts/README.md)")
	emit := fs.String("emit", "", "print instead of starting: helm (values per chart) or compose (a .env for docker-compose.yaml)")
	outDir := fs.String("out", "", "with --emit helm: write one values file per release into this directory")
	dryRun := fs.Bool("dry-run", false, "write the seed config and print the environment for scripts/up.sh, start nothing")
	root := fs.String("root", "", "repository root holding scripts/up.sh (default: found from the working directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		return errors.New("usage: hybridctl apply -f overrides.yaml [--emit helm|compose] [--out DIR] [--dry-run], or hybridctl apply DIR [--env E]")
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	o, err := ParseOverrides(*file, f)
	f.Close()
	if err != nil {
		return err
	}
	if len(o.Ignored) > 0 {
		// stderr: stdout may be a values file or .env being redirected.
		fmt.Fprintf(os.Stderr, "hybridctl apply: ignoring keys the emulator does not use: %v\n", o.Ignored)
	}
	switch *emit {
	case "helm":
		releases, err := o.HelmValues()
		if err != nil {
			return err
		}
		return writeHelm(releases, *outDir, stdout)
	case "compose":
		_, err := stdout.Write(o.ComposeEnv())
		return err
	case "":
	default:
		return fmt.Errorf("--emit %q: want helm or compose", *emit)
	}

	if *root == "" {
		if *root, err = findRoot(); err != nil {
			return err
		}
	}
	run := os.Getenv("HYBRID_RUN_DIR")
	if run == "" {
		run = filepath.Join(*root, ".run")
	}
	env, err := o.prepareRunDir(run)
	if err != nil {
		return err
	}
	if *dryRun {
		for _, kv := range env {
			fmt.Fprintln(stdout, kv)
		}
		return nil
	}
	cmd := exec.CommandContext(ctx, filepath.Join(*root, "scripts", "up.sh"))
	cmd.Dir = *root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scripts/up.sh: %w", err)
	}
	return nil
}

// prepareRunDir writes what up.sh does not make itself: the control
// plane's seed and, when the overrides carry them, the org's data and
// contract encryption keys (where up.sh and the control plane look, and
// keep an existing file). It returns up.sh's environment.
func (o *Overrides) prepareRunDir(run string) ([]string, error) {
	seed, err := o.SeedConfig()
	if err != nil {
		return nil, err
	}
	cpConfig := filepath.Join(run, "overrides", "controlplane.yaml")
	if err := os.MkdirAll(filepath.Dir(cpConfig), 0o755); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(cpConfig, seed, 0o644); err != nil {
		return nil, fmt.Errorf("seed config: %w", err)
	}
	if o.KMSEncryptionKey != "" {
		if err := o.writeDataKeys(filepath.Join(run, "encryption-keys", o.Org+".yaml")); err != nil {
			return nil, err
		}
	}
	if o.ContractEncryptionKey != "" {
		if err := o.writeContractKey(filepath.Join(run, "controlplane", "contract-keys", o.Org+".key")); err != nil {
			return nil, err
		}
	}
	env := o.UpEnv(cpConfig)
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	tlsConfig, err := o.RuntimeTLSConfig(wd)
	if err != nil {
		return nil, err
	}
	if tlsConfig != nil {
		path := filepath.Join(run, "overrides", "runtime-tls.yaml")
		if err := atomicfile.Write(path, tlsConfig, 0o600); err != nil {
			return nil, fmt.Errorf("runtime TLS config: %w", err)
		}
		env = append(env, "HYBRID_TRAFFIC_TLS_CONFIG="+path)
	}
	return env, nil
}

// writeDataKeys writes kms/kvmEncryptionKey as the keys file MART and the
// runtime read. An existing file with other keys is an error, never
// replaced: values sealed under it would become unreadable.
func (o *Overrides) writeDataKeys(path string) error {
	// validate checked both are base64 of 32 bytes.
	kms, _ := base64.StdEncoding.DecodeString(o.KMSEncryptionKey)
	kvm, _ := base64.StdEncoding.DecodeString(o.KVMEncryptionKey)
	want := store.EncryptionKeys{KMS: kms, KVM: kvm}
	switch have, err := store.ReadEncryptionKeys(path); {
	case err == nil:
		if !bytes.Equal(have.KMS, want.KMS) || !bytes.Equal(have.KVM, want.KVM) {
			return fmt.Errorf("kmsEncryptionKey/kvmEncryptionKey differ from %s, which already seals this org's data (make down, remove the run directory to start over)", path)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return store.WriteEncryptionKeys(path, want)
}

// writeContractKey writes contractEncryptionKey where the control plane
// keeps the org's contract key (it uses an existing file).
func (o *Overrides) writeContractKey(path string) error {
	switch have, err := contract.ReadKeyFile(path); {
	case err == nil:
		if contract.EncodeKey(have) != o.ContractEncryptionKey+"\n" {
			return fmt.Errorf("contractEncryptionKey differs from %s, the control plane's key for this org", path)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(o.ContractEncryptionKey+"\n"), 0o600)
}

// findRoot walks up from the working directory to the repository root.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "up.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/up.sh not found above the working directory; pass --root")
		}
		dir = parent
	}
}
