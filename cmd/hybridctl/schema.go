package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
)

func runSchema(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "apply" {
		return errors.New("usage: hybridctl schema apply [--orgs o1,o2] [--cassandra host:port] [--cassandra-credentials FILE] [--replication dc1:1,dc2:1]")
	}
	fs := flag.NewFlagSet("schema apply", flag.ContinueOnError)
	orgs := fs.String("orgs", "hybrid", "comma-separated organizations whose keyspaces to create")
	hosts := fs.String("cassandra", "127.0.0.1:9042", "Cassandra contact point host:port")
	creds := fs.String("cassandra-credentials", os.Getenv(credentialsEnv), "CQL credentials file (cqlsh format, 0600); default $"+credentialsEnv)
	repl := fs.String("replication", "", "datacenter:factor pairs for NetworkTopologyStrategy, e.g. dc1:1,dc2:1; given, existing keyspaces are altered to it (empty: new keyspaces get dc1:1, existing ones are left alone)")
	timeout := fs.Duration("timeout", 3*time.Minute, "overall time limit, including waiting for Cassandra")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	rf, err := parseReplication(*repl)
	if err != nil {
		return err
	}
	cfg, err := cassandraConfig(*hosts, *creds, *timeout)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	session, err := cassandra.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer session.Close()
	log, err := service.NewLogger("hybridctl", "info")
	if err != nil {
		return err
	}
	n, err := schema.Apply(ctx, session, schema.Options{Orgs: splitList(*orgs), Replication: rf, WaitForLease: true}, log.Named("schema"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema up to date (%d migrations applied)\n", n)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitHostPort(s string) (string, int, error) {
	host, p, ok := strings.Cut(s, ":")
	if !ok {
		return s, 9042, nil
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("--cassandra %q: bad port", s)
	}
	return host, port, nil
}

func parseReplication(s string) (map[string]int, error) {
	rf := map[string]int{}
	for _, pair := range splitList(s) {
		dc, n, ok := strings.Cut(pair, ":")
		f, err := strconv.Atoi(n)
		if !ok || err != nil || f < 1 {
			return nil, fmt.Errorf("--replication %q: want dc:factor", pair)
		}
		rf[dc] = f
	}
	return rf, nil
}
