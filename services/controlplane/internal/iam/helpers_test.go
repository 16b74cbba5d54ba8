package iam_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"go.uber.org/goleak"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// projects is a fixed set of orgs → projects: the narrow interface the IAM
// asks the control plane's state.
type projects map[string]string // org → project

func (p projects) ProjectOfOrg(org string) (string, bool) {
	pr, ok := p[org]
	return pr, ok
}

func (p projects) ProjectExists(project string) bool {
	for _, pr := range p {
		if pr == project {
			return true
		}
	}
	return false
}

var testProjects = projects{"hybrid": "hybrid", "acme": "acme-project"}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an IAM served over HTTP on a loopback port.
type env struct {
	tb       testing.TB
	iam      *iam.IAM
	url      string
	tokenURI string
	dir      string
	clock    *clock
}

const adminToken = "test-admin"

func newEnv(tb testing.TB, mutate ...func(*iam.Options)) *env {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	tb.Cleanup(srv.Close)
	base := "http://" + srv.Listener.Addr().String()
	e := &env{tb: tb, url: base, tokenURI: base + "/token", dir: tb.TempDir(), clock: &clock{t: time.Now()}}
	e.iam = e.open(mutate...)
	mux := http.NewServeMux()
	e.iam.Register(mux.Handle)
	srv.Config.Handler = mux
	srv.Start()
	return e
}

// open opens (another) IAM on the env's directory.
func (e *env) open(mutate ...func(*iam.Options)) *iam.IAM {
	e.tb.Helper()
	opts := iam.Options{
		Dir: e.dir, TokenURI: e.tokenURI, AdminToken: adminToken,
		StaticTokens: map[string]string{"alice-token": "user:alice@example.com", "legacy-token": "synchronizer"},
		Projects:     testProjects, Log: zaptest.NewLogger(e.tb), Now: e.clock.now,
	}
	for _, m := range mutate {
		m(&opts)
	}
	m, err := iam.New(opts)
	require.NoError(e.tb, err)
	return m
}

// account creates a service account with a key and returns its key file.
func (e *env) account(project, id string, roles ...string) iam.KeyFile {
	e.tb.Helper()
	sa, err := e.iam.CreateServiceAccount(project, id, id, "")
	require.NoError(e.tb, err)
	for _, r := range roles {
		require.NoError(e.tb, e.iam.AddBinding(project, r, "serviceAccount:"+sa.Email))
	}
	_, kf, err := e.iam.CreateKey(project, sa.Email)
	require.NoError(e.tb, err)
	return kf
}

func keyJSON(tb testing.TB, kf iam.KeyFile) []byte {
	tb.Helper()
	raw, err := iam.EncodeKeyFile(kf)
	require.NoError(tb, err)
	return raw
}

func privateKey(tb testing.TB, kf iam.KeyFile) *rsa.PrivateKey {
	tb.Helper()
	block, _ := pem.Decode([]byte(kf.PrivateKey))
	require.NotNil(tb, block)
	require.Equal(tb, "PRIVATE KEY", block.Type)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(tb, err)
	return k.(*rsa.PrivateKey)
}

// signJWT builds an RS256 JWT by hand, for assertions real libraries
// would refuse to make.
func signJWT(tb testing.TB, priv *rsa.PrivateKey, kid string, claims map[string]any) string {
	tb.Helper()
	enc := func(v any) string {
		raw, err := json.Marshal(v)
		require.NoError(tb, err)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	h := map[string]string{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	input := enc(h) + "." + enc(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
	require.NoError(tb, err)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
