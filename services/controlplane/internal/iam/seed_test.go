package iam_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2/google"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

func readKeyFile(t *testing.T, path string) iam.KeyFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var kf iam.KeyFile
	require.NoError(t, json.Unmarshal(raw, &kf))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	return kf
}

func TestSeed(t *testing.T) {
	e := newEnv(t)
	keyDir := filepath.Join(t.TempDir(), "service-accounts")
	bindings := []iam.BindingSeed{{Role: "roles/apigee.readOnlyAdmin", Members: []string{"user:alice@example.com"}}}
	seeded, err := e.iam.Seed(iam.DefaultServiceAccounts(), bindings, "hybrid", keyDir)
	require.NoError(t, err)
	require.Len(t, seeded, 8)
	files := map[string]string{}
	for _, s := range seeded {
		require.True(t, s.Created)
		require.True(t, s.NewKey)
		files[s.Email] = s.KeyFile
	}
	martFile := filepath.Join(keyDir, "hybrid-apigee-mart.json")
	require.Equal(t, martFile, files["apigee-mart@hybrid.iam.gserviceaccount.com"])

	pol, err := e.iam.GetPolicy("hybrid")
	require.NoError(t, err)
	roles := map[string][]string{}
	for _, b := range pol.Bindings {
		roles[b.Role] = b.Members
	}
	require.Equal(t, map[string][]string{
		"roles/apigee.synchronizerManager": {"serviceAccount:apigee-synchronizer@hybrid.iam.gserviceaccount.com"},
		"roles/apigee.analyticsAgent":      {"serviceAccount:apigee-udca@hybrid.iam.gserviceaccount.com"},
		"roles/apigee.runtimeAgent":        {"serviceAccount:apigee-watcher@hybrid.iam.gserviceaccount.com"},
		"roles/apigeeconnect.Agent":        {"serviceAccount:apigee-mart@hybrid.iam.gserviceaccount.com"},
		"roles/apigee.admin":               {"serviceAccount:apigee-org-admin@hybrid.iam.gserviceaccount.com"},
		"roles/monitoring.metricWriter":    {"serviceAccount:apigee-metrics@hybrid.iam.gserviceaccount.com"},
		"roles/logging.logWriter":          {"serviceAccount:apigee-logger@hybrid.iam.gserviceaccount.com"},
		"roles/apigee.readOnlyAdmin":       {"user:alice@example.com"},
	}, roles)

	// The key file works with Google's library.
	first := readKeyFile(t, martFile)
	raw, err := os.ReadFile(martFile)
	require.NoError(t, err)
	creds, err := google.CredentialsFromJSON(context.Background(), raw, iam.CloudPlatformScope)
	require.NoError(t, err)
	_, err = creds.TokenSource.Token()
	require.NoError(t, err)

	// An operator removes the Connect role; a restart neither re-grants it
	// nor replaces live key files.
	pol.Bindings = slices.DeleteFunc(pol.Bindings, func(b iam.Binding) bool { return b.Role == "roles/apigeeconnect.Agent" })
	_, err = e.iam.SetPolicy("hybrid", pol)
	require.NoError(t, err)
	again := e.open()
	seeded, err = again.Seed(iam.DefaultServiceAccounts(), bindings, "hybrid", keyDir)
	require.NoError(t, err)
	for _, s := range seeded {
		require.False(t, s.Created)
		require.False(t, s.NewKey)
	}
	require.Equal(t, first, readKeyFile(t, martFile))
	pol, err = again.GetPolicy("hybrid")
	require.NoError(t, err)
	for _, b := range pol.Bindings {
		require.NotEqual(t, "roles/apigeeconnect.Agent", b.Role)
	}

	// The control plane moved: same key, new token_uri.
	moved := e.open(func(o *iam.Options) { o.TokenURI = "http://127.0.0.1:9999/token" })
	_, err = moved.Seed(iam.DefaultServiceAccounts(), nil, "hybrid", keyDir)
	require.NoError(t, err)
	kf := readKeyFile(t, martFile)
	require.Equal(t, first.PrivateKeyID, kf.PrivateKeyID)
	require.Equal(t, "http://127.0.0.1:9999/token", kf.TokenURI)
	require.Equal(t, "http://127.0.0.1:9999/robot/v1/metadata/x509/apigee-mart%40hybrid.iam.gserviceaccount.com", kf.ClientX509CertURL)

	// A key deleted behind the file's back is replaced.
	require.NoError(t, moved.DeleteKey("hybrid", kf.ClientEmail, kf.PrivateKeyID))
	seeded, err = moved.Seed(iam.DefaultServiceAccounts()[4:5], nil, "hybrid", keyDir)
	require.NoError(t, err)
	require.True(t, seeded[0].NewKey)
	require.NotEqual(t, kf.PrivateKeyID, readKeyFile(t, martFile).PrivateKeyID)

	// Seeds into an unknown project fail loudly.
	_, err = e.iam.Seed([]iam.AccountSeed{{AccountID: "apigee-mart", Project: "nowhere"}}, nil, "hybrid", keyDir)
	require.ErrorContains(t, err, "nowhere")
}

func TestAuditLog(t *testing.T) {
	e := newEnv(t, func(o *iam.Options) { o.AuditSize = 3 })
	ctx := context.Background()
	kf := e.account("hybrid", "apigee-mart", "roles/apigeeconnect.Agent")
	mart := iam.Principal{Member: "serviceAccount:" + kf.ClientEmail, Name: kf.ClientEmail}
	res := "//apigeeconnect.googleapis.com/projects/hybrid/endpoints/APIGEE_MART"

	require.NoError(t, e.iam.Enforce(ctx, mart, iam.Call{Permission: iam.PermConnect, Resource: res}))
	require.Error(t, e.iam.Enforce(ctx, mart, iam.Call{Permission: iam.PermListConnections, Resource: res}))
	require.NoError(t, e.iam.Enforce(ctx, iam.AdminPrincipal, iam.Call{Permission: "apigee.proxies.create", Resource: "organizations/hybrid/apis"}))

	all := e.iam.AuditLog(iam.AuditFilter{Project: "hybrid"})
	require.Len(t, all, 3)
	require.Equal(t, "google.cloud.apigee.v1.ApiProxyService.CreateApiProxy", all[0].MethodName)
	require.Equal(t, iam.AdminWrite, all[0].Category)
	require.Equal(t, "projects/hybrid/logs/cloudaudit.googleapis.com%2Factivity", all[0].LogName)
	require.Equal(t, "admin", all[0].Principal)
	require.Equal(t, "apigee.googleapis.com", all[0].ServiceName)

	require.Equal(t, "google.cloud.apigeeconnect.v1.ConnectionService.ListConnections", all[1].MethodName)
	require.Equal(t, iam.DataRead, all[1].Category)
	require.False(t, all[1].Granted)

	egress := all[2]
	require.Equal(t, "google.cloud.apigeeconnect.v1.Tether.Egress", egress.MethodName)
	require.Equal(t, iam.DataWrite, egress.Category)
	require.Equal(t, "projects/hybrid/logs/cloudaudit.googleapis.com%2Fdata_access", egress.LogName)
	require.Equal(t, "apigeeconnect.googleapis.com", egress.ServiceName)
	require.Equal(t, kf.ClientEmail, egress.Principal)
	require.Equal(t, res, egress.Resource)
	require.True(t, egress.Granted)
	require.WithinDuration(t, e.clock.now(), egress.Timestamp, time.Second)

	// Filters, and the ring's bound.
	got := e.iam.AuditLog(iam.AuditFilter{Project: "hybrid", Category: "DATA_WRITE", MethodName: "Tether.Egress"})
	require.Equal(t, []iam.Entry{egress}, got)
	e.iam.Audit(ctx, iam.Entry{MethodName: "x", Permission: "apigee.organizations.get", Resource: "organizations/hybrid"})
	all = e.iam.AuditLog(iam.AuditFilter{})
	require.Len(t, all, 3)
	require.Equal(t, iam.AdminRead, all[0].Category)
	require.NotContains(t, all, egress)
	require.Empty(t, e.iam.AuditLog(iam.AuditFilter{Project: "acme-project"}))
}

func TestMethodNames(t *testing.T) {
	tests := map[string]string{
		"apigee.organizations.get":            "google.cloud.apigee.v1.Organizations.GetOrganization",
		"apigee.environments.list":            "google.cloud.apigee.v1.Environments.ListEnvironments",
		"apigee.proxies.delete":               "google.cloud.apigee.v1.ApiProxyService.DeleteApiProxy",
		"apigee.deployments.create":           "google.cloud.apigee.v1.Deployments.DeployApiProxy",
		"apigee.sharedflowdeployments.delete": "google.cloud.apigee.v1.Deployments.UndeploySharedFlow",
		"apigee.runtime.getContract":          "google.cloud.apigee.v1.Runtime.GetContract",
		"apigeeconnect.endpoints.connect":     "google.cloud.apigeeconnect.v1.Tether.Egress",
		"iam.serviceAccounts.create":          "iam.serviceAccounts.create",
	}
	for perm, want := range tests {
		require.Equal(t, want, iam.MethodName(perm), perm)
	}
	require.Equal(t, iam.DataRead, iam.CategoryOf(iam.PermGetContract))
	require.Equal(t, iam.DataWrite, iam.CategoryOf(iam.PermReportStatus))
	require.Equal(t, iam.AdminRead, iam.CategoryOf("apigee.proxies.list"))
	require.Equal(t, iam.AdminWrite, iam.CategoryOf("apigee.proxies.create"))
}
