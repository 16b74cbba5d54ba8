package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApplyDirDryRun(t *testing.T) {
	bad := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(bad, "src/main/apigee/environments/test"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bad, "src/main/apigee/environments/test/flowhooks.json"),
		[]byte(`{"PreProxyFlowHook": {"sharedFlow": "missing"}}`), 0o644))
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"flags after DIR", []string{"apply", "../../examples/seed", "--dry-run"}, 0, "  deploy proxies: hello-seed\n"},
		{"flags before DIR", []string{"apply", "--dry-run", "--env", "test", "../../examples/seed"}, 0, "apps: ada@example.com/hello-app\n"},
		{"json", []string{"apply", "--dry-run", "--json", "../../examples/seed"}, 0, `"targetServers": [`},
		{"two folders", []string{"apply", "a", "b"}, 1, "usage: hybridctl apply DIR"},
		{"not a workspace", []string{"apply", t.TempDir(), "--dry-run"}, 1, "no Apigee workspace here"},
		{"bad file", []string{"apply", bad, "--dry-run"}, 1,
			"src/main/apigee/environments/test/flowhooks.json: PreProxyFlowHook.sharedFlow: no sharedflows/missing/ in the workspace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
			require.Contains(t, stdout.String()+stderr.String(), tc.want)
		})
	}
	require.False(t, isApplyDir([]string{"-f", "overrides.yaml"}))
	require.False(t, isApplyDir([]string{"--emit", "helm", "-f=o.yaml"}))
	require.True(t, isApplyDir([]string{"examples/seed", "--env", "test"}))
}
