//go:build integration

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// (d) Malformed bundles get a 400 that names the file and the problem, and
// nothing is stored: the API list, revisions and deployments stay as they were.
func TestMalformedBundlesAreRejected(t *testing.T) {
	t.Parallel()
	c := h.StartCluster(t, harness.Options{})
	svc := apigeeClient(t, c)
	be := backend(t)

	good := importProxy(t, svc, c, "good", proxyZip(t, "good", "/good", be.URL))
	deployAndWait(t, svc, c, "good", good)

	withFile := func(name, content string) map[string]string {
		files := bundletest.Proxy("bad", "/bad", be.URL)
		files[name] = content
		return files
	}
	big := make([]byte, 17<<20) // random, so it does not compress below the limit
	_, err := rand.Read(big)
	require.NoError(t, err)

	// Hostile archives (zip slip, bombs, symlinks, XXE, …) are listed
	// once, in the control plane's security suite
	// (services/controlplane/internal/server/security_test.go,
	// bundleProbes); these are the everyday mistakes.
	tests := []struct {
		name     string
		zip      []byte
		wantText []string
	}{
		{
			name:     "bad XML",
			zip:      bundletest.Zip(t, withFile("apiproxy/proxies/default.xml", "<ProxyEndpoint name=\"default\"><PreFlow>")),
			wantText: []string{"apiproxy/proxies/default.xml", "XML"},
		},
		{
			name: "missing policy file",
			zip: bundletest.Zip(t, withFile("apiproxy/proxies/default.xml", strings.Replace(
				bundletest.Proxy("bad", "/bad", be.URL)["apiproxy/proxies/default.xml"],
				"<Request/>", "<Request><Step><Name>AM-Missing</Name></Step></Request>", 1))),
			wantText: []string{"apiproxy/proxies/default.xml", "AM-Missing"},
		},
		{
			name:     "oversized archive",
			zip:      bundletest.Zip(t, withFile("apiproxy/resources/jsc/huge.js", string(big))),
			wantText: []string{"too large"},
		},
		{
			name:     "not a zip",
			zip:      []byte("this is not a zip archive"),
			wantText: []string{"zip"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := importMultipart(t, c.APIURL(), c.Org, "bad", "file", tt.zip)
			require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, status, body)
			var apiErr struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
					Status  string `json:"status"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &apiErr), body)
			require.Equal(t, status, apiErr.Error.Code)
			for _, want := range tt.wantText {
				require.Contains(t, apiErr.Error.Message, want)
			}
		})
	}

	apis, err := svc.Organizations.Apis.List("organizations/" + c.Org).Do()
	require.NoError(t, err)
	require.Len(t, apis.Proxies, 1, "no rejected bundle may leave an API behind")
	require.Equal(t, "good", apis.Proxies[0].Name)
	deps, err := svc.Organizations.Environments.Deployments.List("organizations/" + c.Org + "/environments/" + c.Env).Do()
	require.NoError(t, err)
	require.Len(t, deps.Deployments, 1)
	require.Equal(t, "good", deps.Deployments[0].ApiProxy)
}

// importMultipart posts a bundle the way the REST docs (field "file") and
// apigeecli (field "file" or "proxy") do.
func importMultipart(tb testing.TB, base, org, name, field string, zip []byte) (int, string) {
	return importMultipartWith(tb, http.DefaultClient, base, org, name, field, zip)
}

func importMultipartWith(tb testing.TB, client *http.Client, base, org, name, field string, zip []byte) (int, string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, name+".zip")
	require.NoError(tb, err)
	_, err = fw.Write(zip)
	require.NoError(tb, err)
	require.NoError(tb, mw.Close())
	req, err := http.NewRequest(http.MethodPost, base+"/v1/organizations/"+org+"/apis?action=import&name="+name, &buf)
	require.NoError(tb, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+harness.AdminToken)
	resp, err := client.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp.StatusCode, string(body)
}
