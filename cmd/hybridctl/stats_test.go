package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStats(t *testing.T) {
	var gotQuery, gotAuth, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery, gotAuth, gotPath = r.URL.RawQuery, r.Header.Get("Authorization"), r.URL.Path
		_, _ = w.Write([]byte(`{"environments":[{"name":"test","dimensions":[
			{"name":"quiet","metrics":[{"name":"sum(message_count)","values":["2.0"]},{"name":"sum(is_error)","values":["0.0"]},
				{"name":"p50(total_response_time)","values":["1.0"]},{"name":"p95(total_response_time)","values":["2.0"]}]},
			{"name":"busy","metrics":[{"name":"sum(message_count)","values":["40.0"]},{"name":"sum(is_error)","values":["3.0"]},
				{"name":"p50(total_response_time)","values":["5.0"]},{"name":"p95(total_response_time)","values":["17.0"]}]}]}],
			"metaData":{"errors":[],"notices":[]}}`))
	}))
	defer srv.Close()
	t.Setenv("HYBRID_ADMIN_TOKEN", "tok")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"table, busiest first", nil, []string{"PROXY  CALLS  ERRORS  P50 ms  P95 ms", " busy     40       3       5      17", "quiet      2       0       1       2"}},
		{"json", []string{"--json"}, []string{`"proxy": "busy"`, `"calls": 40`, `"p95Ms": 17`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, runStats(context.Background(), append([]string{"--url", srv.URL, "--org", "o", "--env", "e", "--minutes", "5"}, tt.args...), &out))
			for _, w := range tt.want {
				require.Contains(t, out.String(), w)
			}
		})
	}
	require.Equal(t, "/v1/organizations/o/environments/e/stats/apiproxy", gotPath)
	require.Equal(t, "Bearer tok", gotAuth)
	require.True(t, strings.Contains(gotQuery, "select=sum%28message_count%29"), gotQuery)
	require.Error(t, runStats(context.Background(), []string{"--url", srv.URL, "--minutes", "0"}, &bytes.Buffer{}))
}
