package engine

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// proxyWithTarget returns a proxy bundle whose default target has the
// given <HTTPTargetConnection> body.
func proxyWithTarget(name, basePath, connection string) map[string]string {
	files := bundletest.Proxy(name, basePath, "http://unused.invalid")
	files["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><HTTPTargetConnection>` + connection + `</HTTPTargetConnection></TargetEndpoint>`
	return files
}

func TestTargetSSLInfoTrustStore(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"tls":true}`)) }))
	t.Cleanup(tlsSrv.Close)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}))
	ssl := func(inner string) string {
		return `<SSLInfo><Enabled>true</Enabled>` + inner + `</SSLInfo><URL>` + tlsSrv.URL + `</URL>`
	}
	c := &contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
		Keystores: []contract.Keystore{{Name: "backend-ts", Aliases: []contract.KeystoreAlias{{Name: "ca", CertPEM: certPEM}}}},
		APIProxies: []contract.Deployment{
			deployment(t, "trusted", "1", proxyWithTarget("trusted", "/trusted", ssl(`<TrustStore>ref://backend-ts</TrustStore>`))),
			deployment(t, "untrusted", "1", proxyWithTarget("untrusted", "/untrusted", ssl(``))),
			deployment(t, "ignore", "1", proxyWithTarget("ignore", "/ignore", ssl(`<IgnoreValidationErrors>true</IgnoreValidationErrors>`))),
			deployment(t, "cn", "1", proxyWithTarget("cn", "/cn", ssl(`<TrustStore>backend-ts</TrustStore><CommonName>wrong.example</CommonName>`))),
			deployment(t, "missing", "1", proxyWithTarget("missing", "/missing", ssl(`<TrustStore>ref://nope</TrustStore>`))),
		}}
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	env := e.Compile(c, nil)
	for _, st := range env.Status {
		if st.Name == "missing" {
			require.Equal(t, "ERROR", st.State)
			require.Contains(t, st.Errors[0], `apiproxy/targets/default.xml HTTPTargetConnection: SSLInfo: TrustStore "ref://nope" is not a keystore of environment test`)
			continue
		}
		require.Equal(t, "READY", st.State, st.Errors)
	}
	e.SetEnvironment(env)
	code, body := serve(t, e, "h", "/trusted")
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, true, body["tls"])
	code, _ = serve(t, e, "h", "/untrusted")
	require.Equal(t, http.StatusServiceUnavailable, code, "an unknown CA is a failed target call")
	code, _ = serve(t, e, "h", "/ignore")
	require.Equal(t, http.StatusOK, code)
	code, _ = serve(t, e, "h", "/cn")
	require.Equal(t, http.StatusServiceUnavailable, code, "the certificate must carry the expected common name")
}

func TestTargetIOTimeoutProperty(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(func() { close(release); slow.Close() })
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	files := proxyWithTarget("p", "/p", `<Properties><Property name="io.timeout.millis">100</Property></Properties><URL>`+slow.URL+`</URL>`)
	e.SetEnvironment(e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000",
		Hostnames: []string{"h"}, APIProxies: []contract.Deployment{deployment(t, "p", "1", files)}}, nil))
	code, body := serve(t, e, "h", "/p")
	require.Equal(t, http.StatusGatewayTimeout, code)
	require.Equal(t, CodeGatewayTimeout, body["fault"].(map[string]any)["detail"].(map[string]any)["errorcode"])

	bad := proxyWithTarget("bad", "/bad", `<Properties><Property name="io.timeout.millis">soon</Property></Properties><URL>`+slow.URL+`</URL>`)
	env := e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000",
		APIProxies: []contract.Deployment{deployment(t, "bad", "1", bad)}}, nil)
	require.Equal(t, "ERROR", env.Status[0].State)
	require.Contains(t, env.Status[0].Errors[0], `Properties/Property io.timeout.millis: "soon" is not a positive number of milliseconds`)
}

func TestHealthMonitorBringsServerBack(t *testing.T) {
	var down atomic.Bool
	mk := func(name string, flaky bool) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if flaky && down.Load() {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte(`{"server":"` + name + `"}`))
		}))
		t.Cleanup(s.Close)
		return s
	}
	port := func(s *httptest.Server) int {
		p, _ := strconv.Atoi(s.URL[strings.LastIndexByte(s.URL, ':')+1:])
		return p
	}
	s1, s2 := mk("s1", false), mk("s2", true)
	conn := `<LoadBalancer><Server name="s1"/><Server name="s2"/><MaxFailures>1</MaxFailures>
	  <ServerUnhealthyResponse><ResponseCode>500</ResponseCode></ServerUnhealthyResponse></LoadBalancer>
	  <HealthMonitor><IsEnabled>true</IsEnabled><IntervalInSec>1</IntervalInSec>
	    <HTTPMonitor><Request><Verb>GET</Verb><Path>/health</Path></Request><SuccessResponse><ResponseCode>200</ResponseCode></SuccessResponse></HTTPMonitor>
	  </HealthMonitor>`
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	env := e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"h"},
		TargetServers: []contract.TargetServer{{Name: "s1", Host: "127.0.0.1", Port: port(s1), IsEnabled: true}, {Name: "s2", Host: "127.0.0.1", Port: port(s2), IsEnabled: true}},
		APIProxies:    []contract.Deployment{deployment(t, "p", "1", proxyWithTarget("p", "/p", conn))}}, nil)
	require.Equal(t, "READY", env.Status[0].State, env.Status[0].Errors)
	e.SetEnvironment(env)

	down.Store(true)
	servers := func(n int) map[string]int {
		seen := map[string]int{}
		for range n {
			code, body := serve(t, e, "h", "/p")
			require.Equal(t, http.StatusOK, code, body)
			seen[body["server"].(string)]++
		}
		return seen
	}
	// s2 fails once (retried on s1) and leaves the rotation.
	require.Equal(t, map[string]int{"s1": 4}, servers(4))
	down.Store(false)
	require.Eventually(t, func() bool { return servers(2)["s2"] > 0 }, 10*time.Second, 50*time.Millisecond, "the health monitor puts s2 back")
}
