//go:build integration

package e2e

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// Steady load through an outage: deployed proxies answer every call while
// the control plane is away — past the synchronizer's probe failing — and
// after it returns, with no failed call (the seed: no impact on
// northbound/southbound traffic). The load is bounded (a fixed rate,
// loopback only).
func TestSteadyLoadThroughOutage(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{SynchronizerArgs: []string{"--retryMaxInterval", "200ms"}})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "load.e2e.example.com"
	attachHost(t, svc, c, "g", host)
	rev := importProxy(t, svc, c, "steady", proxyZip(t, "steady", "/steady", be.URL))
	deployAndWait(t, svc, c, "steady", rev)
	eventuallyStatus(t, c, host, "/steady/x", 200)

	const workers, perWorker = 4, 50 * time.Millisecond // 80 calls/s in all
	ctx, stop := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var firstFailure string
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(perWorker)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				req, _ := http.NewRequest(http.MethodGet, c.TrafficURL()+"/steady/x", nil)
				req.Host = host
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				if err == nil && resp.StatusCode == 200 {
					ok.Add(1)
					continue
				}
				failed.Add(1)
				mu.Lock()
				if firstFailure == "" {
					if err != nil {
						firstFailure = err.Error()
					} else {
						firstFailure = resp.Status
					}
				}
				mu.Unlock()
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()

	waitCalls := func(n int64) {
		from := ok.Load()
		require.Eventually(t, func() bool { return ok.Load() >= from+n }, 30*time.Second, 10*time.Millisecond)
	}
	waitCalls(40)
	hybridctlOutage(t, c, "start")
	require.Eventually(t, func() bool { return probe(t, c.Synchronizer) == 503 }, time.Minute, 50*time.Millisecond,
		"the synchronizer's probe never failed")
	waitCalls(200) // a few seconds deep into the outage
	hybridctlOutage(t, c, "stop")
	require.Eventually(t, func() bool { return probe(t, c.Synchronizer) == 200 }, time.Minute, 50*time.Millisecond)
	waitCalls(40)
	stop()
	wg.Wait()
	t.Logf("%d calls answered, %d failed", ok.Load(), failed.Load())
	require.Zero(t, failed.Load(), "a call to a deployed proxy failed (first: %s)", firstFailure)
}
