package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/analytics"
)

// uploadTrace puts a trace file through UDCA's path (datalocation, then
// the signed PUT) with the given records.
func uploadTrace(tb testing.TB, c *cp, id string, recs ...any) {
	tb.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	for _, r := range recs {
		b, err := json.Marshal(r)
		require.NoError(tb, err)
		_, _ = zw.Write(append(b, '\n'))
	}
	require.NoError(tb, zw.Close())
	name := analyticsfile.Name{Time: time.Now(), Dataset: "trace", Org: "hybrid", Env: "test", ID: id}
	q := url.Values{"repo": {"edge"}, "dataset": {"trace"}, "relative_file_path": {name.String()}}
	var dl struct{ URL string }
	c.doJSON(http.MethodGet, "/v1/organizations/hybrid/environments/test/datalocation?"+q.Encode(), nil, http.StatusOK, &dl)
	r := send(tb, http.DefaultClient, http.MethodPut, dl.URL, "application/x-gzip", gz.Bytes())
	require.Equal(tb, http.StatusOK, r.status, "%s", r.body)
}

// TestDebugSessions drives debug sessions with Google's Go client: create
// (defaults, bounds, a filter that does not parse), list, get, the
// contract the message processors get, the data endpoints over uploaded
// trace files, and deleteData.
func TestDebugSessions(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"
	_, err := api.Organizations.Apis.Create(org, &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(proxyZip(t, "hello", "/hello")),
	}).Action("import").Name("hello").Do()
	require.NoError(t, err)
	const parent = org + "/environments/test/apis/hello/revisions/1"
	sessions := api.Organizations.Environments.Apis.Revisions.Debugsessions

	v0 := c.contractVersion("hybrid", "test")
	s, err := sessions.Create(parent, &apigee.GoogleCloudApigeeV1DebugSession{Name: "s1", Count: 2, Filter: `request.header.x-debug = "yes"`}).Do()
	require.NoError(t, err)
	require.Equal(t, "s1", s.Name)
	require.Equal(t, int64(2), s.Count)
	require.Equal(t, int64(5120), s.Tracesize)
	require.Equal(t, int64(10), s.Validity)
	require.Equal(t, int64(600), s.Timeout)
	require.NotEmpty(t, s.CreateTime)
	require.NotEqual(t, v0, c.contractVersion("hybrid", "test"), "a session reaches the runtime with a new contract")

	// A generated name, and the timeout from the query parameter.
	s2, err := sessions.Create(parent, &apigee.GoogleCloudApigeeV1DebugSession{}).Timeout(60).Do()
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f-]{36}$`, s2.Name)
	require.Equal(t, int64(60), s2.Timeout)

	for _, tt := range []struct {
		name   string
		in     *apigee.GoogleCloudApigeeV1DebugSession
		parent string
		code   int
	}{
		{"filter that does not parse", &apigee.GoogleCloudApigeeV1DebugSession{Filter: `request.header.x = `}, parent, http.StatusBadRequest},
		{"count above 15", &apigee.GoogleCloudApigeeV1DebugSession{Count: 16}, parent, http.StatusBadRequest},
		{"tracesize above 5120", &apigee.GoogleCloudApigeeV1DebugSession{Tracesize: 5121}, parent, http.StatusBadRequest},
		{"session already active", &apigee.GoogleCloudApigeeV1DebugSession{Name: "s1"}, parent, http.StatusConflict},
		{"unknown revision", &apigee.GoogleCloudApigeeV1DebugSession{}, org + "/environments/test/apis/hello/revisions/9", http.StatusNotFound},
		{"unknown proxy", &apigee.GoogleCloudApigeeV1DebugSession{}, org + "/environments/test/apis/nope/revisions/1", http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sessions.Create(tt.parent, tt.in).Do()
			requireAPIError(t, err, tt.code)
		})
	}

	list, err := sessions.List(parent).Do()
	require.NoError(t, err)
	require.Len(t, list.Sessions, 2)
	require.Equal(t, "s1", list.Sessions[0].Id)
	require.NotZero(t, list.Sessions[0].TimestampMs)
	got, err := sessions.Get(parent + "/debugsessions/s1").Do()
	require.NoError(t, err)
	require.Equal(t, `request.header.x-debug = "yes"`, got.Filter)
	_, err = sessions.Get(parent + "/debugsessions/nope").Do()
	requireAPIError(t, err, http.StatusNotFound)

	var ct contract.Contract
	c.doJSON(http.MethodGet, "/v1/"+org+"/environments/test/contract", nil, http.StatusOK, &ct)
	require.Len(t, ct.DebugSessions, 2)
	var cs contract.DebugSession
	for _, d := range ct.DebugSessions {
		if d.Name == "s1" {
			cs = d
		}
	}
	require.Equal(t, contract.DebugSession{Name: "s1", APIProxy: "hello", Revision: "1", Filter: `request.header.x-debug = "yes"`, Count: 2, TraceSize: 5120,
		Expires: cs.Expires}, cs)
	require.WithinDuration(t, time.Now().Add(600*time.Second), cs.Expires, time.Minute)

	// Data: what the message processors sent, through uploaded trace files.
	point := []map[string]any{{"id": "Execution", "results": []map[string]any{{"ActionResult": "DebugInfo",
		"properties": map[string]any{"property": []map[string]string{{"name": "stepDefinition-name", "value": "AM-1"}}}}}}}
	rec := func(session, id string) map[string]any {
		return map[string]any{"organization": "hybrid", "environment": "test", "apiproxy": "hello", "revision": "1", "debugsession": session,
			"id": id, "timestamp": time.Now().UnixMilli(), "completed": true, "point": point}
	}
	uploadTrace(t, c, "0b6e3c9c-2f5e-4a0e-9d7e-3d1d5a1f0a01", rec("s1", "tx-1"), rec(s2.Name, "tx-other"))
	uploadTrace(t, c, "0b6e3c9c-2f5e-4a0e-9d7e-3d1d5a1f0a02", rec("s1", "tx-2"))

	var ids []string
	c.doJSON(http.MethodGet, "/v1/"+parent+"/debugsessions/s1/data", nil, http.StatusOK, &ids)
	require.Equal(t, []string{"tx-1", "tx-2"}, ids)
	tx, err := sessions.Data.Get(parent + "/debugsessions/s1/data/tx-2").Do()
	require.NoError(t, err)
	require.True(t, tx.Completed)
	require.Len(t, tx.Point, 1)
	require.Equal(t, "Execution", tx.Point[0].Id)
	require.Equal(t, "AM-1", tx.Point[0].Results[0].Properties.Property[0].Value)
	_, err = sessions.Data.Get(parent + "/debugsessions/s1/data/tx-other").Do()
	requireAPIError(t, err, http.StatusNotFound)

	// deleteData deletes the session's data, only its, and neither ends
	// the session nor stops what is captured afterwards (the API
	// reference: it "does not cancel the debug session or prevent further
	// data from being collected").
	v1 := c.contractVersion("hybrid", "test")
	_, err = sessions.DeleteData(parent + "/debugsessions/s1").Do()
	require.NoError(t, err)
	require.Equal(t, v1, c.contractVersion("hybrid", "test"), "the session still reaches the runtime")
	_, err = sessions.Get(parent + "/debugsessions/s1").Do()
	require.NoError(t, err)
	ids = nil
	c.doJSON(http.MethodGet, "/v1/"+parent+"/debugsessions/s1/data", nil, http.StatusOK, &ids)
	require.Empty(t, ids)
	_, err = sessions.Data.Get(parent + "/debugsessions/s1/data/tx-1").Do()
	requireAPIError(t, err, http.StatusNotFound)
	var other []string
	c.doJSON(http.MethodGet, "/v1/"+parent+"/debugsessions/"+s2.Name+"/data", nil, http.StatusOK, &other)
	require.Equal(t, []string{"tx-other"}, other, "another session's data stays")
	uploadTrace(t, c, "0b6e3c9c-2f5e-4a0e-9d7e-3d1d5a1f0a03", rec("s1", "tx-3"))
	c.doJSON(http.MethodGet, "/v1/"+parent+"/debugsessions/s1/data", nil, http.StatusOK, &ids)
	require.Equal(t, []string{"tx-3"}, ids)
	_, err = sessions.DeleteData(parent + "/debugsessions/nope").Do()
	requireAPIError(t, err, http.StatusNotFound)
	list, err = sessions.List(parent).Do()
	require.NoError(t, err)
	require.Len(t, list.Sessions, 2)
}

// TestDebugSessionDataRetention: a session's data is kept 24 hours after
// the session ends, then deleted, on the retention's (injected) clock.
func TestDebugSessionDataRetention(t *testing.T) {
	now := time.Now()
	c := startCP(t, t.TempDir())
	c.srv.API.SetDebugDataRetention(analytics.TraceRetention{Now: func() time.Time { return now }})
	api := goClient(t, c, testToken)
	const org = "organizations/hybrid"
	_, err := api.Organizations.Apis.Create(org, &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(proxyZip(t, "hello", "/hello")),
	}).Action("import").Name("hello").Do()
	require.NoError(t, err)
	const parent = org + "/environments/test/apis/hello/revisions/1"
	sessions := api.Organizations.Environments.Apis.Revisions.Debugsessions
	short, err := sessions.Create(parent, &apigee.GoogleCloudApigeeV1DebugSession{Name: "short", Timeout: 60}).Do()
	require.NoError(t, err)
	_, err = sessions.Create(parent, &apigee.GoogleCloudApigeeV1DebugSession{Name: "long", Timeout: 3600}).Do()
	require.NoError(t, err)
	// The sessions' times are the store's: the retention's clock starts
	// from the first one's creation (the second is created after it, within
	// the test's margins of a second).
	start, err := time.Parse(time.RFC3339Nano, short.CreateTime)
	require.NoError(t, err)
	rec := func(session, id string) map[string]any {
		return map[string]any{"organization": "hybrid", "environment": "test", "apiproxy": "hello", "revision": "1", "debugsession": session,
			"id": id, "timestamp": time.Now().UnixMilli(), "completed": true, "point": []any{}}
	}
	uploadTrace(t, c, "0b6e3c9c-2f5e-4a0e-9d7e-3d1d5a1f0b01", rec("short", "tx-short"), rec("long", "tx-long"))
	data := func(session string) []string {
		var ids []string
		c.doJSON(http.MethodGet, "/v1/"+parent+"/debugsessions/"+session+"/data", nil, http.StatusOK, &ids)
		return ids
	}

	tests := []struct {
		name        string
		at          time.Duration // after the sessions were created
		short, long []string
	}{
		{"while the sessions run", 30 * time.Second, []string{"tx-short"}, []string{"tx-long"}},
		{"24 hours after the short one ended", 24*time.Hour + 59*time.Second, []string{"tx-short"}, []string{"tx-long"}},
		{"past 24 hours after the short one ended", 24*time.Hour + 61*time.Second, []string{}, []string{"tx-long"}},
		{"past 24 hours after both ended", 25*time.Hour + 2*time.Minute, []string{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = start.Add(tt.at)
			require.Equal(t, tt.short, data("short"))
			require.Equal(t, tt.long, data("long"))
		})
	}
	// Expired data is deleted from storage, not only hidden.
	now = start
	require.Empty(t, data("long"))
}

// TestDebugMask: GET and PATCH …/debugmask with Google's Go client
// (append by default, replaceRepeatedFields, updateMask) and the mask in
// the contract while a session is active.
func TestDebugMask(t *testing.T) {
	c := startCP(t, t.TempDir())
	api := goClient(t, c, testToken)
	const name = "organizations/hybrid/environments/test/debugmask"
	envs := api.Organizations.Environments

	m, err := envs.GetDebugmask(name).Do()
	require.NoError(t, err)
	require.Equal(t, name, m.Name)
	require.Empty(t, m.Variables)

	tests := []struct {
		name      string
		in        *apigee.GoogleCloudApigeeV1DebugMask
		mask      string
		replace   bool
		wantVars  []string
		wantPaths []string
	}{
		{"set", &apigee.GoogleCloudApigeeV1DebugMask{Variables: []string{"a"}, RequestJSONPaths: []string{"$.pw"}}, "", false, []string{"a"}, []string{"$.pw"}},
		{"append by default", &apigee.GoogleCloudApigeeV1DebugMask{Variables: []string{"b", "a"}}, "variables", false, []string{"a", "b"}, []string{"$.pw"}},
		{"replace", &apigee.GoogleCloudApigeeV1DebugMask{Variables: []string{"c"}}, "variables", true, []string{"c"}, []string{"$.pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := envs.UpdateDebugmask(name, tt.in).ReplaceRepeatedFields(tt.replace)
			if tt.mask != "" {
				call = call.UpdateMask(tt.mask)
			}
			m, err := call.Do()
			require.NoError(t, err)
			require.Equal(t, tt.wantVars, m.Variables)
			require.Equal(t, tt.wantPaths, m.RequestJSONPaths)
			got, err := envs.GetDebugmask(name).Do()
			require.NoError(t, err)
			require.Equal(t, tt.wantVars, got.Variables)
		})
	}
	_, err = envs.UpdateDebugmask(name, &apigee.GoogleCloudApigeeV1DebugMask{}).UpdateMask("nope").Do()
	requireAPIError(t, err, http.StatusBadRequest)

	// Expressions are checked at PATCH time: a 400 in Google's shape
	// naming the field and the expression, and the mask unchanged.
	for _, tt := range []struct {
		name  string
		in    *apigee.GoogleCloudApigeeV1DebugMask
		field string
		expr  string
	}{
		{"JSONPath with an unclosed bracket", &apigee.GoogleCloudApigeeV1DebugMask{RequestJSONPaths: []string{"$.a["}}, "requestJSONPaths", "$.a["},
		{"JSONPath ending with a dot", &apigee.GoogleCloudApigeeV1DebugMask{ResponseJSONPaths: []string{"$.a."}}, "responseJSONPaths", "$.a."},
		{"JSONPath with a blank", &apigee.GoogleCloudApigeeV1DebugMask{FaultJSONPaths: []string{"$.a b"}}, "faultJSONPaths", "$.a b"},
		{"XPath with an unclosed predicate", &apigee.GoogleCloudApigeeV1DebugMask{RequestXPaths: []string{"/a/b[@c='d'"}}, "requestXPaths", "/a/b[@c='d'"},
		{"XPath with an undeclared prefix", &apigee.GoogleCloudApigeeV1DebugMask{ResponseXPaths: []string{"/myco:a"}}, "responseXPaths", "/myco:a"},
		{"XPath ending with a slash", &apigee.GoogleCloudApigeeV1DebugMask{FaultXPaths: []string{"/a/"}}, "faultXPaths", "/a/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := envs.UpdateDebugmask(name, tt.in).Do()
			ge := requireAPIError(t, err, http.StatusBadRequest)
			require.Contains(t, ge.Message, fmt.Sprintf("%q", tt.expr))
			var body struct {
				Error struct {
					Status  string
					Details []struct {
						FieldViolations []struct{ Field string }
					}
				}
			}
			require.NoError(t, json.Unmarshal([]byte(ge.Body), &body))
			require.Equal(t, "INVALID_ARGUMENT", body.Error.Status)
			require.Equal(t, tt.field, body.Error.Details[0].FieldViolations[0].Field)
			got, err := envs.GetDebugmask(name).Do()
			require.NoError(t, err)
			require.Empty(t, got.RequestXPaths, "a refused update changes nothing")
		})
	}
	// The prefix a namespace declares, in the same update.
	m, err = envs.UpdateDebugmask(name, &apigee.GoogleCloudApigeeV1DebugMask{Namespaces: map[string]string{"myco": "http://example.com"},
		RequestXPaths: []string{"/myco:Greeting/myco:User"}, ResponseJSONPaths: []string{"$.store.book[*].author", "$.cards[?(@.type == 'visa')].number"}}).
		UpdateMask("namespaces,requestXPaths,responseJSONPaths").Do()
	require.NoError(t, err)
	require.Equal(t, []string{"/myco:Greeting/myco:User"}, m.RequestXPaths)

	// The mask travels with an active session.
	_, err = api.Organizations.Apis.Create("organizations/hybrid", &apigee.GoogleApiHttpBody{
		ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString(proxyZip(t, "hello", "/hello")),
	}).Action("import").Name("hello").Do()
	require.NoError(t, err)
	_, err = envs.Apis.Revisions.Debugsessions.Create("organizations/hybrid/environments/test/apis/hello/revisions/1", &apigee.GoogleCloudApigeeV1DebugSession{}).Do()
	require.NoError(t, err)
	var ct contract.Contract
	c.doJSON(http.MethodGet, "/v1/organizations/hybrid/environments/test/contract", nil, http.StatusOK, &ct)
	require.NotNil(t, ct.DebugMask)
	require.Equal(t, []string{"c"}, ct.DebugMask.Variables)
}
