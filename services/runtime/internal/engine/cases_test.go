package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/golden"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"gopkg.in/yaml.v3"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// caseFile is testdata/cases/<case>/cases.yaml: the environment around the
// case's bundles and the requests with their expected responses.
//
// Bundles: <case>/apiproxy/ is a proxy; <case>/proxies/<name>/apiproxy/
// and <case>/sharedflows/<name>/sharedflowbundle/ add more. In every file
// {{BACKEND}} becomes the echo backend's URL and {{BACKEND_HOST}} /
// {{BACKEND_PORT}} its parts.
type caseFile struct {
	Description string `yaml:"description"`
	// FlowHooks maps a hook point to a shared flow name.
	FlowHooks               map[string]string  `yaml:"flowhooks"`
	FlowHookContinueOnError map[string]bool    `yaml:"flowhookContinueOnError"`
	TargetServers           []caseTargetServer `yaml:"targetservers"`
	// EnvironmentPropertySets are the environment's property sets
	// (resource files of type properties): set name → file content.
	EnvironmentPropertySets map[string]string `yaml:"environmentPropertySets"`
	// EnvironmentResourceFiles are the environment's other resource files
	// (jsc, xsl, oas…): resource URL ("jsc://lib.js") → file content.
	EnvironmentResourceFiles map[string]string `yaml:"environmentResourceFiles"`
	// Deploy lists expected deployment errors per revision name (substring
	// match); revisions not listed must be READY.
	DeployErrors map[string][]string `yaml:"deployErrors"`
	// ServiceAccounts are the deployments' service accounts (the deploy
	// call's serviceAccount) by revision name. The case engine's Google
	// tokens are fakeGoogleTokens'.
	ServiceAccounts map[string]string `yaml:"serviceAccounts"`
	Requests        []caseRequest     `yaml:"requests"`
	// RuntimeData seeds developers, apps, API products and KVMs in a fresh
	// organization in the real Cassandra before the case runs. A case that
	// has it runs only in the integration test (cases_data_integration_test.go).
	RuntimeData *caseRuntimeData `yaml:"runtimeData"`
}

type caseTargetServer struct {
	Name      string `yaml:"name"`
	Backend   string `yaml:"backend"` // "echo" (default), "down" or "unhealthy"
	IsEnabled *bool  `yaml:"isEnabled"`
}

type caseRequest struct {
	Name    string            `yaml:"name"`
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	Repeat  int               `yaml:"repeat"`
	// Advance moves the runtime data clock forward before the request
	// (token and credential expiry, quota windows): no sleeping.
	Advance time.Duration `yaml:"advance"`
	// Capture saves parts of the response as {{NAME}} for later requests:
	// NAME: <top-level JSON field> or "header:<name>".
	Capture map[string]string `yaml:"capture"`
	Expect  caseExpect        `yaml:"expect"`
}

type caseExpect struct {
	Status        int               `yaml:"status"`
	Headers       map[string]string `yaml:"headers"`
	HeadersAbsent []string          `yaml:"headersAbsent"`
	Body          *string           `yaml:"body"`
	BodyContains  []string          `yaml:"bodyContains"`
	JSON          any               `yaml:"json"`
	JSONSubset    any               `yaml:"jsonSubset"`
	Golden        string            `yaml:"golden"`
	// Syslog lists substrings that lines received by the case's syslog
	// server ({{SYSLOG_PORT}}, TCP) must contain, in any order.
	Syslog []string `yaml:"syslog"`
	// Sequence expects one JSON path value per repetition (load balancing).
	Sequence []string `yaml:"sequence"`
	// SequenceField is the echo field the sequence reads (default "server").
	SequenceField string `yaml:"sequenceField"`
}

// echoBackendServer answers with what it received as JSON, and can be told
// what to answer through X-Backend-* request headers: X-Backend-Status,
// X-Backend-Body, X-Backend-Content-Type, X-Backend-Header-<name>,
// X-Backend-Delay-Ms (wait before answering).
func echoBackendServer(tb testing.TB, name string) *httptest.Server {
	srv := httptest.NewServer(echoHandler(name))
	tb.Cleanup(srv.Close)
	return srv
}

// tlsEchoBackendServer is the echo backend over TLS, with httptest's
// certificate for 127.0.0.1 (the case contract's truststore
// "echo-truststore" holds it).
func tlsEchoBackendServer(tb testing.TB, name string) *httptest.Server {
	srv := httptest.NewTLSServer(echoHandler(name))
	tb.Cleanup(srv.Close)
	return srv
}

func echoHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ms, err := strconv.Atoi(r.Header.Get("X-Backend-Delay-Ms")); err == nil {
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		body, _ := io.ReadAll(r.Body)
		for k, v := range r.Header {
			if h, ok := strings.CutPrefix(k, "X-Backend-Header-"); ok {
				w.Header()[h] = v
			}
		}
		status := http.StatusOK
		if s := r.Header.Get("X-Backend-Status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		if b := r.Header.Get("X-Backend-Body"); b != "" {
			ct := r.Header.Get("X-Backend-Content-Type")
			if ct == "" {
				ct = "text/plain"
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, b)
			return
		}
		headers := map[string]string{}
		for k, v := range r.Header {
			headers[k] = strings.Join(v, ", ")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"server": name, "method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "headers": headers, "body": string(body),
		})
	})
}

// fakeGoogleTokens stands in for the control plane's IAM Credentials in
// cases: tokens spell out what was asked ("access:<account>:<scopes>:
// <lifetime s>", "id:<account>:<audience>:<includeEmail>"); accounts
// named denied@… are refused as IAM refuses a runtime without
// roles/iam.serviceAccountTokenCreator.
type fakeGoogleTokens struct{}

func (fakeGoogleTokens) AccessToken(_ context.Context, sa string, scopes []string, lifetime time.Duration) (string, error) {
	if strings.HasPrefix(sa, "denied@") {
		return "", errors.New("HTTP 403: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
	}
	return fmt.Sprintf("access:%s:%s:%d", sa, strings.Join(scopes, ","), int(lifetime/time.Second)), nil
}

func (fakeGoogleTokens) IDToken(_ context.Context, sa, audience string, includeEmail bool) (string, error) {
	if strings.HasPrefix(sa, "denied@") {
		return "", errors.New("HTTP 403: Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may not exist).")
	}
	return fmt.Sprintf("id:%s:%s:%t", sa, audience, includeEmail), nil
}

// TestBehaviourCases runs the cases that need no runtime data; the
// integration test runs the others against the real Cassandra.
func TestBehaviourCases(t *testing.T) {
	n := 0
	for _, dir := range caseDirs(t) {
		cf := loadCaseFile(t, dir)
		if cf.RuntimeData != nil {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) { runCase(t, dir, cf, caseEnv{org: "org"}) })
	}
	require.NotZero(t, n)
}

func caseDirs(tb testing.TB) []string {
	files, err := filepath.Glob("testdata/cases/*/cases.yaml")
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	dirs := make([]string, len(files))
	for i, f := range files {
		dirs[i] = filepath.Dir(f)
	}
	return dirs
}

// loadCaseFile decodes cases.yaml strictly: a misspelt key is an error, not
// an expectation silently dropped.
func loadCaseFile(tb testing.TB, dir string) *caseFile {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "cases.yaml"))
	require.NoError(tb, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var cf caseFile
	require.NoError(tb, dec.Decode(&cf), "%s/cases.yaml", dir)
	return &cf
}

// caseEnv is where a case runs: its organization and, for cases with
// runtime data, the store and the clock the store uses.
type caseEnv struct {
	org   string
	data  *rtdata.Store
	clock *testClock
}

// testClock is the runtime data clock of a case; requests move it with
// `advance`.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// caseVars expands {{NAME}} placeholders: fixed ones (backend, syslog)
// and those captured from earlier responses.
type caseVars struct{ m map[string]string }

func (v *caseVars) Replace(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	for k, val := range v.m {
		s = strings.ReplaceAll(s, "{{"+k+"}}", val)
	}
	return s
}

func runCase(t *testing.T, dir string, cf *caseFile, ce caseEnv) {

	be := echoBackendServer(t, "default")
	tlsBE := tlsEchoBackendServer(t, "tls")
	logs := newSyslogServer(t)
	repl := &caseVars{m: map[string]string{"BACKEND": be.URL, "BACKEND_HOST": "127.0.0.1", "BACKEND_PORT": strings.TrimPrefix(be.URL[strings.LastIndexByte(be.URL, ':'):], ":"),
		"TLS_BACKEND": tlsBE.URL, "SYSLOG_PORT": logs.port, "ORG": ce.org}}

	c := &contract.Contract{Organization: ce.org, Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"api.test"},
		FlowHooks: cf.FlowHooks, FlowHookContinueOnError: cf.FlowHookContinueOnError,
		Keystores: []contract.Keystore{{Name: "echo-truststore", Aliases: []contract.KeystoreAlias{{Name: "echo",
			CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsBE.Certificate().Raw}))}}}}}
	if _, err := os.Stat(filepath.Join(dir, "apiproxy")); err == nil {
		c.APIProxies = append(c.APIProxies, loadBundle(t, dir, "apiproxy", repl))
	}
	for _, sub := range []struct{ folder, root string }{{"proxies", "apiproxy"}, {"sharedflows", "sharedflowbundle"}} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub.folder))
		for _, e := range entries {
			d := loadBundle(t, filepath.Join(dir, sub.folder, e.Name()), sub.root, repl)
			if sub.root == "apiproxy" {
				c.APIProxies = append(c.APIProxies, d)
			} else {
				c.SharedFlows = append(c.SharedFlows, d)
			}
		}
	}
	for i, ts := range cf.TargetServers {
		srv := echoBackendServer(t, ts.Name)
		switch ts.Backend {
		case "down":
			srv.Close()
		case "unhealthy":
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		}
		port, _ := strconv.Atoi(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
		enabled := ts.IsEnabled == nil || *ts.IsEnabled
		c.TargetServers = append(c.TargetServers, contract.TargetServer{Name: ts.Name, Host: "127.0.0.1", Port: port, IsEnabled: enabled})
		_ = i
	}
	for set, content := range cf.EnvironmentPropertySets {
		c.ResourceFiles = append(c.ResourceFiles, contract.ResourceFile{Type: "properties", Name: set + ".properties", Content: []byte(content)})
	}
	urls := make([]string, 0, len(cf.EnvironmentResourceFiles))
	for u := range cf.EnvironmentResourceFiles {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	for _, u := range urls {
		typ, name, ok := strings.Cut(u, "://")
		require.True(t, ok && typ != "" && name != "" && typ != "properties",
			"environmentResourceFiles: %q must be <type>://<file> (property sets go in environmentPropertySets)", u)
		c.ResourceFiles = append(c.ResourceFiles, contract.ResourceFile{Type: typ, Name: name, Content: []byte(repl.Replace(cf.EnvironmentResourceFiles[u]))})
	}
	for i := range c.APIProxies {
		c.APIProxies[i].ServiceAccount = cf.ServiceAccounts[c.APIProxies[i].Name]
	}
	for i := range c.SharedFlows {
		c.SharedFlows[i].ServiceAccount = cf.ServiceAccounts[c.SharedFlows[i].Name]
	}
	opts := DefaultOptions()
	opts.GoogleTokens = fakeGoogleTokens{}
	e := New(zaptest.NewLogger(t), opts)
	t.Cleanup(e.Close)
	if ce.data != nil {
		e.SetRuntimeData(ce.data)
	}
	env := e.Compile(c, nil)
	for _, st := range env.Status {
		want := cf.DeployErrors[st.Name]
		if len(want) == 0 {
			require.Equal(t, "READY", st.State, "%s %s: %v", st.Kind, st.Name, st.Errors)
			continue
		}
		require.Equal(t, "ERROR", st.State, "%s %s should fail to deploy", st.Kind, st.Name)
		for _, w := range want {
			require.Contains(t, strings.Join(st.Errors, "\n"), w)
		}
	}
	e.SetEnvironment(env)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	client := srv.Client()

	for i, rq := range cf.Requests {
		name := rq.Name
		if name == "" {
			name = fmt.Sprintf("request-%d", i)
		}
		t.Run(name, func(t *testing.T) {
			n := rq.Repeat
			if n == 0 {
				n = 1
			}
			if rq.Advance != 0 {
				require.NotNil(t, ce.clock, "advance needs runtimeData (a case clock)")
				ce.clock.Advance(rq.Advance)
			}
			var seq []string
			for range n {
				code, hdr, body := doCaseRequest(t, client, srv.URL, rq, repl)
				capture(t, rq.Capture, hdr, body, repl)
				if len(rq.Expect.Sequence) > 0 {
					var m map[string]any
					require.NoError(t, json.Unmarshal(body, &m), string(body))
					field := rq.Expect.SequenceField
					if field == "" {
						field = "server"
					}
					seq = append(seq, fmt.Sprint(m[field]))
				}
				// Every other expectation holds for every repetition,
				// with or without a sequence.
				checkResponse(t, dir, rq.Expect, code, hdr, body, repl)
			}
			for _, want := range rq.Expect.Syslog {
				want = repl.Replace(want)
				require.Eventually(t, func() bool { return logs.contains(want) }, 5*time.Second, 10*time.Millisecond, "syslog line containing %q; got %q", want, logs.all())
			}
			if len(rq.Expect.Sequence) > 0 {
				require.Equal(t, rq.Expect.Sequence, seq)
			}
		})
	}
}

func doCaseRequest(t *testing.T, client *http.Client, base string, rq caseRequest, repl *caseVars) (int, http.Header, []byte) {
	method := rq.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if rq.Body != "" {
		body = strings.NewReader(repl.Replace(rq.Body))
	}
	req, err := http.NewRequest(method, base+repl.Replace(rq.Path), body)
	require.NoError(t, err)
	req.Host = "api.test"
	for k, v := range rq.Headers {
		req.Header.Set(k, repl.Replace(v))
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func checkResponse(t *testing.T, dir string, ex caseExpect, code int, hdr http.Header, body []byte, repl *caseVars) {
	t.Helper()
	if ex.Status != 0 {
		require.Equal(t, ex.Status, code, "status; body: %s", body)
	}
	for k, v := range ex.Headers {
		// "" means present and empty; absence is headersAbsent.
		require.NotNil(t, hdr.Values(k), "header %s is absent (expected %q); body: %s", k, v, body)
		require.Equal(t, repl.Replace(v), strings.Join(hdr.Values(k), ", "), "header %s; body: %s", k, body)
	}
	for _, k := range ex.HeadersAbsent {
		require.Empty(t, hdr.Values(k), "header %s should be absent", k)
	}
	if ex.Body != nil {
		require.Equal(t, repl.Replace(*ex.Body), string(body))
	}
	for _, s := range ex.BodyContains {
		require.Contains(t, string(body), repl.Replace(s))
	}
	if ex.JSON != nil {
		want, err := json.Marshal(ex.JSON)
		require.NoError(t, err)
		require.JSONEq(t, repl.Replace(string(want)), string(body))
	}
	if ex.JSONSubset != nil {
		var got any
		require.NoError(t, json.Unmarshal(body, &got), "body is not JSON: %s", body)
		wantRaw, err := json.Marshal(ex.JSONSubset)
		require.NoError(t, err)
		var want any
		require.NoError(t, json.Unmarshal([]byte(repl.Replace(string(wantRaw))), &want))
		requireSubset(t, want, got, "$")
	}
	if ex.Golden != "" {
		golden.Check(t, filepath.Join(dir, ex.Golden), body)
	}
}

// capture stores response parts as case variables.
func capture(t *testing.T, what map[string]string, hdr http.Header, body []byte, repl *caseVars) {
	t.Helper()
	for name, from := range what {
		if h, ok := strings.CutPrefix(from, "header:"); ok {
			require.NotEmpty(t, hdr.Get(h), "capture %s: no header %s", name, h)
			repl.m[name] = hdr.Get(h)
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m), "capture %s: body is not a JSON object: %s", name, body)
		v, ok := m[from]
		require.True(t, ok, "capture %s: no field %q in %s", name, from, body)
		repl.m[name] = fmt.Sprint(v)
	}
}

// requireSubset checks that every key of want is in got with an equal
// value (recursively for objects; arrays and scalars compare whole).
func requireSubset(t *testing.T, want, got any, path string) {
	t.Helper()
	wm, ok := want.(map[string]any)
	if !ok {
		require.Equal(t, want, got, "at %s", path)
		return
	}
	gm, ok := got.(map[string]any)
	require.True(t, ok, "at %s: want an object, got %v", path, got)
	keys := make([]string, 0, len(wm))
	for k := range wm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		gv, ok := gm[k]
		if !ok {
			// Header names in the echo are canonical; accept any case.
			for gk, v := range gm {
				if strings.EqualFold(gk, k) {
					gv, ok = v, true
				}
			}
		}
		require.True(t, ok, "at %s: missing key %q in %v", path, k, got)
		requireSubset(t, wm[k], gv, path+"."+k)
	}
}

// syslogServer collects the lines MessageLogging sends over TCP.
type syslogServer struct {
	port  string
	mu    sync.Mutex
	lines []string
}

func newSyslogServer(t *testing.T) *syslogServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &syslogServer{port: strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					s.mu.Lock()
					s.lines = append(s.lines, sc.Text())
					s.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return s
}

func (s *syslogServer) contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func (s *syslogServer) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// loadBundle zips a bundle folder (root = apiproxy or sharedflowbundle)
// after substituting the placeholders.
func loadBundle(t *testing.T, dir, root string, repl *caseVars) contract.Deployment {
	files := map[string]string{}
	base := filepath.Join(dir, root)
	require.NoError(t, filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = repl.Replace(string(b))
		return nil
	}))
	name := filepath.Base(dir)
	for p, content := range files {
		if !strings.Contains(strings.TrimPrefix(p, root+"/"), "/") && strings.HasSuffix(p, ".xml") {
			name = strings.TrimSuffix(filepath.Base(p), ".xml")
			if i := strings.Index(content, `name="`); i >= 0 {
				rest := content[i+6:]
				name = rest[:strings.IndexByte(rest, '"')]
			}
		}
	}
	return contract.Deployment{Name: name, Revision: "1", Bundle: bundletest.Zip(t, files)}
}
