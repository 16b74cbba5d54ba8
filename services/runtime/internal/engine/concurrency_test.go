package engine

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// TestConcurrentRequests runs policies (pooled JavaScript runtimes, shared
// compiled policies) from many goroutines; with -race it checks that no
// per-request state leaks into compiled objects.
func TestConcurrentRequests(t *testing.T) {
	be := echoBackendServer(t, "default")
	files := chainBundle(be.URL)
	files["apiproxy/resources/jsc/id.js"] = `context.setVariable("js.id", "js-" + context.getVariable("request.queryparam.id"));`
	files["apiproxy/policies/JS-Id.xml"] = `<Javascript name="JS-Id"><ResourceURL>jsc://id.js</ResourceURL></Javascript>`
	files["apiproxy/policies/AM-Js.xml"] = `<AssignMessage name="AM-Js"><AssignTo>response</AssignTo><Set><Headers><Header name="X-Js">{js.id}</Header></Headers></Set></AssignMessage>`
	files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], "<Step><Name>AM-ReqHeader</Name></Step>", "<Step><Name>AM-ReqHeader</Name></Step><Step><Name>JS-Id</Name></Step>", 1)
	files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], "<Step><Name>AM-RespHeader</Name></Step>", "<Step><Name>AM-RespHeader</Name></Step><Step><Name>AM-Js</Name></Step>", 1)
	e := New(zaptest.NewLogger(t), DefaultOptions())
	t.Cleanup(e.Close)
	env := e.Compile(&contract.Contract{Organization: "o", Environment: "test", Version: "20261122.100000.000", Hostnames: []string{"127.0.0.1"},
		APIProxies: []contract.Deployment{deployment(t, "chain", "1", files)}}, nil)
	require.Equal(t, "READY", env.Status[0].State, env.Status[0].Errors)
	e.SetEnvironment(env)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				id := fmt.Sprintf("%d-%d", g, i)
				resp, err := srv.Client().Get(srv.URL + "/p/x?id=" + id)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Js") != "js-"+id || resp.Header.Get("X-Route-Key") != "GET:"+id {
					errs <- fmt.Errorf("request %s: %d %v", id, resp.StatusCode, resp.Header)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
