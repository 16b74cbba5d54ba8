package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

func TestImportForms(t *testing.T) {
	c := startCP(t, t.TempDir())
	zip := proxyZip(t, "forms", "/forms")
	fileCT, fileBody := multipartBody(t, "file", zip)
	proxyCT, proxyBody := multipartBody(t, "proxy", zip)
	jsonBody, err := json.Marshal(map[string]string{"contentType": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(zip)})
	require.NoError(t, err)

	tests := []struct {
		name        string
		contentType string
		body        []byte
	}{
		{"multipart file", fileCT, fileBody},
		{"multipart proxy", proxyCT, proxyBody},
		{"json http body", "application/json", jsonBody},
		{"raw octet-stream", "application/octet-stream", zip},
		{"raw zip", "application/zip", zip},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=forms&alt=json&prettyPrint=false", tt.contentType, tt.body)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			var rev revision
			r.json(t, &rev)
			require.Equal(t, "forms", rev.Name)
			require.Equal(t, fmt.Sprint(i+1), rev.Revision)
			require.Equal(t, []string{"/forms"}, rev.Basepaths)
			require.Equal(t, "zip", rev.Meta["bundle_type"])
		})
	}
	var revs []string
	c.doJSON("GET", "/v1/organizations/hybrid/apis/forms/revisions", nil, http.StatusOK, &revs)
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, revs)

	// The stored zip comes back byte for byte.
	r := c.do("GET", "/v1/organizations/hybrid/apis/forms/revisions/3?format=bundle", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, zip, r.body)

	// action=validate stores nothing.
	r = c.do("POST", "/v1/organizations/hybrid/apis?action=validate&name=forms", "application/octet-stream", zip)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	c.doJSON("GET", "/v1/organizations/hybrid/apis/forms/revisions", nil, http.StatusOK, &revs)
	require.Len(t, revs, 5)
}

func TestSharedFlows(t *testing.T) {
	c := startCP(t, t.TempDir())
	zip := bundletest.Zip(t, bundletest.SharedFlow("common"))
	ct, body := multipartBody(t, "file", zip)
	var rev revision
	c.doJSON("POST", "/v1/organizations/hybrid/sharedflows?action=import&name=common", nil, http.StatusBadRequest, nil) // no bundle
	r := c.do("POST", "/v1/organizations/hybrid/sharedflows?action=import&name=common", ct, body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r.json(t, &rev)
	require.Equal(t, "1", rev.Revision)
	require.Equal(t, "SharedFlow", rev.Meta["subType"])
	require.Equal(t, []string{"AM-MarkSharedFlow"}, rev.Policies)

	// A proxy bundle is not a shared flow.
	r = c.do("POST", "/v1/organizations/hybrid/sharedflows?action=import&name=wrong", "application/zip", proxyZip(t, "wrong", "/w"))
	require.Equal(t, http.StatusBadRequest, r.status)

	var list struct {
		SharedFlows []struct {
			Name     string   `json:"name"`
			Revision []string `json:"revision"`
		} `json:"sharedFlows"`
	}
	c.doJSON("GET", "/v1/organizations/hybrid/sharedflows", nil, http.StatusOK, &list)
	require.Len(t, list.SharedFlows, 1)
	require.Equal(t, []string{"1"}, list.SharedFlows[0].Revision)

	path := "/v1/organizations/hybrid/environments/test/sharedflows/common/revisions/1/deployments"
	var dep deployment
	c.doJSON("POST", path, nil, http.StatusOK, &dep)
	require.Equal(t, "PROGRESSING", dep.State)
	require.Equal(t, "common", dep.APIProxy)
	c.report("hybrid", "test", c.contractVersion("hybrid", "test"), "common", "sharedflow", "1", "READY")
	c.doJSON("GET", path, nil, http.StatusOK, &dep)
	require.Equal(t, "READY", dep.State)

	var deps struct {
		Deployments []deployment `json:"deployments"`
	}
	c.doJSON("GET", "/v1/organizations/hybrid/deployments?sharedFlows=true", nil, http.StatusOK, &deps)
	require.Len(t, deps.Deployments, 1)
	c.doJSON("GET", "/v1/organizations/hybrid/deployments", nil, http.StatusOK, &deps)
	require.Empty(t, deps.Deployments)

	raw := c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	require.Equal(t, http.StatusOK, raw.status)
	ct2, err := contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Len(t, ct2.SharedFlows, 1)
	require.Equal(t, zip, ct2.SharedFlows[0].Bundle)

	c.doJSON("DELETE", path, nil, http.StatusOK, nil)
	c.doJSON("DELETE", "/v1/organizations/hybrid/sharedflows/common", nil, http.StatusOK, nil)
	c.doJSON("GET", "/v1/organizations/hybrid/sharedflows/common", nil, http.StatusNotFound, nil)
}

func TestAuth(t *testing.T) {
	c := startCP(t, t.TempDir())
	tests := []struct {
		name   string
		header string
		want   int
		msg    string
	}{
		{"no token", "", http.StatusUnauthorized, "missing required authentication credential"},
		{"wrong token", "Bearer nope", http.StatusUnauthorized, "invalid authentication credentials"},
		{"not bearer", "Basic " + testToken, http.StatusUnauthorized, "missing required authentication credential"},
		{"admin token", "Bearer " + testToken, http.StatusOK, ""},
		{"service token", "Bearer sync-token", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/v1/organizations/hybrid", "/v1/organizations/hybrid/environments/test/contract/version"} {
				req, err := http.NewRequest("GET", c.url+path, nil)
				require.NoError(t, err)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				res, err := c.client.Do(req)
				require.NoError(t, err)
				var e errBody
				_ = json.NewDecoder(res.Body).Decode(&e)
				res.Body.Close()
				require.Equal(t, tt.want, res.StatusCode)
				if tt.want == http.StatusUnauthorized {
					require.Equal(t, "UNAUTHENTICATED", e.Error.Status)
					require.Equal(t, 401, e.Error.Code)
					require.Contains(t, e.Error.Message, tt.msg)
				}
			}
		})
	}
	// Probes and metrics need no token.
	for _, path := range []string{"/v1/probes/live", "/v1/probes/ready", "/metrics"} {
		r := send(t, c.client, "GET", c.url+path, "", nil)
		require.Equal(t, http.StatusOK, r.status, path)
	}
	r := send(t, c.client, "GET", c.url+"/metrics", "", nil)
	require.Contains(t, string(r.body), "controlplane_api_requests_total")
}

func TestMalformedBundles(t *testing.T) {
	c := startCP(t, t.TempDir(), func(cfg *server.Config) { cfg.MaxBundleBytes = 64 << 10 })
	r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=hello", "application/zip", proxyZip(t, "hello", "/hello"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	withFiles := func(edit func(files map[string]string)) []byte {
		files := bundletest.Proxy("hello", "/hello", "http://127.0.0.1:9/")
		edit(files)
		return bundletest.Zip(t, files)
	}
	noise := make([]byte, 80<<10)
	_, err := rand.Read(noise)
	require.NoError(t, err)
	huge := make([]byte, 3<<20)

	tests := []struct {
		name   string
		body   []byte
		status int
		want   []string // substrings of the error message
	}{
		{"bad XML", withFiles(func(f map[string]string) {
			f["apiproxy/proxies/default.xml"] = "<ProxyEndpoint name=\"default\"><PreFlow>"
		}), http.StatusBadRequest, []string{"bundle: apiproxy/proxies/default.xml: malformed XML"}},
		{"missing policy file", withFiles(func(f map[string]string) {
			f["apiproxy/proxies/default.xml"] = strings.Replace(f["apiproxy/proxies/default.xml"],
				"<PreFlow name=\"PreFlow\">\n        <Request/>", "<PreFlow name=\"PreFlow\">\n        <Request><Step><Name>AM-Missing</Name></Step></Request>", 1)
		}), http.StatusBadRequest, []string{"apiproxy/proxies/default.xml", "AM-Missing"}},
		{"zip slip", withFiles(func(f map[string]string) {
			f["apiproxy/../../evil.xml"] = "<x/>"
		}), http.StatusBadRequest, []string{"bundle: apiproxy/../../evil.xml: unsafe entry name"}},
		{"oversized zip", withFiles(func(f map[string]string) {
			f["apiproxy/resources/jsc/noise.js"] = string(noise)
		}), http.StatusBadRequest, []string{"limit"}},
		{"oversized request", huge, http.StatusRequestEntityTooLarge, []string{"larger than"}},
		{"not a zip", []byte("this is not a zip"), http.StatusBadRequest, []string{"not a zip"}},
		{"empty", []byte{}, http.StatusBadRequest, []string{"no bundle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{"hello", "fresh"} {
				r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name="+name, "application/octet-stream", tt.body)
				require.Equal(t, tt.status, r.status, "%s", r.body)
				e := r.apiError(t)
				require.Equal(t, "INVALID_ARGUMENT", e.Error.Status)
				for _, w := range tt.want {
					require.Contains(t, e.Error.Message, w)
				}
			}
			// Nothing was stored: no new revision, no new API.
			var revs []string
			c.doJSON("GET", "/v1/organizations/hybrid/apis/hello/revisions", nil, http.StatusOK, &revs)
			require.Equal(t, []string{"1"}, revs)
			var list struct {
				Proxies []struct {
					Name string `json:"name"`
				} `json:"proxies"`
			}
			c.doJSON("GET", "/v1/organizations/hybrid/apis", nil, http.StatusOK, &list)
			require.Len(t, list.Proxies, 1)
			require.Equal(t, "hello", list.Proxies[0].Name)
		})
	}

	// Invalid names are refused before the body is read.
	for _, name := range []string{"", "a/b", "..", "sp ace"} {
		r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name="+url.QueryEscape(name), "application/zip", proxyZip(t, "x", "/x"))
		require.Equal(t, http.StatusBadRequest, r.status, "name %q: %s", name, r.body)
	}
}

func TestDeployRules(t *testing.T) {
	c := startCP(t, t.TempDir())
	imp := func(name, basePath string) {
		r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name="+name, "application/zip", proxyZip(t, name, basePath))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}
	imp("a", "/shared")
	imp("a", "/shared")
	imp("b", "/shared")
	dep := func(env, name, rev, query string) resp {
		return c.do("POST", "/v1/organizations/hybrid/environments/"+env+"/apis/"+name+"/revisions/"+rev+"/deployments"+query, "", nil)
	}
	require.Equal(t, http.StatusOK, dep("test", "a", "1", "").status)
	// Same revision again: idempotent.
	require.Equal(t, http.StatusOK, dep("test", "a", "1", "").status)

	r := dep("test", "a", "2", "")
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.apiError(t).Error.Message, "override=true")

	r = dep("test", "b", "1", "")
	require.Equal(t, http.StatusConflict, r.status)
	e := r.apiError(t)
	require.Contains(t, e.Error.Message, "API proxy a")
	require.Contains(t, e.Error.Message, "/shared")

	r = dep("test", "a", "2", "?override=true&sequencedRollout=false&serviceAccount=apigee-runtime@hybrid.iam.gserviceaccount.com")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var deps struct {
		Deployments []deployment `json:"deployments"`
	}
	c.doJSON("GET", "/v1/organizations/hybrid/environments/test/deployments", nil, http.StatusOK, &deps)
	require.Len(t, deps.Deployments, 1)
	require.Equal(t, "2", deps.Deployments[0].Revision)

	// Unknown things.
	require.Equal(t, http.StatusNotFound, dep("test", "a", "9", "").status)
	require.Equal(t, http.StatusNotFound, dep("nope", "a", "1", "").status)
	require.Equal(t, http.StatusNotFound, dep("test", "zzz", "1", "").status)
	require.Equal(t, http.StatusBadRequest, dep("test", "a", "x", "").status)

	// A second env sharing the envgroup: deploy works, the route conflict shows.
	c.doJSON("POST", "/v1/organizations/hybrid/environments", map[string]string{"name": "prod"}, http.StatusOK, nil)
	c.doJSON("POST", "/v1/organizations/hybrid/envgroups/default/attachments", map[string]string{"environment": "prod"}, http.StatusOK, nil)
	r = dep("prod", "b", "1", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var d deployment
	r.json(t, &d)
	require.Len(t, d.RouteConflicts, 1)
	require.Equal(t, "default", d.RouteConflicts[0].EnvironmentGroup)
	require.Contains(t, d.RouteConflicts[0].Description, "API proxy a")

	// An ERROR report surfaces its errors.
	c.report("hybrid", "prod", c.contractVersion("hybrid", "prod"), "b", "apiproxy", "1", "ERROR", "target unreachable")
	c.doJSON("GET", "/v1/organizations/hybrid/environments/prod/apis/b/revisions/1/deployments", nil, http.StatusOK, &d)
	require.Equal(t, "ERROR", d.State)
	require.Len(t, d.Errors, 1)
	require.Equal(t, "target unreachable", d.Errors[0].Message)
	require.Equal(t, "error", d.Pods[0].DeploymentStatus)

	// A READY report for an older contract does not count.
	old := c.contractVersion("hybrid", "test")
	c.doJSON("DELETE", "/v1/organizations/hybrid/environments/test/apis/a/revisions/2/deployments", nil, http.StatusOK, nil)
	r = dep("test", "a", "2", "")
	require.Equal(t, http.StatusOK, r.status)
	c.report("hybrid", "test", old, "a", "apiproxy", "2", "READY")
	c.doJSON("GET", "/v1/organizations/hybrid/environments/test/apis/a/revisions/2/deployments", nil, http.StatusOK, &d)
	require.Equal(t, "PROGRESSING", d.State)
}

func TestEnvGroupsAndContract(t *testing.T) {
	c := startCP(t, t.TempDir())
	v0 := c.contractVersion("hybrid", "test")
	raw := c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	require.Equal(t, http.StatusOK, raw.status)
	ct, err := contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Equal(t, v0, ct.Version)
	require.Equal(t, []string{"127.0.0.1", "api.hybrid.local", "localhost"}, ct.Hostnames)

	// Hostname change bumps the contract.
	var op struct {
		Done bool `json:"done"`
	}
	c.doJSON("PATCH", "/v1/organizations/hybrid/envgroups/default?updateMask=hostnames",
		map[string][]string{"hostnames": {"localhost", "new.hybrid.local"}}, http.StatusOK, &op)
	require.True(t, op.Done)
	v1 := c.contractVersion("hybrid", "test")
	require.Greater(t, v1, v0)
	raw = c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	ct, err = contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Equal(t, []string{"localhost", "new.hybrid.local"}, ct.Hostnames)

	// Bad hostnames and masks.
	c.doJSON("PATCH", "/v1/organizations/hybrid/envgroups/default?updateMask=name", map[string]any{}, http.StatusBadRequest, nil)
	c.doJSON("POST", "/v1/organizations/hybrid/envgroups", map[string]any{"name": "g2", "hostnames": []string{"bad host"}}, http.StatusBadRequest, nil)
	r := c.doJSON("POST", "/v1/organizations/hybrid/envgroups", map[string]any{"name": "g2", "hostnames": []string{"LOCALHOST"}}, http.StatusConflict, nil)
	require.Contains(t, r.apiError(t).Error.Message, "default")

	// Detach: the env loses its hostnames.
	var atts struct {
		EnvironmentGroupAttachments []struct {
			Name        string `json:"name"`
			Environment string `json:"environment"`
		} `json:"environmentGroupAttachments"`
	}
	c.doJSON("GET", "/v1/organizations/hybrid/envgroups/default/attachments", nil, http.StatusOK, &atts)
	require.Len(t, atts.EnvironmentGroupAttachments, 1)
	id := atts.EnvironmentGroupAttachments[0].Name
	c.doJSON("GET", "/v1/organizations/hybrid/envgroups/default/attachments/"+id, nil, http.StatusOK, nil)
	c.doJSON("POST", "/v1/organizations/hybrid/envgroups/default/attachments", map[string]string{"environment": "test"}, http.StatusConflict, nil)
	c.doJSON("DELETE", "/v1/organizations/hybrid/envgroups/default/attachments/"+id, nil, http.StatusOK, nil)
	raw = c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	ct, err = contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Empty(t, ct.Hostnames)
	require.Greater(t, ct.Version, v1)

	// Environment properties reach the contract.
	c.doJSON("PUT", "/v1/organizations/hybrid/environments/test", map[string]any{"name": "test",
		"properties": map[string]any{"property": []map[string]string{{"name": "p", "value": "1"}}}}, http.StatusOK, nil)
	raw = c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	ct, err = contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"p": "1"}, ct.Properties)

	// Organizations can be created too.
	var op2 struct {
		Done     bool `json:"done"`
		Response struct {
			Type string `json:"@type"`
			Name string `json:"name"`
		} `json:"response"`
	}
	c.doJSON("POST", "/v1/organizations?parent=projects/acme", map[string]string{"runtimeType": "HYBRID", "analyticsRegion": "us-west1"}, http.StatusOK, &op2)
	require.True(t, op2.Done)
	require.Equal(t, "acme", op2.Response.Name)
	require.Equal(t, "type.googleapis.com/google.cloud.apigee.v1.Organization", op2.Response.Type)
	c.doJSON("POST", "/v1/organizations?parent=projects/acme", map[string]string{}, http.StatusConflict, nil)
	c.doJSON("GET", "/v1/organizations/acme", nil, http.StatusOK, nil)

	// Unknown routes and orgs answer in Google's error shape.
	for _, p := range []string{"/v1/organizations/nope", "/v1/organizations/hybrid/nothing", "/v1/other"} {
		r := c.do("GET", p, "", nil)
		require.Equal(t, http.StatusNotFound, r.status)
		require.Equal(t, "NOT_FOUND", r.apiError(t).Error.Status)
	}
}

func TestContractLongPoll(t *testing.T) {
	c := startCP(t, t.TempDir())
	v0 := c.contractVersion("hybrid", "test")
	base := "/v1/organizations/hybrid/environments/test/contract/version"

	t.Run("returns at once when already different", func(t *testing.T) {
		var v struct{ Version string }
		c.doJSON("GET", base+"?waitForChangeFrom=20000101.000000.000&timeout=60s", nil, http.StatusOK, &v)
		require.Equal(t, v0, v.Version)
	})
	t.Run("times out without change", func(t *testing.T) {
		start := time.Now()
		var v struct{ Version string }
		c.doJSON("GET", base+"?waitForChangeFrom="+v0+"&timeout=200ms", nil, http.StatusOK, &v)
		require.Equal(t, v0, v.Version)
		require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	})
	t.Run("returns on change", func(t *testing.T) {
		got := make(chan string, 1)
		go func() {
			r, _ := sendAsync(authClient(testToken, nil), "GET", c.url+base+"?waitForChangeFrom="+v0+"&timeout=60s", "", nil)
			var v struct{ Version string }
			_ = json.Unmarshal(r.body, &v)
			got <- v.Version
		}()
		r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=lp", "application/zip", proxyZip(t, "lp", "/lp"))
		require.Equal(t, http.StatusOK, r.status)
		c.doJSON("POST", "/v1/organizations/hybrid/environments/test/apis/lp/revisions/1/deployments", nil, http.StatusOK, nil)
		select {
		case v := <-got:
			require.Greater(t, v, v0)
			require.Equal(t, c.contractVersion("hybrid", "test"), v)
		case <-time.After(30 * time.Second):
			t.Fatal("long-poll did not return after the change")
		}
	})
	t.Run("bad timeout", func(t *testing.T) {
		c.doJSON("GET", base+"?waitForChangeFrom=x&timeout=soon", nil, http.StatusBadRequest, nil)
	})
	t.Run("unknown env", func(t *testing.T) {
		c.doJSON("GET", "/v1/organizations/hybrid/environments/nope/contract/version?waitForChangeFrom=x", nil, http.StatusNotFound, nil)
	})
}

func TestStatePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	c := startCP(t, dir)
	zip := proxyZip(t, "keep", "/keep")
	r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=keep", "application/zip", zip)
	require.Equal(t, http.StatusOK, r.status)
	c.doJSON("POST", "/v1/organizations/hybrid/environments", map[string]any{"name": "stage",
		"properties": map[string]any{"property": []map[string]string{{"name": "a", "value": "b"}}}}, http.StatusOK, nil)
	c.doJSON("POST", "/v1/organizations/hybrid/environments/stage/apis/keep/revisions/1/deployments", nil, http.StatusOK, nil)
	c.doJSON("PUT", "/v1/organizations/hybrid", map[string]any{"name": "hybrid", "properties": map[string]any{
		"property": []map[string]string{{"name": "features.hybrid.enabled", "value": "true"}, {"name": "x", "value": "y"}}}}, http.StatusOK, nil)
	var ops struct {
		Operations []struct {
			Name string `json:"name"`
		} `json:"operations"`
	}
	c.doJSON("GET", "/v1/organizations/hybrid/operations", nil, http.StatusOK, &ops)
	version := c.contractVersion("hybrid", "stage")
	caBefore := readFile(t, c.srv.CAPath)
	c.stop()

	c2 := startCP(t, dir)
	require.Equal(t, version, c2.contractVersion("hybrid", "stage"))
	var envs []string
	c2.doJSON("GET", "/v1/organizations/hybrid/environments", nil, http.StatusOK, &envs)
	require.Equal(t, []string{"stage", "test"}, envs)
	var d deployment
	c2.doJSON("GET", "/v1/organizations/hybrid/environments/stage/apis/keep/revisions/1/deployments", nil, http.StatusOK, &d)
	require.Equal(t, "keep", d.APIProxy)
	r = c2.do("GET", "/v1/organizations/hybrid/apis/keep/revisions/1?format=bundle", "", nil)
	require.Equal(t, zip, r.body)
	var org struct {
		Properties struct {
			Property []struct{ Name, Value string } `json:"property"`
		} `json:"properties"`
	}
	c2.doJSON("GET", "/v1/organizations/hybrid", nil, http.StatusOK, &org)
	require.Len(t, org.Properties.Property, 2)
	require.Equal(t, "x", org.Properties.Property[1].Name)
	for _, op := range ops.Operations {
		c2.doJSON("GET", "/v1/"+op.Name, nil, http.StatusOK, nil)
	}
	raw := c2.do("GET", "/v1/organizations/hybrid/environments/stage/contract", "", nil)
	ct, err := contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "b"}, ct.Properties)
	require.Len(t, ct.APIProxies, 1)
	require.Equal(t, zip, ct.APIProxies[0].Bundle)
	// The CA is reused.
	require.Equal(t, caBefore, readFile(t, c2.srv.CAPath))
	// The next import continues the numbering.
	r = c2.do("POST", "/v1/organizations/hybrid/apis?action=import&name=keep", "application/zip", zip)
	var rev revision
	r.json(t, &rev)
	require.Equal(t, "2", rev.Revision)
}

// TestHTTPSApigeecliShapes replays what apigeecli sends over HTTPS.
func TestHTTPSApigeecliShapes(t *testing.T) {
	c := startCP(t, t.TempDir())
	client := c.httpsClient(testToken)
	base := c.httpsURL + "/v1/organizations/hybrid"

	// apigeecli envs list: a JSON array of names.
	r := send(t, client, "GET", base+"/environments", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `["test"]`, string(r.body))

	// apigeecli envs create --wait: create, then poll the operation until done.
	r = send(t, client, "POST", base+"/environments", "application/json", []byte(`{"name":"cli","deploymentType":"PROXY","apiProxyType":"PROGRAMMABLE"}`))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var op struct {
		Name     string `json:"name"`
		Done     bool   `json:"done"`
		Metadata struct {
			OperationType      string `json:"operationType"`
			State              string `json:"state"`
			TargetResourceName string `json:"targetResourceName"`
		} `json:"metadata"`
	}
	r.json(t, &op)
	require.Equal(t, "INSERT", op.Metadata.OperationType)
	require.Equal(t, "organizations/hybrid/environments/cli", op.Metadata.TargetResourceName)
	for !op.Done {
		r = send(t, client, "GET", c.httpsURL+"/v1/"+op.Name, "", nil)
		require.Equal(t, http.StatusOK, r.status)
		r.json(t, &op)
	}
	require.Equal(t, "FINISHED", op.Metadata.State)

	// apigeecli apis create bundle: multipart field "proxy".
	ct, body := multipartBody(t, "proxy", proxyZip(t, "cli-proxy", "/cli"))
	r = send(t, client, "POST", base+"/apis?action=import&name=cli-proxy", ct, body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var rev revision
	r.json(t, &rev)
	require.Equal(t, "1", rev.Revision)

	// apigeecli apis deploy --ovr --wait.
	dpath := base + "/environments/cli/apis/cli-proxy/revisions/1/deployments"
	r = send(t, client, "POST", dpath+"?override=true&sequencedRollout=false", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var d deployment
	r.json(t, &d)
	require.Equal(t, "PROGRESSING", d.State)
	reported := false
	for d.State != "READY" {
		if !reported { // the runtime's watcher reports after the first poll
			c.report("hybrid", "cli", c.contractVersion("hybrid", "cli"), "cli-proxy", "apiproxy", "1", "READY")
			reported = true
		}
		r = send(t, client, "GET", dpath, "", nil)
		require.Equal(t, http.StatusOK, r.status)
		r.json(t, &d)
		require.NotEqual(t, "ERROR", d.State)
	}
	require.Equal(t, "cli", d.Environment)

	// Without the CA the TLS handshake fails.
	_, err := authClient(testToken, nil).Get(base)
	require.Error(t, err)
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	require.NoError(tb, err)
	return data
}

// TestShutdownEndsLongPolls: a waiting long-poll answers (with the
// unchanged version) as soon as the service drains.
func TestShutdownEndsLongPolls(t *testing.T) {
	c := startCP(t, t.TempDir())
	v0 := c.contractVersion("hybrid", "test")
	got := make(chan resp, 1)
	go func() {
		r, _ := sendAsync(authClient(testToken, nil), "GET",
			c.url+"/v1/organizations/hybrid/environments/test/contract/version?waitForChangeFrom="+v0+"&timeout=60s", "", nil)
		got <- r
	}()
	require.Eventually(t, func() bool { return c.srv.Store.Waiting() == 1 }, 10*time.Second, 5*time.Millisecond)
	start := time.Now()
	c.stop()
	require.Less(t, time.Since(start), 10*time.Second)
	r := <-got
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), v0)
}
