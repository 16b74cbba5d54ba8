// Package golden is the one -update flag and golden-file check every test
// package shares: `go test ./... -update` rewrites golden files, and
// without it a test compares its output with the file.
//
// Import it only from tests: it registers the -update flag.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files (testdata) instead of comparing with them")

// Update reports whether the test run rewrites golden files.
func Update() bool { return *update }

// Check compares got with the golden file at path; with -update it writes
// got there first.
func Check(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *update {
		require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(tb, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(tb, err, "golden file %s (run the test with -update to create it)", path)
	require.Equal(tb, string(want), string(got), "differs from golden file %s (run with -update to accept)", path)
}
