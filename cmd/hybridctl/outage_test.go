package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOutage(t *testing.T) {
	var gotMethod, gotTarget, gotBody, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotMethod, gotTarget, gotBody, gotAuth = r.Method, r.URL.RequestURI(), string(b), r.Header.Get("Authorization")
		if string(b) == `{"services":["bigquery"]}` {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":{"code":400,"message":"unknown service \"bigquery\"","status":"INVALID_ARGUMENT"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"services":[{"service":"apigee","active":true,"mode":"unavailable","errorRate":1,"since":"2026-12-05T01:00:00Z"},
			{"service":"storage","active":false},{"service":"monitoring","active":false}]}`))
	}))
	defer srv.Close()
	t.Setenv("HYBRID_ADMIN_TOKEN", "tok")
	for _, tc := range []struct {
		name         string
		args         []string
		method, path string
		body         string
		want         []string
		err          string
	}{
		{"start all", []string{"start"}, "POST", outagePath, `{}`, []string{"SERVICE", "apigee", "FAULTED", "unavailable", "storage", "up", "monitoring"}, ""},
		{"start some", []string{"start", "--service", "apigee", "--service", "oauth2,storage", "--latency", "2s", "--error-rate", "0.5", "--mode", "reset"},
			"POST", outagePath, `{"errorRate":0.5,"latency":"2s","mode":"reset","services":["apigee","oauth2","storage"]}`, nil, ""},
		{"server rejects", []string{"start", "--service", "bigquery"}, "POST", outagePath, `{"services":["bigquery"]}`, nil, `unknown service "bigquery"`},
		{"stop all", []string{"stop"}, "DELETE", outagePath, "", nil, ""},
		{"stop one", []string{"stop", "--service", "apigee"}, "DELETE", outagePath + "?service=apigee", "", nil, ""},
		{"status json", []string{"status", "--json"}, "GET", outagePath, "", []string{`"service": "apigee"`, `"active": true`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{tc.args[0], "--url", srv.URL}, tc.args[1:]...)
			err := runOutage(context.Background(), args, &out)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.method, gotMethod)
			require.Equal(t, tc.path, gotTarget)
			require.Equal(t, tc.body, gotBody)
			require.Equal(t, "Bearer tok", gotAuth)
			for _, w := range tc.want {
				require.Contains(t, out.String(), w)
			}
		})
	}
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"no subcommand", nil, "usage"},
		{"unknown subcommand", []string{"pause"}, "unknown subcommand"},
		{"negative latency", []string{"start", "--latency", "-1s"}, "negative"},
		{"rate above 1", []string{"start", "--error-rate", "1.5"}, "between 0 and 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotMethod = ""
			require.ErrorContains(t, runOutage(context.Background(), tc.args, io.Discard), tc.err)
			require.Empty(t, gotMethod, "nothing was sent")
		})
	}
}
