//go:build bench

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
// machine's CPUs (UDCA too), as it would on one node, so that ratio
// includes UDCA's and the ingest's CPU; two measures of the message
// processor's own cost go beside it: its CPU per call off / on (the
// throughput ratio it would have with CPUs to itself), and a second pass
// with the message processors pinned to CPU 0 and the rest to CPU 1.
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
	paths := []string{"/pass/x", "/chain/x?id=7"}
	// Per proxy and run: req/s of each message processor, its CPU per
	// call, and what UDCA took into files while the analytics one ran.
	type result struct{ on, off, udca, onCPU, offCPU, offUse, onUse []float64 }
	// CPU per call of UDCA and the control plane while analytics is on.
	others := map[string]*harness.Process{"udca": c.UDCA, "controlplane": c.ControlPlane}
	cpu := map[string]time.Duration{}
	var calls float64
	us := func(d time.Duration, n float64) float64 { return float64(d.Microseconds()) / n }
	// measure runs the alternation; wrkAt runs wrk (pinned or not) and
	// returns req/s and the requests completed.
	measure := func(wrkAt func(url string) (float64, int64)) map[string]*result {
		results := map[string]*result{}
		for _, p := range paths {
			results[p] = &result{}
		}
		for range runs {
			for _, p := range paths {
				r := results[p]
				offBefore := cpuTime(t, off.Pid())
				rps, n := wrkAt(off.URL("traffic") + p)
				r.off = append(r.off, rps)
				offUsed := cpuTime(t, off.Pid()) - offBefore
				r.offCPU = append(r.offCPU, us(offUsed, float64(n)))
				r.offUse = append(r.offUse, offUsed.Seconds()/secs.Seconds())
				before := metric(t, c.UDCA, "records_received_count", `dataset="api"`)
				cpuBefore := map[string]time.Duration{}
				for n, pr := range others {
					cpuBefore[n] = cpuTime(t, pr.Pid())
				}
				onBefore := cpuTime(t, c.Runtime.Pid())
				rps, n = wrkAt(c.TrafficURL() + p)
				r.on = append(r.on, rps)
				r.onUse = append(r.onUse, (cpuTime(t, c.Runtime.Pid())-onBefore).Seconds()/secs.Seconds())
				// The message processor's CPU up to the last record acknowledged.
				require.Eventually(t, func() bool { return metric(t, c.Runtime, "analytics_records_buffered") == 0 },
					60*time.Second, 20*time.Millisecond)
				r.onCPU = append(r.onCPU, us(cpuTime(t, c.Runtime.Pid())-onBefore, float64(n)))
				after := metric(t, c.UDCA, "records_received_count", `dataset="api"`)
				// The run's records into the store.
				require.Eventually(t, func() bool { return metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`) == 0 },
					60*time.Second, 20*time.Millisecond)
				for n, pr := range others {
					cpu[n] += cpuTime(t, pr.Pid()) - cpuBefore[n]
				}
				calls += after - before
				r.udca = append(r.udca, (after-before)/secs.Seconds())
			}
		}
		return results
	}
	shared := measure(func(url string) (float64, int64) { return runWrkCount(t, wrk, url, host, conns, duration) })

	// Both message processors driven at once (half the connections each):
	// the same load from UDCA, the control plane and the rest of the
	// machine on both, and rates close to each other, so that the CPU per
	// call differs by the analytics work alone. (Alternately driven, the
	// one with analytics serves fewer calls while UDCA and the ingest
	// run, and a message processor's CPU per call rises as its rate
	// falls: fewer calls per wakeup.)
	together := map[string]*result{}
	half := strconv.Itoa(max(1, envInt("BENCH_CONNECTIONS", 64)/2))
	for _, p := range paths {
		together[p] = &result{}
	}
	for range runs {
		for _, p := range paths {
			r := together[p]
			before := metric(t, c.UDCA, "records_received_count", `dataset="api"`)
			offBefore, onBefore := cpuTime(t, off.Pid()), cpuTime(t, c.Runtime.Pid())
			var offRPS, onRPS float64
			var offN, onN int64
			var wg sync.WaitGroup
			wg.Go(func() { offRPS, offN = runWrkCount(t, wrk, off.URL("traffic")+p, host, half, duration) })
			wg.Go(func() { onRPS, onN = runWrkCount(t, wrk, c.TrafficURL()+p, host, half, duration) })
			wg.Wait()
			offUsed := cpuTime(t, off.Pid()) - offBefore
			require.Eventually(t, func() bool { return metric(t, c.Runtime, "analytics_records_buffered") == 0 },
				60*time.Second, 20*time.Millisecond)
			onUsed := cpuTime(t, c.Runtime.Pid()) - onBefore
			r.udca = append(r.udca, (metric(t, c.UDCA, "records_received_count", `dataset="api"`)-before)/secs.Seconds())
			r.off, r.on = append(r.off, offRPS), append(r.on, onRPS)
			r.offCPU, r.onCPU = append(r.offCPU, us(offUsed, float64(offN))), append(r.onCPU, us(onUsed, float64(onN)))
			r.offUse, r.onUse = append(r.offUse, offUsed.Seconds()/secs.Seconds()), append(r.onUse, onUsed.Seconds()/secs.Seconds())
			require.Eventually(t, func() bool { return metric(t, c.UDCA, "local_file_count", `state="READY_TO_UPLOAD"`) == 0 },
				60*time.Second, 20*time.Millisecond)
		}
	}

	// The same with the message processors on CPU 0 and everything else
	// this test started (wrk, backend, UDCA, control plane) on CPU 1, so
	// that what analytics costs elsewhere does not take the message
	// processor's CPU. Processes this test did not start (Cassandra,
	// other work on the machine) still run anywhere.
	var pinned map[string]*result
	if _, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() >= 2 {
		for _, pr := range []*harness.Process{c.Runtime, off} {
			pin(t, pr.Pid(), "0")
		}
		for _, pr := range []*harness.Process{c.UDCA, c.ControlPlane, c.Synchronizer, c.Watcher, echo} {
			if pr != nil {
				pin(t, pr.Pid(), "1")
			}
		}
		pinned = measure(func(url string) (float64, int64) {
			out, err := exec.Command("taskset", "-c", "1", wrk, "-t", "1", "-c", conns, "-d", duration, "-H", "Host: "+host, url).CombinedOutput()
			require.NoError(t, err, string(out))
			require.NotContains(t, string(out), "Non-2xx", string(out))
			m, n := rpsLine.FindStringSubmatch(string(out)), requestsLine.FindStringSubmatch(string(out))
			require.Len(t, m, 2, string(out))
			require.Len(t, n, 2, string(out))
			rps, err := strconv.ParseFloat(m[1], 64)
			require.NoError(t, err)
			count, err := strconv.ParseInt(n[1], 10, 64)
			require.NoError(t, err)
			return rps, count
		})
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "\n## Analytics (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&sb, "Two message processors of one cluster, same proxies and backend, alternately driven by wrk (%s connections, medians of %d × %s; each ratio is the median of the runs' ratios); one streams analytics to UDCA, one does not.\n\n", conns, runs, duration)
	fmt.Fprintf(&sb, "| proxy | CPUs | analytics off req/s | analytics on req/s | **req/s ratio on/off** | MP CPUs busy off | on | MP µs CPU/call off | on | **MP-only ratio** (CPU/call off/on) | UDCA records/s into files |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	// Ratios are taken per run (off and on back to back, under the same
	// load from the rest of the machine) and their median reported.
	ratios := func(num, den []float64) float64 {
		out := make([]float64, len(num))
		for i := range num {
			out[i] = num[i] / den[i]
		}
		return median(out)
	}
	row := func(label string, results map[string]*result) {
		for _, p := range paths {
			r := results[p]
			fmt.Fprintf(&sb, "| %s | %s | %.0f | %.0f | **%.2f** | %.2f | %.2f | %.1f | %.1f | **%.2f** | %.0f |\n", p, label, median(r.off), median(r.on), ratios(r.on, r.off),
				median(r.offUse), median(r.onUse), median(r.offCPU), median(r.onCPU), ratios(r.offCPU, r.onCPU), median(r.udca))
		}
	}
	row("shared, alternately", shared)
	row("shared, both at once", together)
	if pinned != nil {
		row("MP pinned to CPU 0, rest to CPU 1", pinned)
	}
	fmt.Fprintf(&sb, "\nMP CPUs busy: the message processor's CPU time over the wrk run's (pinned, near 1.00 means the message processor on CPU 0 was the bottleneck; less, that something else was).\n")
	fmt.Fprintf(&sb, "\nCPU per record with analytics on (µs, all runs): UDCA %.1f, control plane (upload + ingest) %.1f.\n",
		us(cpu["udca"], calls), us(cpu["controlplane"], calls))
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
