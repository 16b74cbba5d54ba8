//go:build integration

package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/golden"
)

// helmBinary finds helm: $HELM, then PATH, then GOPATH/bin (scripts/test.sh
// installs helm.sh/helm/v4/cmd/helm there when it is missing).
func helmBinary(tb testing.TB) string {
	tb.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	require.NoError(tb, err)
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
	_, err = os.Stat(p)
	require.NoError(tb, err, "helm is needed: go install helm.sh/helm/v4/cmd/helm@v4.3.2 (scripts/test.sh does)")
	return p
}

// rendered is one object of a chart's output, decoded strictly into its
// Kubernetes API type.
type rendered struct {
	kind, name string
	obj        any
}

// decodeStrict decodes every document of a helm template output into the
// Kubernetes API Go types; an unknown kind or field fails.
func decodeStrict(tb testing.TB, out []byte) []rendered {
	tb.Helper()
	var objs []rendered
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(out), -1) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		require.NoError(tb, yaml.Unmarshal([]byte(doc), &meta))
		if meta.Kind == "" {
			require.Empty(tb, strings.TrimSpace(stripComments(doc)), "a document without a kind")
			continue
		}
		var obj any
		switch meta.APIVersion + "/" + meta.Kind {
		case "apps/v1/Deployment":
			obj = &appsv1.Deployment{}
		case "apps/v1/StatefulSet":
			obj = &appsv1.StatefulSet{}
		case "v1/Service":
			obj = &corev1.Service{}
		case "v1/Secret":
			obj = &corev1.Secret{}
		case "v1/ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1/ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "v1/PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		case "batch/v1/Job":
			obj = &batchv1.Job{}
		case "policy/v1/PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "autoscaling/v2/HorizontalPodAutoscaler":
			obj = &autoscalingv2.HorizontalPodAutoscaler{}
		case "networking.k8s.io/v1/Ingress":
			obj = &networkingv1.Ingress{}
		case "rbac.authorization.k8s.io/v1/Role":
			obj = &rbacv1.Role{}
		case "rbac.authorization.k8s.io/v1/RoleBinding":
			obj = &rbacv1.RoleBinding{}
		default:
			tb.Fatalf("unexpected object %s %s", meta.APIVersion, meta.Kind)
		}
		require.NoError(tb, yaml.UnmarshalStrict([]byte(doc), obj), "%s %s", meta.Kind, meta.Metadata.Name)
		objs = append(objs, rendered{kind: meta.Kind, name: meta.Metadata.Name, obj: obj})
	}
	return objs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

func podSpec(r rendered) (*corev1.PodSpec, bool) {
	switch o := r.obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec, true
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec, true
	}
	return nil, false
}

// The Helm charts (charts/): lint --strict against their values.schema.json,
// golden renders for several value sets, every object decoded strictly into
// the Kubernetes API types, probes on the real paths, every service flag
// accepted by the real binary, and the seed's rules: the Connect agent drains
// for 600 s, MART is exposed only with Apigee Connect off.
func TestHelmCharts(t *testing.T) {
	t.Parallel()
	helm := helmBinary(t)
	charts := filepath.Join(h.Root, "charts")
	sets, err := filepath.Glob(filepath.Join(charts, "testdata", "values", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, sets)
	chartOf := map[string]string{"datastore": "apigee-datastore", "org": "apigee-org", "env": "apigee-env",
		"virtualhost": "apigee-virtualhost", "controlplane": "hybrid-controlplane", "telemetry": "apigee-telemetry"}
	covered := map[string]bool{}
	for _, set := range sets {
		name := strings.TrimSuffix(filepath.Base(set), ".yaml")
		chart := chartOf[strings.SplitN(name, "-", 2)[0]]
		require.NotEmpty(t, chart, "value set %s names no chart", name)
		covered[chart] = true
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(charts, chart)
			lint, err := exec.Command(helm, "lint", "--strict", dir, "-f", set).CombinedOutput()
			require.NoError(t, err, "helm lint --strict: %s", lint)
			out, err := exec.Command(helm, "template", "hybrid", dir, "-f", set, "--namespace", "apigee").Output()
			require.NoError(t, err, "helm template: %s", stderrOf(err))
			golden.Check(t, filepath.Join(charts, "testdata", "golden", name+".yaml"), out)
			objs := decodeStrict(t, out)
			require.NotEmpty(t, objs)
			checkWorkloads(t, objs)
			checkMARTExposure(t, name, objs)
		})
	}
	for _, c := range chartOf {
		require.True(t, covered[c], "chart %s has no value set under charts/testdata/values", c)
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// checkWorkloads: every container has probes (the services' on
// /v1/probes/live and /v1/probes/ready), non-root pods, flags the real
// binary accepts, and the Connect agent's 600 s grace period.
func checkWorkloads(t *testing.T, objs []rendered) {
	t.Helper()
	for _, r := range objs {
		spec, ok := podSpec(r)
		if !ok {
			continue
		}
		for _, c := range spec.Containers {
			require.NotNil(t, c.ReadinessProbe, "%s/%s has a readiness probe", r.name, c.Name)
			require.NotNil(t, c.LivenessProbe, "%s/%s has a liveness probe", r.name, c.Name)
			if !slices.Contains(harness.Binaries, c.Name) {
				continue // Cassandra, Prometheus: their own images' probes
			}
			require.Equal(t, "/v1/probes/ready", c.ReadinessProbe.HTTPGet.Path, r.name)
			require.Equal(t, "/v1/probes/live", c.LivenessProbe.HTTPGet.Path, r.name)
			require.True(t, *spec.SecurityContext.RunAsNonRoot, r.name)
			// Main exits 0 on --help only if every earlier flag parsed.
			binary := filepath.Join(h.BinDir, c.Name)
			out, err := exec.Command(binary, append(append([]string{}, c.Args...), "--help")...).CombinedOutput()
			require.NoError(t, err, "%s %s: %s", c.Name, strings.Join(c.Args, " "), out)
		}
		if strings.HasPrefix(r.name, "apigee-connect-agent") {
			require.Equal(t, int64(600), *spec.TerminationGracePeriodSeconds, "the Connect agent drains its tethers for 600 s")
		}
	}
}

// checkMARTExposure: with Apigee Connect on nothing routes to MART from
// outside; with it off an Ingress does, at mart.hostAlias.
func checkMARTExposure(t *testing.T, set string, objs []rendered) {
	t.Helper()
	var martIngress, agent bool
	for _, r := range objs {
		if ing, ok := r.obj.(*networkingv1.Ingress); ok {
			for _, rule := range ing.Spec.Rules {
				for _, p := range rule.HTTP.Paths {
					if strings.HasPrefix(p.Backend.Service.Name, "apigee-mart") {
						martIngress = true
					}
				}
			}
		}
		if r.kind == "Deployment" && strings.HasPrefix(r.name, "apigee-connect-agent") {
			agent = true
		}
	}
	switch set {
	case "org-connect":
		require.True(t, agent)
		require.False(t, martIngress, "MART is never exposed when Apigee Connect is on")
	case "org-no-connect":
		require.False(t, agent)
		require.True(t, martIngress, "with Connect off the control plane reaches MART through an Ingress")
	}
}

// Bad values fail the render or the lint with a message that names the
// problem, never a half-rendered release.
func TestHelmChartsRefuseBadValues(t *testing.T) {
	t.Parallel()
	helm := helmBinary(t)
	charts := filepath.Join(h.Root, "charts")
	for _, tc := range []struct {
		name, chart string
		args        []string
		want        string
	}{
		{"no org", "apigee-datastore", nil, "org"},
		{"org not a GCP project id", "apigee-datastore", []string{"--set", "org=Bad_Org"}, "org"},
		{"unknown value", "apigee-datastore", []string{"--set", "org=hybrid", "--set", "cassandra.replicas=3"}, "replicas"},
		{"env not in envs", "apigee-env", []string{"-f", filepath.Join(charts, "testdata", "values", "env-test.yaml"), "--set", "env=staging"}, `env "staging" is not in envs`},
		{"no contract key", "apigee-env", []string{"--set", "org=hybrid", "--set", "env=test", "--set", "envs[0].name=test"}, "contractEncryptionKey"},
		{"connect off without hostAlias", "apigee-org", []string{"-f", filepath.Join(charts, "testdata", "values", "org-no-connect.yaml"), "--set", "mart.hostAlias="}, "mart.hostAlias"},
		{"no encryption keys", "apigee-org", []string{"--set", "org=hybrid", "--set", "mart.sharedSecret=s"}, "kmsEncryptionKey"},
		{"no MART secret", "apigee-org", []string{"--set", "org=hybrid", "--set", "encryptionKeys.secretRef=k"}, "mart.sharedSecret"},
		{"missing key file", "apigee-org", []string{"-f", filepath.Join(charts, "testdata", "values", "org-connect.yaml"), "--set", "watcher.serviceAccountRef=", "--set", "watcher.serviceAccountPath=sa/watcher.json"}, `watcher.serviceAccountPath "sa/watcher.json"`},
		{"group not in virtualhosts", "apigee-virtualhost", []string{"-f", filepath.Join(charts, "testdata", "values", "virtualhost-group1.yaml"), "--set", "envgroup=group9"}, `envgroup "group9"`},
		{"no admin token", "hybrid-controlplane", nil, "adminToken"},
		{"telemetry without org", "apigee-telemetry", nil, "org"},
		{"unpinned Prometheus", "apigee-telemetry", []string{"--set", "org=hybrid", "--set", "metrics.image=prom/prometheus"}, "/metrics/image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(helm, append([]string{"template", "hybrid", filepath.Join(charts, tc.chart)}, tc.args...)...)
			cmd.Stderr = &stderr
			_, err := cmd.Output()
			require.Error(t, err)
			require.Contains(t, stderr.String(), tc.want)
		})
	}
}

// A service-account key given as serviceAccountPath (a file in the chart
// directory, as hybrid's charts take it) becomes the Secret the pod mounts.
func TestHelmServiceAccountPath(t *testing.T) {
	t.Parallel()
	helm := helmBinary(t)
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(h.Root, "charts", "apigee-org"))))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "service-accounts"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "service-accounts", "watcher.json"), []byte(`{"type":"service_account"}`), 0o600))
	out, err := exec.Command(helm, "template", "hybrid", dir, "-f", filepath.Join(h.Root, "charts", "testdata", "values", "org-connect.yaml"),
		"--set", "watcher.serviceAccountRef=", "--set", "watcher.serviceAccountPath=service-accounts/watcher.json").Output()
	require.NoError(t, err, stderrOf(err))
	var secret *corev1.Secret
	var mounted string
	for _, r := range decodeStrict(t, out) {
		if s, ok := r.obj.(*corev1.Secret); ok && r.name == "hybrid-apigee-watcher-svc-account" {
			secret = s
		}
		if d, ok := r.obj.(*appsv1.Deployment); ok && r.name == "apigee-watcher-hybrid" {
			mounted = d.Spec.Template.Spec.Volumes[0].Secret.SecretName
		}
	}
	require.NotNil(t, secret)
	require.Equal(t, `{"type":"service_account"}`, string(secret.Data["client_secret.json"]))
	require.Equal(t, "hybrid-apigee-watcher-svc-account", mounted)
}
