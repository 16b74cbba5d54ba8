package workspace

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

// loadFS copies a testdata folder into a MapFS, so a case can replace one
// file of a good workspace.
func loadFS(tb testing.TB, dir string) fstest.MapFS {
	tb.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path.Join(dir, name))
		m[name] = &fstest.MapFile{Data: data}
		return err
	})
	require.NoError(tb, err)
	return m
}

func TestParseGoodWorkspace(t *testing.T) {
	plan, err := ParseDir("testdata/good")
	require.NoError(t, err)

	require.Len(t, plan.Proxies, 1)
	require.Equal(t, "hello-seed", plan.Proxies[0].Name)
	require.Len(t, plan.SharedFlows, 1)
	require.True(t, plan.SharedFlows[0].SharedFlow)
	require.NotEmpty(t, plan.Proxies[0].Hash)

	require.Len(t, plan.Envs, 2)
	dev, test := plan.Envs[0], plan.Envs[1]
	require.Equal(t, "dev", dev.Name)
	require.Equal(t, []FlowHook{{Point: "PreTargetFlowHook", SharedFlow: "log-headers"}}, dev.FlowHooks,
		"the API's array shape")
	require.Equal(t, "test", test.Name)
	require.Equal(t, []Deployment{{Name: "hello-seed"}}, test.Proxies)
	require.Equal(t, []Deployment{{Name: "log-headers"}}, test.SharedFlows, `"sharedFlows" spelled as Cloud Code's scaffold does`)
	require.Equal(t, []FlowHook{
		{Point: "PostProxyFlowHook", SharedFlow: "log-headers", ContinueOnError: true},
		{Point: "PreProxyFlowHook"},
	}, test.FlowHooks, "the object keyed by point; {} detaches")
	require.Equal(t, []TargetServer{{Name: "hello-backend", Description: "python3 -m http.server 9000 --bind 127.0.0.1",
		Host: "127.0.0.1", Port: 9000, IsEnabled: true, Protocol: "HTTP"}}, test.TargetServers)
	require.Len(t, test.KVMs, 1)
	require.Equal(t, []Entry{{"mode", "local"}}, test.KVMs[0].Entries)
	require.Equal(t, []string{"src/main/apigee/environments/dev/debugmask.json"}, plan.Ignored)

	td := plan.TestData
	require.Len(t, td.Products, 1)
	require.Equal(t, "hello-product", td.Products[0].Key)
	require.Len(t, td.Developers, 1)
	require.Equal(t, "ada@example.com", td.Developers[0].Key)
	require.Len(t, td.Apps, 2)
	byName := map[string]App{}
	for _, a := range td.Apps {
		byName[a.Name] = a
	}
	require.Empty(t, byName["mobile-app"].Credentials, "the emulator's own shape: keys are generated")
	require.Equal(t, []Credential{{ConsumerKey: "hello-seed-key", ConsumerSecret: "hello-seed-secret", APIProducts: []string{"hello-product"}}},
		byName["hello-app"].Credentials)
	require.NotContains(t, byName["hello-app"].Body, "credentials")
	require.Len(t, td.Maps, 1)
	require.Equal(t, "environment", td.Maps[0].Scope)
}

func TestParseExampleSeed(t *testing.T) {
	plan, err := ParseDir("../../examples/seed")
	require.NoError(t, err)
	require.Len(t, plan.Proxies, 1)
	require.Len(t, plan.Envs, 1)
	require.False(t, plan.TestData.Empty())
}

// Each bad input is refused with its file and the field inside it.
func TestParseErrorsNameFileAndField(t *testing.T) {
	const env = "src/main/apigee/environments/test/"
	const tests = "src/tests/seed/"
	cases := []struct {
		name, file, content string
		want                string
	}{
		{"not JSON", env + "targetservers.json", "[\n  {\"name\": \"a\",\n  }\n]",
			env + "targetservers.json: invalid JSON: line 3, column 4"},
		{"trailing data", env + "targetservers.json", `[] []`,
			env + "targetservers.json: invalid JSON: more after the first value"},
		{"port a string", env + "targetservers.json",
			`[{"name":"a","host":"h","port":1},{"name":"b","host":"h","port":2},{"name":"c","host":"h","port":"x"}]`,
			env + `targetservers.json: [2].port: want a number from 1 to 65535, got the string "x"`},
		{"port out of range", env + "targetservers.json", `[{"name":"a","host":"h","port":70000}]`,
			env + `targetservers.json: [0].port: want a number from 1 to 65535, got the number 70000`},
		{"host missing", env + "targetservers.json", `[{"name":"a","port":80}]`,
			env + "targetservers.json: [0].host: required"},
		{"target servers not an array", env + "targetservers.json", `{"name":"a"}`,
			env + "targetservers.json: want a JSON array, got an object"},
		{"duplicate target server", env + "targetservers.json", `[{"name":"a","host":"h","port":1},{"name":"a","host":"h","port":2}]`,
			env + `targetservers.json: [1].name: target server "a" is listed twice`},
		{"enabled not a boolean", env + "targetservers.json", `[{"name":"a","host":"h","port":1,"isEnabled":"yes"}]`,
			env + `targetservers.json: [0].isEnabled: want true or false, got the string "yes"`},
		{"deployment of a missing proxy", env + "deployments.json", `{"proxies":[{"name":"hello-seed"},{"name":"nope"}]}`,
			env + "deployments.json: proxies[1]: no apiproxies/nope/ in the workspace"},
		{"deployment without a name", env + "deployments.json", `{"proxies":[{"serviceAccount":"x"}]}`,
			env + "deployments.json: proxies[0].name: required"},
		{"deployment entry a number", env + "deployments.json", `{"proxies":[7]}`,
			env + `deployments.json: proxies[0]: want a name or {"name": …}, got the number 7`},
		{"unknown flow hook point", env + "flowhooks.json", `{"PreFlowHook":{"sharedFlow":"log-headers"}}`,
			env + `flowhooks.json: PreFlowHook: unknown flow hook point "PreFlowHook"`},
		{"flow hook of a missing shared flow", env + "flowhooks.json", `[{"flowHookPoint":"PreProxyFlowHook","sharedFlow":"nope"}]`,
			env + "flowhooks.json: [0].sharedFlow: no sharedflows/nope/ in the workspace"},
		{"kvm entry without a name", env + "kvms.json", `[{"name":"m","entry":[{"value":"v"}]}]`,
			env + "kvms.json: [0].entry[0].name: required"},
		{"map with a bad scope", tests + "maps.json", `[{"name":"m","scope":"galaxy"}]`,
			tests + `maps.json: [0].scope: want organization, environment or apiproxy, got "galaxy"`},
		{"proxy map without its proxy", tests + "maps.json", `[{"name":"m","scope":"apiproxy"}]`,
			tests + "maps.json: [0].proxy: required for a map of scope apiproxy"},
		{"product without a name", tests + "products.json", `[{"displayName":"x"}]`,
			tests + "products.json: [0].name: required"},
		{"product proxies not strings", tests + "products.json", `[{"name":"p","proxies":["a",3]}]`,
			tests + "products.json: [0].proxies[1]: want a string, got the number 3"},
		{"developer email", tests + "developers.json", `[{"email":"ada"}]`,
			tests + `developers.json: [0].email: "ada" is not an email address`},
		{"app without developer", tests + "developerapps.json", `[{"name":"a"}]`,
			tests + "developerapps.json: [0].developerEmail: required"},
		{"credential without key", tests + "developerapps.json", `[{"name":"a","developerEmail":"a@b.c","credentials":[{"consumerSecret":"s"}]}]`,
			tests + "developerapps.json: [0].credentials[0].consumerKey: required"},
		{"bad bundle", "src/main/apigee/apiproxies/hello-seed/apiproxy/proxies/default.xml", `<ProxyEndpoint name="default">`,
			"src/main/apigee/apiproxies/hello-seed: apiproxy/proxies/default.xml"},
		{"bundle folder without apiproxy", "src/main/apigee/apiproxies/empty/README", "x",
			"src/main/apigee/apiproxies/empty: no apiproxy/ folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := loadFS(t, "testdata/good")
			fsys[tc.file] = &fstest.MapFile{Data: []byte(tc.content)}
			_, err := ParseFS(fsys)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			var errs Errors
			require.ErrorAs(t, err, &errs)
		})
	}
}

func TestParseNothing(t *testing.T) {
	_, err := ParseFS(fstest.MapFS{"README.md": {Data: []byte("hi")}})
	require.ErrorContains(t, err, "no Apigee workspace here")
}

// zipFS zips every file of fsys under prefix.
func zipFS(tb testing.TB, fsys fs.FS, prefix string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	require.NoError(tb, fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: path.Join(prefix, name), Method: zip.Deflate, Modified: time.Now()})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}))
	require.NoError(tb, zw.Close())
	return buf.Bytes()
}

// The emulator receives the workspace zipped from the project folder
// (src/main/apigee/…) or from src/main/apigee itself; both read the same
// bundles, with the same content hashes as the folder.
func TestParseZipShapes(t *testing.T) {
	fromDir, err := ParseDir("testdata/good")
	require.NoError(t, err)
	good := loadFS(t, "testdata/good")
	for _, tc := range []struct {
		name string
		zip  []byte
	}{
		{"project folder", zipFS(t, good, "")},
		{"src/main/apigee", zipFS(t, must(fs.Sub(good, "src/main/apigee")), "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := ParseZip(tc.zip)
			require.NoError(t, err)
			require.Len(t, plan.Proxies, 1)
			require.Equal(t, fromDir.Proxies[0].Hash, plan.Proxies[0].Hash)
			require.Len(t, plan.Envs, 2)
		})
	}
	_, err = ParseZip([]byte("not a zip"))
	require.ErrorContains(t, err, "not a zip")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseTestDataZip(t *testing.T) {
	seed := must(fs.Sub(loadFS(t, "testdata/good"), "src/tests/seed"))
	for _, prefix := range []string{"", "mybundle"} {
		td, err := ParseTestDataZip(zipFS(t, seed, prefix))
		require.NoError(t, err, prefix)
		require.Len(t, td.Products, 1)
		require.Len(t, td.Developers, 1)
		require.Len(t, td.Apps, 1)
		require.Len(t, td.Maps, 1)
	}
	bad := fstest.MapFS{"developers.json": {Data: []byte(`[{"email": 3}]`)}}
	_, err := ParseTestDataZip(zipFS(t, bad, ""))
	require.ErrorContains(t, err, "developers.json: [0].email: want a string, got the number 3")
}

// The hash ignores entry order, timestamps and compression, and sees any
// change of a name or a byte.
func TestContentHash(t *testing.T) {
	a := fstest.MapFS{"apiproxy/a.xml": {Data: []byte("<a/>")}, "apiproxy/b.xml": {Data: []byte("<b/>")}}
	h1 := must(ContentHash(zipFS(t, a, "")))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []string{"apiproxy/b.xml", "apiproxy/a.xml"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f, Method: zip.Store})
		require.NoError(t, err)
		_, err = w.Write(a[f].Data)
		require.NoError(t, err)
	}
	_, err := zw.Create("apiproxy/") // a directory entry
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.Equal(t, h1, must(ContentHash(buf.Bytes())))

	a["apiproxy/b.xml"] = &fstest.MapFile{Data: []byte("<b />")}
	require.NotEqual(t, h1, must(ContentHash(zipFS(t, a, ""))))
}

func TestSubset(t *testing.T) {
	cases := []struct {
		name       string
		want, have any
		ok         bool
	}{
		{"number as text", map[string]any{"quota": "100"}, map[string]any{"quota": float64(100)}, true},
		{"extra server fields", map[string]any{"a": "x"}, map[string]any{"a": "x", "createdAt": "1"}, true},
		{"empty vs missing", map[string]any{"callbackUrl": "", "scopes": []any{}}, map[string]any{}, true},
		{"array element anywhere", []any{"b"}, []any{"a", "b"}, true},
		{"changed value", map[string]any{"host": "a"}, map[string]any{"host": "b"}, false},
		{"missing element", []any{map[string]any{"name": "k", "value": "v"}}, []any{map[string]any{"name": "k", "value": "w"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.ok, subset(normalize(tc.want), normalize(tc.have)))
		})
	}
}
