//go:build integration

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// waitDeploymentState polls the deployment with Google's Go client, as
// apigeecli --wait does, until it reaches want, and returns it.
func waitDeploymentState(tb testing.TB, svc *apigee.Service, c *harness.Cluster, api, rev, want string) *apigee.GoogleCloudApigeeV1Deployment {
	tb.Helper()
	var last *apigee.GoogleCloudApigeeV1Deployment
	require.Eventually(tb, func() bool {
		d, err := svc.Organizations.Environments.Apis.Revisions.GetDeployments(revisionPath(c, api, rev)).Do()
		if err != nil {
			return false
		}
		last = d
		return d.State == want
	}, 30*time.Second, 20*time.Millisecond, "deployment of %s r%s never became %s (last: %+v)", api, rev, want, last)
	return last
}

// Bundles the runtime cannot run import fine but fail their deployment:
// the deployment turns ERROR with a message naming the file, the element
// and the reason, the proxy does not serve, and the environment's other
// proxies keep serving. A fixed revision deployed over it recovers.
func TestDeployErrorsAreReportedInTheDeploymentStatus(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)
	const host = "deploy-errors.e2e.example.com"
	attachHost(t, svc, c, "deploy-errors", host)

	good := importProxy(t, svc, c, "good", proxyZip(t, "good", "/good", be.URL))
	deployAndWait(t, svc, c, "good", good)
	eventuallyStatus(t, c, host, "/good/x", 200)

	withStep := func(name, policyFile, policy string) map[string]string {
		files := bundletest.Proxy(name, "/"+name, be.URL)
		files["apiproxy/policies/"+policyFile] = policy
		files["apiproxy/proxies/default.xml"] = strings.Replace(files["apiproxy/proxies/default.xml"], "<Request/>",
			"<Request><Step><Name>"+strings.TrimSuffix(policyFile, ".xml")+"</Name></Step></Request>", 1)
		return files
	}
	javaCallout := withStep("javacallout", "JC-1.xml",
		`<JavaCallout name="JC-1"><ClassName>com.example.Callout</ClassName><ResourceURL>java://callout.jar</ResourceURL></JavaCallout>`)
	javaCallout["apiproxy/resources/java/callout.jar"] = "PK"

	badCond := bundletest.Proxy("badcond", "/badcond", be.URL)
	badCond["apiproxy/proxies/default.xml"] = strings.Replace(badCond["apiproxy/proxies/default.xml"], "<Flows/>",
		`<Flows><Flow name="regex"><Condition>request.verb ~~ "("</Condition><Request/><Response/></Flow></Flows>`, 1)

	missingStore := bundletest.Proxy("nostore", "/nostore", be.URL)
	missingStore["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default"><HTTPTargetConnection>
  <SSLInfo><Enabled>true</Enabled><TrustStore>ts-nowhere</TrustStore></SSLInfo><URL>https://127.0.0.1:9/</URL>
</HTTPTargetConnection></TargetEndpoint>`

	tests := []struct {
		name  string
		files map[string]string
		// want are parts of the one error message: file, element, reason.
		want []string
	}{
		{
			name:  "javacallout",
			files: javaCallout,
			want: []string{"apiproxy javacallout revision 1:", "apiproxy/policies/JC-1.xml", "JavaCallout",
				"policy type JavaCallout is not supported by this runtime"},
		},
		{
			name:  "badcond",
			files: badCond,
			want:  []string{"apiproxy badcond revision 1:", "apiproxy/proxies/default.xml", "Flow regex/Condition", `invalid JavaRegex pattern "("`},
		},
		{
			name:  "nostore",
			files: missingStore,
			want: []string{"apiproxy nostore revision 1:", "apiproxy/targets/default.xml", "SSLInfo",
				`TrustStore "ts-nowhere" is not a keystore of environment ` + c.Env},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rev := importProxy(t, svc, c, tc.name, bundletest.Zip(t, tc.files))
			_, err := svc.Organizations.Environments.Apis.Revisions.Deploy(revisionPath(c, tc.name, rev)).Override(true).Do()
			require.NoError(t, err, "the control plane accepts the deployment; the runtime refuses it")

			d := waitDeploymentState(t, svc, c, tc.name, rev, "ERROR")
			require.NotEmpty(t, d.Errors)
			for _, part := range tc.want {
				require.Contains(t, d.Errors[0].Message, part)
			}
			require.NotEmpty(t, d.Pods, "the failing pods are listed")
			require.Equal(t, "error", d.Pods[0].DeploymentStatus)

			got := call(t, c, host, "/"+tc.name+"/x")
			require.Equal(t, 404, got.status, "a revision that failed to deploy does not serve: %s", got.body)
			require.Equal(t, "messaging.adaptors.http.flow.ApplicationNotFound", faultCode(t, got.body))
			require.Equal(t, 200, call(t, c, host, "/good/x").status, "the other proxies keep serving")
		})
	}

	// The environment's deployment list shows the failure too.
	list, err := svc.Organizations.Environments.Deployments.List("organizations/" + c.Org + "/environments/" + c.Env).Do()
	require.NoError(t, err)
	states := map[string]string{}
	for _, d := range list.Deployments {
		states[d.ApiProxy] = d.State
	}
	require.Equal(t, map[string]string{"good": "READY", "javacallout": "ERROR", "badcond": "ERROR", "nostore": "ERROR"}, states)

	// A fixed revision deployed over the broken one serves.
	fixed := bundletest.Proxy("badcond", "/badcond", be.URL)
	fixed["apiproxy/proxies/default.xml"] = strings.Replace(fixed["apiproxy/proxies/default.xml"], "<Flows/>",
		`<Flows><Flow name="regex"><Condition>request.verb ~~ "(GET|HEAD)"</Condition><Request/><Response/></Flow></Flows>`, 1)
	rev := importProxy(t, svc, c, "badcond", bundletest.Zip(t, fixed))
	require.Equal(t, "2", rev)
	deployAndWait(t, svc, c, "badcond", rev)
	eventuallyStatus(t, c, host, "/badcond/x", 200)
}

// faultCode is the errorcode of Apigee's fault JSON.
func faultCode(tb testing.TB, body string) string {
	tb.Helper()
	f, _ := decode(tb, body)["fault"].(map[string]any)
	d, _ := f["detail"].(map[string]any)
	code, _ := d["errorcode"].(string)
	return code
}
