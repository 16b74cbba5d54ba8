package jwt

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

type rotatingJWKS struct {
	mu   sync.Mutex
	set  jose.JSONWebKeySet
	hits atomic.Int32
}

func (j *rotatingJWKS) publish(tb testing.TB, keys map[string]*rsa.PrivateKey) {
	tb.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.set = jose.JSONWebKeySet{}
	for kid, k := range keys {
		j.set.Keys = append(j.set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
	}
}

func (j *rotatingJWKS) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	j.hits.Add(1)
	j.mu.Lock()
	defer j.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(j.set)
}

// JWKS rotation: the issuer adds a new key and retires the old one. A
// VerifyJWT with a JWKS URI keeps the fetched set for 300 s (Apigee's
// JWKS cache); after that it sees the new set, so tokens of the new key
// verify and tokens of the retired key fail with NoMatchingPublicKey.
func TestJWKSRotation(t *testing.T) {
	oldKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	jwks := &rotatingJWKS{}
	jwks.publish(t, map[string]*rsa.PrivateKey{"old": oldKey})
	srv := httptest.NewServer(jwks)
	defer srv.Close()

	clock := time.Now()
	ver := compileXML(t, "VerifyJWT", "V", `<VerifyJWT name="V"><Algorithm>RS256</Algorithm>
		<PublicKey><JWKS uri="`+srv.URL+`/certs"/></PublicKey><Source>tok</Source></VerifyJWT>`, srv.Client())
	ver.(*policy).jwks.now = func() time.Time { return clock }
	sign := func(k *rsa.PrivateKey, kid string) string {
		pem, _ := pemKeys(t, k, &k.PublicKey)
		gen := compileXML(t, "GenerateJWT", "G", `<GenerateJWT name="G"><Algorithm>RS256</Algorithm>
			<PrivateKey><Value ref="private.k"/><Id>`+kid+`</Id></PrivateKey><ExpiresIn>1h</ExpiresIn><OutputVariable>tok</OutputVariable></GenerateJWT>`, nil)
		mc := newMC()
		mc.SetVar("private.k", pem)
		require.NoError(t, gen.Execute(context.Background(), mc))
		return mc.Get("tok").(string)
	}
	verify := func(tok string) error {
		mc := newMC()
		mc.SetVar("tok", tok)
		return ver.Execute(context.Background(), mc)
	}
	oldTok, newTok := sign(oldKey, "old"), sign(newKey, "new")

	require.NoError(t, verify(oldTok))
	jwks.publish(t, map[string]*rsa.PrivateKey{"new": newKey})
	// Within the cache time the retired key still verifies and the new
	// one is not known yet.
	clock = clock.Add(299 * time.Second)
	require.NoError(t, verify(oldTok))
	var f *flow.Fault
	require.ErrorAs(t, verify(newTok), &f)
	require.Equal(t, "steps.jwt.NoMatchingPublicKey", f.Code)
	require.Equal(t, int32(1), jwks.hits.Load())

	clock = clock.Add(2 * time.Second)
	require.NoError(t, verify(newTok))
	require.ErrorAs(t, verify(oldTok), &f)
	require.Equal(t, "steps.jwt.NoMatchingPublicKey", f.Code)
	require.Equal(t, int32(2), jwks.hits.Load())
}

// BenchmarkVerifyJWTRS256 measures VerifyJWT with an RS256 token and a PEM
// public key (requests per second = 1e9 / ns/op on one core).
func BenchmarkVerifyJWTRS256(b *testing.B) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(b, err)
	priv, pub := pemKeys(b, k, &k.PublicKey)
	gen := compileXML(b, "GenerateJWT", "G", `<GenerateJWT name="G"><Algorithm>RS256</Algorithm>
		<PrivateKey><Value ref="private.k"/></PrivateKey><Subject>s</Subject><ExpiresIn>1h</ExpiresIn><OutputVariable>tok</OutputVariable></GenerateJWT>`, nil)
	mc := newMC()
	mc.SetVar("private.k", priv)
	require.NoError(b, gen.Execute(context.Background(), mc))
	tok := mc.Get("tok").(string)
	ver := compileXML(b, "VerifyJWT", "V", `<VerifyJWT name="V"><Algorithm>RS256</Algorithm>
		<PublicKey><Value ref="pub"/></PublicKey><Source>tok</Source><Subject>s</Subject></VerifyJWT>`, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		mc := newMC()
		mc.SetVar("tok", tok)
		mc.SetVar("pub", pub)
		if err := ver.Execute(context.Background(), mc); err != nil {
			b.Fatal(err)
		}
	}
}
