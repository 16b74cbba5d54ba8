package iam_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

func TestServiceAccounts(t *testing.T) {
	e := newEnv(t)
	sa, err := e.iam.CreateServiceAccount("hybrid", "apigee-mart", "apigee-mart", "MART")
	require.NoError(t, err)
	require.Equal(t, "projects/hybrid/serviceAccounts/apigee-mart@hybrid.iam.gserviceaccount.com", sa.Name)
	require.Equal(t, "apigee-mart@hybrid.iam.gserviceaccount.com", sa.Email)
	require.Regexp(t, `^1[0-9]{20}$`, sa.UniqueID)
	require.Equal(t, sa.UniqueID, sa.OAuth2ClientID)
	require.Equal(t, "hybrid", sa.ProjectID)

	errTests := []struct {
		name, project, id string
		code              int
		msg               string
	}{
		{"duplicate", "hybrid", "apigee-mart", 409, "Service account apigee-mart already exists within project projects/hybrid."},
		{"too short", "hybrid", "abc", 400, `Invalid account ID "abc"`},
		{"upper case", "hybrid", "Apigee-Mart", 400, "Invalid account ID"},
		{"trailing hyphen", "hybrid", "apigee-mart-", 400, "Invalid account ID"},
		{"unknown project", "nowhere", "apigee-mart", 403, "Permission 'iam.serviceAccounts.create' denied on resource '//iam.googleapis.com/projects/nowhere' (or it may not exist)."},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.iam.CreateServiceAccount(tt.project, tt.id, "", "")
			ae := apierr.From(err)
			require.Equal(t, tt.code, ae.Code)
			require.Contains(t, ae.Message, tt.msg)
		})
	}

	for _, ref := range []struct{ project, ref string }{{"hybrid", sa.Email}, {"-", sa.Email}, {"-", sa.UniqueID}} {
		got, err := e.iam.GetServiceAccount(ref.project, ref.ref)
		require.NoError(t, err)
		require.Equal(t, sa, got)
	}
	_, err = e.iam.GetServiceAccount("acme-project", sa.Email)
	require.Equal(t, 404, apierr.From(err).Code)
	require.Len(t, e.iam.ListServiceAccounts("hybrid"), 1)
	require.Empty(t, e.iam.ListServiceAccounts("acme-project"))

	// Keys: create, list, get with the certificate, delete.
	key, kf, err := e.iam.CreateKey("-", sa.UniqueID)
	require.NoError(t, err)
	require.Equal(t, sa.Name+"/keys/"+kf.PrivateKeyID, key.Name)
	keys, err := e.iam.ListKeys("hybrid", sa.Email)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Empty(t, keys[0].PrivateKeyData)
	got, err := e.iam.GetKey("hybrid", sa.Email, kf.PrivateKeyID, true)
	require.NoError(t, err)
	cert, err := base64.StdEncoding.DecodeString(got.PublicKeyData)
	require.NoError(t, err)
	require.Contains(t, string(cert), "-----BEGIN CERTIFICATE-----")
	certs, ok := e.iam.Certificates(sa.Email)
	require.True(t, ok)
	require.Equal(t, string(cert), certs[kf.PrivateKeyID])
	require.NoError(t, e.iam.DeleteKey("hybrid", sa.Email, kf.PrivateKeyID))
	require.Equal(t, 404, apierr.From(e.iam.DeleteKey("hybrid", sa.Email, kf.PrivateKeyID)).Code)

	// State survives a restart; a deleted account is gone.
	require.Len(t, e.open().ListServiceAccounts("hybrid"), 1)
	require.NoError(t, e.iam.DeleteServiceAccount("-", sa.Email))
	require.Empty(t, e.open().ListServiceAccounts("hybrid"))
}

// TestKeyFileShape checks the key file field for field against Google's.
func TestKeyFileShape(t *testing.T) {
	e := newEnv(t)
	_, err := e.iam.CreateServiceAccount("hybrid", "apigee-synchronizer", "", "")
	require.NoError(t, err)
	key, kf, err := e.iam.CreateKey("hybrid", "apigee-synchronizer@hybrid.iam.gserviceaccount.com")
	require.NoError(t, err)
	require.Equal(t, "TYPE_GOOGLE_CREDENTIALS_FILE", key.PrivateKeyType)
	require.Equal(t, "KEY_ALG_RSA_2048", key.KeyAlgorithm)
	require.Equal(t, "9999-12-31T23:59:59Z", key.ValidBeforeTime)
	require.Equal(t, "USER_MANAGED", key.KeyType)

	raw, err := base64.StdEncoding.DecodeString(key.PrivateKeyData)
	require.NoError(t, err)
	var fields map[string]string
	require.NoError(t, json.Unmarshal(raw, &fields))
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"type", "project_id", "private_key_id", "private_key", "client_email", "client_id",
		"auth_uri", "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain"}, keys)
	// Google's order and indentation.
	require.Regexp(t, regexp.MustCompile(`^\{\n  "type": "service_account",\n  "project_id": "hybrid",\n  "private_key_id": "[0-9a-f]{40}",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\n`), string(raw))
	require.Equal(t, "service_account", fields["type"])
	require.Equal(t, kf.PrivateKeyID, fields["private_key_id"])
	require.Equal(t, "apigee-synchronizer@hybrid.iam.gserviceaccount.com", fields["client_email"])
	require.Regexp(t, `^1[0-9]{20}$`, fields["client_id"])
	require.Equal(t, "https://accounts.google.com/o/oauth2/auth", fields["auth_uri"])
	require.Equal(t, e.tokenURI, fields["token_uri"])
	require.Equal(t, "https://www.googleapis.com/oauth2/v1/certs", fields["auth_provider_x509_cert_url"])
	require.Equal(t, e.url+"/robot/v1/metadata/x509/apigee-synchronizer%40hybrid.iam.gserviceaccount.com", fields["client_x509_cert_url"])
	require.Equal(t, "googleapis.com", fields["universe_domain"])
	privateKey(t, kf) // PKCS#8 RSA
}

func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	member := func(id string, roles ...string) iam.Principal {
		e.account("hybrid", id, roles...)
		return iam.Principal{Member: "serviceAccount:" + iam.Email("hybrid", id), Name: iam.Email("hybrid", id)}
	}
	sync := member("apigee-synchronizer", "roles/apigee.synchronizerManager")
	watcher := member("apigee-watcher", "roles/apigee.runtimeAgent")
	udca := member("apigee-udca", "roles/apigee.analyticsAgent")
	mart := member("apigee-mart", "roles/apigeeconnect.Agent")
	admin := member("apigee-org-admin", "roles/apigee.admin")
	reader := member("apigee-reader", "roles/apigee.readOnlyAdmin")
	runtime := member("apigee-runtime")
	const connectRes = "//apigeeconnect.googleapis.com/projects/hybrid/endpoints/APIGEE_MART"

	tests := []struct {
		name       string
		p          iam.Principal
		permission string
		resource   string
		denied     string // REST message when refused
	}{
		{"admin token", iam.AdminPrincipal, "apigee.proxies.create", "organizations/nowhere/apis", ""},
		{"org admin creates proxies", admin, "apigee.proxies.create", "organizations/hybrid/apis", ""},
		{"org admin lists connections", admin, "apigeeconnect.connections.list", "//apigeeconnect.googleapis.com/projects/hybrid/endpoints/APIGEE_MART", ""},
		{"org admin lists orgs", admin, "apigee.organizations.list", "organizations", ""},
		{"synchronizer reads contracts", sync, iam.PermGetContract, "organizations/hybrid/environments/test/contract", ""},
		{"synchronizer cannot deploy", sync, "apigee.deployments.create", "organizations/hybrid/environments/test/apis/hello/revisions/1/deployments",
			"Permission 'apigee.deployments.create' denied on resource '//apigee.googleapis.com/organizations/hybrid/environments/test/apis/hello/revisions/1' (or it may not exist)."},
		{"watcher reports status", watcher, iam.PermReportStatus, "organizations/hybrid/environments/test/runtimeStatus", ""},
		{"watcher lists envgroups", watcher, "apigee.envgroups.list", "organizations/hybrid/envgroups", ""},
		{"udca gets data locations", udca, iam.PermGetDataLocation, "organizations/hybrid/environments/test", ""},
		{"udca cannot read contracts", udca, iam.PermGetContract, "organizations/hybrid/environments/test/contract",
			"Permission 'apigee.runtime.getContract' denied on resource '//apigee.googleapis.com/organizations/hybrid/environments/test' (or it may not exist)."},
		{"mart connects", mart, iam.PermConnect, connectRes, ""},
		{"runtime has no role", runtime, iam.PermConnect, connectRes,
			"Permission 'apigeeconnect.endpoints.connect' denied on resource '" + connectRes + "' (or it may not exist)."},
		{"reader gets", reader, "apigee.environments.get", "organizations/hybrid/environments/test", ""},
		{"reader cannot create", reader, "apigee.proxies.create", "organizations/hybrid/apis",
			"Permission 'apigee.proxies.create' denied on resource '//apigee.googleapis.com/organizations/hybrid' (or it may not exist)."},
		{"other project", admin, "apigee.proxies.create", "organizations/acme/apis",
			"Permission 'apigee.proxies.create' denied on resource '//apigee.googleapis.com/organizations/acme' (or it may not exist)."},
		{"unknown org", admin, "apigee.organizations.get", "organizations/nowhere",
			"Permission 'apigee.organizations.get' denied on resource '//apigee.googleapis.com/organizations/nowhere' (or it may not exist)."},
		{"static user without binding", iam.Principal{Member: "user:alice@example.com"}, "apigee.organizations.get", "organizations/hybrid",
			"Permission 'apigee.organizations.get' denied on resource '//apigee.googleapis.com/organizations/hybrid' (or it may not exist)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.iam.Authorize(ctx, tt.p, tt.permission, tt.resource)
			if tt.denied == "" {
				require.NoError(t, err)
				return
			}
			ae := apierr.From(err)
			require.Equal(t, 403, ae.Code)
			require.Equal(t, "PERMISSION_DENIED", ae.Status)
			require.Equal(t, tt.denied, ae.Message)
			require.True(t, iam.IsPermissionDenied(err))
			require.Equal(t, codes.PermissionDenied, status.Code(err))
		})
	}

	// The gRPC face uses the Connect agent's wording.
	err := e.iam.Check(ctx, runtime.Member, iam.PermConnect, connectRes)
	require.Equal(t, "Permission denied on resource '"+connectRes+"' (or it may not exist).", status.Convert(err).Message())
	require.NoError(t, e.iam.Check(ctx, "admin", iam.PermConnect, connectRes))
	require.NoError(t, e.iam.Check(ctx, mart.Member, iam.PermConnect, connectRes))

	// Granting the role opens the door.
	require.NoError(t, e.iam.AddBinding("hybrid", "roles/apigeeconnect.Agent", runtime.Member))
	require.NoError(t, e.iam.Authorize(ctx, runtime, iam.PermConnect, connectRes))
}

func TestPolicies(t *testing.T) {
	e := newEnv(t)
	kf := e.account("hybrid", "apigee-mart")
	sa := "serviceAccount:" + kf.ClientEmail

	p, err := e.iam.GetPolicy("hybrid")
	require.NoError(t, err)
	require.Equal(t, iam.Policy{Version: 1, Etag: "ACAB"}, p)
	_, err = e.iam.GetPolicy("nowhere")
	require.Equal(t, "Permission 'resourcemanager.projects.getIamPolicy' denied on resource '//cloudresourcemanager.googleapis.com/projects/nowhere' (or it may not exist).", apierr.From(err).Message)

	set, err := e.iam.SetPolicy("hybrid", iam.Policy{Etag: p.Etag, Bindings: []iam.Binding{
		{Role: "roles/apigeeconnect.Agent", Members: []string{sa}},
		{Role: "roles/apigee.admin", Members: []string{"user:bob@example.com", "user:alice@example.com"}},
		{Role: "roles/apigeeconnect.Agent", Members: []string{sa, "user:alice@example.com"}},
	}})
	require.NoError(t, err)
	require.NotEqual(t, "ACAB", set.Etag)
	require.Equal(t, 1, set.Version)
	require.Equal(t, []iam.Binding{
		{Role: "roles/apigee.admin", Members: []string{"user:alice@example.com", "user:bob@example.com"}},
		{Role: "roles/apigeeconnect.Agent", Members: []string{sa, "user:alice@example.com"}},
	}, set.Bindings)

	bad := []struct {
		name string
		p    iam.Policy
		code int
		msg  string
	}{
		{"stale etag", iam.Policy{Etag: p.Etag}, 409, "There were concurrent policy changes."},
		{"unknown role", iam.Policy{Bindings: []iam.Binding{{Role: "roles/nope", Members: []string{sa}}}}, 400, "Role roles/nope is not supported for this resource."},
		{"missing service account", iam.Policy{Bindings: []iam.Binding{{Role: "roles/apigee.admin", Members: []string{"serviceAccount:ghost@hybrid.iam.gserviceaccount.com"}}}},
			400, "Service account ghost@hybrid.iam.gserviceaccount.com does not exist."},
		{"bad member", iam.Policy{Bindings: []iam.Binding{{Role: "roles/apigee.admin", Members: []string{"alice"}}}}, 400, `Invalid member "alice"`},
		{"condition", iam.Policy{Bindings: []iam.Binding{{Role: "roles/apigee.admin", Members: []string{sa}, Condition: json.RawMessage(`{"expression":"true"}`)}}}, 400, "not supported"},
		{"bad version", iam.Policy{Version: 2}, 400, "Invalid policy version 2"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.iam.SetPolicy("hybrid", tt.p)
			ae := apierr.From(err)
			require.Equal(t, tt.code, ae.Code)
			require.Contains(t, ae.Message, tt.msg)
			got, err := e.iam.GetPolicy("hybrid")
			require.NoError(t, err)
			require.Equal(t, set, got, "a refused change leaves the policy as it was")
		})
	}

	// Without an etag the policy is overwritten; it persists.
	_, err = e.iam.SetPolicy("hybrid", iam.Policy{})
	require.NoError(t, err)
	got, err := e.open().GetPolicy("hybrid")
	require.NoError(t, err)
	require.Empty(t, got.Bindings)
}

func TestFailedWriteLeavesNoTrace(t *testing.T) {
	e := newEnv(t)
	_, err := e.iam.CreateServiceAccount("hybrid", "apigee-mart", "", "")
	require.NoError(t, err)
	// Make the state file unwritable: a directory stands where it goes.
	path := filepath.Join(e.dir, "iam.json")
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.MkdirAll(filepath.Join(path, "blocker"), 0o755))
	_, err = e.iam.CreateServiceAccount("hybrid", "apigee-udca", "", "")
	require.ErrorContains(t, err, "iam: persist state")
	require.Len(t, e.iam.ListServiceAccounts("hybrid"), 1)
	_, err = e.iam.GetServiceAccount("hybrid", iam.Email("hybrid", "apigee-udca"))
	require.Equal(t, 404, apierr.From(err).Code)
}

func TestMatchRoles(t *testing.T) {
	tests := []struct {
		role, permission string
		want             bool
	}{
		{"roles/owner", "anything.at.all", true},
		{"roles/apigee.admin", "apigee.proxies.create", true},
		{"roles/apigee.admin", "apigeeconnect.endpoints.connect", false},
		{"roles/apigee.readOnlyAdmin", "apigee.proxies.get", true},
		{"roles/apigee.readOnlyAdmin", "apigee.proxies.list", true},
		{"roles/apigee.readOnlyAdmin", "apigee.proxies.create", false},
		{"roles/apigee.readOnlyAdmin", "apigee.flowhooks.getSharedFlow", true},
		{"roles/apigee.readOnlyAdmin", "apigee.flowhooks.attachSharedFlowToFlowHook", false},
		{"roles/apigee.readOnlyAdmin", "apigee.get", false},
		{"roles/apigeeconnect.Agent", "apigeeconnect.endpoints.connect", true},
		{"roles/apigeeconnect.Agent", "apigeeconnect.connections.list", false},
		{"roles/apigee.synchronizerManager", "apigee.runtime.getContract", true},
		{"roles/apigee.synchronizerManager", "apigee.runtime.reportStatus", false},
		{"roles/apigee.runtimeAgent", "apigee.runtime.reportStatus", true},
		{"roles/apigee.analyticsAgent", "apigee.environments.getDataLocation", true},
		{"roles/apigee.analyticsAgent", "apigee.environments.get", false},
	}
	for _, tt := range tests {
		r, ok := iam.LookupRole(tt.role)
		require.True(t, ok, tt.role)
		require.Equal(t, tt.want, r.Grants(tt.permission), "%s %s", tt.role, tt.permission)
	}
	require.Contains(t, iam.RoleNames(), "roles/apigeeconnect.Agent")
}
