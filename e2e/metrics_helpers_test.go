//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// metric reads one sample from a Prometheus /metrics page (0 when absent).
func metric(tb testing.TB, p *harness.Process, name string, labels ...string) float64 {
	tb.Helper()
	resp, err := http.Get(p.URL("main") + "/metrics")
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	sc := bufio.NewScanner(bytes.NewReader(body))
	total := 0.0
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		require.NoError(tb, err)
		total += v
	}
	return total
}
