//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// `hybridctl apply --emit helm` turns an overrides file into one values
// file per release; each must pass the chart's schema (lint --strict) and
// render into objects the Kubernetes API types accept, with the same
// workload and MART-exposure rules as the hand-written value sets.
func TestHelmValuesFromOverrides(t *testing.T) {
	t.Parallel()
	helm := helmBinary(t)
	connectOff := filepath.Join(t.TempDir(), "overrides.yaml")
	require.NoError(t, os.WriteFile(connectOff, []byte("org: other\ngcp: {projectID: other-prj}\nenvs: [{name: dev}]\n"+
		"virtualhosts: [{name: edge, hostAliases: [api.other.example.com], environments: [dev]}]\n"+
		"connectAgent: {enabled: false}\nmart: {hostAlias: mart.other.example.com}\n"+
		"contractEncryptionKey: AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"), 0o600))
	chartOf := func(file string) string {
		switch name := strings.TrimSuffix(file, ".yaml"); {
		case name == "datastore":
			return "apigee-datastore"
		case name == "org":
			return "apigee-org"
		case strings.HasPrefix(name, "env-"):
			return "apigee-env"
		case strings.HasPrefix(name, "virtualhost-"):
			return "apigee-virtualhost"
		case name == "controlplane":
			return "hybrid-controlplane"
		}
		return ""
	}
	for _, tc := range []struct {
		name, overrides, orgSet string
		files                   int
	}{
		{"example", filepath.Join(h.Root, "examples", "overrides.yaml"), "org-connect", 7},
		{"connect off", connectOff, "org-no-connect", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "apply", "-f", tc.overrides, "--emit", "helm", "--out", dir).CombinedOutput()
			require.NoError(t, err, "%s", out)
			files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
			require.NoError(t, err)
			require.Len(t, files, tc.files)
			for _, values := range files {
				file := filepath.Base(values)
				chart := chartOf(file)
				require.NotEmpty(t, chart, "values file %s names no chart", file)
				t.Run(file, func(t *testing.T) {
					dir := filepath.Join(h.Root, "charts", chart)
					lint, err := exec.Command(helm, "lint", "--strict", dir, "-f", values).CombinedOutput()
					require.NoError(t, err, "helm lint --strict: %s", lint)
					rendered, err := exec.Command(helm, "template", "hybrid", dir, "-f", values, "--namespace", "apigee").Output()
					require.NoError(t, err, "helm template: %s", stderrOf(err))
					objs := decodeStrict(t, rendered)
					require.NotEmpty(t, objs)
					checkWorkloads(t, objs)
					if chart == "apigee-org" {
						checkMARTExposure(t, tc.orgSet, objs)
					}
				})
			}
		})
	}
}
