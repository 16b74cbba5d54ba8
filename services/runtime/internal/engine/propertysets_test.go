package engine

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

func TestMissingPropertySet(t *testing.T) {
	sets := flow.PropertySets{"myProps": {"a": "1"}, "my.cfg": {"k": "v"}}
	tests := []struct{ text, want string }{
		{"no references", ""},
		{"{propertyset.myProps.a}", ""},
		{"{propertyset.myProps.unknown-key}", ""}, // a missing key is unresolved at run time, not a deploy error
		{`propertyset.my.cfg.k = "v"`, ""},
		{"propertyset.myProps", ""},
		{"{propertyset.nosuch.key}", "nosuch"},
		{"<Header>{propertyset.myProps.a}{propertyset.other.b}</Header>", "other"},
		{"context.getVariable('propertyset.gone.k')", "gone"},
		{"request.propertyset.x.y", ""},                    // not a property set reference
		{"context.getVariable('propertyset.' + name)", ""}, // dynamic: not checked
		{"propertyset.my.other.k", "my"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, missingPropertySet(sets, tt.text), tt.text)
	}
}

// TestEnvironmentPropertySetChangeRecompiles: a new contract whose only
// change is an environment property set recompiles the proxies using it.
func TestEnvironmentPropertySetChangeRecompiles(t *testing.T) {
	files := bundletest.Proxy("props", "/props", "http://127.0.0.1:1")
	files["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default">
  <PreFlow><Response><Step><Name>AM</Name></Step></Response></PreFlow>
  <HTTPProxyConnection><BasePath>/props</BasePath></HTTPProxyConnection>
  <RouteRule name="none"/>
</ProxyEndpoint>`
	files["apiproxy/policies/AM.xml"] = `<AssignMessage name="AM"><AssignTo>response</AssignTo><Set><Payload contentType="text/plain">{propertyset.envcfg.level}</Payload></Set></AssignMessage>`
	mk := func(version, level string) *contract.Contract {
		return &contract.Contract{Organization: "org", Environment: "test", Version: version, Hostnames: []string{"api.test"},
			APIProxies:    []contract.Deployment{deployment(t, "props", "1", files)},
			ResourceFiles: []contract.ResourceFile{{Type: "properties", Name: "envcfg", Content: []byte("level=" + level + "\n")}}}
	}
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	get := func() string {
		req := httptest.NewRequest(http.MethodGet, "/props", nil)
		req.Host = "api.test"
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec.Body.String()
	}
	env1 := e.Compile(mk("20261122.100000.000", "debug"), nil)
	require.Equal(t, "READY", env1.Status[0].State, env1.Status[0].Errors)
	e.SetEnvironment(env1)
	require.Equal(t, "debug", get())

	env2 := e.Compile(mk("20261122.100001.000", "error"), env1)
	require.NotSame(t, env1.Proxies[0], env2.Proxies[0])
	e.SetEnvironment(env2)
	require.Equal(t, "error", get())

	// Unchanged sets: the compiled revision is reused.
	env3 := e.Compile(mk("20261122.100002.000", "error"), env2)
	require.Same(t, env2.Proxies[0], env3.Proxies[0])

	// Removing the set fails the revision, naming the set.
	c := mk("20261122.100003.000", "x")
	c.ResourceFiles = nil
	env4 := e.Compile(c, env3)
	require.Equal(t, "ERROR", env4.Status[0].State)
	require.Contains(t, env4.Status[0].Errors[0], `property set "envcfg" does not exist`)
}
