package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/stretchr/testify/require"
)

// docker-compose.yaml cannot be run here (no Docker engine), so it is
// checked the way compose itself loads it, and every service's command is
// fed to the real binary to prove each flag exists.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(h.Root, "docker-compose.yaml")},
		cli.WithWorkingDirectory(h.Root), cli.WithEnv([]string{"HYBRID_ADMIN_TOKEN=t"}))
	require.NoError(t, err)
	project, err := opts.LoadProject(context.Background())
	require.NoError(t, err)

	// One-shot jobs: others wait for them to complete, they have no healthcheck.
	jobs := map[string]bool{"schema": true, "pki": true, "keys": true}
	for _, want := range []string{"cassandra", "schema", "pki", "keys", "controlplane", "synchronizer", "runtime", "mart", "udca", "watcher", "connect-agent"} {
		_, err := project.GetService(want)
		require.NoError(t, err, "compose must define %s", want)
	}
	for name, svc := range project.Services {
		t.Run(name, func(t *testing.T) {
			for _, p := range svc.Ports {
				require.Equal(t, "127.0.0.1", p.HostIP, "published ports bind loopback only")
			}
			for dep, d := range svc.DependsOn {
				want := types.ServiceConditionHealthy
				if jobs[dep] {
					want = types.ServiceConditionCompletedSuccessfully
				}
				require.Equal(t, want, d.Condition, "%s waits on %s", name, dep)
			}
			if name == "pki" {
				// The real command, into a temporary directory instead of the volume.
				args := append([]string{}, svc.Command...)
				for i := range args {
					if args[i] == "/var/lib/hybrid/pki" {
						args[i] = t.TempDir()
					}
				}
				out, err := exec.Command(filepath.Join(h.BinDir, "hybridctl"), args...).CombinedOutput()
				require.NoError(t, err, "%s", out)
				require.Contains(t, string(out), "runtime.pem")
			}
			if name == "keys" {
				args := append([]string{}, svc.Command...)
				file := filepath.Join(t.TempDir(), "hybrid.yaml")
				require.Equal(t, "/var/lib/hybrid/keys/hybrid.yaml", args[len(args)-1])
				args[len(args)-1] = file
				out, err := exec.Command(filepath.Join(h.BinDir, "hybridctl"), args...).CombinedOutput()
				require.NoError(t, err, "%s", out)
				_, err = store.ReadEncryptionKeys(file)
				require.NoError(t, err)
			}
			if jobs[name] {
				return
			}
			require.NotNil(t, svc.HealthCheck, "%s needs a healthcheck", name)
			if name == "cassandra" {
				return
			}
			binary := svc.Build.Args["SERVICE"]
			require.NotNil(t, binary)
			// Main exits 0 on --help only if every earlier flag parsed.
			out, err := exec.Command(filepath.Join(h.BinDir, *binary), append(svc.Command, "--help")...).CombinedOutput()
			require.NoError(t, err, "%s %s: %s", *binary, strings.Join(svc.Command, " "), out)
			hc := svc.HealthCheck.Test
			require.Equal(t, "hybridctl", hc[1])
			out, err = exec.Command(filepath.Join(h.BinDir, "hybridctl"), append(hc[2:], "--wait", "0s")...).CombinedOutput()
			var exitErr *exec.ExitError
			require.ErrorAs(t, err, &exitErr, "nothing listens in the test, so the healthcheck reports not ready: %s", out)
			require.Equal(t, 1, exitErr.ExitCode(), "healthcheck flags must parse: %s", out)
		})
	}
	schema, err := project.GetService("schema")
	require.NoError(t, err)
	require.Equal(t, []string{"schema", "apply"}, []string(schema.Command[:2]))

	// The runtime plane's mutual TLS: the message processor reaches the
	// synchronizer's contract listener with the pki job's certificates.
	syncSvc, err := project.GetService("synchronizer")
	require.NoError(t, err)
	rt, err := project.GetService("runtime")
	require.NoError(t, err)
	require.Contains(t, []string(syncSvc.Command), "0.0.0.0:8848")
	require.Contains(t, []string(rt.Command), "https://synchronizer:8848")
	for _, svc := range []types.ServiceConfig{syncSvc, rt} {
		var mounts []string
		for _, v := range svc.Volumes {
			mounts = append(mounts, v.Source+":"+v.Target)
		}
		require.Contains(t, mounts, "pki:/var/lib/hybrid/pki", svc.Name)
	}

	// MART seals and the message processor opens with the keys job's file.
	mart, err := project.GetService("mart")
	require.NoError(t, err)
	for _, svc := range []types.ServiceConfig{mart, rt} {
		require.Contains(t, strings.Join(svc.Command, " "), "--encryptionKeysPath /var/lib/hybrid/keys/hybrid.yaml", svc.Name)
		var mounts []string
		for _, v := range svc.Volumes {
			mounts = append(mounts, v.Source+":"+v.Target)
		}
		require.Contains(t, mounts, "keys:/var/lib/hybrid/keys", svc.Name)
		require.Equal(t, types.ServiceConditionCompletedSuccessfully, svc.DependsOn["keys"].Condition, svc.Name)
	}
}
