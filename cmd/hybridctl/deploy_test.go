package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeBundle(t *testing.T, root, kind, name string) string {
	t.Helper()
	dir := filepath.Join(root, kind)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "proxies"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".xml"), []byte("<APIProxy name=\""+name+"\"/>"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "proxies", "default.xml"), []byte("<ProxyEndpoint/>"), 0o644))
	return root
}

func TestBundleZip(t *testing.T) {
	root := writeBundle(t, t.TempDir(), "apiproxy", "hello")
	for _, path := range []string{root, filepath.Join(root, "apiproxy")} {
		data, shared, name, err := bundleZip(path)
		require.NoError(t, err, path)
		require.False(t, shared)
		require.Equal(t, "hello", name)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		require.ElementsMatch(t, []string{"apiproxy/hello.xml", "apiproxy/proxies/default.xml"}, names, path)
		// The zip itself is accepted as it is.
		zipPath := filepath.Join(t.TempDir(), "b.zip")
		require.NoError(t, os.WriteFile(zipPath, data, 0o644))
		again, _, name, err := bundleZip(zipPath)
		require.NoError(t, err)
		require.Equal(t, data, again)
		require.Equal(t, "hello", name)
	}
	sf := writeBundle(t, t.TempDir(), "sharedflowbundle", "common")
	_, shared, name, err := bundleZip(sf)
	require.NoError(t, err)
	require.True(t, shared)
	require.Equal(t, "common", name)

	two := writeBundle(t, t.TempDir(), "apiproxy", "a")
	require.NoError(t, os.WriteFile(filepath.Join(two, "apiproxy", "b.xml"), []byte("<x/>"), 0o644))
	for _, tc := range []struct{ path, want string }{
		{t.TempDir(), "no apiproxy/ or sharedflowbundle/"},
		{two, "want exactly one <name>.xml, found 2"},
		{filepath.Join(t.TempDir(), "absent"), "no such file"},
	} {
		_, _, _, err := bundleZip(tc.path)
		require.ErrorContains(t, err, tc.want)
	}
	notZip := filepath.Join(t.TempDir(), "x.zip")
	require.NoError(t, os.WriteFile(notZip, []byte("hello"), 0o644))
	_, _, _, err = bundleZip(notZip)
	require.ErrorContains(t, err, "not a zip")
}

// fakeCP answers the calls deploy and undeploy make, as the control plane
// does, turning a deployment READY (or ERROR) on its second status read.
type fakeCP struct {
	mu       sync.Mutex
	calls    []string
	reads    int
	state    string
	imported []byte
}

func (f *fakeCP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, `{"error":{"message":"no"}}`, http.StatusUnauthorized)
		return
	}
	f.calls = append(f.calls, r.Method+" "+r.URL.RequestURI())
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/apis"):
		f.imported, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, `{"name":"hello","revision":"3","basepaths":["/hello"]}`)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/deployments"):
		_, _ = io.WriteString(w, `{"state":"PROGRESSING"}`)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/revisions/3/deployments"):
		f.reads++
		if f.reads < 2 {
			_, _ = io.WriteString(w, `{"state":"PROGRESSING"}`)
			return
		}
		if f.state == "ERROR" {
			_, _ = io.WriteString(w, `{"state":"ERROR","errors":[{"message":"policy P: bad"}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"state":"READY"}`)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/apis/hello/deployments"):
		_, _ = io.WriteString(w, `{"deployments":[{"revision":"3"}]}`)
	case r.Method == http.MethodDelete:
		_, _ = io.WriteString(w, `{}`)
	default:
		http.Error(w, `{"error":{"message":"unexpected `+r.URL.Path+`"}}`, http.StatusNotFound)
	}
}

func TestDeployAndUndeploy(t *testing.T) {
	t.Setenv("HYBRID_ADMIN_TOKEN", "tok")
	root := writeBundle(t, t.TempDir(), "apiproxy", "hello")
	for _, tc := range []struct {
		state, wantOut string
		wantErr        bool
	}{
		{"READY", "hello revision 3 in test: READY\nhttp://127.0.0.1:8998/hello\n", false},
		{"ERROR", "hello revision 3 in test: ERROR\n  error: policy P: bad\n", true},
	} {
		t.Run(tc.state, func(t *testing.T) {
			f := &fakeCP{state: tc.state}
			srv := httptest.NewServer(f)
			defer srv.Close()
			var out bytes.Buffer
			err := runDeploy(context.Background(), []string{"--url", srv.URL, "--org", "o", "--env", "test", root}, &out)
			if tc.wantErr {
				require.ErrorContains(t, err, "is ERROR")
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantOut, out.String())
			require.Equal(t, "POST /v1/organizations/o/apis?action=import&name=hello", f.calls[0])
			require.Equal(t, "POST /v1/organizations/o/environments/test/apis/hello/revisions/3/deployments?override=true", f.calls[1])
			zr, err := zip.NewReader(bytes.NewReader(f.imported), int64(len(f.imported)))
			require.NoError(t, err)
			require.Len(t, zr.File, 2, "the bundle folder went up as a zip")
		})
	}

	f := &fakeCP{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var out bytes.Buffer
	require.NoError(t, runUndeploy(context.Background(), []string{"--url", srv.URL, "--org", "o", "hello"}, &out))
	require.Equal(t, "hello revision 3 undeployed from test\n", out.String())
	require.Contains(t, f.calls, "DELETE /v1/organizations/o/environments/test/apis/hello/revisions/3/deployments")

	t.Setenv("HYBRID_ADMIN_TOKEN", "wrong")
	err := runDeploy(context.Background(), []string{"--url", srv.URL, root}, &out)
	require.ErrorContains(t, err, "401: no")
	out.Reset()
	require.NoError(t, runToken(context.Background(), nil, &out))
	require.Equal(t, "wrong\n", out.String())
}
