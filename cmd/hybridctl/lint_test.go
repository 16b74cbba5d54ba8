package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lintTestdata is pkg/lint's bundles, which the apigeelint oracle checks too.
func lintTestdata(name string) string {
	return filepath.Join("..", "..", "pkg", "lint", "testdata", name)
}

func TestLint(t *testing.T) {
	broken := writeBundle(t, t.TempDir(), "apiproxy", "broken")
	require.NoError(t, os.WriteFile(filepath.Join(broken, "apiproxy", "proxies", "default.xml"), []byte("<ProxyEndpoint name="), 0o644))
	tsFile := filepath.Join(t.TempDir(), "targetservers.json")
	require.NoError(t, os.WriteFile(tsFile, []byte(`[{"name":"ts-known","host":"127.0.0.1","port":9000}]`), 0o644))
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   string
		noStdout string
	}{
		{"clean bundle exits 0", []string{"lint", lintTestdata("clean")}, 0, []string{"clean: no findings"}, "", "RULE"},
		{"warnings exit 1 with a table", []string{"lint", lintTestdata("policies")}, 1,
			[]string{"RULE   FILE", "BN005  apiproxy/policies/AM-Unused.xml", `BN010  apiproxy/proxies/default.xml            ProxyEndpoint "default" PreFlow Request: step names policy "AM-Forgotten"`},
			"hybridctl lint: lint found warnings: 5 in policies", ""},
		{"the apiproxy folder itself, flags after it", []string{"lint", filepath.Join(lintTestdata("conditions"), "apiproxy"), "--json"}, 1,
			[]string{`"bundle": "conditions"`, `"rule": "FL001"`, `"severity": "warning"`}, "", "RULE"},
		{"target servers unknown: HY001 is not checked", []string{"lint", lintTestdata("targetservers")}, 0, []string{"no findings"}, "", ""},
		{"target servers from a file", []string{"lint", "--targetservers", tsFile, lintTestdata("targetservers")}, 1, []string{`HY001  apiproxy/targets/balanced.xml  TargetEndpoint "balanced": LoadBalancer Server "ts-missing"`}, "", "ts-known"},
		{"target servers by name", []string{"lint", "--targetserver", "ts-known", "--targetserver", "ts-missing", lintTestdata("targetservers")}, 0, []string{"no findings"}, "", ""},
		{"shared flow", []string{"lint", lintTestdata("sharedflow")}, 1, []string{"sharedflowbundle/policies/EV-Leftover.xml"}, "", ""},
		{"rules", []string{"lint", "--rules"}, 0, []string{"RULE   APIGEELINT  AT IMPORT", "BN010  BN010       no", "HY002  -           yes"}, "", ""},
		// The flag package prints usage problems on the process's stderr.
		{"no bundle is a usage error", []string{"lint"}, 2, nil, "", ""},
		{"unknown flag is a usage error", []string{"lint", "--bogus", lintTestdata("clean")}, 2, nil, "", ""},
		{"not a bundle", []string{"lint", t.TempDir()}, 1, nil, "no apiproxy/ or sharedflowbundle/ folder", ""},
		{"a bundle that does not parse", []string{"lint", broken}, 1, nil, "apiproxy/proxies/default.xml: malformed XML", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, w := range tc.stdout {
				require.Contains(t, stdout.String(), w)
			}
			if tc.stderr != "" {
				require.Contains(t, stderr.String(), tc.stderr)
			}
			if tc.noStdout != "" {
				require.NotContains(t, stdout.String(), tc.noStdout)
			}
		})
	}
}

// TestLintJSONShape: --json is one object whose findings list is [] (not
// null) for a clean bundle, so that scripts can index it.
func TestLintJSONShape(t *testing.T) {
	var stdout bytes.Buffer
	require.NoError(t, runLint(context.Background(), []string{"--json", lintTestdata("clean")}, &stdout))
	var rep struct {
		Bundle   string            `json:"bundle"`
		Findings []json.RawMessage `json:"findings"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
	require.Equal(t, "clean", rep.Bundle)
	require.NotNil(t, rep.Findings)
	require.Empty(t, rep.Findings)
	require.True(t, strings.Contains(stdout.String(), `"findings": []`), stdout.String())
}

func TestReadTargetServers(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, json string
		want       []string
		err        string
	}{
		{"objects", `[{"name":"a","host":"h"},{"name":"b"}]`, []string{"a", "b"}, ""},
		{"names", `["a","b"]`, []string{"a", "b"}, ""},
		{"list response", `{"targetServer":[{"name":"a"}]}`, []string{"a"}, ""},
		{"no name", `[{"host":"h"}]`, nil, "item 0 has no name"},
		{"not a list", `{"x":1}`, nil, "want a JSON array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".json")
			require.NoError(t, os.WriteFile(p, []byte(tc.json), 0o644))
			got, err := readTargetServers(p)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
