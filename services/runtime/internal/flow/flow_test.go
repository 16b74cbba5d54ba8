package flow

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func newMC(t *testing.T) *MessageContext {
	r := httptest.NewRequest(http.MethodGet, "/base/items?x=1", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	mc := New(&Proxy{Org: "o", Env: "e", Name: "p", Revision: "3", Endpoint: "default", BasePath: "/base"}, message.FromRequest(r), r.RemoteAddr, zap.NewNop())
	mc.PathSuffix = "/items"
	return mc
}

func TestVariables(t *testing.T) {
	mc := newMC(t)
	for name, want := range map[string]any{
		"proxy.pathsuffix": "/items", "proxy.basepath": "/base", "apiproxy.name": "p", "apiproxy.revision": "3",
		"environment.name": "e", "organization.name": "o", "client.ip": "10.1.2.3", "request.queryparam.x": "1",
		"message.verb": "GET", "is.error": false, "client.scheme": "http", "client.ssl.enabled": false,
	} {
		got, ok := mc.Lookup(name)
		require.True(t, ok, name)
		require.Equal(t, want, got, name)
	}
	_, ok := mc.Lookup("response.status.code")
	require.False(t, ok, "no response yet")
	_, ok = mc.Lookup("fault.name")
	require.False(t, ok)

	require.NoError(t, mc.Set("my.var", "v"))
	require.Equal(t, "v", mc.Get("my.var"))
	require.NoError(t, mc.Set("request.header.X-New", "h"))
	require.Equal(t, "h", mc.Request.Header.Get("X-New"))
	require.NoError(t, mc.Set("response.status.code", 201), "setting the response creates it")
	require.Equal(t, 201, mc.Response.StatusCode)
	for _, ro := range []string{"proxy.pathsuffix", "apiproxy.name", "organization.name", "system.timestamp", "request.uri", "messageid", "request.header.X.values"} {
		var e *ErrReadOnly
		require.True(t, errors.As(mc.Set(ro, "x"), &e), ro)
	}
	require.NoError(t, mc.Set("target.url", "http://x"))
	require.Equal(t, "http://x", mc.Get("target.url"))

	m := message.NewResponse()
	mc.SetMessage("calloutResponse", m)
	m.SetContent([]byte("c"))
	require.Equal(t, "c", mc.Get("calloutResponse.content"))
	require.NoError(t, mc.Remove("my.var"))
	require.Nil(t, mc.Get("my.var"))
}

func TestErrorVariables(t *testing.T) {
	mc := newMC(t)
	f := Errorf(http.StatusBadRequest, "steps.x.Bad", "bad %s", "thing")
	mc.InError, mc.Fault, mc.Response = true, f, f.DefaultResponse()
	require.Equal(t, "Bad", mc.Get("fault.name"))
	require.Equal(t, 400, mc.Get("error.status.code"))
	require.Equal(t, "bad thing", mc.Get("error.message"))
	require.Equal(t, "PROXY_REQ_FLOW", mc.Get("error.state"))
	require.JSONEq(t, `{"fault":{"faultstring":"bad thing","detail":{"errorcode":"steps.x.Bad"}}}`, mc.Get("error.content").(string))
	require.NoError(t, mc.Set("error.message", "changed"))
	require.Equal(t, "changed", f.Message)
}

func TestStepsRun(t *testing.T) {
	mc := newMC(t)
	var ran []string
	pol := func(name string, err error) Policy {
		return PolicyFunc(func(context.Context, *MessageContext) error { ran = append(ran, name); return err })
	}
	boom := Errorf(500, "steps.t.Boom", "boom")
	steps := Steps{
		{Name: "disabled", Type: "T", Namespace: "t", Policy: pol("disabled", nil), Enabled: false},
		{Name: "skipped", Type: "T", Namespace: "t", Policy: pol("skipped", nil), Enabled: true, Condition: condition.MustParse(`request.verb = "POST"`)},
		{Name: "soft", Type: "T", Namespace: "t", Policy: pol("soft", boom), Enabled: true, ContinueOnError: true},
		{Name: "hard", Type: "T", Namespace: "t", Policy: pol("hard", boom), Enabled: true},
		{Name: "never", Type: "T", Namespace: "t", Policy: pol("never", nil), Enabled: true},
	}
	err := steps.Run(context.Background(), mc)
	require.Equal(t, "steps.t.Boom", err.(*Fault).Code)
	require.Equal(t, []string{"soft", "hard"}, ran)
	require.Equal(t, true, mc.Get("t.soft.failed"))
	require.Equal(t, "hard", err.(*Fault).Policy)

	// A plain error becomes the policy type's ExecutionFailed fault.
	f := AsFault(errors.New("x"), "ExtractVariables", "EV")
	require.Equal(t, "steps.extractvariables.ExecutionFailed", f.Code)
}
