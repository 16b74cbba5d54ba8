package martproxy_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/services/connect-agent/agenttest"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/connect"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/martproxy"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seen is what the MART stand-in echoes.
type seen struct {
	Method, Path, Query, Body, UserAgent, Secret, Auth, ContentType string
}

// startMART is a narrow stand-in for MART that echoes what reached it; it
// answers 404 like MART for one developer.
func startMART(tb testing.TB) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/developers/missing@example.com") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":404,"message":"DeveloperId missing@example.com does not exist in organization on","status":"NOT_FOUND"}}`)
			return
		}
		_ = json.NewEncoder(w).Encode(seen{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body),
			UserAgent: r.UserAgent(), Secret: r.Header.Get(martproxy.SecretHeader), Auth: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"),
		})
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// env is a control plane store with org "on" (Connect on, project
// "proj-on"), "off" (Connect off) and "false" (property set to false), a
// Connect service and optionally an agent for proj-on.
type env struct {
	store *state.Store
	conn  *connect.Service
	addr  string
	mart  *httptest.Server
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	store, err := state.Open(tb.TempDir(), nil)
	require.NoError(tb, err)
	_, err = apigee.Seed(store, []apigee.OrgSeed{
		{Name: "on", ProjectID: "proj-on", Properties: map[string]string{martproxy.ConnectProperty: "true"}},
		{Name: "off", ProjectID: "proj-off"},
		{Name: "false", ProjectID: "proj-false", Properties: map[string]string{martproxy.ConnectProperty: "false"}},
	})
	require.NoError(tb, err)
	svc, err := connect.New(connect.Options{Log: zaptest.NewLogger(tb, zaptest.Level(zapcore.WarnLevel))})
	require.NoError(tb, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- connect.Serve(ctx, svc, connect.NewGRPCServer(svc), ln, 5*time.Second) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
	})
	return &env{store: store, conn: svc, addr: ln.Addr().String(), mart: startMART(tb)}
}

func (e *env) startAgent(tb testing.TB, project string) {
	tb.Helper()
	cfg := agenttest.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.ServerAddr = e.addr
	cfg.TargetServer = e.mart.URL
	cfg.Project = "projects/" + project
	cfg.Streams = 1
	cfg.MARTSecret = "agent-secret"
	a := agenttest.Start(tb, cfg, zaptest.NewLogger(tb, zaptest.Level(zapcore.WarnLevel)))
	require.Eventually(tb, func() bool { return a.OpenStreams() == 1 }, 10*time.Second, 5*time.Millisecond)
}

func (e *env) proxy(tb testing.TB, hostAlias string, mutate ...func(*martproxy.Options)) http.Handler {
	tb.Helper()
	opts := martproxy.Options{Store: e.store, Tether: e.conn, HostAlias: hostAlias, SharedSecret: "cp-secret"}
	for _, m := range mutate {
		m(&opts)
	}
	p, err := martproxy.New(opts)
	require.NoError(tb, err)
	return p
}

type result struct {
	code int
	body string
	seen seen
	hdr  http.Header
}

func call(tb testing.TB, h http.Handler, method, target, body string) result {
	tb.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer caller-token")
	r.Header.Set(martproxy.SecretHeader, "forged")
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := result{code: w.Code, body: w.Body.String(), hdr: w.Header()}
	_ = json.Unmarshal(w.Body.Bytes(), &res.seen)
	return res
}

func TestConnectOn(t *testing.T) {
	e := newEnv(t)
	p := e.proxy(t, e.mart.URL)

	t.Run("no agent: 503", func(t *testing.T) {
		r := call(t, p, http.MethodGet, "/v1/organizations/on/developers", "")
		require.Equal(t, http.StatusServiceUnavailable, r.code, r.body)
		require.Contains(t, r.body, `"status":"UNAVAILABLE"`)
		require.Contains(t, r.body, "no Apigee Connect agent is connected for project proj-on; MART is reachable only through Apigee Connect while features.mart.connect.enabled is true")
	})

	// An agent of another project does not count.
	e.startAgent(t, "proj-off")
	r := call(t, p, http.MethodGet, "/v1/organizations/on/developers", "")
	require.Equal(t, http.StatusServiceUnavailable, r.code, r.body)

	e.startAgent(t, "proj-on")
	cases := []struct {
		name, method, target, body string
		code                       int
	}{
		{"list with paging", http.MethodGet, "/v1/organizations/on/developers?count=100&expand=true&startKey=4ee9e8f7", "", 200},
		{"create", http.MethodPost, "/v1/organizations/on/developers", `{"email":"a@example.com"}`, 200},
		{"env kvm entry", http.MethodPut, "/v1/organizations/on/environments/test/keyvaluemaps/m/entries/k", `{"name":"k","value":"v"}`, 200},
		{"MART's 404 unchanged", http.MethodGet, "/v1/organizations/on/developers/missing@example.com", "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, p, tc.method, tc.target, tc.body)
			require.Equal(t, tc.code, r.code, r.body)
			if tc.code == 404 {
				require.Contains(t, r.body, "does not exist in organization")
				return
			}
			path, query, _ := strings.Cut(tc.target, "?")
			require.Equal(t, seen{
				Method: tc.method, Path: path, Query: query, Body: tc.body,
				UserAgent: agenttest.UserAgent, Secret: "agent-secret", ContentType: "application/json",
			}, r.seen, "the caller's credentials and forged secret stay behind; the agent adds its own")
			require.Equal(t, "application/json", r.hdr.Get("Content-Type"))
		})
	}
}

func TestConnectOff(t *testing.T) {
	e := newEnv(t)
	for _, org := range []string{"off", "false"} {
		t.Run(org, func(t *testing.T) {
			r := call(t, e.proxy(t, e.mart.URL+"/"), http.MethodPost, "/v1/organizations/"+org+"/apiproducts?x=1", `{"name":"p"}`)
			require.Equal(t, http.StatusOK, r.code, r.body)
			require.Equal(t, seen{
				Method: http.MethodPost, Path: "/v1/organizations/" + org + "/apiproducts", Query: "x=1", Body: `{"name":"p"}`,
				UserAgent: "Go-http-client/1.1", Secret: "cp-secret", ContentType: "application/json",
			}, r.seen)
		})
	}
	t.Run("no hostAlias: 503", func(t *testing.T) {
		r := call(t, e.proxy(t, ""), http.MethodGet, "/v1/organizations/off/developers", "")
		require.Equal(t, http.StatusServiceUnavailable, r.code)
		require.Contains(t, r.body, "no mart.hostAlias configured")
	})
	t.Run("MART down: 503", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		r := call(t, e.proxy(t, dead.URL), http.MethodGet, "/v1/organizations/off/developers", "")
		require.Equal(t, http.StatusServiceUnavailable, r.code)
		require.Contains(t, r.body, "is unreachable")
	})
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	p := e.proxy(t, e.mart.URL, func(o *martproxy.Options) { o.MaxBodyBytes = 16 })
	r := call(t, p, http.MethodGet, "/v1/organizations/nope/developers", "")
	require.Equal(t, http.StatusNotFound, r.code)
	require.Contains(t, r.body, "Organization nope not found.")

	r = call(t, p, http.MethodPost, "/v1/organizations/off/developers", strings.Repeat("x", 17))
	require.Equal(t, http.StatusRequestEntityTooLarge, r.code)
	require.Contains(t, r.body, "larger than 16 bytes")

	for _, alias := range []string{"mart:8843", "ftp://x", "http://"} {
		_, err := martproxy.New(martproxy.Options{Store: e.store, Tether: e.conn, HostAlias: alias})
		require.ErrorContains(t, err, "mart.hostAlias")
	}
}
