package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// UDCA's path through the control plane: a signed URL from datalocation,
// the PUT to it, the ingest, the stats API; and the refusals on the way.
func TestDataLocationUploadAndStats(t *testing.T) {
	c := startCP(t, t.TempDir(), func(cfg *server.Config) { cfg.Analytics.IngestInterval = time.Hour })
	now := time.Now().UTC()
	name := analyticsfile.Name{Time: now, Dataset: "api", Org: "hybrid", Env: "test", ID: "65fef1f5-baa7-47f7-966e-f4cb5b0c86f1"}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	for i := range 3 {
		fmt.Fprintf(zw, `{"apiproxy":"hello","gateway_flow_id":"id-%d","client_received_start_timestamp":%d,"client_sent_end_timestamp":%d}`+"\n",
			i, now.UnixMilli(), now.UnixMilli()+5)
	}
	require.NoError(t, zw.Close())

	loc := func(q url.Values) resp {
		return c.do(http.MethodGet, "/v1/organizations/hybrid/environments/test/datalocation?"+q.Encode(), "", nil)
	}
	good := url.Values{"repo": {"edge"}, "dataset": {"api"}, "relative_file_path": {name.String()}}
	for _, tt := range []struct {
		name  string
		q     url.Values
		field string
	}{
		{"not edge", url.Values{"repo": {"x"}, "dataset": {"api"}, "relative_file_path": {name.String()}}, "repo"},
		{"unknown dataset", url.Values{"repo": {"edge"}, "dataset": {"logs"}, "relative_file_path": {name.String()}}, "dataset"},
		{"not a buffer file name", url.Values{"repo": {"edge"}, "dataset": {"api"}, "relative_file_path": {"../x.gz"}}, "relative_file_path"},
		{"another dataset's file", url.Values{"repo": {"edge"}, "dataset": {"trace"}, "relative_file_path": {name.String()}}, "relative_file_path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := loc(tt.q)
			require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			require.Contains(t, string(r.body), `"field":"`+tt.field+`"`)
		})
	}

	// The fault switch: datalocation answers as the seed's log shows.
	c.doJSON(http.MethodPut, "/v1/organizations/hybrid/emulator/faults/datalocation", map[string]int{"httpStatus": 503}, http.StatusOK, nil)
	r := loc(good)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Contains(t, string(r.body), `organizations/hybrid/environments/test/datalocation\" (or it may not exist)`)
	c.doJSON(http.MethodDelete, "/v1/organizations/hybrid/emulator/faults/datalocation", nil, http.StatusOK, nil)

	r = loc(good)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var dl struct{ URL, Destination, Expiry string }
	r.json(t, &dl)
	require.Equal(t, "gs://hybrid-apigee-analytics/api/"+name.String(), dl.Destination)
	put := func(u string) resp {
		return send(t, http.DefaultClient, http.MethodPut, u, "application/x-gzip", gz.Bytes())
	}
	tampered := strings.Replace(dl.URL, "X-Goog-Expires=900", "X-Goog-Expires=9000", 1)
	require.NotEqual(t, dl.URL, tampered)
	r = put(tampered)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Contains(t, string(r.body), "<Code>SignatureDoesNotMatch</Code>")
	require.Equal(t, http.StatusOK, put(dl.URL).status)

	rng := now.Add(-time.Hour).Format("01/02/2006 15:04") + "~" + now.Add(time.Hour).Format("01/02/2006 15:04")
	stats := "/v1/organizations/hybrid/environments/test/stats/apiproxy?" + url.Values{"select": {"sum(message_count),avg(total_response_time)"}, "timeRange": {rng}}.Encode()
	require.Eventually(t, func() bool {
		r := c.do(http.MethodGet, stats, "", nil)
		return r.status == http.StatusOK && strings.Contains(string(r.body), `"values":["3.0"]`)
	}, 10*time.Second, 10*time.Millisecond, "the upload's records never reached the stats API")
	r = c.do(http.MethodGet, stats, "", nil)
	require.JSONEq(t, `[{"name":"hello","metrics":[{"name":"sum(message_count)","values":["3.0"]},{"name":"avg(total_response_time)","values":["5.0"]}]}]`,
		string(mustField(t, r.body, "dimensions")))
	r = c.do(http.MethodGet, "/v1/organizations/hybrid/environments/test/stats/nope?select=sum(message_count)&timeRange="+url.QueryEscape(rng), "", nil)
	require.Equal(t, http.StatusBadRequest, r.status)
}

// mustField returns environments[0].<field> of a stats answer as JSON.
func mustField(t *testing.T, body []byte, field string) []byte {
	t.Helper()
	var out struct {
		Environments []map[string]any `json:"environments"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.Len(t, out.Environments, 1)
	b, err := json.Marshal(out.Environments[0][field])
	require.NoError(t, err)
	return b
}
