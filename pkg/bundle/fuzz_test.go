package bundle_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hybrid-emulator/hybrid/pkg/golden"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// fuzzLimits keep each fuzz iteration cheap while still exercising the limits.
var fuzzLimits = bundle.Limits{
	MaxArchiveBytes:      1 << 20,
	MaxUncompressedBytes: 4 << 20,
	MaxFiles:             200,
	MaxFileBytes:         2 << 20,
}

// storedZip writes files uncompressed with a zero CRC (which archive/zip
// does not verify), so that the fuzzer's byte flips reach the XML parser
// instead of failing the checksum.
func storedZip(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		content := []byte(files[n])
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name:               n,
			Method:             zip.Store,
			CompressedSize64:   uint64(len(content)),
			UncompressedSize64: uint64(len(content)),
		})
		require.NoError(tb, err)
		_, err = w.Write(content)
		require.NoError(tb, err)
	}
	require.NoError(tb, zw.Close())
	return buf.Bytes()
}

// fuzzSeeds are valid and invalid archives of both kinds.
func fuzzSeeds(tb testing.TB) map[string][]byte {
	sf := withFiles(bundletest.SharedFlow("sf"),
		"sharedflowbundle/policies/JS-1.xml", `<Javascript name="JS-1"><ResourceURL>jsc://a.js</ResourceURL></Javascript>`,
		"sharedflowbundle/resources/jsc/a.js", "1")
	return map[string][]byte{
		"minimal-proxy":          storedZip(tb, proxyFiles()),
		"minimal-proxy-deflated": zipOf(tb, proxyFiles()),
		"realistic-proxy":        storedZip(tb, realistic()),
		"shared-flow":            storedZip(tb, sf),
		"zip-slip":               storedZip(tb, proxyFiles("../evil", "x")),
		"malformed-xml":          storedZip(tb, proxyFiles("apiproxy/policies/AM-1.xml", "<AssignMessage name=\"AM-1\"><Set></AssignMessage>")),
		"missing-policy":         storedZip(tb, proxyFiles("apiproxy/proxies/default.xml", `<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>X</Name></Step></Request></PreFlow></ProxyEndpoint>`)),
		"latin1":                 storedZip(tb, proxyFiles("apiproxy/policies/AM-1.xml", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><AssignMessage name=\"AM-\xe9\"/>")),
		"not-a-zip":              []byte("PK\x03\x04 not really"),
		"property-set":           storedZip(tb, proxyFiles("apiproxy/resources/properties/myProps.properties", "# c\nfoo=bar\nmsg : caf\\u00e9 \\\n  more\n")),
		"malformed-property-set": storedZip(tb, proxyFiles("apiproxy/resources/properties/myProps.properties", "a=1\nb=\\u12\n")),
		"case-collision":         storedZip(tb, proxyFiles("apiproxy/policies/am-1.xml", `<AssignMessage name="am-1"/>`, "apiproxy/policies/AM-1.xml", `<AssignMessage name="AM-1"/>`)),
		"non-utf8-name":          storedZip(tb, proxyFiles("apiproxy/resources/jsc/caf\xe9.js", "1")),
	}
}

// sentinels are the errors Parse may wrap.
var sentinels = []error{bundle.ErrNotZip, bundle.ErrTooLarge, bundle.ErrZipBomb, bundle.ErrZipSlip, bundle.ErrMalformedXML, bundle.ErrMissingReference, bundle.ErrInvalidBundle}

// checkResult asserts Parse's contract: either a fully valid bundle or nil
// and a *ValidationError wrapping a sentinel.
func checkResult(t *testing.T, kind bundle.Kind, b *bundle.Bundle, err error) {
	if err != nil {
		if b != nil {
			t.Fatalf("bundle returned with error %v", err)
		}
		var ve *bundle.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("error %T %v is not a *ValidationError", err, err)
		}
		for _, s := range sentinels {
			if ve.Err == s {
				return
			}
		}
		t.Fatalf("error %v wraps %v, not a sentinel", err, ve.Err)
	}
	if b.Kind != kind || b.Name == "" {
		t.Fatalf("bad bundle header: kind %v name %q", b.Kind, b.Name)
	}
	s := b.Summary()
	for _, l := range [][]string{s.BasePaths, s.Proxies, s.Targets, s.Policies, s.Resources, s.SharedFlows} {
		if !sort.StringsAreSorted(l) {
			t.Fatalf("summary list not sorted: %q", l)
		}
	}
	steps := func(file string, ss []bundle.Step) {
		for _, st := range ss {
			if b.Policies[st.Name] == nil {
				t.Fatalf("%s: step %q has no policy", file, st.Name)
			}
		}
	}
	for _, pe := range b.ProxyEndpoints {
		for _, f := range append([]*bundle.Flow{pe.PreFlow, pe.PostFlow, pe.PostClientFlow}, flowPtrs(pe.Flows)...) {
			if f != nil {
				steps(pe.File, f.Request)
				steps(pe.File, f.Response)
			}
		}
		for _, rr := range pe.RouteRules {
			if rr.TargetEndpoint != "" && b.TargetEndpoint(rr.TargetEndpoint) == nil {
				t.Fatalf("%s: route to missing target %q", pe.File, rr.TargetEndpoint)
			}
		}
	}
	for _, sf := range b.SharedFlows {
		steps(sf.File, sf.Steps)
	}
}

func flowPtrs(fs []bundle.Flow) []*bundle.Flow {
	out := make([]*bundle.Flow, len(fs))
	for i := range fs {
		out[i] = &fs[i]
	}
	return out
}

// FuzzParse feeds arbitrary bytes to Parse as both kinds of bundle. The seed
// corpus is testdata/fuzz/FuzzParse (regenerate the seeds with
// go test -run TestFuzzSeedCorpusIsCurrent -update).
func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []bundle.Kind{bundle.KindProxy, bundle.KindSharedFlow} {
			b, err := bundle.Parse(data, kind, fuzzLimits)
			checkResult(t, kind, b, err)
		}
	})
}

// FuzzBundleFiles fuzzes the contents of the files of a proxy bundle (rather
// than the zip around them), which reaches the XML decoding and validation
// far more often than FuzzParse.
func FuzzBundleFiles(f *testing.F) {
	base := realistic()
	f.Add(base["apiproxy/orders.xml"], base["apiproxy/proxies/default.xml"], base["apiproxy/targets/backend.xml"], base["apiproxy/policies/JS-Enrich.xml"])
	small := proxyFiles()
	f.Add(small["apiproxy/hello.xml"], small["apiproxy/proxies/default.xml"], small["apiproxy/targets/default.xml"], `<AssignMessage name="AM"/>`)
	f.Fuzz(func(t *testing.T, manifest, proxy, target, policy string) {
		files := withFiles(base,
			"apiproxy/orders.xml", manifest,
			"apiproxy/proxies/default.xml", proxy,
			"apiproxy/targets/backend.xml", target,
			"apiproxy/policies/JS-Enrich.xml", policy)
		b, err := bundle.Parse(storedZip(t, files), bundle.KindProxy, fuzzLimits)
		checkResult(t, bundle.KindProxy, b, err)
	})
}

// TestFuzzSeedCorpusIsCurrent keeps the committed seed corpus of FuzzParse
// in step with fuzzSeeds; run with -update to rewrite it.
func TestFuzzSeedCorpusIsCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, data := range fuzzSeeds(t) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		path := filepath.Join(dir, "seed-"+name)
		if golden.Update() {
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run go test -run TestFuzzSeedCorpusIsCurrent -update")
		require.Equal(t, want, string(got), "seed %s is stale: run go test -run TestFuzzSeedCorpusIsCurrent -update", name)
	}
}

// TestFuzzSeedsBehave pins what the seeds are meant to exercise.
func TestFuzzSeedsBehave(t *testing.T) {
	want := map[string]error{
		"minimal-proxy":          nil,
		"minimal-proxy-deflated": nil,
		"realistic-proxy":        nil,
		"shared-flow":            nil,
		"zip-slip":               bundle.ErrZipSlip,
		"malformed-xml":          bundle.ErrMalformedXML,
		"missing-policy":         bundle.ErrMissingReference,
		"latin1":                 nil,
		"not-a-zip":              bundle.ErrNotZip,
		"property-set":           nil,
		"malformed-property-set": bundle.ErrInvalidBundle,
		"case-collision":         bundle.ErrInvalidBundle,
		"non-utf8-name":          bundle.ErrZipSlip,
	}
	for name, data := range fuzzSeeds(t) {
		kind := bundle.KindProxy
		if name == "shared-flow" {
			kind = bundle.KindSharedFlow
		}
		_, err := bundle.Parse(data, kind, fuzzLimits)
		if want[name] == nil {
			require.NoError(t, err, name)
		} else {
			require.ErrorIs(t, err, want[name], name)
		}
	}
}

// FuzzParseProperties feeds arbitrary text to the property set parser: it
// must never panic, and it either returns properties or a
// *PropertiesError with a line inside the file.
func FuzzParseProperties(f *testing.F) {
	for _, seed := range []string{"", "a=1\n", "# c\n! c\nk : v\n", "k=a\\\n  b\n", `k=\u00e9\ud83d\ude00`, "a=\\u12", "=x", "a\\=b\\ c=d\r\ne f\rg", "\ufeffa=1"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := bundle.ParseProperties(data)
		if err != nil {
			var pe *bundle.PropertiesError
			if !errors.As(err, &pe) || props != nil {
				t.Fatalf("bad error %T %v (props %v)", err, err, props)
			}
			if pe.Line < 1 || pe.Line > bytes.Count(data, []byte("\n"))+bytes.Count(data, []byte("\r"))+1 {
				t.Fatalf("line %d out of range", pe.Line)
			}
			return
		}
		for k := range props {
			if k == "" {
				t.Fatalf("empty key from %q", data)
			}
		}
	})
}
