// Package cassandra opens sessions to the runtime plane's Cassandra with the
// timeouts, retries and host selection every hybrid service shares.
package cassandra

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Config is the `cassandra` block of a service's configuration.
type Config struct {
	Hosts    []string `yaml:"hosts" usage:"Cassandra contact points"`
	Port     int      `yaml:"port" usage:"CQL native transport port"`
	LocalDC  string   `yaml:"localDC" usage:"datacenter to prefer (multi-region)"`
	Username string   `yaml:"username" usage:"CQL user (empty: no auth)"`
	Password string   `yaml:"password" secret:"true" usage:"CQL password"`
	// CredentialsFile is a cqlsh-style credentials file (0600) holding
	// both; it is how local mode hands every service the login that
	// scripts/cassandra.sh made.
	CredentialsFile string        `yaml:"credentialsFile" usage:"cqlsh-style credentials file (0600) with the CQL username and password; overrides username/password"`
	Timeout         time.Duration `yaml:"timeout" usage:"per-query timeout"`
	ConnectTimeout  time.Duration `yaml:"connectTimeout" usage:"per-connection dial timeout"`
	Retries         int           `yaml:"retries" usage:"retries of idempotent queries"`
	StartupWait     time.Duration `yaml:"startupWait" usage:"how long to keep trying to reach Cassandra at start"`
	// ReconnectInterval is how often a node seen down is tried again, so a
	// service finds a restarted Cassandra again without being restarted.
	ReconnectInterval time.Duration `yaml:"reconnectInterval" usage:"how often to retry a Cassandra node that is down"`
}

// DefaultConfig points at the local node `make up` starts.
func DefaultConfig() Config {
	return Config{
		Hosts:          []string{"127.0.0.1"},
		Port:           9042,
		LocalDC:        "dc1",
		Timeout:        10 * time.Second,
		ConnectTimeout: 5 * time.Second,
		Retries:        3,
		StartupWait:    2 * time.Minute,
		// gocql's default is 60 s; locally a restarted node is back in
		// seconds, and readiness should say so as soon.
		ReconnectInterval: 2 * time.Second,
	}
}

// Connect opens a session, retrying until StartupWait elapses or ctx ends so
// that services started alongside Cassandra do not race it.
func Connect(ctx context.Context, cfg Config, opts ...Option) (*gocql.Session, error) {
	if len(cfg.Hosts) == 0 {
		return nil, errors.New("cassandra: no hosts configured")
	}
	if cfg.CredentialsFile != "" {
		c, err := ReadCredentials(cfg.CredentialsFile)
		if err != nil {
			return nil, err
		}
		cfg.Username, cfg.Password = c.Username, c.Password
	}
	cluster := gocql.NewCluster(cfg.Hosts...)
	for _, o := range opts {
		o(cluster)
	}
	cluster.Port = cfg.Port
	cluster.Timeout = cfg.Timeout
	cluster.ConnectTimeout = cfg.ConnectTimeout
	cluster.Consistency = gocql.LocalQuorum
	cluster.SerialConsistency = gocql.LocalSerial
	if cfg.ReconnectInterval > 0 {
		cluster.ReconnectInterval = cfg.ReconnectInterval
	}
	cluster.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: cfg.Retries, Min: 50 * time.Millisecond, Max: time.Second}
	if cfg.Username != "" {
		cluster.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Username, Password: cfg.Password}
	}
	deadline := time.Now().Add(cfg.StartupWait)
	backoff := 200 * time.Millisecond
	for {
		// A host selection policy belongs to one session; gocql refuses to
		// reuse one after a failed attempt, so each attempt gets its own.
		if cfg.LocalDC != "" {
			cluster.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(cfg.LocalDC))
		}
		session, err := cluster.CreateSession()
		if err == nil {
			return session, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cassandra: connect to %s:%d: %w", strings.Join(cfg.Hosts, ","), cfg.Port, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cassandra: connect to %s:%d: %w (last error: %v)", strings.Join(cfg.Hosts, ","), cfg.Port, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 3*time.Second)
	}
}

// Ping runs a trivial query; services use it as a readiness check.
func Ping(ctx context.Context, s *gocql.Session) error {
	var v string
	if err := s.Query("SELECT release_version FROM system.local").ScanContext(ctx, &v); err != nil {
		return fmt.Errorf("cassandra: %w", err)
	}
	return nil
}

// Keyspace returns the keyspace name for an org and concern (rtc, kms, kvm,
// …), e.g. "rtc_my_org". Keyspace names allow only [a-z0-9_] and 48 chars.
func Keyspace(concern, org string) string {
	var b strings.Builder
	b.WriteString(concern)
	b.WriteByte('_')
	for _, r := range strings.ToLower(org) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 48 {
		name = name[:48]
	}
	return name
}
