package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"
	apigee "google.golang.org/api/apigee/v1"
	crm "google.golang.org/api/cloudresourcemanager/v1"
	"google.golang.org/api/googleapi"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"
	"google.golang.org/grpc/credentials"

	"github.com/hybrid-emulator/hybrid/pkg/gcpauth"
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// gcpauth's per-RPC credentials plug into grpc.WithPerRPCCredentials.
var _ credentials.PerRPCCredentials = gcpauth.PerRPC{}

// seededKey reads a key file the control plane wrote for a seeded account.
func (c *cp) seededKey(accountID string) []byte {
	c.tb.Helper()
	raw, err := os.ReadFile(filepath.Join(c.srv.KeyDir, "hybrid-"+accountID+".json"))
	require.NoError(c.tb, err)
	return raw
}

// apigeeAs is Google's Apigee client authenticating with a service-account
// key through golang.org/x/oauth2/google (via pkg/gcpauth), exactly as a
// runtime service does.
func (c *cp) apigeeAs(keyJSON []byte) *apigee.Service {
	c.tb.Helper()
	ts, err := gcpauth.TokenSource(context.Background(), keyJSON)
	require.NoError(c.tb, err)
	svc, err := apigee.NewService(context.Background(), option.WithEndpoint(c.url+"/"),
		option.WithHTTPClient(gcpauth.HTTPClient(ts, nil)))
	require.NoError(c.tb, err)
	return svc
}

func requireDenied(tb testing.TB, err error, permission, resource string) {
	tb.Helper()
	var ge *googleapi.Error
	require.ErrorAs(tb, err, &ge)
	require.Equal(tb, http.StatusForbidden, ge.Code, ge.Body)
	require.Equal(tb, "Permission '"+permission+"' denied on resource '"+resource+"' (or it may not exist).", ge.Message)
	require.Contains(tb, ge.Body, `"status":"PERMISSION_DENIED"`)
	requireErrorInfo(tb, ge, permission, resource)
}

// requireErrorInfo asserts the google.rpc.ErrorInfo Google's IAM attaches
// to a refusal: reason IAM_PERMISSION_DENIED, the permission, and the
// resource's relative name (fullResource without "//service/").
func requireErrorInfo(tb testing.TB, ge *googleapi.Error, permission, fullResource string) {
	tb.Helper()
	rel := fullResource
	if rest, ok := strings.CutPrefix(rel, "//"); ok {
		rel = rest[strings.IndexByte(rest, '/')+1:]
	}
	require.Len(tb, ge.Details, 1, ge.Body)
	d, ok := ge.Details[0].(map[string]any)
	require.True(tb, ok, "%T", ge.Details[0])
	require.Equal(tb, map[string]any{
		"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED", "domain": "iam.googleapis.com",
		"metadata": map[string]any{"permission": permission, "resource": rel},
	}, d)
}

// TestIAMWithGoogleClients drives the emulated IAM with Google's own
// clients: IAM (service accounts and keys), Resource Manager (policies) and
// the Apigee API authenticated by minted tokens.
func TestIAMWithGoogleClients(t *testing.T) {
	c := startCP(t, t.TempDir())
	ctx := context.Background()
	adminOpts := []option.ClientOption{option.WithEndpoint(c.url + "/"), option.WithHTTPClient(authClient(testToken, nil))}
	iamSvc, err := iamv1.NewService(ctx, adminOpts...)
	require.NoError(t, err)
	crmSvc, err := crm.NewService(ctx, adminOpts...)
	require.NoError(t, err)

	// Seeded accounts are listed like gcloud iam service-accounts list.
	list, err := iamSvc.Projects.ServiceAccounts.List("projects/hybrid").Do()
	require.NoError(t, err)
	var emails []string
	for _, a := range list.Accounts {
		emails = append(emails, a.Email)
	}
	require.Equal(t, []string{
		"apigee-logger@hybrid.iam.gserviceaccount.com",
		"apigee-mart@hybrid.iam.gserviceaccount.com", "apigee-metrics@hybrid.iam.gserviceaccount.com", "apigee-org-admin@hybrid.iam.gserviceaccount.com",
		"apigee-runtime@hybrid.iam.gserviceaccount.com", "apigee-synchronizer@hybrid.iam.gserviceaccount.com",
		"apigee-udca@hybrid.iam.gserviceaccount.com", "apigee-watcher@hybrid.iam.gserviceaccount.com",
	}, emails)

	// A new account and key through the IAM API.
	sa, err := iamSvc.Projects.ServiceAccounts.Create("projects/hybrid", &iamv1.CreateServiceAccountRequest{
		AccountId: "ci-deployer", ServiceAccount: &iamv1.ServiceAccount{DisplayName: "CI deployer"},
	}).Do()
	require.NoError(t, err)
	require.Equal(t, "projects/hybrid/serviceAccounts/ci-deployer@hybrid.iam.gserviceaccount.com", sa.Name)
	require.Equal(t, "ci-deployer@hybrid.iam.gserviceaccount.com", sa.Email)
	require.Equal(t, "CI deployer", sa.DisplayName)
	require.NotEmpty(t, sa.UniqueId)
	_, err = iamSvc.Projects.ServiceAccounts.Create("projects/hybrid", &iamv1.CreateServiceAccountRequest{AccountId: "ci-deployer"}).Do()
	requireAPIError(t, err, http.StatusConflict)

	key, err := iamSvc.Projects.ServiceAccounts.Keys.Create("projects/-/serviceAccounts/"+sa.Email, &iamv1.CreateServiceAccountKeyRequest{}).Do()
	require.NoError(t, err)
	require.Equal(t, "KEY_ALG_RSA_2048", key.KeyAlgorithm)
	require.Equal(t, "TYPE_GOOGLE_CREDENTIALS_FILE", key.PrivateKeyType)
	keyJSON, err := base64.StdEncoding.DecodeString(key.PrivateKeyData)
	require.NoError(t, err)
	var kf map[string]string
	require.NoError(t, json.Unmarshal(keyJSON, &kf))
	require.Equal(t, c.url+"/token", kf["token_uri"])
	require.Equal(t, sa.UniqueId, kf["client_id"])
	require.Equal(t, "googleapis.com", kf["universe_domain"])
	require.Equal(t, key.Name, sa.Name+"/keys/"+kf["private_key_id"])
	// client_x509_cert_url is served, with the key's certificate.
	r := send(t, c.client, "GET", kf["client_x509_cert_url"], "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var certs map[string]string
	r.json(t, &certs)
	require.Contains(t, certs[kf["private_key_id"]], "BEGIN CERTIFICATE")

	// No role yet: Google's 403.
	ci := c.apigeeAs(keyJSON)
	_, err = ci.Organizations.Get("organizations/hybrid").Do()
	requireDenied(t, err, "apigee.organizations.get", "//apigee.googleapis.com/organizations/hybrid")

	// gcloud projects add-iam-policy-binding … --role roles/apigee.readOnlyAdmin
	pol, err := crmSvc.Projects.GetIamPolicy("hybrid", &crm.GetIamPolicyRequest{}).Do()
	require.NoError(t, err)
	roles := map[string][]string{}
	for _, b := range pol.Bindings {
		roles[b.Role] = b.Members
	}
	require.Equal(t, []string{"serviceAccount:apigee-mart@hybrid.iam.gserviceaccount.com"}, roles["roles/apigeeconnect.Agent"])
	stale := pol.Etag
	pol.Bindings = append(pol.Bindings, &crm.Binding{Role: "roles/apigee.readOnlyAdmin", Members: []string{"serviceAccount:" + sa.Email}})
	pol, err = crmSvc.Projects.SetIamPolicy("hybrid", &crm.SetIamPolicyRequest{Policy: pol}).Do()
	require.NoError(t, err)
	require.NotEqual(t, stale, pol.Etag)
	_, err = crmSvc.Projects.SetIamPolicy("hybrid", &crm.SetIamPolicyRequest{Policy: &crm.Policy{Etag: stale}}).Do()
	requireAPIError(t, err, http.StatusConflict)

	// Allowed to read now (the cached token is unchanged), still not to write.
	o, err := ci.Organizations.Get("organizations/hybrid").Do()
	require.NoError(t, err)
	require.Equal(t, "hybrid", o.Name)
	_, err = ci.Organizations.Environments.Create("organizations/hybrid", &apigee.GoogleCloudApigeeV1Environment{Name: "ci"}).Do()
	requireDenied(t, err, "apigee.environments.create", "//apigee.googleapis.com/organizations/hybrid")

	// The seeded accounts' key files carry the roles hybrid gives them.
	orgAdmin := c.apigeeAs(c.seededKey("apigee-org-admin"))
	_, err = orgAdmin.Organizations.Environments.Create("organizations/hybrid", &apigee.GoogleCloudApigeeV1Environment{Name: "ci"}).Do()
	require.NoError(t, err)
	runtime := c.apigeeAs(c.seededKey("apigee-runtime"))
	_, err = runtime.Organizations.Get("organizations/hybrid").Do()
	requireDenied(t, err, "apigee.organizations.get", "//apigee.googleapis.com/organizations/hybrid")

	seededTests := []struct {
		account, method, path string
		want                  int
	}{
		{"apigee-synchronizer", "GET", "/v1/organizations/hybrid/environments/test/contract/version", http.StatusOK},
		{"apigee-synchronizer", "GET", "/v1/organizations/hybrid/environments/test/contract", http.StatusOK},
		{"apigee-synchronizer", "POST", "/v1/organizations/hybrid/environments/test/runtimeStatus", http.StatusForbidden},
		{"apigee-watcher", "GET", "/v1/organizations/hybrid/envgroups", http.StatusOK},
		{"apigee-watcher", "GET", "/v1/organizations/hybrid/environments/test/contract/version", http.StatusForbidden},
		{"apigee-udca", "GET", "/v1/organizations/hybrid/environments/test/contract", http.StatusForbidden},
		{"apigee-mart", "GET", "/v1/organizations/hybrid", http.StatusForbidden},
		{"apigee-org-admin", "PUT", "/v1/organizations/hybrid", http.StatusOK},
	}
	for _, tt := range seededTests {
		t.Run(tt.account+" "+tt.method+" "+tt.path, func(t *testing.T) {
			ts, err := gcpauth.TokenSource(ctx, c.seededKey(tt.account))
			require.NoError(t, err)
			var body []byte
			if tt.method == "PUT" {
				body = []byte(`{"name":"hybrid","properties":{"property":[{"name":"features.hybrid.enabled","value":"true"},{"name":"features.mart.connect.enabled","value":"true"}]}}`)
			}
			r := send(t, gcpauth.HTTPClient(ts, nil), tt.method, c.url+tt.path, "application/json", body)
			require.Equal(t, tt.want, r.status, "%s", r.body)
			if tt.want == http.StatusForbidden {
				require.Equal(t, "PERMISSION_DENIED", r.apiError(t).Error.Status)
			}
		})
	}

	// The audit log shows who did what, newest first.
	var audit struct {
		Entries []struct {
			Category   string `json:"category"`
			MethodName string `json:"methodName"`
			Principal  string `json:"principalEmail"`
			Resource   string `json:"resourceName"`
			Permission string `json:"permission"`
			Granted    bool   `json:"granted"`
			LogName    string `json:"logName"`
		} `json:"entries"`
	}
	c.doJSON("GET", "/v1/projects/hybrid/auditLogs?principalEmail="+url.QueryEscape(sa.Email), nil, http.StatusOK, &audit)
	require.Len(t, audit.Entries, 3)
	require.Equal(t, "google.cloud.apigee.v1.Environments.CreateEnvironment", audit.Entries[0].MethodName)
	require.Equal(t, "ADMIN_WRITE", audit.Entries[0].Category)
	require.False(t, audit.Entries[0].Granted)
	require.Equal(t, "projects/hybrid/logs/cloudaudit.googleapis.com%2Factivity", audit.Entries[0].LogName)
	require.Equal(t, "google.cloud.apigee.v1.Organizations.GetOrganization", audit.Entries[1].MethodName)
	require.Equal(t, "ADMIN_READ", audit.Entries[1].Category)
	require.True(t, audit.Entries[1].Granted)
	require.Equal(t, "organizations/hybrid", audit.Entries[1].Resource)
	require.False(t, audit.Entries[2].Granted)
	c.doJSON("GET", "/v1/projects/hybrid/auditLogs?category=DATA_READ&methodName=Runtime.GetContract&pageSize=4", nil, http.StatusOK, &audit)
	var who []string
	for _, e := range audit.Entries {
		who = append(who, fmt.Sprintf("%s %v", e.Principal, e.Granted))
	}
	require.Equal(t, []string{
		"apigee-udca@hybrid.iam.gserviceaccount.com false", "apigee-watcher@hybrid.iam.gserviceaccount.com false",
		"apigee-synchronizer@hybrid.iam.gserviceaccount.com true", "apigee-synchronizer@hybrid.iam.gserviceaccount.com true",
	}, who)

	// Only principals with the right roles manage IAM or read its log.
	ciRaw := func(method, path string, body []byte) resp {
		ts, err := gcpauth.TokenSource(ctx, keyJSON)
		require.NoError(t, err)
		return send(t, gcpauth.HTTPClient(ts, nil), method, c.url+path, "application/json", body)
	}
	r = ciRaw("POST", "/v1/projects/hybrid:setIamPolicy", []byte(`{"policy":{}}`))
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, "Permission 'resourcemanager.projects.setIamPolicy' denied on resource '//cloudresourcemanager.googleapis.com/projects/hybrid' (or it may not exist).", r.apiError(t).Error.Message)
	r = ciRaw("POST", "/v1/projects/hybrid/serviceAccounts", []byte(`{"accountId":"sneaky-one"}`))
	require.Equal(t, http.StatusForbidden, r.status)
	r = ciRaw("GET", "/v1/projects/hybrid/auditLogs", nil)
	require.Equal(t, http.StatusForbidden, r.status)

	// Deleting the key ends the exchange; deleting the account ends its tokens.
	_, err = iamSvc.Projects.ServiceAccounts.Keys.Delete(key.Name).Do()
	require.NoError(t, err)
	creds, err := google.CredentialsFromJSON(ctx, keyJSON, gcpauth.CloudPlatformScope)
	require.NoError(t, err)
	_, err = creds.TokenSource.Token()
	require.ErrorContains(t, err, "Invalid JWT Signature.")
	_, err = iamSvc.Projects.ServiceAccounts.Delete(sa.Name).Do()
	require.NoError(t, err)
	_, err = ci.Organizations.Get("organizations/hybrid").Do()
	requireAPIError(t, err, http.StatusUnauthorized)
	_, err = iamSvc.Projects.ServiceAccounts.Get("projects/-/serviceAccounts/" + sa.Email).Do()
	requireAPIError(t, err, http.StatusNotFound)
}

// TestGoogleClientOwnCredentials lets the generated Apigee client load the
// key file itself (option.WithAuthCredentialsJSON → cloud.google.com/go/auth).
func TestGoogleClientOwnCredentials(t *testing.T) {
	c := startCP(t, t.TempDir())
	svc, err := apigee.NewService(context.Background(), option.WithEndpoint(c.url+"/"),
		option.WithAuthCredentialsJSON(option.ServiceAccount, c.seededKey("apigee-org-admin")))
	require.NoError(t, err)
	o, err := svc.Organizations.Get("organizations/hybrid").Do()
	require.NoError(t, err)
	require.Equal(t, "hybrid", o.Name)
	svc, err = apigee.NewService(context.Background(), option.WithEndpoint(c.url+"/"),
		option.WithAuthCredentialsJSON(option.ServiceAccount, c.seededKey("apigee-udca")))
	require.NoError(t, err)
	_, err = svc.Organizations.Get("organizations/hybrid").Do()
	requireDenied(t, err, "apigee.organizations.get", "//apigee.googleapis.com/organizations/hybrid")
}

func TestTokenEndpoint(t *testing.T) {
	c := startCP(t, t.TempDir())
	raw := c.seededKey("apigee-synchronizer")
	var kf struct {
		ClientEmail  string `json:"client_email"`
		PrivateKeyID string `json:"private_key_id"`
		TokenURI     string `json:"token_uri"`
	}
	require.NoError(t, json.Unmarshal(raw, &kf))
	require.Equal(t, c.url+"/token", kf.TokenURI)
	cfg, err := google.JWTConfigFromJSON(raw, gcpauth.CloudPlatformScope)
	require.NoError(t, err)
	other, err := google.JWTConfigFromJSON(c.seededKey("apigee-udca"), gcpauth.CloudPlatformScope)
	require.NoError(t, err)

	tests := []struct {
		name   string
		edit   func(cfg *jwt.Config)
		status int
		desc   string
	}{
		{"valid", func(*jwt.Config) {}, http.StatusOK, ""},
		{"wrong signature", func(j *jwt.Config) { j.PrivateKey = other.PrivateKey }, http.StatusBadRequest, "Invalid JWT Signature."},
		{"wrong audience", func(j *jwt.Config) { j.Audience = "https://oauth2.googleapis.com/token" }, http.StatusBadRequest, "Invalid JWT: Failed audience check."},
		{"too long-lived", func(j *jwt.Config) { j.Expires = 2 * time.Hour }, http.StatusBadRequest, "Token must be a short-lived token (60 minutes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := *cfg
			tt.edit(&j)
			tok, err := j.TokenSource(context.Background()).Token()
			if tt.status == http.StatusOK {
				require.NoError(t, err)
				r := send(t, authClient(tok.AccessToken, nil), "GET", c.url+"/v1/organizations/hybrid/environments/test/contract/version", "", nil)
				require.Equal(t, http.StatusOK, r.status, "%s", r.body)
				return
			}
			var re *oauth2.RetrieveError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tt.status, re.Response.StatusCode)
			var body map[string]string
			require.NoError(t, json.Unmarshal(re.Body, &body))
			require.Equal(t, "invalid_grant", body["error"])
			require.Contains(t, body["error_description"], tt.desc)
		})
	}

	// An unknown bearer token is 401; the admin token still works.
	r := send(t, authClient("ya29.bogus.token", nil), "GET", c.url+"/v1/organizations/hybrid", "", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "UNAUTHENTICATED", r.apiError(t).Error.Status)
	c.doJSON("GET", "/v1/organizations/hybrid", nil, http.StatusOK, nil)

	// The HTTPS listener serves the token endpoint too (its own audience).
	pem, err := os.ReadFile(c.srv.CAPath)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	j := *cfg
	j.TokenURL = c.httpsURL + "/token"
	tok, err := j.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, tlsClient)).Token()
	require.NoError(t, err)
	r = send(t, c.httpsClient(tok.AccessToken), "GET", c.httpsURL+"/v1/organizations/hybrid/environments/test/contract/version", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

// TestIAMSurvivesRestart: accounts, policies and minted tokens outlive the
// process; key files follow the token endpoint to its new address.
func TestIAMSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	c := startCP(t, dir)
	raw := c.seededKey("apigee-org-admin")
	ts, err := gcpauth.TokenSource(context.Background(), raw)
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	c.stop()

	c2 := startCP(t, dir, func(cfg *server.Config) { cfg.HTTPS.Listen = "" })
	moved := c2.seededKey("apigee-org-admin")
	var before, after map[string]string
	require.NoError(t, json.Unmarshal(raw, &before))
	require.NoError(t, json.Unmarshal(moved, &after))
	require.Equal(t, before["private_key_id"], after["private_key_id"])
	require.Equal(t, c2.url+"/token", after["token_uri"])
	r := send(t, authClient(tok.AccessToken, nil), "GET", c2.url+"/v1/organizations/hybrid", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

func TestIAMConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
iam:
  keyDir: /tmp/keys
  serviceAccounts:
    - {accountId: apigee-mart, roles: [roles/apigeeconnect.Agent]}
    - {accountId: ci-deployer, project: acme-project, roles: [roles/apigee.admin], keyFile: ci.json}
  bindings:
    - {role: roles/apigee.readOnlyAdmin, members: ["user:alice@example.com"]}
`), 0o600))
	cfg := server.DefaultConfig()
	require.NoError(t, service.LoadConfig("controlplane", "HYBRID_CONTROLPLANE", []string{"--config", path, "--iam.tokenURI", "https://cp.example/token"}, &cfg))
	require.Equal(t, "https://cp.example/token", cfg.IAM.TokenURI)
	require.Equal(t, "/tmp/keys", cfg.IAM.KeyDir)
	require.Len(t, cfg.IAM.ServiceAccounts, 2)
	require.Equal(t, "ci.json", cfg.IAM.ServiceAccounts[1].KeyFile)
	require.Equal(t, []string{"user:alice@example.com"}, cfg.IAM.Bindings[0].Members)

	// Seeds are checked at start: an unknown project or role stops it.
	tests := []struct {
		name string
		seed iam.AccountSeed
		want string
	}{
		{"unknown project", iam.AccountSeed{AccountID: "apigee-mart", Project: "nowhere"}, "denied on resource '//iam.googleapis.com/projects/nowhere'"},
		{"unknown role", iam.AccountSeed{AccountID: "apigee-mart", Roles: []string{"roles/nope"}}, "unknown role roles/nope"},
		{"bad account id", iam.AccountSeed{AccountID: "X"}, `Invalid account ID "X"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			cfg.Listen, cfg.HTTPS.Listen, cfg.StateDir = "127.0.0.1:0", "", t.TempDir()
			cfg.IAM.ServiceAccounts = []iam.AccountSeed{tt.seed}
			svc, err := service.NewWithLogger("controlplane", cfg.Common, zaptest.NewLogger(t))
			require.NoError(t, err)
			_, err = server.New(svc, &cfg)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
