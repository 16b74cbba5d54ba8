// Package docscheck holds the test that keeps the documentation honest:
// every relative link and every `file:function` or repository path it
// cites must exist.
package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is three levels up from pkg/internal/docscheck.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(tb, err)
	_, err = os.Stat(filepath.Join(root, "go.work"))
	require.NoError(tb, err, "repository root not found from %s", root)
	return root
}

// docs are the Markdown files people read to find their way.
func docs(tb testing.TB, root string) []string {
	tb.Helper()
	var out []string
	for _, pattern := range []string{"README.md", "docs/*.md", "services/*/README.md", "services/*/*.md", "charts/*.md", "e2e/*.md"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		require.NoError(tb, err)
		out = append(out, m...)
	}
	require.NotEmpty(tb, out)
	return out
}

var (
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// `path/to/file.go:Func` — a code-map reference.
	fileFunc = regexp.MustCompile("`((?:services|pkg|cmd|e2e|scripts|proto)/[A-Za-z0-9_./-]+\\.go):([A-Za-z_][A-Za-z0-9_]*)`")
	// `path/inside/the/repo` — a cited file or folder.
	repoPath = regexp.MustCompile("`((?:services|pkg|cmd|e2e|scripts|proto|docs|charts|examples)/[A-Za-z0-9_./-]*[A-Za-z0-9_])`")
	// `shared/…` or `../…`: files a reader of the repository does not have.
	outside = regexp.MustCompile("`((?:\\.\\./|shared/)[^`]*)`")
)

func TestDocReferencesResolve(t *testing.T) {
	root := repoRoot(t)
	for _, doc := range docs(t, root) {
		rel, _ := filepath.Rel(root, doc)
		t.Run(rel, func(t *testing.T) {
			raw, err := os.ReadFile(doc)
			require.NoError(t, err)
			text := string(raw)
			for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				target, _, _ = strings.Cut(target, "#")
				path := filepath.Join(filepath.Dir(doc), target)
				require.True(t, within(root, path), "%s: link %q leaves the repository", rel, m[1])
				_, err := os.Stat(path)
				require.NoError(t, err, "%s: broken link %q", rel, m[1])
			}
			for _, m := range fileFunc.FindAllStringSubmatch(text, -1) {
				src, err := os.ReadFile(filepath.Join(root, m[1]))
				require.NoError(t, err, "%s: %s:%s names a missing file", rel, m[1], m[2])
				decl := regexp.MustCompile(`(?m)^func (\([^)]*\) )?` + regexp.QuoteMeta(m[2]) + `\b`)
				require.True(t, decl.Match(src), "%s: %s has no func %s", rel, m[1], m[2])
			}
			for _, m := range outside.FindAllStringSubmatch(text, -1) {
				t.Errorf("%s: cites %q, which is outside the repository", rel, m[1])
			}
			for _, m := range repoPath.FindAllStringSubmatch(text, -1) {
				p := m[1]
				if strings.ContainsAny(p, "*<>{}") {
					continue // a pattern, not a path
				}
				if dir, sym, ok := packageSymbol(p); ok { // `pkg/bundle.ParseProperties`
					require.True(t, declares(t, filepath.Join(root, dir), sym), "%s: cites %q, but %s declares no %s", rel, p, dir, sym)
					continue
				}
				_, err := os.Stat(filepath.Join(root, p))
				require.NoError(t, err, "%s: cites %q, which does not exist", rel, p)
			}
		})
	}
}

func within(root, path string) bool {
	r, err := filepath.Rel(root, path)
	return err == nil && !strings.HasPrefix(r, "..")
}

// packageSymbol splits `dir/pkg.Symbol` (an exported Go name after the last
// dot of the last segment).
func packageSymbol(p string) (dir, sym string, ok bool) {
	i := strings.LastIndexByte(p, '.')
	if i < 0 || i < strings.LastIndexByte(p, '/') || i+1 >= len(p) {
		return "", "", false
	}
	sym = p[i+1:]
	if sym[0] < 'A' || sym[0] > 'Z' {
		return "", "", false
	}
	return p[:i], sym, true
}

// declares reports whether a Go file in dir declares name at top level.
func declares(tb testing.TB, dir, name string) bool {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(tb, err)
	decl := regexp.MustCompile(`(?m)^(func (\([^)]*\) )?|type |var |const )` + regexp.QuoteMeta(name) + `\b`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(tb, err)
		if decl.Match(src) {
			return true
		}
	}
	return false
}
