//go:build bench

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// TestBenchmarkReport is `make bench`: it measures, in one run on one
// machine, (1) deploy → first 200 latency through the whole chain (control
// plane → synchronizer → Cassandra → message processor), and (2) the
// message processor's pass-through throughput as a ratio of a bare, tuned
// httputil.ReverseProxy in front of the same backend, both driven by wrk.
// It prints a Markdown report; docs/BENCHMARKS.md records a run.
func TestBenchmarkReport(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	require.NoError(t, err, "make bench installs wrk (Debian package)")
	h.Build(t, "bareproxy", "./e2e/cmd/bareproxy")
	h.Build(t, "echobackend", "./e2e/cmd/echobackend")

	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	const host = "bench.example.com"
	attachHost(t, svc, c, "bench", host)
	echo := h.Start(t, "echobackend")
	bare := h.Start(t, "bareproxy", "--target", echo.URL("main"))

	// (1) deploy → first 200, several proxies, each a new deployment.
	rounds := envInt("BENCH_DEPLOY_ROUNDS", 10)
	var deployLatencies []time.Duration
	for i := range rounds {
		name := fmt.Sprintf("bench%d", i)
		rev := importProxy(t, svc, c, name, proxyZip(t, name, "/"+name, echo.URL("main")))
		start := time.Now()
		_, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, name, rev)).Override(true).Do()
		require.NoError(t, err)
		eventuallyStatus(t, c, host, "/"+name+"/x", 200)
		deployLatencies = append(deployLatencies, time.Since(start))
	}
	sort.Slice(deployLatencies, func(i, j int) bool { return deployLatencies[i] < deployLatencies[j] })

	// A five-policy chain on the same backend (the engine benchmark's chain).
	chain := importProxy(t, svc, c, "chain", bundletest.Zip(t, chainBundle("chain", "/chain", echo.URL("main"))))
	deployAndWait(t, svc, c, "chain", chain)
	eventuallyStatus(t, c, host, "/chain/x?id=7", 200)

	// The runtime-data chain: VerifyAPIKey + a distributed Quota +
	// AssignMessage, with the quota counted asynchronously (the
	// recommended setting for throughput) and synchronously (exact).
	const benchKey = "bench-consumer-key"
	seedKey(t, c.Org, c.Env, benchKey, "rtasync", "rtsync")
	for _, sync := range []bool{false, true} {
		name := map[bool]string{false: "rtasync", true: "rtsync"}[sync]
		rev := importProxy(t, svc, c, name, bundletest.Zip(t, runtimeDataChain(name, "/"+name, echo.URL("main"), sync)))
		deployAndWait(t, svc, c, name, rev)
	}
	keyHeader := "x-apikey: " + benchKey
	for _, name := range []string{"rtasync", "rtsync"} {
		require.Eventually(t, func() bool {
			got := sendHeaders(t, c.TrafficURL()+"/"+name+"/x", host, keyHeader)
			return got == 200
		}, 30*time.Second, 20*time.Millisecond, "%s never answered 200", name)
	}

	// (2) throughput, alternating baseline and gateway so drift hits both.
	duration := envStr("BENCH_DURATION", "5s")
	conns := envStr("BENCH_CONNECTIONS", "64")
	runs := envInt("BENCH_RUNS", 3)
	var bareRPS, gwRPS, chainRPS, asyncRPS, syncRPS []float64
	queries := map[string]map[string]float64{} // chain → kind → queries
	served := map[string]int64{}
	for range runs {
		bareRPS = append(bareRPS, runWrk(t, wrk, bare.URL("main")+"/bench0/x", "", conns, duration))
		gwRPS = append(gwRPS, runWrk(t, wrk, c.TrafficURL()+"/bench0/x", host, conns, duration))
		chainRPS = append(chainRPS, runWrk(t, wrk, c.TrafficURL()+"/chain/x?id=7", host, conns, duration))
		for _, name := range []string{"rtasync", "rtsync"} {
			before := cassandraQueries(t, c.Runtime.URL("main"))
			rps, n := runWrkCount(t, wrk, c.TrafficURL()+"/"+name+"/x", host, conns, duration, keyHeader)
			after := cassandraQueries(t, c.Runtime.URL("main"))
			if queries[name] == nil {
				queries[name] = map[string]float64{}
			}
			for kind, v := range after {
				queries[name][kind] += v - before[kind]
			}
			served[name] += n
			if name == "rtasync" {
				asyncRPS = append(asyncRPS, rps)
			} else {
				syncRPS = append(syncRPS, rps)
			}
		}
	}
	b, g, ch := median(bareRPS), median(gwRPS), median(chainRPS)
	ra, rs := median(asyncRPS), median(syncRPS)

	// (3) CPU time per request: each proxy pinned to the same core, wrk and
	// the backend on the other, one connection count for all.
	const proxyCPU, loadCPU = "1", "0"
	ngURL, ngPid := startNginx(t, echo.URL("main"))
	pin(t, echo.Pid(), loadCPU)
	cpuRuns := envInt("BENCH_CPU_RUNS", 3)
	cpuConns := envStr("BENCH_CPU_CONNECTIONS", "32")
	type cpuTarget struct {
		name      string
		pid       int
		url, host string
		samples   []float64
	}
	targets := []*cpuTarget{
		{name: "nginx (1 worker, keepalive upstream)", pid: ngPid, url: ngURL + "/bench0/x"},
		{name: "bare Go ReverseProxy", pid: bare.Pid(), url: bare.URL("main") + "/bench0/x"},
		{name: "message processor pass-through", pid: c.Runtime.Pid(), url: c.TrafficURL() + "/bench0/x", host: host},
		{name: "message processor five-policy chain", pid: c.Runtime.Pid(), url: c.TrafficURL() + "/chain/x?id=7", host: host},
	}
	for _, tg := range targets {
		pin(t, tg.pid, proxyCPU)
	}
	for range cpuRuns {
		for _, tg := range targets {
			per := cpuPerRequest(t, wrk, tg.pid, tg.url, tg.host, cpuConns, duration, loadCPU)
			tg.samples = append(tg.samples, float64(per.Nanoseconds())/1e3)
		}
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "\n## Results (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&sb, "| measurement | value |\n|---|---|\n")
	fmt.Fprintf(&sb, "| deploy → first 200, median of %d | %s |\n", rounds, deployLatencies[len(deployLatencies)/2].Round(time.Millisecond))
	fmt.Fprintf(&sb, "| deploy → first 200, max | %s |\n", deployLatencies[len(deployLatencies)-1].Round(time.Millisecond))
	fmt.Fprintf(&sb, "| bare ReverseProxy req/s (median of %d × %s, %s connections) | %.0f |\n", runs, duration, conns, b)
	fmt.Fprintf(&sb, "| message processor pass-through req/s | %.0f |\n", g)
	fmt.Fprintf(&sb, "| **pass-through ratio (gateway / bare)** | **%.2f** |\n", g/b)
	fmt.Fprintf(&sb, "| message processor five-policy chain req/s | %.0f |\n", ch)
	fmt.Fprintf(&sb, "| **five-policy chain ratio (gateway / bare)** | **%.2f** |\n", ch/b)
	perReq := func(name string) string {
		q := queries[name]
		n := float64(served[name])
		return fmt.Sprintf("%.3f reads, %.3f writes, %.3f LWTs", q["read"]/n, q["write"]/n, q["lwt"]/n)
	}
	fmt.Fprintf(&sb, "| VerifyAPIKey + distributed Quota (async) + AssignMessage req/s | %.0f |\n", ra)
	fmt.Fprintf(&sb, "| **runtime-data chain ratio, async quota (gateway / bare)** | **%.2f** |\n", ra/b)
	fmt.Fprintf(&sb, "| Cassandra per request, async quota | %s |\n", perReq("rtasync"))
	fmt.Fprintf(&sb, "| VerifyAPIKey + distributed Quota (synchronous, exact) + AssignMessage req/s | %.0f |\n", rs)
	fmt.Fprintf(&sb, "| **runtime-data chain ratio, synchronous quota (gateway / bare)** | **%.2f** |\n", rs/b)
	fmt.Fprintf(&sb, "| Cassandra per request, synchronous quota | %s |\n", perReq("rtsync"))
	fmt.Fprintf(&sb, "\n### CPU time per request\n\nProxy pinned to CPU %s, wrk (1 thread, %s connections) and the backend to CPU %s; CPU from /proc/<pid>/stat, median of %d × %s.\n\n", proxyCPU, cpuConns, loadCPU, cpuRuns, duration)
	fmt.Fprintf(&sb, "| proxy | µs CPU / request | vs nginx |\n|---|---|---|\n")
	nginxUS := median(targets[0].samples)
	for _, tg := range targets {
		us := median(tg.samples)
		fmt.Fprintf(&sb, "| %s | %.1f | %.2f× |\n", tg.name, us, us/nginxUS)
	}
	t.Log(sb.String())
	if out := os.Getenv("BENCH_REPORT"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(sb.String()), 0o644))
	}
}

// runtimeDataChain is a proxy that checks an API key, meters it with a
// distributed quota (counted synchronously or not) and sets a header.
func runtimeDataChain(name, basePath, target string, synchronous bool) map[string]string {
	files := bundletest.Proxy(name, basePath, target)
	files["apiproxy/policies/VA-Key.xml"] = `<VerifyAPIKey name="VA-Key"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
	files["apiproxy/policies/Q-Key.xml"] = fmt.Sprintf(`<Quota name="Q-Key"><Allow count="1000000000"/><Interval>1</Interval><TimeUnit>hour</TimeUnit>
  <Identifier ref="client_id"/><Distributed>true</Distributed><Synchronous>%t</Synchronous></Quota>`, synchronous)
	files["apiproxy/policies/AM-App.xml"] = `<AssignMessage name="AM-App"><Set><Headers><Header name="X-App">{developer.app.name}</Header></Headers></Set></AssignMessage>`
	files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], "<Request/>",
		`<Request><Step><Name>VA-Key</Name></Step><Step><Name>Q-Key</Name></Step><Step><Name>AM-App</Name></Step></Request>`, 1)
	return files
}

// chainBundle is a proxy with five policies on the request and response
// paths (plus one conditional step that never runs), as real proxies have.
func chainBundle(name, basePath, target string) map[string]string {
	files := bundletest.Proxy(name, basePath, target)
	files["apiproxy/policies/AM-ReqHeader.xml"] = `<AssignMessage name="AM-ReqHeader"><Set><Headers><Header name="X-Client">{client.ip}</Header></Headers></Set></AssignMessage>`
	files["apiproxy/policies/EV-Query.xml"] = `<ExtractVariables name="EV-Query"><Source>request</Source><QueryParam name="id"><Pattern>{id}</Pattern></QueryParam><VariablePrefix>q</VariablePrefix></ExtractVariables>`
	files["apiproxy/policies/AM-Var.xml"] = `<AssignMessage name="AM-Var"><AssignVariable><Name>route.key</Name><Template>{request.verb}:{q.id}</Template></AssignVariable></AssignMessage>`
	files["apiproxy/policies/RF-Never.xml"] = `<RaiseFault name="RF-Never"/>`
	files["apiproxy/policies/SC-Stats.xml"] = `<StatisticsCollector name="SC-Stats"><Statistics><Statistic name="id" ref="q.id" type="string">none</Statistic></Statistics></StatisticsCollector>`
	files["apiproxy/policies/AM-RespHeader.xml"] = `<AssignMessage name="AM-RespHeader"><AssignTo>response</AssignTo><Set><Headers><Header name="X-Route-Key">{route.key}</Header></Headers></Set></AssignMessage>`
	files["apiproxy/proxies/default.xml"] = strings.Replace(strings.Replace(files["apiproxy/proxies/default.xml"],
		"<Request/>", `<Request><Step><Name>AM-ReqHeader</Name></Step><Step><Name>EV-Query</Name></Step><Step><Name>AM-Var</Name></Step><Step><Name>RF-Never</Name><Condition>request.header.X-Fail = "yes"</Condition></Step></Request>`, 1),
		"<Response/>", `<Response><Step><Name>SC-Stats</Name></Step><Step><Name>AM-RespHeader</Name></Step></Response>`, 1)
	return files
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func runWrk(tb testing.TB, wrk, url, host, conns, duration string, headers ...string) float64 {
	rps, _ := runWrkCount(tb, wrk, url, host, conns, duration, headers...)
	return rps
}

// runWrkCount runs wrk and returns requests/s and the requests completed;
// headers are "Name: value" lines.
func runWrkCount(tb testing.TB, wrk, url, host, conns, duration string, headers ...string) (float64, int64) {
	tb.Helper()
	args := []string{"-t", "2", "-c", conns, "-d", duration, "--latency"}
	if host != "" {
		args = append(args, "-H", "Host: "+host)
	}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
	require.NoError(tb, err, string(out))
	require.NotContains(tb, string(out), "Non-2xx", string(out))
	m := rpsLine.FindStringSubmatch(string(out))
	require.Len(tb, m, 2, string(out))
	rps, err := strconv.ParseFloat(m[1], 64)
	require.NoError(tb, err)
	n := requestsLine.FindStringSubmatch(string(out))
	require.Len(tb, n, 2, string(out))
	count, err := strconv.ParseInt(n[1], 10, 64)
	require.NoError(tb, err)
	return rps, count
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
