package lint_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/lint"
)

// manyFlows is a proxy with n conditional flows on three variables each,
// the shape that makes the truth tables work hardest (every pair of flows
// is compared for CC008).
func manyFlows(tb testing.TB, n int) *bundle.Bundle {
	tb.Helper()
	files := bundletest.Proxy("big", "/big", "http://127.0.0.1:9/")
	var flows strings.Builder
	for i := range n {
		fmt.Fprintf(&flows, `<Flow name="f%d"><Condition>proxy.pathsuffix MatchesPath "/items/%d/**" and request.verb = "GET" and request.header.x-tenant != "t%d"</Condition></Flow>`, i, i, i)
	}
	files["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default"><Flows>` + flows.String() +
		`</Flows><HTTPProxyConnection><BasePath>/big</BasePath></HTTPProxyConnection><RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule></ProxyEndpoint>`
	b, err := bundle.Parse(bundletest.Zip(tb, files), bundle.KindProxy, bundle.Limits{})
	require.NoError(tb, err)
	return b
}

// BenchmarkBundleManyFlows bounds what lint adds to an import.
func BenchmarkBundleManyFlows(b *testing.B) {
	bu := manyFlows(b, 100)
	b.ResetTimer()
	for range b.N {
		if got := lint.Bundle(bu, lint.Options{}); len(got) != 0 {
			b.Fatalf("unexpected findings: %v", got)
		}
	}
}
