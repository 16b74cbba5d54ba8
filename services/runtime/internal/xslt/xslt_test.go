package xslt

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hybrid-emulator/hybrid/pkg/golden"

	"github.com/stretchr/testify/require"
)

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	require.NoError(tb, err)
	return b
}

func compileFile(tb testing.TB, name string) *Stylesheet {
	tb.Helper()
	s, err := Compile(readFile(tb, filepath.Join("testdata", "xsl", name+".xsl")), Options{})
	require.NoError(tb, err)
	return s
}

// goldenCase is one stylesheet applied to one input, with parameters.
type goldenCase struct {
	xsl, input string
	params     map[string]string
	method     string
}

// name is the case's name: its golden file and subtest.
func (tc goldenCase) name() string {
	if tc.params != nil {
		return tc.xsl + "-with-params"
	}
	return tc.xsl
}

// goldenCases are the cases of TestTransformGolden; the oracle test
// (oracle_test.go, `make oracle`) runs the same ones through Saxon.
var goldenCases = []goldenCase{
	{xsl: "identity", input: "orders", method: "xml"},
	{xsl: "strip-namespaces", input: "orders", method: "xml"},
	{xsl: "reshape-json", input: "orders", method: "text"},
	{xsl: "rename-filter", input: "orders", method: "xml"},
	{xsl: "priority", input: "orders", method: "xml"},
	{xsl: "modes", input: "catalog", method: "xml"},
	{xsl: "params", input: "catalog", params: map[string]string{"client": "acme", "limit": "2", "undeclared": "ignored"}, method: "xml"},
	{xsl: "sort", input: "catalog", method: "xml"},
	{xsl: "builtin", input: "catalog", method: "text"},
	{xsl: "keys", input: "catalog", method: "xml"},
	{xsl: "number", input: "catalog", method: "text"},
	{xsl: "output-html", input: "catalog", method: "html"},
	{xsl: "output-text", input: "catalog", method: "text"},
	{xsl: "output-xml", input: "catalog", method: "xml"},
	{xsl: "variables", input: "catalog", method: "xml"},
	{xsl: "expressions", input: "catalog", method: "text"},
	{xsl: "axes", input: "mixed", method: "text"},
	{xsl: "attribute-sets", input: "catalog", method: "xml"},
	{xsl: "simplified", input: "catalog", method: "xml"},
	{xsl: "misc-nodes", input: "mixed", method: "xml"},
	{xsl: "strip-space", input: "mixed", method: "xml"},
	{xsl: "namespaces", input: "orders", method: "xml"},
	{xsl: "indent-xml", input: "catalog", method: "xml"},
	{xsl: "indent-html", input: "catalog", method: "html"},
	{xsl: "prologue-xml", input: "catalog", method: "xml"},
	{xsl: "prologue-indent", input: "catalog", method: "xml"},
	// XSLT 2.0 as real bundles write it (testdata/README.md).
	{xsl: "xslt2-soap", input: "orders", method: "xml"},
	{xsl: "xslt2-grouping", input: "catalog", method: "xml"},
	{xsl: "xslt2-namespaces", input: "orders", method: "xml"},
	{xsl: "xslt2-types", input: "catalog", method: "xml"},
	{xsl: "xslt2-types", input: "catalog", params: map[string]string{"limit": "3", "verbose": "false", "rate": "1000000", "tags": "a,b,c"}, method: "xml"},
	{xsl: "xslt2-in-v1", input: "orders", method: "xml"},
	{xsl: "forwards", input: "catalog", method: "xml"},
}

// TestTransformGolden runs each stylesheet in testdata/xsl over an input
// in testdata/input and compares the output with testdata/golden
// (go test -run TestTransformGolden -update rewrites them).
func TestTransformGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name(), func(t *testing.T) {
			s := compileFile(t, tc.xsl)
			res, err := s.Transform(context.Background(), readFile(t, filepath.Join("testdata", "input", tc.input+".xml")), tc.params)
			require.NoError(t, err)
			require.Equal(t, tc.method, res.Method)
			golden.Check(t, filepath.Join("testdata", "golden", tc.name()+".out"), res.Output)
		})
	}
}

// TestInputEncoding: a byte order mark and a declared ISO-8859-1 encoding
// are honoured, in the stylesheet and in the input.
func TestInputEncoding(t *testing.T) {
	s, err := Compile([]byte("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>"+tmpl(`<x><xsl:value-of select="/*"/></x>`)), Options{})
	require.NoError(t, err)
	res, err := s.Transform(context.Background(), []byte("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>"), nil)
	require.NoError(t, err)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><x xmlns:ext="urn:ext">café</x>`, string(res.Output))
}
