package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/stretchr/testify/require"
)

func probeServer(t *testing.T, code int, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/probes/ready", r.URL.Path)
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestStatus(t *testing.T) {
	ready := probeServer(t, 200, `{"status":"ready"}`)
	notReady := probeServer(t, 500, `{"status":"not ready","failureMessages":["Probe ContractLoaded failed: no active contract for environment test"]}`)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"all ready", []string{"status", "--only", "runtime,mart", "--endpoints", "runtime=" + ready + ",mart=" + ready}, 0, []string{"runtime", "mart", "true"}},
		{"one not ready", []string{"status", "--only", "runtime,mart", "--endpoints", "runtime=" + notReady + ",mart=" + ready}, 1, []string{"no active contract for environment test"}},
		{"one unreachable", []string{"status", "--only", "udca", "--endpoints", "udca=http://127.0.0.1:1"}, 1, []string{"unreachable"}},
		{"json", []string{"status", "--json", "--only", "mart", "--endpoints", "mart=" + ready}, 0, []string{`"ready": true`}},
		{"unknown service", []string{"status", "--only", "nope"}, 1, nil},
		{"bad endpoints", []string{"status", "--endpoints", "nourl"}, 1, nil},
		{"unknown command", []string{"frobnicate"}, 2, nil},
		{"schema usage", []string{"schema"}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			require.Equal(t, tt.wantCode, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			for _, want := range tt.wantOut {
				require.Contains(t, out.String(), want)
			}
		})
	}
}

func TestParseReplication(t *testing.T) {
	rf, err := parseReplication("dc1:3, dc2:1")
	require.NoError(t, err)
	require.Equal(t, map[string]int{"dc1": 3, "dc2": 1}, rf)
	for _, bad := range []string{"dc1", "dc1:zero", "dc1:0"} {
		_, err := parseReplication(bad)
		require.Error(t, err, bad)
	}
}

func TestPKI(t *testing.T) {
	dir := t.TempDir() + "/pki"
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"pki", "--dir", dir, "--hosts", "synchronizer"}, &out, &errOut), errOut.String())
	for _, f := range []string{"ca.pem", "synchronizer.pem", "runtime.pem"} {
		require.Contains(t, out.String(), dir+"/"+f)
	}
	for _, f := range []string{"ca-key.pem", "synchronizer-key.pem", "runtime-key.pem"} {
		fi, err := os.Stat(dir + "/" + f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	require.Equal(t, 2, run(context.Background(), []string{"pki", "--dir", dir, "--help"}, &out, &errOut))
	require.Equal(t, 1, run(context.Background(), []string{"pki", "--nope"}, &out, &errOut))
}

func TestKeys(t *testing.T) {
	file := t.TempDir() + "/keys/hybrid.yaml"
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"keys", "--file", file}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "(new, 0600)")
	first, err := store.ReadEncryptionKeys(file)
	require.NoError(t, err)

	// A second run keeps the keys: new ones would orphan every sealed value.
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"keys", "--file", file}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "(kept)")
	again, err := store.ReadEncryptionKeys(file)
	require.NoError(t, err)
	require.Equal(t, first, again)

	// A file others can read is refused, not replaced.
	require.NoError(t, os.Chmod(file, 0o644))
	errOut.Reset()
	require.Equal(t, 1, run(context.Background(), []string{"keys", "--file", file}, &out, &errOut))
	require.Contains(t, errOut.String(), "chmod 600")
	require.Equal(t, 1, run(context.Background(), []string{"keys"}, &out, &errOut))
}
