package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"go.uber.org/goleak"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testToken = "test-admin-token"

// cp is a control plane running in-process on ephemeral ports.
type cp struct {
	tb       testing.TB
	srv      *server.Server
	url      string // http://127.0.0.1:port
	httpsURL string
	dir      string
	client   *http.Client // plain HTTP, no credentials
	stop     func()
}

// startCP runs a control plane with its state in dir until the test ends
// (or stop is called).
func startCP(tb testing.TB, dir string, mutate ...func(*server.Config)) *cp {
	tb.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.HTTPS.Listen = "127.0.0.1:0"
	cfg.GRPC.Listen = "127.0.0.1:0"
	cfg.StateDir = dir
	cfg.AdminToken = testToken
	cfg.Tokens = map[string]string{"sync-token": "synchronizer"}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := service.NewWithLogger("controlplane", cfg.Common, zaptest.NewLogger(tb))
	require.NoError(tb, err)
	srv, err := server.New(svc, &cfg)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(tb, <-done)
		})
	}
	tb.Cleanup(stop)
	c := &cp{tb: tb, srv: srv, url: "http://" + svc.Addr("main"), dir: dir, client: &http.Client{}, stop: stop}
	if a := svc.Addr("https"); a != "" {
		c.httpsURL = "https://" + a
	}
	return c
}

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func authClient(token string, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: bearer{token: token, base: base}}
}

// httpsClient trusts only the control plane's generated CA.
func (c *cp) httpsClient(token string) *http.Client {
	c.tb.Helper()
	pem, err := os.ReadFile(c.srv.CAPath)
	require.NoError(c.tb, err)
	pool := x509.NewCertPool()
	require.True(c.tb, pool.AppendCertsFromPEM(pem))
	return authClient(token, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) json(tb testing.TB, v any) {
	tb.Helper()
	require.NoError(tb, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// errBody is a Google API error.
type errBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

func (r resp) apiError(tb testing.TB) errBody {
	tb.Helper()
	var e errBody
	r.json(tb, &e)
	require.Equal(tb, r.status, e.Error.Code)
	require.NotEmpty(tb, e.Error.Status)
	return e
}

// send does one request against base with the admin token (token "" sends
// none).
func send(tb testing.TB, client *http.Client, method, url, contentType string, body []byte) resp {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(tb, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := client.Do(req)
	require.NoError(tb, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(tb, err)
	return resp{status: res.StatusCode, body: data, header: res.Header}
}

// sendAsync is send for goroutines other than the test's: it reports
// failures as values instead of failing the test.
func sendAsync(client *http.Client, method, url, contentType string, body []byte) (resp, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return resp{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := client.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: data, header: res.Header}, err
}

// do calls the plain HTTP API with the admin token.
func (c *cp) do(method, path, contentType string, body []byte) resp {
	c.tb.Helper()
	return send(c.tb, authClient(testToken, nil), method, c.url+path, contentType, body)
}

// doJSON sends in as JSON (nil: no body) and requires want.
func (c *cp) doJSON(method, path string, in any, want int, out any) resp {
	c.tb.Helper()
	var body []byte
	if in != nil {
		var err error
		body, err = json.Marshal(in)
		require.NoError(c.tb, err)
	}
	r := c.do(method, path, "application/json", body)
	require.Equal(c.tb, want, r.status, "%s %s: %s", method, path, r.body)
	if out != nil {
		r.json(c.tb, out)
	}
	return r
}

// multipartBody builds a form with one file field.
func multipartBody(tb testing.TB, field string, zip []byte) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, "bundle.zip")
	require.NoError(tb, err)
	_, err = fw.Write(zip)
	require.NoError(tb, err)
	require.NoError(tb, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

func proxyZip(tb testing.TB, name, basePath string) []byte {
	tb.Helper()
	return bundletest.Zip(tb, bundletest.Proxy(name, basePath, "http://127.0.0.1:9/"))
}

type revision struct {
	Name      string   `json:"name"`
	Revision  string   `json:"revision"`
	Basepaths []string `json:"basepaths"`
	Proxies   []string `json:"proxies"`
	Targets   []string `json:"targets"`
	Policies  []string `json:"policies"`
	CreatedAt string   `json:"createdAt"`
	ConfigVer struct {
		MajorVersion int `json:"majorVersion"`
	} `json:"configurationVersion"`
	Meta map[string]string `json:"entityMetaDataAsProperties"`
}

type deployment struct {
	Environment     string `json:"environment"`
	APIProxy        string `json:"apiProxy"`
	Revision        string `json:"revision"`
	State           string `json:"state"`
	DeployStartTime string `json:"deployStartTime"`
	Errors          []struct {
		Message string `json:"message"`
	} `json:"errors"`
	Pods []struct {
		PodName          string `json:"podName"`
		DeploymentStatus string `json:"deploymentStatus"`
		AppVersion       string `json:"appVersion"`
		StatusCode       string `json:"statusCode"`
		PodStatus        string `json:"podStatus"`
	} `json:"pods"`
	RouteConflicts []struct {
		Description      string `json:"description"`
		EnvironmentGroup string `json:"environmentGroup"`
	} `json:"routeConflicts"`
}

func (c *cp) contractVersion(org, env string) string {
	c.tb.Helper()
	var v struct {
		Version string `json:"version"`
	}
	c.doJSON("GET", "/v1/organizations/"+org+"/environments/"+env+"/contract/version", nil, http.StatusOK, &v)
	require.NotEmpty(c.tb, v.Version)
	return v.Version
}

// report posts a runtime status report for one deployment.
func (c *cp) report(org, env, version, api, kind, rev, st string, errs ...string) {
	c.tb.Helper()
	dep := map[string]any{"apiProxy": api, "kind": kind, "revision": rev, "state": st}
	var e []map[string]string
	for _, m := range errs {
		e = append(e, map[string]string{"message": m})
	}
	if e != nil {
		dep["errors"] = e
	}
	body := map[string]any{
		"instance": "cluster-1/watcher", "contractVersion": version,
		"pods":        []map[string]string{{"podName": "runtime-0", "appVersion": "1.0.0"}},
		"deployments": []any{dep},
	}
	c.doJSON("POST", "/v1/organizations/"+org+"/environments/"+env+"/runtimeStatus", body, http.StatusOK, nil)
}
