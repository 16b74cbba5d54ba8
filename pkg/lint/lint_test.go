package lint_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/golden"
	"github.com/hybrid-emulator/hybrid/pkg/lint"
)

// dirZip zips testdata/<name>/<root>/ as an import would receive it.
func dirZip(tb testing.TB, dir string) []byte {
	tb.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if filepath.Base(rel) == "findings.golden.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	require.NoError(tb, err)
	return bundletest.Zip(tb, files)
}

// ruleFiles is the set of "RULE file" pairs of findings, the granularity
// the apigeelint oracle compares at too.
func ruleFiles(fs []lint.Finding) []string {
	set := map[string]bool{}
	for _, f := range fs {
		set[f.Rule+" "+f.File] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTestdataBundles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    bundle.Kind
		servers []string // nil: target servers unknown
		want    []string
	}{
		{name: "clean", want: []string{}},
		{name: "policies", want: []string{
			"BN005 apiproxy/policies/AM-Unused.xml",
			"BN010 apiproxy/proxies/default.xml",
			"HY002 apiproxy/policies/VA-LetEveryoneIn.xml",
			"HY003 apiproxy/policies/JS-NoLimit.xml",
			"PO007 apiproxy/policies/SetTheHeader.xml",
		}},
		{name: "conditions", want: []string{
			"CC006 apiproxy/proxies/default.xml",
			"CC007 apiproxy/targets/default.xml",
			"CC008 apiproxy/proxies/default.xml",
			"FL001 apiproxy/proxies/default.xml",
			"PD003 apiproxy/proxies/default.xml",
		}},
		{name: "mixed", want: []string{
			"BN005 apiproxy/policies/Quota-Unattached.xml",
			"CC006 apiproxy/proxies/default.xml",
			"CC006 apiproxy/targets/default.xml",
			"CC008 apiproxy/proxies/default.xml",
			"FL001 apiproxy/targets/default.xml",
			"HY002 apiproxy/policies/Decode-Token.xml",
			"PO007 apiproxy/policies/Decode-Token.xml",
		}},
		{name: "targetservers", servers: []string{"ts-known"}, want: []string{
			"HY001 apiproxy/targets/balanced.xml",
		}},
		{name: "sharedflow", kind: bundle.KindSharedFlow, want: []string{
			"BN005 sharedflowbundle/policies/EV-Leftover.xml",
			"CC006 sharedflowbundle/sharedflows/default.xml",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts lint.Options
			if tc.servers != nil {
				opts.TargetServerExists = func(n string) bool { return contains(tc.servers, n) }
			}
			got, err := lint.Zip(dirZip(t, filepath.Join("testdata", tc.name)), tc.kind, opts)
			require.NoError(t, err)
			require.Equal(t, tc.want, ruleFiles(got))
			for _, f := range got {
				require.Equal(t, lint.SeverityWarning, f.Severity)
			}
			js, err := json.MarshalIndent(got, "", "  ")
			require.NoError(t, err)
			golden.Check(t, filepath.Join("testdata", tc.name, "findings.golden.json"), append(js, '\n'))
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestBundleSkipsWhatItCannotKnow: without target servers HY001 is not
// checked, and Bundle on a parsed bundle (what the control plane runs) has
// nothing to say about missing policies, which Parse already refused.
func TestBundleSkipsWhatItCannotKnow(t *testing.T) {
	zip := dirZip(t, filepath.Join("testdata", "targetservers"))
	b, err := bundle.Parse(zip, bundle.KindProxy, bundle.Limits{})
	require.NoError(t, err)
	require.Empty(t, lint.Bundle(b, lint.Options{}))
	require.NotNil(t, lint.Bundle(b, lint.Options{}), "an empty list, not null, in JSON")

	_, err = bundle.Parse(dirZip(t, filepath.Join("testdata", "policies")), bundle.KindProxy, bundle.Limits{})
	require.ErrorIs(t, err, bundle.ErrMissingReference)
}

// TestZipReportsEveryMissingStep: each step naming a missing policy is a
// finding, including several steps naming the same one; other parse
// errors stay errors.
func TestZipReportsEveryMissingStep(t *testing.T) {
	files := bundletest.Proxy("p", "/p", "https://example.com")
	pe := `<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>AM-Gone</Name></Step><Step><Name>a "quoted" &amp; name</Name></Step></Request>` +
		`<Response><Step><Name>AM-Gone</Name></Step></Response></PreFlow><HTTPProxyConnection><BasePath>/p</BasePath></HTTPProxyConnection>` +
		`<RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule></ProxyEndpoint>`
	for name := range files {
		if strings.HasPrefix(name, "apiproxy/proxies/") {
			files[name] = pe
		}
	}
	got, err := lint.Zip(bundletest.Zip(t, files), bundle.KindProxy, lint.Options{})
	require.NoError(t, err)
	var msgs []string
	for _, f := range got {
		if f.Rule == lint.RuleMissingPolicy {
			msgs = append(msgs, f.Message)
		}
	}
	require.Len(t, msgs, 3, "%v", got)
	require.Contains(t, strings.Join(msgs, "\n"), `PreFlow Response: step names policy "AM-Gone"`)
	require.Contains(t, strings.Join(msgs, "\n"), `step names policy "a \"quoted\" & name"`)
	for _, f := range got {
		require.NotContains(t, f.Message, "zz-hybrid-lint", "stand-in policies never show")
	}

	_, err = lint.Zip([]byte("not a zip"), bundle.KindProxy, lint.Options{})
	require.ErrorIs(t, err, bundle.ErrNotZip)
}

func TestRulesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "LINT.md"))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, r := range lint.Rules() {
		require.False(t, seen[r.ID], "duplicate rule id %s", r.ID)
		seen[r.ID] = true
		require.Contains(t, string(doc), "| "+r.ID+" |", "docs/LINT.md has no row for %s", r.ID)
		if r.Apigeelint != "" {
			require.Equal(t, r.ID, r.Apigeelint, "a rule apigeelint has keeps apigeelint's id")
		} else {
			require.True(t, strings.HasPrefix(r.ID, "HY"), "rules of our own are HY…: %s", r.ID)
		}
	}
}
