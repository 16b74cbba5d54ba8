package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/tlsca"
)

// runPKI makes (or renews) the runtime plane's internal PKI, as hybrid's
// apigee-ca with cert-manager does: a CA, the synchronizer's server
// certificate and the message processor's client certificate
// (CN apigee-runtime), private keys 0600. Existing good certificates are
// kept, so it is safe to run on every start.
func runPKI(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pki", flag.ContinueOnError)
	dir := fs.String("dir", ".run/pki", "directory of the CA and certificates")
	hosts := fs.String("hosts", "", "comma-separated extra names of the synchronizer's server certificate (localhost and 127.0.0.1 are always in it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := tlsca.EnsureRuntimePKI(*dir, splitList(*hosts), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "runtime plane CA %s\nsynchronizer %s (key %s)\nruntime %s (key %s)\n",
		p.CA(), p.SynchronizerCert(), p.SynchronizerKey(), p.RuntimeCert(), p.RuntimeKey())
	return nil
}
