package cors

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func compile(tb testing.TB, xml string) (flow.Policy, error) {
	tb.Helper()
	return Compile(&flow.CompileContext{Bundle: &bundle.Bundle{}, Policy: &bundle.Policy{Type: "CORS", Name: "C", XML: []byte(xml)}})
}

func request(tb testing.TB, method string, headers map[string]string) *flow.MessageContext {
	tb.Helper()
	r, err := http.NewRequest(method, "http://api.test/p", nil)
	require.NoError(tb, err)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return flow.New(&flow.Proxy{Name: "p"}, message.FromRequest(r), "127.0.0.1:1", nil)
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ name, xml, want string }{
		{"no origins", `<CORS name="C"/>`, "CORS/AllowOrigins: MissingAllowOrigins"},
		{"empty origins", `<CORS name="C"><AllowOrigins> </AllowOrigins></CORS>`, "MissingAllowOrigins"},
		{"max age", `<CORS name="C"><AllowOrigins>*</AllowOrigins><MaxAge>1h</MaxAge></CORS>`, "CORS/MaxAge: InvalidMaxAge"},
		{"method", `<CORS name="C"><AllowOrigins>*</AllowOrigins><AllowMethods>GET,BREW</AllowMethods></CORS>`, `InvalidHTTPMethods: "BREW"`},
		{"credentials", `<CORS name="C"><AllowOrigins>*</AllowOrigins><AllowCredentials>yes</AllowCredentials></CORS>`, "CORS/AllowCredentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := compile(t, c.xml)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestPreflight(t *testing.T) {
	p, err := compile(t, `<CORS name="C"><AllowOrigins>https://a.example</AllowOrigins><AllowMethods>GET, PUT</AllowMethods><AllowCredentials>true</AllowCredentials></CORS>`)
	require.NoError(t, err)
	cases := []struct {
		name     string
		headers  map[string]string
		accepted bool
	}{
		{"accepted", map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}, true},
		{"origin", map[string]string{"Origin": "https://b.example", "Access-Control-Request-Method": "PUT"}, false},
		{"method", map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "DELETE"}, false},
		{"header", map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-other"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mc := request(t, http.MethodOptions, c.headers)
			require.NoError(t, p.Execute(context.Background(), mc))
			require.True(t, mc.EndRequestFlow)
			require.Equal(t, http.StatusOK, mc.Response.StatusCode)
			require.Equal(t, c.accepted, mc.Get(varAccepted))
			require.Equal(t, "PRE_FLIGHT", mc.Get(varReqType))
			if c.accepted {
				require.Equal(t, "https://a.example", mc.Response.Header.Get("Access-Control-Allow-Origin"))
				require.Equal(t, "GET, PUT", mc.Response.Header.Get("Access-Control-Allow-Methods"))
				require.Equal(t, "1800", mc.Response.Header.Get("Access-Control-Max-Age"))
				require.Equal(t, "true", mc.Response.Header.Get("Access-Control-Allow-Credentials"))
			} else {
				require.Empty(t, mc.Response.Header.Get("Access-Control-Allow-Origin"))
			}
			require.Empty(t, mc.BeforeSend)
		})
	}
}

func TestActualRequest(t *testing.T) {
	p, err := compile(t, `<CORS name="C"><AllowOrigins>*</AllowOrigins><AllowCredentials>true</AllowCredentials><ExposeHeaders>X-A</ExposeHeaders></CORS>`)
	require.NoError(t, err)
	mc := request(t, http.MethodGet, map[string]string{"Origin": "https://z.example"})
	require.NoError(t, p.Execute(context.Background(), mc))
	require.False(t, mc.EndRequestFlow)
	require.Len(t, mc.BeforeSend, 1)
	// A second CORS policy does not register the final step twice.
	require.NoError(t, p.Execute(context.Background(), mc))
	require.Len(t, mc.BeforeSend, 1)
	mc.BeforeSend[0](mc)
	h := mc.Response.Header
	// With credentials a wildcard echoes the origin.
	require.Equal(t, "https://z.example", h.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
	require.Equal(t, "X-A", h.Get("Access-Control-Expose-Headers"))
	require.Empty(t, h.Get("Access-Control-Allow-Methods"))
}

func TestUnresolved(t *testing.T) {
	p, err := compile(t, `<CORS name="C"><AllowOrigins>{missing.var}</AllowOrigins><IgnoreUnresolvedVariables>false</IgnoreUnresolvedVariables></CORS>`)
	require.NoError(t, err)
	err = p.Execute(context.Background(), request(t, http.MethodGet, map[string]string{"Origin": "https://a.example"}))
	f, ok := err.(*flow.Fault)
	require.True(t, ok, "%v", err)
	require.Equal(t, CodeUnresolvedVariable, f.Code)
	require.Equal(t, "CORS[C]: unable to resolve variable missing.var", f.Message)

	p, err = compile(t, `<CORS name="C"><AllowOrigins>{missing.var}</AllowOrigins></CORS>`)
	require.NoError(t, err)
	mc := request(t, http.MethodGet, map[string]string{"Origin": "https://a.example"})
	require.NoError(t, p.Execute(context.Background(), mc))
	require.Equal(t, "", mc.Get(varOrigin))
}
