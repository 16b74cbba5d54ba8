package jwt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func compileXML(t testing.TB, typ, name, xml string, client *http.Client) flow.Policy {
	t.Helper()
	p, err := compilers[typ](&flow.CompileContext{Bundle: &bundle.Bundle{}, HTTPClient: client,
		Policy: &bundle.Policy{Type: typ, Name: name, XML: []byte(xml)}})
	require.NoError(t, err)
	return p
}

var compilers = map[string]func(*flow.CompileContext) (flow.Policy, error){
	"GenerateJWT": CompileGenerateJWT, "VerifyJWT": CompileVerifyJWT,
}

func newMC() *flow.MessageContext {
	return flow.New(&flow.Proxy{Name: "p"}, message.NewRequest(), "127.0.0.1:1", nil)
}

// TestJWKSURI fetches the JWKS from a local server once and serves the
// next verifications from the cache.
func TestJWKSURI(t *testing.T) {
	jwks, err := os.ReadFile("../../engine/testdata/cases/jwt/apiproxy/policies/AM-Keys.xml")
	require.NoError(t, err)
	priv := extract(t, string(jwks), "private.ec")
	set := extract(t, string(jwks), "jwks")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(set))
	}))
	defer srv.Close()

	gen := compileXML(t, "GenerateJWT", "G", `<GenerateJWT name="G"><Algorithm>ES256</Algorithm>
		<PrivateKey><Value ref="private.ec"/><Id>ec1</Id></PrivateKey><Subject>s</Subject>
		<ExpiresIn>10m</ExpiresIn><OutputVariable>tok</OutputVariable></GenerateJWT>`, nil)
	ver := compileXML(t, "VerifyJWT", "V", `<VerifyJWT name="V"><Algorithm>ES256</Algorithm>
		<PublicKey><JWKS uri="`+srv.URL+`/{kpath}"/></PublicKey><Source>tok</Source><Subject>s</Subject></VerifyJWT>`, srv.Client())
	for i := 0; i < 3; i++ {
		mc := newMC()
		mc.SetVar("private.ec", priv)
		mc.SetVar("kpath", "certs")
		require.NoError(t, gen.Execute(context.Background(), mc))
		require.NoError(t, ver.Execute(context.Background(), mc))
		require.Equal(t, true, mc.Get("jwt.V.valid"))
		require.Equal(t, "ec1", mc.Get("jwt.V.header.kid"))
	}
	require.Equal(t, int32(1), hits.Load())

	// A kid the JWKS does not have.
	gen2 := compileXML(t, "GenerateJWT", "G2", `<GenerateJWT name="G2"><Algorithm>ES256</Algorithm>
		<PrivateKey><Value ref="private.ec"/><Id>nope</Id></PrivateKey><OutputVariable>tok</OutputVariable></GenerateJWT>`, nil)
	mc := newMC()
	mc.SetVar("private.ec", priv)
	mc.SetVar("kpath", "certs")
	require.NoError(t, gen2.Execute(context.Background(), mc))
	err = ver.Execute(context.Background(), mc)
	var f *flow.Fault
	require.ErrorAs(t, err, &f)
	require.Equal(t, "steps.jwt.NoMatchingPublicKey", f.Code)
	require.Equal(t, http.StatusUnauthorized, f.StatusCode())
	require.Equal(t, false, mc.Get("jwt.V.valid"))
}

// extract reads an AssignVariable value from the jwt case's key policy.
func extract(t *testing.T, xml, name string) string {
	t.Helper()
	start := "<Name>" + name + "</Name><Value>"
	i := strings.Index(xml, start)
	require.GreaterOrEqual(t, i, 0, name)
	rest := xml[i+len(start):]
	j := strings.Index(rest, "</Value>")
	return rest[:j]
}

func TestIntervals(t *testing.T) {
	for in, want := range map[string]string{"1h": "1h0m0s", "30": "30s", "500ms": "500ms", "-10s": "-10s", "2d": "48h0m0s", "1w": "168h0m0s"} {
		d, err := parseInterval(in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.String(), in)
	}
	for _, bad := range []string{"soon", "1y", ""} {
		_, err := parseInterval(bad)
		require.Error(t, err, bad)
	}
}
