package server_test

import (
	"bytes"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// TestResourceFilesWithGoClient drives environment-scoped property sets
// through Google's Go client: create, list, get, update, delete; every
// change is a new contract version carrying the files.
func TestResourceFilesWithGoClient(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const env = "organizations/hybrid/environments/test"
	rf := api.Organizations.Environments.Resourcefiles
	body := func(s string) *apigee.GoogleApiHttpBody {
		return &apigee.GoogleApiHttpBody{ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString([]byte(s))}
	}

	list, err := rf.List(env).Do()
	require.NoError(t, err)
	require.Empty(t, list.ResourceFile)

	v0 := c.contractVersion("hybrid", "test")
	created, err := rf.Create(env, body("# env settings\nlog-level=debug\n")).Type("properties").Name("envcfg").Do()
	require.NoError(t, err)
	require.Equal(t, "envcfg", created.Name)
	require.Equal(t, "properties", created.Type)
	v1 := c.contractVersion("hybrid", "test")
	require.Greater(t, v1, v0)
	_, err = rf.Create(env, body("x=1\n")).Type("jsc").Name("lib.js").Do()
	require.NoError(t, err)
	vBefore := c.contractVersion("hybrid", "test")
	require.Greater(t, vBefore, v1)

	list, err = rf.List(env).Do()
	require.NoError(t, err)
	require.Len(t, list.ResourceFile, 2)
	require.Equal(t, "jsc", list.ResourceFile[0].Type)
	require.Equal(t, "envcfg", list.ResourceFile[1].Name)
	list, err = rf.List(env).Type("properties").Do()
	require.NoError(t, err)
	require.Len(t, list.ResourceFile, 1)
	list, err = rf.ListEnvironmentResources(env, "properties").Do()
	require.NoError(t, err)
	require.Len(t, list.ResourceFile, 1)
	require.Equal(t, "envcfg", list.ResourceFile[0].Name)

	got, err := rf.Get(env, "properties", "envcfg").Do()
	require.NoError(t, err)
	data, err := base64.StdEncoding.DecodeString(got.Data)
	require.NoError(t, err)
	require.Equal(t, "# env settings\nlog-level=debug\n", string(data))

	// The runtime contract carries the files.
	raw := c.do("GET", "/v1/organizations/hybrid/environments/test/contract", "", nil)
	ct, err := contract.Unmarshal(raw.body)
	require.NoError(t, err)
	require.Equal(t, []contract.ResourceFile{
		{Type: "jsc", Name: "lib.js", Content: []byte("x=1\n")},
		{Type: "properties", Name: "envcfg", Content: []byte("# env settings\nlog-level=debug\n")},
	}, ct.ResourceFiles)

	// Bad input: malformed properties (naming the line), duplicates,
	// unknown types, bad names, missing files.
	_, err = rf.Create(env, body("a=1\nb=\\u12\n")).Type("properties").Name("broken").Do()
	ge := requireAPIError(t, err, http.StatusBadRequest)
	require.Contains(t, ge.Message, "line 2")
	_, err = rf.Create(env, body("a=1\n")).Type("properties").Name("envcfg").Do()
	requireAPIError(t, err, http.StatusConflict)
	_, err = rf.Create(env, body("a=1\n")).Type("properties").Name("envcfg.properties").Do()
	requireAPIError(t, err, http.StatusConflict)
	_, err = rf.Create(env, body("a=1\n")).Type("exe").Name("x").Do()
	requireAPIError(t, err, http.StatusBadRequest)
	_, err = rf.Create(env, body("a=1\n")).Type("properties").Do()
	requireAPIError(t, err, http.StatusBadRequest)
	_, err = rf.Create(env, body("a=1\n")).Type("properties").Name("a b").Do()
	requireAPIError(t, err, http.StatusBadRequest)
	_, err = rf.Get(env, "properties", "nope").Do()
	requireAPIError(t, err, http.StatusNotFound)
	_, err = rf.Update(env, "properties", "nope", body("a=1\n")).Do()
	requireAPIError(t, err, http.StatusNotFound)
	_, err = rf.Update(env, "properties", "envcfg", body("bad=\\uXYZW\n")).Do()
	requireAPIError(t, err, http.StatusBadRequest)
	require.Equal(t, vBefore, c.contractVersion("hybrid", "test"), "refused changes leave the contract alone")

	// Update, then delete.
	updated, err := rf.Update(env, "properties", "envcfg", body("log-level=error\n")).Do()
	require.NoError(t, err)
	require.Equal(t, "envcfg", updated.Name)
	require.Greater(t, c.contractVersion("hybrid", "test"), vBefore)
	got, err = rf.Get(env, "properties", "envcfg").Do()
	require.NoError(t, err)
	data, _ = base64.StdEncoding.DecodeString(got.Data)
	require.Equal(t, "log-level=error\n", string(data))

	deleted, err := rf.Delete(env, "properties", "envcfg").Do()
	require.NoError(t, err)
	require.Equal(t, "envcfg", deleted.Name)
	_, err = rf.Delete(env, "properties", "envcfg").Do()
	requireAPIError(t, err, http.StatusNotFound)
	list, err = rf.List(env).Do()
	require.NoError(t, err)
	require.Len(t, list.ResourceFile, 1)
}

// TestResourceFilesREST uploads the way the REST docs and curl do
// (multipart field "file", or the raw body) and reads the raw content back.
func TestResourceFilesREST(t *testing.T) {
	c := startCP(t, t.TempDir())
	const base = "/v1/organizations/hybrid/environments/test/resourcefiles"

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "myProps.properties")
	require.NoError(t, err)
	_, _ = fw.Write([]byte("foo=bar\n"))
	require.NoError(t, mw.Close())
	r := c.do("POST", base+"?type=properties&name=myProps", mw.FormDataContentType(), buf.Bytes())
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.JSONEq(t, `{"name":"myProps","type":"properties"}`, string(r.body))

	r = c.do("POST", base+"?type=properties&name=raw.properties", "application/octet-stream", []byte("k : v\n"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	r = c.do("GET", base+"/properties/myProps", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "foo=bar\n", string(r.body))

	r = c.do("PUT", base+"/properties/raw.properties", "text/plain", []byte("k=w\n"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = c.do("GET", base+"/properties/raw.properties", "", nil)
	require.Equal(t, "k=w\n", string(r.body))

	r = c.do("GET", base+"/properties", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.JSONEq(t, `{"resourceFile":[{"name":"myProps","type":"properties"},{"name":"raw.properties","type":"properties"}]}`, string(r.body))

	// A malformed property set is a 400 naming the line.
	r = c.do("POST", base+"?type=properties&name=bad", "application/octet-stream", []byte("ok=1\n\n=nokey\n"))
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.apiError(t).Error.Message, "line 3: property has no name")
	r = c.do("POST", base+"?type=properties&name=x", mw.FormDataContentType(), []byte("--"+mw.Boundary()+"\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--"+mw.Boundary()+"--\r\n"))
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.apiError(t).Error.Message, `no "file" part`)
}

// TestResourceFilesIAM: the routes are guarded by apigee.resourcefiles.*
// like the other environment-scoped resources.
func TestResourceFilesIAM(t *testing.T) {
	c := startCP(t, t.TempDir())
	const env = "organizations/hybrid/environments/test"
	body := &apigee.GoogleApiHttpBody{ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString([]byte("a=1\n"))}

	sync := c.apigeeAs(c.seededKey("apigee-synchronizer"))
	_, err := sync.Organizations.Environments.Resourcefiles.List(env).Do()
	requireDenied(t, err, "apigee.resourcefiles.list", "//apigee.googleapis.com/"+env)
	_, err = sync.Organizations.Environments.Resourcefiles.Create(env, body).Type("properties").Name("p").Do()
	requireDenied(t, err, "apigee.resourcefiles.create", "//apigee.googleapis.com/"+env)

	admin := c.apigeeAs(c.seededKey("apigee-org-admin"))
	_, err = admin.Organizations.Environments.Resourcefiles.Create(env, body).Type("properties").Name("p").Do()
	require.NoError(t, err)
	_, err = sync.Organizations.Environments.Resourcefiles.Get(env, "properties", "p").Do()
	requireDenied(t, err, "apigee.resourcefiles.get", "//apigee.googleapis.com/"+env+"/resourcefiles/properties")
	_, err = sync.Organizations.Environments.Resourcefiles.Delete(env, "properties", "p").Do()
	requireDenied(t, err, "apigee.resourcefiles.delete", "//apigee.googleapis.com/"+env+"/resourcefiles/properties")
	got, err := admin.Organizations.Environments.Resourcefiles.Get(env, "properties", "p").Do()
	require.NoError(t, err)
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte("a=1\n")), got.Data)
}

// TestImportMalformedPropertySet: a proxy bundle whose property set does
// not parse is refused on import with a 400 naming the file and line.
func TestImportMalformedPropertySet(t *testing.T) {
	c := startCP(t, t.TempDir())
	files := bundletest.Proxy("props", "/props", "http://127.0.0.1:9/")
	files["apiproxy/resources/properties/myProps.properties"] = "# ok\nfoo=bar\nbad=\\u12\n"
	ct, body := multipartBody(t, "file", bundletest.Zip(t, files))
	r := c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=props", ct, body)
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	require.Contains(t, r.apiError(t).Error.Message, "apiproxy/resources/properties/myProps.properties: invalid bundle: property set myProps: line 3")

	files["apiproxy/resources/properties/myProps.properties"] = "foo=bar\n"
	ct, body = multipartBody(t, "file", bundletest.Zip(t, files))
	r = c.do("POST", "/v1/organizations/hybrid/apis?action=import&name=props", ct, body)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
}
