package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

const exampleOverrides = "../../examples/overrides.yaml"

func parseString(tb testing.TB, text string) (*Overrides, error) {
	tb.Helper()
	return ParseOverrides("overrides.yaml", strings.NewReader(text))
}

func TestParseExampleOverrides(t *testing.T) {
	f, err := os.Open(exampleOverrides)
	require.NoError(t, err)
	defer f.Close()
	o, err := ParseOverrides(exampleOverrides, f)
	require.NoError(t, err)
	require.Equal(t, "acme-hybrid", o.Org)
	require.Equal(t, []string{"test", "prod"}, o.EnvNames())
	require.True(t, o.ConnectEnabled())
	require.Equal(t, []string{"namespace", "cassandra.hostNetwork", "logger"}, o.Ignored)
	require.Equal(t, []EnvGroupSeed{
		{Name: "group1", Hostnames: []string{"localhost", "api.acme.example.com"}, Environments: []string{"test"}},
		{Name: "group2", Hostnames: []string{"internal.acme.example.com"}, Environments: []string{"prod"}},
	}, o.EnvGroups())
}

// Mistakes are reported with the file, line and dotted key.
func TestParseOverridesErrors(t *testing.T) {
	const base = "org: acme\nenvs: [{name: test}]\n"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown top-level key", base + "envz: []\n", `overrides.yaml:3: envz: unknown key`},
		{"unknown nested key", base + "connectAgent:\n  enabeld: false\n", `overrides.yaml:4: connectAgent.enabeld: unknown key`},
		{"unknown key in a list item", base + "virtualhosts:\n  - name: g\n    hostAlias: [a.example.com]\n", `overrides.yaml:5: virtualhosts[0].hostAlias: unknown key`},
		{"duplicate key", base + "org: other\n", `overrides.yaml:3: org: duplicate key`},
		{"wrong type", base + "connectAgent: {enabled: maybe}\n", "overrides.yaml:3: cannot unmarshal !!str `maybe` into bool"},
		{"envs not a list", "org: acme\nenvs: {name: test}\n", `overrides.yaml:2: envs: must be a list`},
		{"not a mapping", "- org\n", `overrides.yaml:1: (top level): must be a mapping`},
		{"empty", "", "empty overrides file"},
		{"malformed yaml", "org: [\n", "overrides.yaml: yaml:"},
		{"no org", "envs: [{name: test}]\n", `overrides.yaml:1: org: required`},
		{"bad org", "org: Acme_Org\nenvs: [{name: test}]\n", `overrides.yaml:1: org: "Acme_Org" is not an organization name`},
		{"no envs", "org: acme\n", "overrides.yaml:1: envs: at least one environment is required"},
		{"bad env", "org: acme\nenvs:\n  - name: test\n  - name: Prod!\n", `overrides.yaml:4: envs[1].name: "Prod!" is not an environment name`},
		{"env twice", "org: acme\nenvs: [{name: test}, {name: test}]\n", `envs[1].name: environment "test" listed twice`},
		{"group env unknown", base + "virtualhosts:\n  - name: g\n    hostAliases: [a.example.com]\n    environments: [prod]\n", `overrides.yaml:6: virtualhosts[0].environments[0]: "prod" is not in envs`},
		{"group without hosts", base + "virtualhosts: [{name: g, environments: [test]}]\n", `virtualhosts[0].hostAliases: required`},
		{"host with scheme", base + "virtualhosts: [{name: g, hostAliases: [\"http://a\"], environments: [test]}]\n", `virtualhosts[0].hostAliases[0]: "http://a" is not a host name`},
		{"connect off without hostAlias", base + "connectAgent:\n  enabled: false\n", `overrides.yaml:4: mart.hostAlias: required with connectAgent.enabled=false`},
		{"bad poll interval", base + "synchronizer:\n  pollInterval: soon\n", `overrides.yaml:4: synchronizer.pollInterval: "soon" is not a positive duration`},
		{"compound poll interval", base + "synchronizer: {pollInterval: 1m30s}\n", `synchronizer.pollInterval: "1m30s"`},
		{"short key", base + "kmsEncryptionKey: AAAA\nkvmEncryptionKey: AAAA\n", `overrides.yaml:3: kmsEncryptionKey: must be a base64 AES-256 key`},
		{"one data key", base + "kmsEncryptionKey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "kmsEncryptionKey and kvmEncryptionKey go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseString(t, tc.text)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// The control plane's seed and up.sh's environment for a few overrides.
func TestOverridesSeedAndEnv(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		seed       OrgSeed
		env        []string
	}{
		{
			name: "minimal: Connect on, make up's default group",
			text: "org: acme\nenvs: [{name: test}]\n",
			seed: OrgSeed{Name: "acme", ProjectID: "acme", DisplayName: "acme",
				Properties:   map[string]string{"features.hybrid.enabled": "true", "features.mart.connect.enabled": "true"},
				Environments: []string{"test"},
				EnvGroups:    []EnvGroupSeed{{Name: "default", Hostnames: []string{"localhost", "127.0.0.1", "api.acme.local"}, Environments: []string{"test"}}}},
			env: []string{"HYBRID_CONNECT=true", "HYBRID_CP_CONFIG=/seed.yaml", "HYBRID_ENVS=test", "HYBRID_ORG=acme", "HYBRID_PROJECT=acme"},
		},
		{
			name: "everything: project, cluster, Connect off, polling",
			text: "org: acme\ngcp: {projectID: acme-prj}\ninstanceID: i1\nk8sCluster: {name: c1, region: eu}\n" +
				"envs: [{name: test}, {name: prod}]\nvirtualhosts: [{name: g1, hostAliases: [api.acme.com], environments: [test, prod]}]\n" +
				"connectAgent: {enabled: false}\nmart: {hostAlias: mart.acme.com}\nsynchronizer: {pollInterval: 30s}\n",
			seed: OrgSeed{Name: "acme", ProjectID: "acme-prj", DisplayName: "acme",
				Properties:   map[string]string{"features.hybrid.enabled": "true", "features.mart.connect.enabled": "false"},
				Environments: []string{"test", "prod"},
				EnvGroups:    []EnvGroupSeed{{Name: "g1", Hostnames: []string{"api.acme.com"}, Environments: []string{"test", "prod"}}}},
			env: []string{"HYBRID_CLUSTER_NAME=c1", "HYBRID_CLUSTER_REGION=eu", "HYBRID_CONNECT=false", "HYBRID_CP_CONFIG=/seed.yaml",
				"HYBRID_ENVS=test,prod", "HYBRID_INSTANCE_ID=i1", "HYBRID_ORG=acme", "HYBRID_POLL_INTERVAL=30s", "HYBRID_PROJECT=acme-prj"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseString(t, tc.text)
			require.NoError(t, err)
			require.Equal(t, tc.env, o.UpEnv("/seed.yaml"))
			// The file decodes strictly into the control plane's shape.
			data, err := o.SeedConfig()
			require.NoError(t, err)
			var cfg struct {
				Orgs []OrgSeed `yaml:"orgs"`
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			require.NoError(t, dec.Decode(&cfg))
			require.Equal(t, []OrgSeed{tc.seed}, cfg.Orgs)
		})
	}
}

func TestEmitCompose(t *testing.T) {
	o, err := parseString(t, "org: acme\nenvs: [{name: a}, {name: b}]\nconnectAgent: {enabled: false}\nmart: {hostAlias: m.acme.com}\nsynchronizer: {pollInterval: 5s}\n")
	require.NoError(t, err)
	require.Equal(t, "# docker-compose .env written by hybridctl apply --emit compose\n"+
		"HYBRID_CONNECT=false\nHYBRID_ENVS=a,b\nHYBRID_ORG=acme\nHYBRID_POLL_INTERVAL=5s\nHYBRID_PROJECT=acme\n"+
		"HYBRID_LONG_POLL=false\nHYBRID_CONNECT_AGENT_REPLICAS=0\n", string(o.ComposeEnv()))

	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"apply", "-f", exampleOverrides, "--emit", "compose"}, &out, &out), out.String())
	require.Contains(t, out.String(), "HYBRID_ORG=acme-hybrid\n")
	require.NotContains(t, out.String(), "HYBRID_CONNECT_AGENT_REPLICAS")
}

// --emit helm: one release per chart, environment and group, each values
// map holding only keys that chart's schema has (helm renders them in
// e2e/charts_test.go).
func TestEmitHelm(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"apply", "-f", exampleOverrides, "--emit", "helm", "--out", dir}, &out, &out), out.String())
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	require.ElementsMatch(t, []string{"datastore.yaml", "org.yaml", "env-test.yaml", "env-prod.yaml",
		"virtualhost-group1.yaml", "virtualhost-group2.yaml", "controlplane.yaml"}, names)
	require.Contains(t, out.String(), "helm upgrade --install env-prod charts/apigee-env --namespace apigee -f env-prod.yaml")

	read := func(name string) map[string]any {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		var v map[string]any
		require.NoError(t, yaml.Unmarshal(data, &v))
		return v
	}
	org := read("org.yaml")
	require.Equal(t, "acme-hybrid", org["org"])
	require.Equal(t, map[string]any{"enabled": true}, org["connectAgent"])
	require.Equal(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", org["kmsEncryptionKey"])
	env := read("env-prod.yaml")
	require.Equal(t, "prod", env["env"])
	require.Equal(t, map[string]any{"pollInterval": "10s"}, env["synchronizer"])
	require.Equal(t, "group2", read("virtualhost-group2.yaml")["envgroup"])
	cp := read("controlplane.yaml")
	orgs := cp["orgs"].([]any)
	require.Equal(t, "acme-hybrid", orgs[0].(map[string]any)["name"])

	// Connect off: the control plane calls MART at its host alias.
	o, err := parseString(t, "org: acme\nenvs: [{name: test}]\nconnectAgent: {enabled: false}\nmart: {hostAlias: mart.acme.com}\n")
	require.NoError(t, err)
	releases, err := o.HelmValues()
	require.NoError(t, err)
	for _, r := range releases {
		switch r.Chart {
		case "hybrid-controlplane":
			require.Equal(t, "http://mart.acme.com", r.Values["mart"].(map[string]any)["hostAlias"])
		case "apigee-org":
			require.Equal(t, map[string]any{"enabled": false}, r.Values["connectAgent"])
			require.Equal(t, map[string]any{"secretRef": "acme-encryption-keys"}, r.Values["encryptionKeys"])
		}
	}
}

// Without --emit: the seed config and keys files are written, up.sh's
// environment printed (--dry-run starts nothing).
func TestApplyDryRun(t *testing.T) {
	run1 := t.TempDir()
	t.Setenv("HYBRID_RUN_DIR", run1)
	text := "org: acme\nenvs: [{name: test}]\n" +
		"kmsEncryptionKey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nkvmEncryptionKey: AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n" +
		"contractEncryptionKey: AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"
	file := filepath.Join(t.TempDir(), "overrides.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"apply", "-f", file, "--dry-run", "--root", "../.."}, &out, &errOut), errOut.String())
	seedFile := filepath.Join(run1, "overrides", "controlplane.yaml")
	require.Contains(t, out.String(), "HYBRID_CP_CONFIG="+seedFile+"\n")
	require.Contains(t, out.String(), "HYBRID_ORG=acme\n")
	seed, err := os.ReadFile(seedFile)
	require.NoError(t, err)
	require.Contains(t, string(seed), "name: acme")

	keys, err := store.ReadEncryptionKeys(filepath.Join(run1, "encryption-keys", "acme.yaml"))
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{1}, 32), keys.KVM)
	ck, err := contract.ReadKeyFile(filepath.Join(run1, "controlplane", "contract-keys", "acme.key"))
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{2}, 32), ck)

	// Applying again keeps the files; other keys are refused, never written
	// over data sealed under the old ones.
	require.Equal(t, 0, run(context.Background(), []string{"apply", "-f", file, "--dry-run", "--root", "../.."}, &out, &errOut), errOut.String())
	other := strings.Replace(text, "AQEBAQEB", "AwMDAwMD", 1)
	require.NoError(t, os.WriteFile(file, []byte(other), 0o600))
	errOut.Reset()
	require.Equal(t, 1, run(context.Background(), []string{"apply", "-f", file, "--dry-run", "--root", "../.."}, &out, &errOut))
	require.Contains(t, errOut.String(), "kvmEncryptionKey differ")
}

func TestApplyUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"apply"}, 1, "usage: hybridctl apply -f"},
		{"missing file", []string{"apply", "-f", "/does/not/exist.yaml"}, 1, "no such file"},
		{"bad emit", []string{"apply", "-f", exampleOverrides, "--emit", "kustomize"}, 1, `--emit "kustomize"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, tc.code, run(context.Background(), tc.args, &out, &errOut))
			require.Contains(t, errOut.String(), tc.want)
		})
	}
}

// Virtual hosts with a certificate become the message processor's
// trafficTLS (paths made absolute), in the shape its config reads; a
// certificate without its key is refused.
func TestRuntimeTLSConfig(t *testing.T) {
	base := "org: acme\nenvs: [{name: test}]\nvirtualhosts:\n  - name: g1\n    hostAliases: [api.acme.com]\n    environments: [test]\n"
	o, err := parseString(t, base+"    sslCertPath: certs/g1.pem\n    sslKeyPath: /keys/g1.key\n  - name: g2\n    hostAliases: [b.acme.com]\n    environments: [test]\n")
	require.NoError(t, err)
	data, err := o.RuntimeTLSConfig("/work")
	require.NoError(t, err)
	require.Equal(t, "trafficTLS:\n    listen: 127.0.0.1:9443\n    virtualHosts:\n        - name: g1\n          sslCertPath: /work/certs/g1.pem\n          sslKeyPath: /keys/g1.key\n", string(data))

	plain, err := parseString(t, base)
	require.NoError(t, err)
	data, err = plain.RuntimeTLSConfig("/work")
	require.NoError(t, err)
	require.Nil(t, data, "no certificate: no TLS listener")

	_, err = parseString(t, base+"    sslCertPath: certs/g1.pem\n")
	require.ErrorContains(t, err, "sslCertPath and sslKeyPath go together")
}
