package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// googleAuthProxyZip is a proxy whose target sends a Google access token.
func googleAuthProxyZip(tb testing.TB, name, basePath string) []byte {
	tb.Helper()
	files := bundletest.Proxy(name, basePath, "http://127.0.0.1:9/")
	files["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default">
    <HTTPTargetConnection>
        <Authentication>
            <GoogleAccessToken><Scopes><Scope>https://www.googleapis.com/auth/cloud-platform</Scope></Scopes></GoogleAccessToken>
        </Authentication>
        <URL>http://127.0.0.1:9/</URL>
    </HTTPTargetConnection>
</TargetEndpoint>`
	return bundletest.Zip(tb, files)
}

// TestDeployWithServiceAccount checks the deploy call's serviceAccount: the
// caller needs iam.serviceAccounts.actAs on the account, the account must
// exist, a revision that sends Google tokens cannot deploy without one, and
// the account reaches the message processors in the contract.
func TestDeployWithServiceAccount(t *testing.T) {
	const dev = "user:dev@example.com"
	c := startCP(t, t.TempDir(), func(cfg *server.Config) {
		cfg.Tokens["dev-token"] = dev
		cfg.IAM.Bindings = append(cfg.IAM.Bindings, iam.BindingSeed{Role: "roles/apigee.admin", Members: []string{dev}})
	})
	ctx := context.Background()
	iamSvc, err := iamv1.NewService(ctx, option.WithEndpoint(c.url+"/"), option.WithHTTPClient(authClient(testToken, nil)))
	require.NoError(t, err)
	sa, err := iamSvc.Projects.ServiceAccounts.Create("projects/hybrid", &iamv1.CreateServiceAccountRequest{AccountId: "proxy-sa"}).Do()
	require.NoError(t, err)

	for name, zip := range map[string][]byte{"ga": googleAuthProxyZip(t, "ga", "/ga"), "plain": proxyZip(t, "plain", "/plain")} {
		ct, body := multipartBody(t, "file", zip)
		r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name="+name, ct, body)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}
	api := goClient(t, c, "dev-token")
	const env = "organizations/hybrid/environments/test"
	deploy := func(proxy, account string) (*apigee.GoogleCloudApigeeV1Deployment, error) {
		call := api.Organizations.Environments.Apis.Revisions.Deploy(env + "/apis/" + proxy + "/revisions/1").Override(true)
		if account != "" {
			call = call.ServiceAccount(account)
		}
		return call.Do()
	}

	tests := []struct {
		name, proxy, account string
		status               int
		msg                  string
	}{
		{"Google tokens need an identity", "ga", "", http.StatusBadRequest,
			`deployment validations failed; MISSING_SERVICE_ACCOUNT: Deployment of "organizations/hybrid/environments/test/apis/ga/revisions/1" requires a service account identity, but one was not provided with the request.`},
		{"no actAs on the account", "ga", sa.Email, http.StatusForbidden,
			"Permission 'iam.serviceAccounts.actAs' denied on resource '//iam.googleapis.com/projects/hybrid/serviceAccounts/" + sa.Email + "' (or it may not exist)."},
		{"not an email", "plain", "proxy-sa", http.StatusBadRequest, `Invalid serviceAccount "proxy-sa"`},
		{"unknown account", "plain", "nobody@hybrid.iam.gserviceaccount.com", http.StatusForbidden,
			"Permission 'iam.serviceAccounts.actAs' denied on resource '//iam.googleapis.com/projects/-/serviceAccounts/nobody@hybrid.iam.gserviceaccount.com' (or it may not exist)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := deploy(tt.proxy, tt.account)
			var ge *googleapi.Error
			require.ErrorAs(t, err, &ge)
			require.Equal(t, tt.status, ge.Code, ge.Body)
			require.Contains(t, ge.Message, tt.msg)
		})
	}
	// The admin may act as anyone, but not as an account that is not there.
	_, err = goClient(t, c, testToken).Organizations.Environments.Apis.Revisions.Deploy(env + "/apis/plain/revisions/1").
		ServiceAccount("nobody@hybrid.iam.gserviceaccount.com").Do()
	requireAPIError(t, err, http.StatusBadRequest)

	// gcloud iam service-accounts add-iam-policy-binding proxy-sa --member user:dev@… --role roles/iam.serviceAccountUser
	pol, err := iamSvc.Projects.ServiceAccounts.GetIamPolicy("projects/hybrid/serviceAccounts/" + sa.Email).Do()
	require.NoError(t, err)
	pol.Bindings = append(pol.Bindings, &iamv1.Binding{Role: "roles/iam.serviceAccountUser", Members: []string{dev}})
	_, err = iamSvc.Projects.ServiceAccounts.SetIamPolicy("projects/hybrid/serviceAccounts/"+sa.Email, &iamv1.SetIamPolicyRequest{Policy: pol}).Do()
	require.NoError(t, err)
	d, err := deploy("ga", sa.Email)
	require.NoError(t, err)
	require.Equal(t, sa.Email, d.ServiceAccount)
	got, err := api.Organizations.Environments.Apis.Revisions.GetDeployments(env + "/apis/ga/revisions/1").Do()
	require.NoError(t, err)
	require.Equal(t, sa.Email, got.ServiceAccount)
	_, err = deploy("plain", "")
	require.NoError(t, err)

	// The message processors learn each deployment's identity.
	var ct contract.Contract
	c.doJSON("GET", "/v1/"+env+"/contract", nil, http.StatusOK, &ct)
	accounts := map[string]string{}
	for _, d := range ct.APIProxies {
		accounts[d.Name] = d.ServiceAccount
	}
	require.Equal(t, map[string]string{"ga": sa.Email, "plain": ""}, accounts)

	// The same revision deployed again as another account is a change
	// (no override needed), and the contract follows.
	other, err := iamSvc.Projects.ServiceAccounts.Create("projects/hybrid", &iamv1.CreateServiceAccountRequest{AccountId: "other-sa"}).Do()
	require.NoError(t, err)
	before := c.contractVersion("hybrid", "test")
	_, err = goClient(t, c, testToken).Organizations.Environments.Apis.Revisions.Deploy(env + "/apis/ga/revisions/1").ServiceAccount(other.Email).Do()
	require.NoError(t, err)
	require.NotEqual(t, before, c.contractVersion("hybrid", "test"))
	c.doJSON("GET", "/v1/"+env+"/contract", nil, http.StatusOK, &ct)
	for _, d := range ct.APIProxies {
		accounts[d.Name] = d.ServiceAccount
	}
	require.Equal(t, other.Email, accounts["ga"])

	// The decisions are audited under the IAM permission (the one on an
	// account that does not exist belongs to no project's log).
	var audit struct {
		Entries []struct {
			Permission string `json:"permission"`
			Granted    bool   `json:"granted"`
		} `json:"entries"`
	}
	c.doJSON("GET", "/v1/projects/hybrid/auditLogs?principalEmail="+url.QueryEscape("dev@example.com"), nil, http.StatusOK, &audit)
	var actAs []bool
	for _, e := range audit.Entries {
		if e.Permission == iam.PermSAActAs {
			actAs = append(actAs, e.Granted)
		}
	}
	require.Equal(t, []bool{true, false}, actAs)
}
