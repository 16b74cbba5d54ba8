//go:build integration

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/e2e/harness"
)

// zipDir zips the files under root/sub with names relative to root.
func zipDir(tb testing.TB, root, sub string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	require.NoError(tb, filepath.WalkDir(filepath.Join(root, sub), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}))
	require.NoError(tb, zw.Close())
	return buf.Bytes()
}

type emulatorClient struct {
	tb    testing.TB
	base  string
	token string
}

// call sends one emulator API request; body is sent raw with
// contentType, or as a multipart "file" part when contentType is
// "multipart".
func (e emulatorClient) call(method, path, contentType string, body []byte) (int, []byte) {
	e.tb.Helper()
	var rd io.Reader
	if contentType == "multipart" {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		part, err := mw.CreateFormFile("file", "testdata.zip")
		require.NoError(e.tb, err)
		_, err = part.Write(body)
		require.NoError(e.tb, err)
		require.NoError(e.tb, mw.Close())
		rd, contentType = &buf, mw.FormDataContentType()
	} else if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	require.NoError(e.tb, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.tb, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.tb, err)
	return resp.StatusCode, data
}

func (e emulatorClient) json(method, path, contentType string, body []byte, want int, out any) {
	e.tb.Helper()
	status, data := e.call(method, path, contentType, body)
	require.Equal(e.tb, want, status, "%s %s: %s", method, path, data)
	if out != nil {
		require.NoError(e.tb, json.Unmarshal(data, out), "%s", data)
	}
}

// The Apigee Emulator's control API on the control plane, driven as Cloud
// Code and the devrel scripts drive Google's emulator: deploy the zip of a
// workspace's src, load a test bundle, read the test app's key, call the
// proxy with it, look at the tree, trace a call, deploy again (nothing
// changes), and reset.
func TestEmulatorAPI(t *testing.T) {
	t.Parallel()
	// UDCA rolls its files fast: trace captures travel with the analytics.
	c := h.StartCluster(t, harness.Options{All: true, UDCAArgs: []string{"--files.maxAge", "200ms"}})
	svc := apigeeClient(t, c)
	const host = "emulator.e2e.example.com"
	attachHost(t, svc, c, "emulator-group", host)
	be := backend(t)
	dir := copySeed(t, be.URL)
	emu := emulatorClient{tb: t, base: c.APIURL(), token: harness.AdminToken}

	// Unlike Google's emulator, a call needs a token; the outage switch
	// beside it still answers.
	status, _ := emulatorClient{tb: t, base: c.APIURL()}.call(http.MethodGet, "/v1/emulator/version", "", nil)
	require.Equal(t, http.StatusUnauthorized, status)
	emu.json(http.MethodGet, "/v1/emulator/healthz", "", nil, http.StatusOK, nil)
	var version map[string]string
	emu.json(http.MethodGet, "/v1/emulator/version", "", nil, http.StatusOK, &version)
	require.NotEmpty(t, version["version"])
	emu.json(http.MethodGet, "/v1/emulator/outage", "", nil, http.StatusOK, nil)

	// A bad zip is a 400 naming the file and field.
	status, body := emu.call(http.MethodPost, "/v1/emulator/deploy?environment="+c.Env, "application/zip", []byte("no zip"))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "not a zip")

	deployZip := zipDir(t, dir, "src/main")
	var dep struct {
		Environment string `json:"environment"`
		Revision    string `json:"revision"`
		Changes     []struct {
			Kind, Name, Action, Revision, State string
		} `json:"changes"`
	}
	emu.json(http.MethodPost, "/v1/emulator/deploy?environment="+c.Env, "application/zip", deployZip, http.StatusOK, &dep)
	require.Equal(t, c.Env, dep.Environment)
	require.Equal(t, "1", dep.Revision)

	// Test data: the bundle's JSON files at the zip's root, as
	// `zip testdata.zip *` makes it, sent as curl -F file=@testdata.zip.
	testZip := zipDir(t, filepath.Join(dir, "src/tests/seed"), ".")
	emu.json(http.MethodPost, "/v1/emulator/setup/tests", "multipart", testZip, http.StatusOK, nil)
	var apps []struct {
		Name        string `json:"name"`
		Credentials []struct {
			ConsumerKey string `json:"consumerKey"`
		} `json:"credentials"`
	}
	emu.json(http.MethodGet, "/v1/emulator/test/developerapps", "", nil, http.StatusOK, &apps)
	require.Len(t, apps, 1)
	key := apps[0].Credentials[0].ConsumerKey
	require.Equal(t, "hello-seed-key", key)
	var maps []map[string]any
	emu.json(http.MethodGet, "/v1/emulator/test/maps", "", nil, http.StatusOK, &maps)
	require.Len(t, maps, 1)
	require.Equal(t, "hello-config", maps[0]["name"])
	require.Equal(t, []any{map[string]any{"name": "greeting"}}, maps[0]["entry"], "keys without values")

	mp := c.TrafficURL()
	withKey := http.Header{"X-Apikey": {key}}
	var got reply
	require.Eventually(t, func() bool {
		got = send(t, mp, http.MethodGet, host, "/hello-seed/x", withKey, "")
		return got.status == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "last reply: %+v", got)

	var tree struct {
		Organizations map[string]map[string]struct {
			Proxies map[string]struct {
				Revisions map[string]struct {
					BasePath string `json:"basepath"`
				} `json:"revisions"`
			} `json:"proxies"`
		} `json:"organizations"`
	}
	emu.json(http.MethodGet, "/v1/emulator/tree", "", nil, http.StatusOK, &tree)
	require.Equal(t, "/hello-seed", tree.Organizations[c.Org][c.Env].Proxies["hello-seed"].Revisions["1"].BasePath)

	// Trace: a session on the deployed proxy captures the next call.
	var session struct {
		Name string `json:"name"`
	}
	emu.json(http.MethodPost, "/v1/emulator/trace?proxyName=hello-seed", "", nil, http.StatusCreated, &session)
	require.NotEmpty(t, session.Name)
	var tx struct {
		DebugSession map[string]string `json:"DebugSession"`
		Messages     []struct {
			Point []json.RawMessage `json:"point"`
		} `json:"Messages"`
	}
	// The session reaches the message processor with a new contract: call
	// until a capture comes back.
	require.Eventually(t, func() bool {
		require.Equal(t, http.StatusOK, send(t, mp, http.MethodGet, host, "/hello-seed/traced", withKey, "").status)
		emu.json(http.MethodGet, "/v1/emulator/trace/transactions?sessionid="+session.Name, "", nil, http.StatusOK, &tx)
		return len(tx.Messages) > 0
	}, 60*time.Second, 250*time.Millisecond)
	require.Equal(t, session.Name, tx.DebugSession["SessionId"])
	require.NotEmpty(t, tx.Messages[0].Point)
	emu.json(http.MethodDelete, "/v1/emulator/trace?sessionid="+session.Name, "", nil, http.StatusOK, nil)

	// The same zip again: the environment's revision counts on, nothing
	// else changes (no new proxy revision).
	emu.json(http.MethodPost, "/v1/emulator/deploy?environment="+c.Env, "application/zip", deployZip, http.StatusOK, &dep)
	require.Equal(t, "2", dep.Revision)
	for _, ch := range dep.Changes {
		require.Equal(t, "unchanged", ch.Action, "%+v", ch)
	}

	// Reset: nothing deployed, no test data.
	emu.json(http.MethodPost, "/v1/emulator/reset", "", nil, http.StatusOK, nil)
	emu.json(http.MethodGet, "/v1/emulator/tree", "", nil, http.StatusOK, &tree)
	require.Empty(t, tree.Organizations[c.Org][c.Env].Proxies)
	emu.json(http.MethodGet, "/v1/emulator/test/developerapps", "", nil, http.StatusOK, &apps)
	require.Empty(t, apps)
	_, err := svc.Organizations.Developers.Get("organizations/" + c.Org + "/developers/ada@example.com").Do()
	require.Error(t, err, "clear/test deleted the developer")
	eventuallyStatus(t, c, host, "/hello-seed/x", http.StatusNotFound)
}
