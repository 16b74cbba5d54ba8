package engine

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// TestIOTimeoutIsAnInactivityDeadline: io.timeout.millis bounds every wait
// for the target, not only the one for the response headers. A target
// that sends its headers and part of its payload and then stalls is cut
// off; one that stops taking the request payload is answered 504.
func TestIOTimeoutIsAnInactivityDeadline(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sink" {
			// Never reads the request payload, never answers.
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select { // stalls mid-payload
		case <-r.Context().Done():
		case <-release:
		}
	}))
	stop := sync.OnceFunc(func() { close(release) })
	t.Cleanup(func() { stop(); backend.Close() })
	conn := func(path string) string {
		return `<Properties><Property name="io.timeout.millis">100</Property></Properties><URL>` + backend.URL + path + `</URL>`
	}
	streamed := proxyWithTarget("streamed", "/streamed", conn("/stall"))
	streamed["apiproxy/policies/AM-H.xml"] = `<AssignMessage name="AM-H"><AssignTo>response</AssignTo><Set><Headers><Header name="X-Step">yes</Header></Headers></Set></AssignMessage>`
	streamed["apiproxy/proxies/default.xml"] = strings.Replace(streamed["apiproxy/proxies/default.xml"], "<Response/>", "<Response><Step><Name>AM-H</Name></Step></Response>", 1)
	read := proxyWithTarget("read", "/read", conn("/stall"))
	read["apiproxy/policies/AM-Read.xml"] = `<AssignMessage name="AM-Read"><AssignVariable><Name>copy</Name><Ref>response.content</Ref></AssignVariable></AssignMessage>`
	read["apiproxy/proxies/default.xml"] = strings.Replace(read["apiproxy/proxies/default.xml"], "<Response/>", "<Response><Step><Name>AM-Read</Name></Step></Response>", 1)
	sinkStep := proxyWithTarget("sinkstep", "/sinkstep", conn("/sink"))
	sinkStep["apiproxy/policies/AM-H.xml"] = streamed["apiproxy/policies/AM-H.xml"]
	sinkStep["apiproxy/proxies/default.xml"] = strings.Replace(sinkStep["apiproxy/proxies/default.xml"], "<Response/>", "<Response><Step><Name>AM-H</Name></Step></Response>", 1)

	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	env := e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261204.100000.000", Hostnames: []string{"127.0.0.1"},
		APIProxies: []contract.Deployment{
			deployment(t, "plain", "1", proxyWithTarget("plain", "/plain", conn("/stall"))),
			deployment(t, "streamed", "1", streamed),
			deployment(t, "read", "1", read),
			deployment(t, "sink", "1", proxyWithTarget("sink", "/sink", conn("/sink"))),
			deployment(t, "sinkstep", "1", sinkStep),
		}}, nil)
	for _, st := range env.Status {
		require.Equal(t, "READY", st.State, st.Errors)
	}
	e.SetEnvironment(env)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(stop)                                   // before srv.Close, which waits for the requests in flight
	client := &http.Client{Timeout: 10 * time.Second} // only so that a regression fails instead of hanging

	for _, path := range []string{"/plain", "/streamed"} {
		t.Run("stall after the response began cuts the client"+path, func(t *testing.T) {
			resp, err := client.Get(srv.URL + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.Equal(t, "first\n", string(body))
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the truncated payload must not look complete")
		})
	}
	t.Run("stall while a policy reads the payload is a 504", func(t *testing.T) {
		resp, err := client.Get(srv.URL + "/read")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
		var f map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&f))
		require.Equal(t, CodeGatewayTimeout, f["fault"].(map[string]any)["detail"].(map[string]any)["errorcode"])
	})
	for _, path := range []string{"/sink", "/sinkstep"} {
		t.Run("target that stops taking the request payload is a 504"+path, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			require.NoError(t, err)
			defer c.Close()
			const size = 1 << 30 // far more than any socket buffers
			_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
			require.NoError(t, err)
			go func() {
				buf := make([]byte, 64<<10)
				for n := 0; n < size; n += len(buf) {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
			var f map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&f))
			require.Equal(t, CodeGatewayTimeout, f["fault"].(map[string]any)["detail"].(map[string]any)["errorcode"])
		})
	}
}

// TestMalformedChunkedBodyIsAClientError: a request payload the runtime
// cannot read is the client's fault (400), not the target's (503).
func TestMalformedChunkedBodyIsAClientError(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(backend.Close)
	srv := plainAndStepped(t, backend.URL)
	for _, path := range []string{"/plain", "/stepped"} {
		t.Run(path, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			require.NoError(t, err)
			defer c.Close()
			_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
			require.NoError(t, err)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			var f map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&f))
			require.Equal(t, CodeClientError, f["fault"].(map[string]any)["detail"].(map[string]any)["errorcode"])
		})
	}
}

func TestDefaultIOTimeoutIsApigees(t *testing.T) {
	require.Equal(t, 55*time.Second, DefaultOptions().IOTimeout)
}
