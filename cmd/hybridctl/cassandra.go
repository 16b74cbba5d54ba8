package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
)

// credentialsEnv names the CQL credentials file for every hybridctl
// command that talks to Cassandra (scripts/cassandra.sh credentials prints it).
const credentialsEnv = "HYBRID_CASSANDRA_CREDENTIALS"

// runCassandra secures a node started with PasswordAuthenticator, or
// replicates the logins to every datacenter (both called by
// scripts/cassandra.sh on start).
func runCassandra(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "replicate-auth" {
		return runReplicateAuth(ctx, args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "secure" {
		return errors.New("usage: hybridctl cassandra secure --credentials FILE [--cassandra host:port]\n" +
			"       hybridctl cassandra replicate-auth --credentials FILE [--cassandra host:port]")
	}
	fs := flag.NewFlagSet("cassandra secure", flag.ContinueOnError)
	hosts := fs.String("cassandra", "127.0.0.1:9042", "Cassandra contact point host:port")
	creds := fs.String("credentials", os.Getenv(credentialsEnv), "credentials file to write (0600), or to check if it exists; default $"+credentialsEnv)
	timeout := fs.Duration("timeout", 2*time.Minute, "overall time limit")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *creds == "" {
		return errors.New("cassandra secure: --credentials is required")
	}
	cfg, err := cassandraConfig(*hosts, "", *timeout)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c, err := cassandra.Secure(ctx, cfg, *creds)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cassandra: CQL login %q in %s (0600)\n", c.Username, *creds)
	return nil
}

// runReplicateAuth gives system_auth a replica in every datacenter of the
// cluster (NetworkTopologyStrategy, one per datacenter), so the login made
// on node 1 works on a node of a new datacenter once it has streamed
// system_auth (scripts/cassandra.sh --node 2 start does both).
func runReplicateAuth(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cassandra replicate-auth", flag.ContinueOnError)
	hosts := fs.String("cassandra", "127.0.0.1:9042", "Cassandra contact point host:port")
	creds := fs.String("credentials", os.Getenv(credentialsEnv), "CQL credentials file (cqlsh format, 0600); default $"+credentialsEnv)
	timeout := fs.Duration("timeout", 2*time.Minute, "overall time limit")
	dcs := fs.String("datacenters", "", "datacenters to replicate to besides those the contact node lists (comma separated): a node that has just joined")
	if err := fs.Parse(args); err != nil {
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
	var expected []string
	for _, dc := range strings.Split(*dcs, ",") {
		if dc = strings.TrimSpace(dc); dc != "" {
			expected = append(expected, dc)
		}
	}
	rf, changed, err := cassandra.ReplicateAuth(ctx, session, expected...)
	if err != nil {
		return err
	}
	verb := "already"
	if changed {
		verb = "now"
	}
	fmt.Fprintf(stdout, "cassandra: system_auth %s replicated with %s\n", verb, cassandra.ReplicationCQL(rf))
	return nil
}

// cassandraConfig is the configuration of a one-off hybridctl connection.
func cassandraConfig(hostPort, credentials string, wait time.Duration) (cassandra.Config, error) {
	cfg := cassandra.DefaultConfig()
	host, port, err := splitHostPort(hostPort)
	if err != nil {
		return cfg, err
	}
	cfg.Hosts, cfg.Port, cfg.StartupWait, cfg.CredentialsFile = []string{host}, port, wait, credentials
	return cfg, nil
}
