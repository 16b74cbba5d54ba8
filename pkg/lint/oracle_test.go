//go:build oracle

package lint_test

// The apigeelint oracle (`make oracle`, scripts/oracle-apigeelint.sh): runs
// apigeelint, installed by the script, on every bundle under testdata/ and
// checks that, for each rule both tools have, our findings name the same
// files as apigeelint's. Messages and line numbers are not compared: only
// which rule fires on which file.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/lint"
)

// apigeelintResult is one file of apigeelint's json.js formatter output.
type apigeelintResult struct {
	FilePath string `json:"filePath"`
	Messages []struct {
		RuleID   string `json:"ruleId"`
		Severity int    `json:"severity"`
		Message  string `json:"message"`
	} `json:"messages"`
}

func apigeelintBin(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("APIGEELINT")
	if bin == "" {
		tb.Fatal("APIGEELINT is not set: run scripts/oracle-apigeelint.sh, which installs apigeelint and sets it")
	}
	return bin
}

// runApigeelint lints dir (an apiproxy/ or sharedflowbundle/ folder) and
// returns its findings as "RULE root/relative/file" for the rules in ids.
func runApigeelint(tb testing.TB, bin, dir string, ids map[string]bool) []string {
	tb.Helper()
	// --norc: no .apigeelintrc from the developer's home changes the rules.
	cmd := exec.Command(bin, "-s", dir, "-f", "json.js", "--norc")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) { // exit 1 only means "errors found"
		require.NoError(tb, err)
	}
	var results []apigeelintResult
	require.NoError(tb, json.Unmarshal(out, &results), "apigeelint output: %s", out)
	root := filepath.Base(dir)
	set := map[string]bool{}
	for _, r := range results {
		i := strings.LastIndex(filepath.ToSlash(r.FilePath), "/"+root+"/")
		if i < 0 {
			continue // the bundle folder itself
		}
		rel := filepath.ToSlash(r.FilePath)[i+1:]
		for _, m := range r.Messages {
			if ids[m.RuleID] {
				set[m.RuleID+" "+rel] = true
			}
		}
	}
	return sortedKeys(set)
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOracleApigeelint(t *testing.T) {
	bin := apigeelintBin(t)
	version, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	t.Logf("apigeelint %s", strings.TrimSpace(string(version)))

	// Every apigeelint id we claim is one apigeelint has.
	list, err := exec.Command(bin, "--list").Output()
	require.NoError(t, err)
	shared := map[string]bool{}
	for _, r := range lint.Rules() {
		if r.Apigeelint == "" {
			require.NotContains(t, string(list), r.ID, "our own id %s clashes with an apigeelint rule", r.ID)
			continue
		}
		require.Contains(t, string(list), r.Apigeelint+",", "apigeelint has no rule %s", r.Apigeelint)
		shared[r.Apigeelint] = true
	}

	cases, err := os.ReadDir("testdata")
	require.NoError(t, err)
	compared := 0
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		for _, kind := range []bundle.Kind{bundle.KindProxy, bundle.KindSharedFlow} {
			dir := filepath.Join("testdata", c.Name(), kind.Root())
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			t.Run(c.Name(), func(t *testing.T) {
				theirs := runApigeelint(t, bin, dir, shared)
				got, err := lint.Zip(dirZip(t, filepath.Join("testdata", c.Name())), kind, lint.Options{})
				require.NoError(t, err)
				set := map[string]bool{}
				for _, f := range got {
					if shared[f.Rule] {
						set[f.Rule+" "+f.File] = true
					}
				}
				ours := sortedKeys(set)
				t.Logf("%s: apigeelint %v, ours %v", c.Name(), theirs, ours)
				require.Equal(t, theirs, ours, "rule/file pairs differ from apigeelint's on %s", dir)
			})
			compared++
		}
	}
	require.NotZero(t, compared)
}
