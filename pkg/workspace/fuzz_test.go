package workspace

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// goodFiles is testdata/good as a map of path to contents.
func goodFiles(tb testing.TB) fstest.MapFS {
	tb.Helper()
	out := fstest.MapFS{}
	root := os.DirFS("testdata/good")
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, p)
		out[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func zipOf(tb testing.TB, files fstest.MapFS) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range files {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write(f.Data)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// checkPlan holds for every parse: an error names what is wrong, a plan
// carries each bundle's zip and content hash.
func checkPlan(t *testing.T, plan *Plan, err error) {
	t.Helper()
	if err != nil {
		if plan != nil || err.Error() == "" {
			t.Fatalf("error %q with plan %v", err, plan)
		}
		var fes Errors
		if errors.As(err, &fes) && len(fes) == 0 {
			t.Fatal("an empty error list")
		}
		return
	}
	for _, b := range append(append([]Bundle{}, plan.Proxies...), plan.SharedFlows...) {
		if len(b.Zip) == 0 || b.Hash == "" || b.Name == "" {
			t.Fatalf("bundle %q without zip, hash or name", b.Name)
		}
	}
}

// FuzzParseZip feeds the emulator API's deploy body (a workspace zip from
// the network) to the parser: it never panics, and it answers a plan or
// an error naming the problem.
func FuzzParseZip(f *testing.F) {
	f.Add(zipOf(f, goodFiles(f)))
	f.Add([]byte{})
	f.Add([]byte("PK\x03\x04 not really a zip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		plan, err := ParseZip(data)
		checkPlan(t, plan, err)
		td, err := ParseTestDataZip(data)
		if err == nil && td == nil {
			t.Fatal("no test data and no error")
		}
	})
}

// FuzzWorkspaceFiles fuzzes the JSON files of a good workspace (rather
// than the zip around them), which reaches each file's validation far
// more often than FuzzParseZip.
func FuzzWorkspaceFiles(f *testing.F) {
	base := goodFiles(f)
	const (
		deployments = "src/main/apigee/environments/test/deployments.json"
		servers     = "src/main/apigee/environments/test/targetservers.json"
		hooks       = "src/main/apigee/environments/test/flowhooks.json"
		apps        = "src/tests/seed/developerapps.json"
		maps        = "src/tests/seed/maps.json"
	)
	f.Add(base[deployments].Data, base[servers].Data, base[hooks].Data, base[apps].Data, base[maps].Data)
	f.Add([]byte(`{"proxies":[{"name":"nope"}]}`), []byte(`[{"name":"ts","host":"h","port":"x"}]`), []byte(`[]`), []byte(`[{}]`), []byte(`{`))
	f.Fuzz(func(t *testing.T, dep, ts, fh, app, kvm []byte) {
		files := fstest.MapFS{}
		for k, v := range base {
			files[k] = v
		}
		for name, data := range map[string][]byte{deployments: dep, servers: ts, hooks: fh, apps: app, maps: kvm} {
			files[name] = &fstest.MapFile{Data: data}
		}
		plan, err := ParseFS(files)
		checkPlan(t, plan, err)
	})
}

// A zip that inflates beyond the limit is refused by its declared sizes,
// naming the entry, before anything is read.
func TestZipBombRefused(t *testing.T) {
	files := goodFiles(t)
	files["src/main/apigee/environments/test/kvms.json"] = &fstest.MapFile{Data: bytes.Repeat([]byte(" "), 64<<10)}
	data := zipOf(t, files)
	_, err := openZipLimited(data, 32<<10)
	require.ErrorContains(t, err, "src/main/apigee/environments/test/kvms.json: the zip inflates to more than 32768 bytes")
	_, err = openZipLimited(data, MaxUnzippedBytes)
	require.NoError(t, err)
}
