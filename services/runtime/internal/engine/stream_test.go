package engine

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// TestPayloadsStream proves that neither path buffers a payload no policy
// reads: the backend sends a first line and then waits until the client
// has seen it, which can only happen if the response is streamed; the
// request body likewise reaches the backend while the client is still
// sending it.
func TestPayloadsStream(t *testing.T) {
	firstSeen := make(chan struct{})
	firstReceived := make(chan string, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			br := bufio.NewReader(r.Body)
			line, _ := br.ReadString('\n')
			firstReceived <- line
			rest, _ := io.ReadAll(br)
			_, _ = io.WriteString(w, "got "+line)
			_, _ = w.Write(rest)
			return
		}
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-firstSeen
		_, _ = io.WriteString(w, "second\n")
	}))
	t.Cleanup(backend.Close)

	withStep := proxyWithTarget("stepped", "/stepped", `<URL>`+backend.URL+`</URL>`)
	withStep["apiproxy/policies/AM-H.xml"] = `<AssignMessage name="AM-H"><AssignTo>response</AssignTo><Set><Headers><Header name="X-Step">yes</Header></Headers></Set></AssignMessage>`
	withStep["apiproxy/proxies/default.xml"] = strings.Replace(withStep["apiproxy/proxies/default.xml"], "<Response/>", "<Response><Step><Name>AM-H</Name></Step></Response>", 1)
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	env := e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"127.0.0.1"},
		APIProxies: []contract.Deployment{
			deployment(t, "plain", "1", proxyWithTarget("plain", "/plain", `<URL>`+backend.URL+`</URL>`)),
			deployment(t, "stepped", "1", withStep),
		}}, nil)
	e.SetEnvironment(env)
	require.True(t, env.Proxies[0].Endpoints[0].plain)
	require.False(t, env.Proxies[1].Endpoints[0].plain)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	for _, path := range []string{"/plain", "/stepped"} {
		t.Run("response"+path, func(t *testing.T) {
			resp, err := srv.Client().Get(srv.URL + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "first\n", line)
			firstSeen <- struct{}{}
			rest, err := io.ReadAll(br)
			require.NoError(t, err)
			require.Equal(t, "second\n", string(rest))
			if path == "/stepped" {
				require.Equal(t, "yes", resp.Header.Get("X-Step"))
			}
		})
		t.Run("request"+path, func(t *testing.T) {
			pr, pw := io.Pipe()
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, pr)
			require.NoError(t, err)
			done := make(chan *http.Response, 1)
			go func() {
				resp, err := srv.Client().Do(req)
				if err != nil {
					done <- nil
					return
				}
				done <- resp
			}()
			_, _ = io.WriteString(pw, "hello\n")
			// The backend has the first line while the body is still open.
			require.Equal(t, "hello\n", <-firstReceived)
			_, _ = io.WriteString(pw, "tail")
			require.NoError(t, pw.Close())
			resp := <-done
			require.NotNil(t, resp)
			all, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, "got hello\ntail", string(all))
			_ = resp.Body.Close()
		})
	}
}
