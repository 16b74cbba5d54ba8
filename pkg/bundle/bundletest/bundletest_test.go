package bundletest_test

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

func TestZipIsDeterministic(t *testing.T) {
	files := bundletest.Proxy("hello", "/hello", "http://127.0.0.1:8080")
	a, b := bundletest.Zip(t, files), bundletest.Zip(t, files)
	require.Equal(t, a, b)

	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"apiproxy/hello.xml", "apiproxy/proxies/default.xml", "apiproxy/targets/default.xml"}, names)
}

func TestProxyIsValid(t *testing.T) {
	b, err := bundle.Parse(bundletest.Zip(t, bundletest.Proxy("a&b", "/v1/hello", "https://example.com/x?y=1&z=2")), bundle.KindProxy, bundle.Limits{})
	require.NoError(t, err)
	require.Equal(t, "a&b", b.Name)
	require.Equal(t, []string{"/v1/hello"}, b.Summary().BasePaths)
	require.Equal(t, "https://example.com/x?y=1&z=2", b.TargetEndpoint("default").HTTPTargetConnection.URL)
	require.Equal(t, "default", b.ProxyEndpoint("default").RouteRules[0].TargetEndpoint)
}

func TestSharedFlowIsValid(t *testing.T) {
	b, err := bundle.Parse(bundletest.Zip(t, bundletest.SharedFlow("common")), bundle.KindSharedFlow, bundle.Limits{})
	require.NoError(t, err)
	require.Equal(t, "common", b.Name)
	require.Equal(t, []string{"default"}, b.Summary().SharedFlows)
	require.Equal(t, []string{"AM-MarkSharedFlow"}, b.Summary().Policies)
	require.Contains(t, string(b.Policies["AM-MarkSharedFlow"].XML), "sharedflow.common.executed")
}
