package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// lintedProxy is a valid proxy with something for each import-time lint
// rule family to say: an unattached, badly named policy (BN005, PO007), a
// flow that can never match (CC006), a security policy that lets failures
// through (HY002) and a load-balanced target naming the target servers
// servers.
func lintedProxy(tb testing.TB) []byte {
	tb.Helper()
	files := bundletest.Proxy("linted", "/linted", "http://127.0.0.1:9/")
	files["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default">
  <PreFlow><Request><Step><Name>VA-Key</Name></Step></Request></PreFlow>
  <Flows>
    <Flow name="impossible">
      <Condition>request.verb = "GET" and request.verb = "POST"</Condition>
    </Flow>
  </Flows>
  <HTTPProxyConnection><BasePath>/linted</BasePath></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`
	files["apiproxy/targets/default.xml"] = `<TargetEndpoint name="default">
  <HTTPTargetConnection>
    <LoadBalancer><Server name="ts-defined"/><Server name="ts-undefined"/></LoadBalancer>
  </HTTPTargetConnection>
</TargetEndpoint>`
	files["apiproxy/policies/VA-Key.xml"] = `<VerifyAPIKey name="VA-Key" continueOnError="true"><APIKey ref="request.header.x-apikey"/></VerifyAPIKey>`
	files["apiproxy/policies/Leftover.xml"] = `<AssignMessage name="Leftover"><Set><Payload>x</Payload></Set></AssignMessage>`
	return bundletest.Zip(tb, files)
}

type lintWarning struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	File     string `json:"file"`
	Message  string `json:"message"`
}

type importedRevision struct {
	revision
	LintWarnings []lintWarning `json:"lintWarnings"`
}

func warningRules(ws []lintWarning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Rule + " " + w.File
	}
	return out
}

func TestImportReturnsLintWarnings(t *testing.T) {
	c := startCP(t, t.TempDir())
	c.doJSON("POST", "/v1/organizations/hybrid/environments/test/targetservers",
		map[string]any{"name": "ts-defined", "host": "127.0.0.1", "port": 9000}, http.StatusOK, nil)

	for _, tc := range []struct {
		name, query string
		zip         []byte
		want        []string
		revision    string
	}{
		{"clean import", "action=import&name=clean", proxyZip(t, "clean", "/clean"), []string{}, "1"},
		{"import with warnings", "action=import&name=linted", lintedProxy(t), []string{
			"PO007 apiproxy/policies/Leftover.xml",
			"BN005 apiproxy/policies/Leftover.xml",
			"HY002 apiproxy/policies/VA-Key.xml",
			"CC006 apiproxy/proxies/default.xml",
			"HY001 apiproxy/targets/default.xml",
		}, "1"},
		{"validate carries them too", "action=validate&name=linted", lintedProxy(t), []string{
			"PO007 apiproxy/policies/Leftover.xml",
			"BN005 apiproxy/policies/Leftover.xml",
			"HY002 apiproxy/policies/VA-Key.xml",
			"CC006 apiproxy/proxies/default.xml",
			"HY001 apiproxy/targets/default.xml",
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := multipartBody(t, "file", tc.zip)
			r := c.do("POST", "/v1/organizations/hybrid/apis?"+tc.query, ct, body)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			var got importedRevision
			r.json(t, &got)
			require.NotNil(t, got.LintWarnings, "lintWarnings is [] rather than absent: %s", r.body)
			require.ElementsMatch(t, tc.want, warningRules(got.LintWarnings))
			for _, w := range got.LintWarnings {
				require.Equal(t, "warning", w.Severity)
				require.NotEmpty(t, w.Message)
			}
			// The revision's own fields are Apigee's, unchanged.
			require.Equal(t, tc.revision, got.Revision)
			require.NotEmpty(t, got.Basepaths)
			require.NotEmpty(t, got.Proxies)
		})
	}

	// The warnings name the offending policy and server.
	ct, body := multipartBody(t, "file", lintedProxy(t))
	var again importedRevision
	r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=linted", ct, body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &again)
	require.Equal(t, "2", again.Revision, "warnings do not stop the import")
	msgs := ""
	for _, w := range again.LintWarnings {
		msgs += w.Message + "\n"
	}
	require.Contains(t, msgs, `"ts-undefined"`)
	require.NotContains(t, msgs, `"ts-defined"`)
	require.Contains(t, msgs, `VerifyAPIKey policy "VA-Key"`)

	// Reading the revision back is Apigee's shape, without lint warnings.
	r = c.do("GET", "/v1/organizations/hybrid/apis/linted/revisions/2", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), "lintWarnings")

	// A step naming a missing policy is still an error at import, as in
	// Apigee (hybridctl lint reports it as BN010 instead).
	files := bundletest.Proxy("broken", "/broken", "http://127.0.0.1:9/")
	files["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>AM-Gone</Name></Step></Request></PreFlow>` +
		`<HTTPProxyConnection><BasePath>/broken</BasePath></HTTPProxyConnection><RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule></ProxyEndpoint>`
	ct, body = multipartBody(t, "file", bundletest.Zip(t, files))
	r = c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=broken", ct, body)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.apiError(t).Error.Message, "AM-Gone")
}

// TestImportSharedFlowLintWarnings: shared flows are linted the same way.
func TestImportSharedFlowLintWarnings(t *testing.T) {
	c := startCP(t, t.TempDir())
	files := bundletest.SharedFlow("common")
	files["sharedflowbundle/policies/EV-Unused.xml"] = `<ExtractVariables name="EV-Unused"><Source>request</Source></ExtractVariables>`
	ct, body := multipartBody(t, "file", bundletest.Zip(t, files))
	r := c.do("POST", "/v1/organizations/hybrid/sharedflows?action=import&name=common", ct, body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var got importedRevision
	r.json(t, &got)
	require.Equal(t, []string{"BN005 sharedflowbundle/policies/EV-Unused.xml"}, warningRules(got.LintWarnings))
}
