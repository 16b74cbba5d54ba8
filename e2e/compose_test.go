//go:build integration

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
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
	for _, want := range []string{"cassandra", "schema", "pki", "keys", "controlplane", "synchronizer", "runtime", "mart", "udca", "watcher", "connect-agent", "telemetry"} {
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

// loadCompose loads docker-compose.yaml the way `docker compose` does with
// env as its environment (a .env file's variables).
func loadCompose(tb testing.TB, env []string) *types.Project {
	tb.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(h.Root, "docker-compose.yaml")},
		cli.WithWorkingDirectory(h.Root), cli.WithEnv(append([]string{"HYBRID_ADMIN_TOKEN=t"}, env...)))
	require.NoError(tb, err)
	project, err := opts.LoadProject(context.Background())
	require.NoError(tb, err)
	return project
}

// composeEnv runs `hybridctl apply --emit compose` on an overrides file and
// returns the .env's variables.
func composeEnv(tb testing.TB, overrides string) []string {
	tb.Helper()
	out, err := exec.Command(filepath.Join(h.BinDir, "hybridctl"), "apply", "-f", overrides, "--emit", "compose").Output()
	require.NoError(tb, err, stderrOf(err))
	var env []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			env = append(env, l)
		}
	}
	return env
}

// The compose file's org, environments, project, cluster and Connect
// switch follow the .env `hybridctl apply --emit compose` writes from an
// overrides file, and the commands they make still parse in the real
// binaries.
func TestComposeFileFromOverrides(t *testing.T) {
	t.Parallel()
	connectOff := filepath.Join(t.TempDir(), "overrides.yaml")
	require.NoError(t, os.WriteFile(connectOff, []byte("org: other\nenvs: [{name: dev}]\nconnectAgent: {enabled: false}\nmart: {hostAlias: mart.other.example.com}\n"), 0o600))
	// HYBRID_ORG alone: the project (and so the key files) follows it.
	for org, env := range map[string][]string{"hybrid": nil, "solo": {"HYBRID_ORG=solo"}} {
		syncSvc, err := loadCompose(t, env).GetService("synchronizer")
		require.NoError(t, err)
		cmd := strings.Join(syncSvc.Command, " ")
		require.Contains(t, cmd, "--org "+org+" --environments test")
		require.Contains(t, cmd, "service-accounts/"+org+"-apigee-synchronizer.json")
		require.Contains(t, cmd, "--longPoll=true --pollInterval 60s", "the defaults: long polling, as without the flags")
	}
	for _, tc := range []struct {
		name, overrides, org, project, envs string
		connectReplicas                     int
		syncFlags                           []string
	}{
		{"example", filepath.Join(h.Root, "examples", "overrides.yaml"), "acme-hybrid", "acme-hybrid", "test,prod", 1,
			[]string{"--longPoll=false", "--pollInterval", "10s"}},
		{"connect off", connectOff, "other", "other", "dev", 0, []string{"--longPoll=true", "--pollInterval", "60s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			project := loadCompose(t, composeEnv(t, tc.overrides))
			for _, name := range []string{"synchronizer", "runtime", "watcher"} {
				svc, err := project.GetService(name)
				require.NoError(t, err)
				cmd := strings.Join(svc.Command, " ")
				require.Contains(t, cmd, "--org "+tc.org+" --environments "+tc.envs, name)
				require.Contains(t, cmd, "service-accounts/"+tc.project+"-apigee-"+name+".json", name)
				out, err := exec.Command(filepath.Join(h.BinDir, *svc.Build.Args["SERVICE"]), append(svc.Command, "--help")...).CombinedOutput()
				require.NoError(t, err, "%s: %s", cmd, out)
			}
			schema, err := project.GetService("schema")
			require.NoError(t, err)
			require.Equal(t, tc.org, schema.Command[len(schema.Command)-1])
			for _, name := range []string{"mart", "runtime"} {
				svc, err := project.GetService(name)
				require.NoError(t, err)
				require.Contains(t, strings.Join(svc.Command, " "), "--encryptionKeysPath /var/lib/hybrid/keys/"+tc.org+".yaml", name)
			}
			syncSvc, err := project.GetService("synchronizer")
			require.NoError(t, err)
			require.Contains(t, strings.Join(syncSvc.Command, " "), strings.Join(tc.syncFlags, " "))

			agent, err := project.GetService("connect-agent")
			require.NoError(t, err)
			require.Contains(t, strings.Join(agent.Command, " "), "--project projects/"+tc.project)
			require.Equal(t, tc.connectReplicas, agent.GetScale(), "the Connect agent runs only with Apigee Connect on")

			// The control plane's seed: the org, its environments, and Connect on or off.
			cp, err := project.GetService("controlplane")
			require.NoError(t, err)
			require.Len(t, cp.Configs, 1)
			seedCfg := project.Configs[cp.Configs[0].Source]
			require.Contains(t, strings.Join(cp.Command, " "), "--config "+cp.Configs[0].Target)
			var seed struct {
				Orgs []struct {
					Name         string            `yaml:"name"`
					ProjectID    string            `yaml:"projectId"`
					DisplayName  string            `yaml:"displayName"`
					Properties   map[string]string `yaml:"properties"`
					Environments []string          `yaml:"environments"`
					EnvGroups    []struct {
						Name         string   `yaml:"name"`
						Hostnames    []string `yaml:"hostnames"`
						Environments []string `yaml:"environments"`
					} `yaml:"envGroups"`
				} `yaml:"orgs"`
			}
			require.NoError(t, yaml.UnmarshalStrict([]byte(seedCfg.Content), &seed), seedCfg.Content)
			require.Len(t, seed.Orgs, 1)
			require.Equal(t, tc.org, seed.Orgs[0].Name)
			require.Equal(t, tc.project, seed.Orgs[0].ProjectID)
			require.Equal(t, strings.Split(tc.envs, ","), seed.Orgs[0].Environments)
			require.Equal(t, fmt.Sprint(tc.connectReplicas == 1), seed.Orgs[0].Properties["features.mart.connect.enabled"])
			require.Equal(t, strings.Split(tc.envs, ","), seed.Orgs[0].EnvGroups[0].Environments)
		})
	}
}

// The two-region profile adds a second datacenter and instance whose
// services read their local datacenter and whose commands parse in the
// real binaries; without the profile none of it starts.
func TestComposeTwoRegionProfile(t *testing.T) {
	t.Parallel()
	base := loadCompose(t, nil)
	for _, name := range []string{"cassandra-2", "synchronizer-2", "runtime-2", "watcher-2"} {
		_, err := base.GetService(name)
		require.Error(t, err, "%s only runs with --profile two-region", name)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(h.Root, "docker-compose.yaml")},
		cli.WithWorkingDirectory(h.Root), cli.WithEnv([]string{"HYBRID_ADMIN_TOKEN=t", "HYBRID_REPLICATION=dc1:1,dc2:1"}),
		cli.WithProfiles([]string{"two-region"}))
	require.NoError(t, err)
	project, err := opts.LoadProject(context.Background())
	require.NoError(t, err)
	schema, err := project.GetService("schema")
	require.NoError(t, err)
	require.Contains(t, strings.Join(schema.Command, " "), "--replication dc1:1,dc2:1")
	pki, err := project.GetService("pki")
	require.NoError(t, err)
	require.Contains(t, strings.Join(pki.Command, " "), "synchronizer-2", "the second synchronizer's certificate name")
	for _, name := range []string{"synchronizer-2", "runtime-2", "watcher-2"} {
		svc, err := project.GetService(name)
		require.NoError(t, err)
		cmd := strings.Join(svc.Command, " ")
		if name != "watcher-2" {
			require.Contains(t, cmd, "--cassandra.hosts cassandra-2 --cassandra.localDC dc2", name)
		}
		for _, p := range svc.Ports {
			require.Equal(t, "127.0.0.1", p.HostIP, name)
		}
		out, err := exec.Command(filepath.Join(h.BinDir, *svc.Build.Args["SERVICE"]), append(svc.Command, "--help")...).CombinedOutput()
		require.NoError(t, err, "%s: %s", cmd, out)
	}
	c2, err := project.GetService("cassandra-2")
	require.NoError(t, err)
	require.Equal(t, "dc2", *c2.Environment["CASSANDRA_DC"])
	require.Equal(t, types.ServiceConditionHealthy, c2.DependsOn["cassandra"].Condition, "dc2 joins through dc1's seed")
}
