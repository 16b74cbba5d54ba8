// Command hybridctl operates a local hybrid runtime plane: it checks the
// services' readiness, runs the schema job and makes the runtime plane's
// internal PKI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = []command{
	{"up", "up [--regions 2] [--seed DIR]: bring up Cassandra, the schema and every service locally (make up), with progress on a terminal", runUp},
	{"down", "down: stop every local service and Cassandra (make down)", runDown},
	{"status", "report each service's readiness (exit 0 only when all are ready)", runStatus},
	{"schema", "schema apply: apply the runtime plane's Cassandra schema", runSchema},
	{"cassandra", "cassandra secure: replace the default superuser of a fresh node by a role with a random password (scripts/cassandra.sh runs it)", runCassandra},
	{"keys", "make an organization's data encryption keys file (kmsEncryptionKey, kvmEncryptionKey) for MART and the message processor", runKeys},
	{"pki", "make the runtime plane's CA and the synchronizer/runtime mutual TLS certificates", runPKI},
	{"deploy", "deploy DIR|ZIP: import a proxy or shared flow bundle as a new revision, deploy it, wait for READY and print its URLs (--json)", runDeploy},
	{"lint", "lint DIR|ZIP [--json] [--targetservers FILE]: check a bundle offline with the rules the control plane applies at import (docs/LINT.md); exit 1 when it finds warnings", runLint},
	{"undeploy", "undeploy NAME: undeploy an API proxy's deployed revisions from the environment (--sharedflow for a shared flow)", runUndeploy},
	{"logs", "logs [SERVICE]… [--tail N] [-f]: the local stack's logs (make up's), each line prefixed with its service", runLogs},
	{"token", "print the bearer token the commands use ($HYBRID_ADMIN_TOKEN), for curl", runToken},
	{"stats", "traffic of the last N minutes per API proxy from the stats API: calls, errors, p50/p95 latency (--json)", runStats},
	{"trace", "trace start|get --api NAME --rev N: open a debug session and print its transactions as they arrive, or show a session's (--json)", runTrace},
	{"outage", "outage start [--service NAME]… [--latency D] [--error-rate P] [--mode reset|unavailable] | stop [--service NAME]… | status | report: take the mock control plane's upstream services down and restore them; report prints each component's observed state against the seed's impact table (--json)", runOutage},
	{"snapshot", "snapshot export [-o FILE] | import FILE: an organization's proxies, shared flows, environment settings, products, developers, apps with their keys and maps as a workspace zip, and applied again (docs/SEED_FOLDERS.md)", runSnapshot},
	{"apply", "apply -f overrides.yaml: bring up the local stack an Apigee hybrid overrides file describes (--emit helm|compose prints the Helm values or a compose .env instead); apply DIR [--env E]: apply an Apigee workspace folder (bundles, environments/*.json, test data), idempotently", runApply},
}

// errNotReady makes status exit 1 without an extra error line.
var errNotReady = errors.New("not all services are ready")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 2
		case errors.Is(err, errNotReady):
			return 1
		default:
			fmt.Fprintf(stderr, "hybridctl %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "hybridctl: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hybridctl <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
}
