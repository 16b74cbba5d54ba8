package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeDebugAPI answers the debug session routes of one proxy revision:
// a session whose transactions appear one per data listing.
func fakeDebugAPI(t *testing.T) (*httptest.Server, *map[string]any) {
	t.Helper()
	const parent = "/v1/organizations/o/environments/e/apis/hello/revisions/2/debugsessions"
	var mu sync.Mutex
	created := map[string]any{}
	listed := 0
	tx := `{"completed":true,"point":[{"id":"StateChange","results":[{"ActionResult":"RequestMessage","verb":"GET","uRI":"/hello/a"}]},` +
		`{"id":"Execution","results":[{"ActionResult":"DebugInfo","properties":{"property":[{"name":"stepDefinition-name","value":"AM-1"},{"name":"result","value":"true"}]}}]},` +
		`{"id":"Execution","results":[{"ActionResult":"DebugInfo","properties":{"property":[{"name":"stepDefinition-name","value":"RF"},{"name":"result","value":"false"}]}}]},` +
		`{"id":"StateChange","results":[{"ActionResult":"ResponseMessage","statusCode":"418"}]}]}`
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+parent, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		mu.Lock()
		defer mu.Unlock()
		require.NoError(t, json.NewDecoder(r.Body).Decode(&created))
		_, _ = w.Write([]byte(`{"name":"s1","count":2}`))
	})
	mux.HandleFunc("GET "+parent+"/s1/data", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		listed++
		ids := []string{"t1", "t2"}[:min(listed, 2)]
		_ = json.NewEncoder(w).Encode(ids)
	})
	mux.HandleFunc("GET "+parent+"/s1/data/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(tx))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &created
}

func TestTrace(t *testing.T) {
	t.Setenv("HYBRID_ADMIN_TOKEN", "tok")
	srv, created := fakeDebugAPI(t)
	common := []string{"--url", srv.URL, "--org", "o", "--env", "e", "--api", "hello", "--rev", "2"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"start prints transactions as they arrive, until count", append([]string{"start"}, append(common, "--count", "2", "--poll", "1ms", "--filter", `request.verb = "GET"`)...),
			[]string{"debug session s1 started", "t1  GET /hello/a  -> 418  steps: AM-1, RF!", "t2  GET /hello/a"}},
		{"get lists a session's transactions", append([]string{"get"}, append(common, "--session", "s1")...),
			[]string{"t1  GET /hello/a  -> 418", "t2  GET"}},
		{"get --json", append([]string{"get"}, append(common, "--session", "s1", "--tx", "t2", "--json")...),
			[]string{`{"id":"t2","transaction":{"completed":true,"point":[`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, runTrace(context.Background(), tt.args, &out))
			for _, w := range tt.want {
				require.Contains(t, out.String(), w)
			}
		})
	}
	require.Equal(t, map[string]any{"count": 2.0, "timeout": "600", "filter": `request.verb = "GET"`}, *created)

	for _, args := range [][]string{nil, {"stop"}, {"start", "--url", srv.URL}, append([]string{"start", "--count", "16"}, common...), append([]string{"get"}, common...)} {
		require.Error(t, runTrace(context.Background(), args, &bytes.Buffer{}), "%v", args)
	}
}
