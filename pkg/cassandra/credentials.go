package cassandra

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
	"github.com/hybrid-emulator/hybrid/pkg/secretfile"
)

// Credentials are a CQL login. On disk they use cqlsh's credentials file
// format, so `cqlsh --credentials FILE` works with the same file:
//
//	[PlainTextAuthProvider]
//	username = hybrid
//	password = …
type Credentials struct {
	Username, Password string
}

// ReadCredentials reads a credentials file, which must be 0600 (or
// stricter).
func ReadCredentials(path string) (Credentials, error) {
	data, err := secretfile.Read(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("cassandra credentials: %w", err)
	}
	var c Credentials
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Credentials{}, fmt.Errorf("cassandra credentials %s:%d: want key = value", path, n)
		}
		if section != "PlainTextAuthProvider" {
			continue
		}
		switch strings.TrimSpace(k) {
		case "username":
			c.Username = strings.TrimSpace(v)
		case "password":
			c.Password = strings.TrimSpace(v)
		}
	}
	if c.Username == "" || c.Password == "" {
		return Credentials{}, fmt.Errorf("cassandra credentials %s: want username and password under [PlainTextAuthProvider]", path)
	}
	return c, nil
}

// WriteCredentials writes c to path with mode 0600, atomically.
func WriteCredentials(path string, c Credentials) error {
	text := fmt.Sprintf("# CQL login of the local hybrid runtime plane (cqlsh --credentials %s)\n[PlainTextAuthProvider]\nusername = %s\npassword = %s\n", path, c.Username, c.Password)
	return atomicfile.Write(path, []byte(text), 0o600)
}

// Roles made and retired by Secure.
const (
	// DefaultSuperuser is the role Cassandra creates, with password
	// "cassandra", the first time it starts with PasswordAuthenticator.
	DefaultSuperuser = "cassandra"
	// Role is the login Secure makes for the runtime plane.
	Role = "hybrid"
)

// Secure turns a node freshly started with PasswordAuthenticator into one
// only the holder of the credentials file can use, as Cassandra's own
// guide says to: it makes the Role superuser with a random password, writes
// the credentials to path (0600), logs in with them and strips the default
// superuser of its login. An existing credentials file that logs in is kept.
// cfg names the node; its credentials are ignored.
func Secure(ctx context.Context, cfg Config, path string) (Credentials, error) {
	if c, err := ReadCredentials(path); err == nil {
		s, err := connectAs(ctx, cfg, c)
		if err != nil {
			return Credentials{}, fmt.Errorf("cassandra: %s does not log in: %w", path, err)
		}
		s.Close()
		return c, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return Credentials{}, err
	}
	// The default superuser appears a moment after CQL starts answering
	// (superuser_setup_delay_ms), so the first login is retried.
	admin, err := connectAs(ctx, cfg, Credentials{Username: DefaultSuperuser, Password: DefaultSuperuser})
	if err != nil {
		return Credentials{}, fmt.Errorf("cassandra: log in as the default superuser to secure the node (is this a fresh node started with PasswordAuthenticator?): %w", err)
	}
	defer admin.Close()
	c := Credentials{Username: Role, Password: randomPassword()}
	// A role left by an earlier, interrupted run has a password nobody
	// knows: give it the new one.
	stmt := `CREATE ROLE %s WITH PASSWORD = %s AND LOGIN = true AND SUPERUSER = true`
	var existing string
	switch err := admin.Query(`SELECT role FROM system_auth.roles WHERE role = ?`, Role).ScanContext(ctx, &existing); {
	case err == nil:
		stmt = `ALTER ROLE %s WITH PASSWORD = %s AND LOGIN = true AND SUPERUSER = true`
	case !errors.Is(err, gocql.ErrNotFound):
		return Credentials{}, fmt.Errorf("cassandra: look up role %s: %w", Role, err)
	}
	if err := admin.Query(fmt.Sprintf(stmt, Role, cqlString(c.Password))).ExecContext(ctx); err != nil {
		return Credentials{}, fmt.Errorf("cassandra: make role %s: %w", Role, err)
	}
	if err := WriteCredentials(path, c); err != nil {
		return Credentials{}, err
	}
	s, err := connectAs(ctx, cfg, c)
	if err != nil {
		return Credentials{}, fmt.Errorf("cassandra: log in as %s: %w", Role, err)
	}
	defer s.Close()
	// A role cannot change itself; the new superuser retires the default
	// one, whose password is public knowledge.
	if err := s.Query(fmt.Sprintf(`ALTER ROLE %s WITH PASSWORD = %s AND SUPERUSER = false AND LOGIN = false`, DefaultSuperuser, cqlString(randomPassword()))).ExecContext(ctx); err != nil {
		return Credentials{}, fmt.Errorf("cassandra: retire the default superuser: %w", err)
	}
	return c, nil
}

func connectAs(ctx context.Context, cfg Config, c Credentials) (*gocql.Session, error) {
	cfg.Username, cfg.Password, cfg.CredentialsFile = c.Username, c.Password, ""
	if cfg.StartupWait <= 0 {
		cfg.StartupWait = time.Minute
	}
	return Connect(ctx, cfg)
}

// cqlString quotes s as a CQL string literal (role options take no bind
// markers).
func cqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
