//go:build integration

package mart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/pkg/cassandra"
	"github.com/hybrid-emulator/hybrid/pkg/cassandra/cassandratest"
	"github.com/hybrid-emulator/hybrid/pkg/schema"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/mart/internal/mart"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gocql's session keeps a few background goroutines until the
		// runtime reaps closed connections.
		goleak.IgnoreTopFunction("github.com/apache/cassandra-gocql-driver/v2.(*writeCoalescer).writeFlusher"),
		goleak.IgnoreAnyFunction("github.com/apache/cassandra-gocql-driver/v2.(*Session).reconnectDownedHosts"),
	)
}

const secret = "test-mart-secret"

// martT is a MART running in-process on 127.0.0.1:0 against the real
// Cassandra, for one fresh organization.
type martT struct {
	t       *testing.T
	ctx     context.Context
	url     string
	org     string
	session *gocql.Session
	keys    store.EncryptionKeys
	kms     *store.KMS
	logs    *observer.ObservedLogs
	http    *http.Client // adds the shared secret
	plain   *http.Client // sends nothing extra
	api     *apigee.Service
}

type secretTransport struct{ base http.RoundTripper }

func (s secretTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(mart.SecretHeader, secret)
	return s.base.RoundTrip(r)
}

func startMART(t *testing.T, applySchema bool, mutate ...func(*mart.Config)) *martT {
	t.Helper()
	s := cassandratest.Session(t)
	cfg := mart.DefaultConfig()
	cfg.Org = cassandratest.Org(t)
	cfg.Auth.SharedSecret = secret
	cfg.Common = service.Common{Listen: "127.0.0.1:0", LogLevel: "info", ShutdownTimeout: 10 * time.Second}
	for _, f := range mutate {
		f(&cfg)
	}
	org := cfg.Org
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	t.Cleanup(func() { dropOrg(s, org) }) // runs after MART has stopped
	if applySchema {
		_, err := schema.Apply(ctx, s, schema.Options{Orgs: []string{org}, WaitForLease: true}, zap.NewNop())
		require.NoError(t, err)
	}
	core, logs := observer.New(zap.InfoLevel)
	svc, err := service.NewWithLogger("mart", cfg.Common, zap.New(core))
	require.NoError(t, err)
	keys, err := store.GenerateEncryptionKeys()
	require.NoError(t, err)
	_, err = mart.New(svc, &cfg, s, keys)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()

	base := &http.Transport{}
	m := &martT{
		t: t, ctx: ctx, url: "http://" + svc.Addr("main"), org: org, session: s, keys: keys, kms: store.NewKMS(s, keys), logs: logs,
		http:  &http.Client{Transport: secretTransport{base: base}, Timeout: time.Minute},
		plain: &http.Client{Transport: base, Timeout: time.Minute},
	}
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
		base.CloseIdleConnections()
	})
	m.api, err = apigee.NewService(ctx, option.WithEndpoint(m.url+"/"), option.WithHTTPClient(m.http))
	require.NoError(t, err)
	if applySchema {
		require.Eventually(t, func() bool { return m.status(m.plain, "GET", service.ReadyPath, nil) == http.StatusOK },
			30*time.Second, 20*time.Millisecond, "MART becomes ready")
	}
	return m
}

func (m *martT) orgPath(suffix string) string { return "/v1/organizations/" + m.org + suffix }

func (m *martT) parent() string { return "organizations/" + m.org }

// do sends a raw request and returns the status and body.
func (m *martT) do(c *http.Client, method, path string, body []byte, hdr ...string) (int, []byte) {
	m.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(m.ctx, method, m.url+path, rd)
	require.NoError(m.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(m.t, err)
	return resp.StatusCode, data
}

func (m *martT) status(c *http.Client, method, path string, body []byte) int {
	code, _ := m.do(c, method, path, body)
	return code
}

// call sends a request with the secret and decodes a JSON reply into out
// (when non-nil), requiring the given status.
func (m *martT) call(method, path string, body any, want int, out any) {
	m.t.Helper()
	var data []byte
	if body != nil {
		var err error
		data, err = json.Marshal(body)
		require.NoError(m.t, err)
	}
	code, resp := m.do(m.http, method, path, data)
	require.Equal(m.t, want, code, "%s %s: %s", method, path, resp)
	if out != nil {
		require.NoError(m.t, json.Unmarshal(resp, out), string(resp))
	}
}

// dropOrg removes a test org's keyspaces: every org costs Cassandra about
// a dozen tables of heap, and tests create an org each.
func dropOrg(s *gocql.Session, org string) {
	for _, concern := range []string{"rtc", "kms", "kvm"} {
		_ = s.Query("DROP KEYSPACE IF EXISTS " + cassandra.Keyspace(concern, org)).Exec()
	}
	_ = s.Query(`DELETE FROM hybrid_system.schema_migrations WHERE keyspace_name = ?`, "org:"+org).Exec()
}

// googleError is the error body every failure must have.
type googleError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// rowCounts counts every runtime-data table of the org, to prove that a
// rejected request wrote nothing.
func (m *martT) rowCounts() map[string]int {
	m.t.Helper()
	counts := map[string]int{}
	for concern, tables := range map[string][]string{
		"kms": {"developers", "developers_by_id", "apps", "apps_by_id", "credentials", "api_products"},
		"kvm": {"maps", "map_entries"},
	} {
		for _, table := range tables {
			var n int
			require.NoError(m.t, m.session.Query(fmt.Sprintf(`SELECT COUNT(*) FROM %s.%s`, cassandra.Keyspace(concern, m.org), table)).
				ScanContext(m.ctx, &n))
			counts[concern+"."+table] = n
		}
	}
	return counts
}
