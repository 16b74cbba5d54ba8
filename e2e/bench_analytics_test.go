//go:build bench

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// TestBenchmarkAnalytics is `make bench`'s analytics part: in one run,
// two message processors of one cluster serve the same proxies, one
// streaming analytics records to UDCA and one not, driven alternately by
// wrk; the report gives the throughput ratio (analytics on / off; the
// goal is ≥ 0.95) and the records per second UDCA took into its files
// meanwhile, with what either side dropped. Everything shares the
// machine's CPUs (UDCA too), as it would on one node.
func TestBenchmarkAnalytics(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	require.NoError(t, err, "make bench installs wrk (Debian package)")
	h.Build(t, "echobackend", "./e2e/cmd/echobackend")
	c := h.StartCluster(t, harness.Options{Analytics: true, UDCAArgs: []string{"--files.maxAge", "1s"}})
	off := c.StartRuntime(t, "--analytics.enabled=false")
	off.WaitReady(t, 90*time.Second)
	svc := apigeeClient(t, c)
	const host = "bench.example.com"
	attachHost(t, svc, c, "bench", host)
	echo := h.Start(t, "echobackend")
	rev := importProxy(t, svc, c, "pass", proxyZip(t, "pass", "/pass", echo.URL("main")))
	deployAndWait(t, svc, c, "pass", rev)
	rev = importProxy(t, svc, c, "chain", bundletest.Zip(t, chainBundle("chain", "/chain", echo.URL("main"))))
	deployAndWait(t, svc, c, "chain", rev)
	for _, u := range []string{c.TrafficURL(), off.URL("traffic")} {
		for _, p := range []string{"/pass/x", "/chain/x?id=7"} {
			require.Eventually(t, func() bool { return sendHeaders(t, u+p, host) == 200 }, 30*time.Second, 20*time.Millisecond)
		}
	}

	duration := envStr("BENCH_DURATION", "5s")
	conns := envStr("BENCH_CONNECTIONS", "64")
	runs := envInt("BENCH_RUNS", 3)
	secs, err := time.ParseDuration(duration)
	require.NoError(t, err)
	type pair struct{ on, off, udca []float64 }
	// CPU per call of each process while analytics is on, and of the
	// message processor without it: where the analytics path's cost lands.
	procs := map[string]*harness.Process{"mp": c.Runtime, "udca": c.UDCA, "controlplane": c.ControlPlane}
	cpu := map[string]time.Duration{}
	var calls float64
	var offCPU time.Duration
	var offCalls float64
	results := map[string]*pair{"/pass/x": {}, "/chain/x?id=7": {}}
	for range runs {
		for _, p := range []string{"/pass/x", "/chain/x?id=7"} {
			r := results[p]
			offBefore := cpuTime(t, off.Pid())
			r.off = append(r.off, runWrk(t, wrk, off.URL("traffic")+p, host, conns, duration))
			offCPU += cpuTime(t, off.Pid()) - offBefore
			offCalls += r.off[len(r.off)-1] * secs.Seconds()
			before := metric(t, c.UDCA, "records_received_count", `dataset="api"`)
			cpuBefore := map[string]time.Duration{}
			for n, pr := range procs {
				cpuBefore[n] = cpuTime(t, pr.Pid())
			}
			r.on = append(r.on, runWrk(t, wrk, c.TrafficURL()+p, host, conns, duration))
			// The run's records on their way to UDCA, and into the store.
			require.Eventually(t, func() bool { return metric(t, c.Runtime, "analytics_records_buffered") == 0 },
				60*time.Second, 20*time.Millisecond)
			after := metric(t, c.UDCA, "records_received_count", `dataset="api"`)
			require.Eventually(t, func() bool { return metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`) == 0 },
				60*time.Second, 20*time.Millisecond)
			for n, pr := range procs {
				cpu[n] += cpuTime(t, pr.Pid()) - cpuBefore[n]
			}
			calls += after - before
			r.udca = append(r.udca, (after-before)/secs.Seconds())
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n## Analytics (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&sb, "Two message processors of one cluster, same proxies and backend, alternately driven by wrk (%s connections, median of %d × %s); one streams analytics to UDCA, one does not.\n\n", conns, runs, duration)
	fmt.Fprintf(&sb, "| proxy | analytics off req/s | analytics on req/s | **ratio on/off** | UDCA records/s taken into files |\n|---|---|---|---|---|\n")
	for _, p := range []string{"/pass/x", "/chain/x?id=7"} {
		r := results[p]
		on, offRPS := median(r.on), median(r.off)
		fmt.Fprintf(&sb, "| %s | %.0f | %.0f | **%.2f** | %.0f |\n", p, offRPS, on, on/offRPS, median(r.udca))
	}
	us := func(d time.Duration, n float64) float64 { return float64(d.Microseconds()) / n }
	fmt.Fprintf(&sb, "\nCPU per call with analytics on (µs): message processor %.1f (%.1f without analytics), UDCA %.1f, control plane (upload + ingest) %.1f.\n",
		us(cpu["mp"], calls), us(offCPU, offCalls), us(cpu["udca"], calls), us(cpu["controlplane"], calls))
	fmt.Fprintf(&sb, "\nDropped: message processor `analytics_records_dropped_total` %.0f, UDCA `records_dropped_count` %.0f.\n",
		metric(t, c.Runtime, "analytics_records_dropped_total"), metric(t, c.UDCA, "records_dropped_count"))
	t.Log(sb.String())
	if out := os.Getenv("BENCH_REPORT"); out != "" {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		_, err = f.WriteString(sb.String())
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
}
