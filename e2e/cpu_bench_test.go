//go:build bench

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on
// every Linux this runs on).
const clockTicks = 100

// cpuTime is a process's user+system CPU time (all its threads), plus that
// of its direct children (nginx's workers).
func cpuTime(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	total := procCPU(tb, pid)
	if kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
		for _, f := range strings.Fields(string(kids)) {
			if k, err := strconv.Atoi(f); err == nil {
				total += procCPU(tb, k)
			}
		}
	}
	return total
}

func procCPU(tb testing.TB, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(tb, err)
	// Fields after the command name (which may hold spaces) start at ") ".
	rest := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(rest[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(rest[12], 10, 64) // field 15
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// pin puts every thread of pid (and its children) on one CPU.
func pin(tb testing.TB, pid int, cpu string) {
	tb.Helper()
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpu, strconv.Itoa(pid)).CombinedOutput()
	require.NoError(tb, err, string(out))
	if kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
		for _, f := range strings.Fields(string(kids)) {
			_ = exec.Command("taskset", "-a", "-p", "-c", cpu, f).Run()
		}
	}
}

var requestsLine = regexp.MustCompile(`(\d+) requests in`)

// cpuPerRequest runs wrk (pinned to wrkCPU) against url and returns the
// proxy process's CPU time per completed request.
func cpuPerRequest(tb testing.TB, wrk string, pid int, url, host, conns, duration, wrkCPU string) time.Duration {
	tb.Helper()
	args := []string{"-c", wrkCPU, wrk, "-t", "1", "-c", conns, "-d", duration}
	if host != "" {
		args = append(args, "-H", "Host: "+host)
	}
	before := cpuTime(tb, pid)
	out, err := exec.Command("taskset", append(args, url)...).CombinedOutput()
	require.NoError(tb, err, string(out))
	used := cpuTime(tb, pid) - before
	require.NotContains(tb, string(out), "Non-2xx", string(out))
	m := requestsLine.FindStringSubmatch(string(out))
	require.Len(tb, m, 2, string(out))
	n, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(tb, err)
	require.Positive(tb, n)
	return used / time.Duration(n)
}

// startNginx runs nginx (Debian package) with one worker as a keep-alive
// reverse proxy in front of backend; it returns its URL and master pid.
func startNginx(tb testing.TB, backend string) (string, int) {
	tb.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	_, err = os.Stat(bin)
	require.NoError(tb, err, "make bench installs nginx (Debian package)")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := ln.Addr().String()
	ln.Close()
	dir := tb.TempDir()
	for _, d := range []string{"logs", "tmp"} {
		require.NoError(tb, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process on;
error_log %[1]s/logs/error.log warn;
pid %[1]s/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp; uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
  upstream backend { server %[2]s; keepalive 128; }
  server {
    listen %[3]s;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`, dir, strings.TrimPrefix(backend, "http://"), addr)
	confPath := filepath.Join(dir, "nginx.conf")
	require.NoError(tb, os.WriteFile(confPath, []byte(conf), 0o644))
	cmd := exec.Command(bin, "-p", dir, "-c", confPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(tb, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "nginx did not listen on %s", addr)
	return "http://" + addr, cmd.Process.Pid
}

// sendHeaders is one GET with a Host and extra "Name: value" headers.
func sendHeaders(tb testing.TB, url, host string, headers ...string) int {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(tb, err)
	req.Host = host
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

var queriesLine = regexp.MustCompile(`(?m)^cassandra_queries_total\{kind="([a-z]+)"\} ([0-9.e+]+)$`)

// cassandraQueries reads the MP's cassandra_queries_total by kind.
func cassandraQueries(tb testing.TB, base string) map[string]float64 {
	tb.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	out := map[string]float64{}
	for _, m := range queriesLine.FindAllStringSubmatch(string(body), -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		require.NoError(tb, err)
		out[m[1]] = v
	}
	return out
}
