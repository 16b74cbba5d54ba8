// Package bundletest builds proxy and shared flow bundles for tests.
//
// A bundle is described as a map from archive path to file content, so tests
// can start from Proxy or SharedFlow, add or replace files, and zip the result:
//
//	files := bundletest.Proxy("hello", "/hello", "http://127.0.0.1:8080")
//	files["apiproxy/policies/AM-1.xml"] = `<AssignMessage name="AM-1">…</AssignMessage>`
//	zip := bundletest.Zip(t, files)
package bundletest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/xml"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"
)

// modTime is the modification time of every entry, so that the same files
// always give the same bytes.
var modTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip returns a deflated zip holding files, written in name order with a fixed
// modification time: equal inputs give byte-identical archives. Names ending
// in "/" become directory entries.
func Zip(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: modTime}
		if strings.HasSuffix(n, "/") {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatalf("bundletest.Zip: %s: %v", n, err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			tb.Fatalf("bundletest.Zip: %s: %v", n, err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatalf("bundletest.Zip: %v", err)
	}
	return buf.Bytes()
}

// Proxy returns the files of a minimal valid API proxy: the manifest
// apiproxy/<name>.xml, a ProxyEndpoint "default" at basePath with empty
// PreFlow and PostFlow and a RouteRule to the TargetEndpoint "default", whose
// HTTPTargetConnection calls targetURL.
func Proxy(name, basePath, targetURL string) map[string]string {
	n, bp, u := esc(name), esc(basePath), esc(targetURL)
	return map[string]string{
		"apiproxy/" + name + ".xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<APIProxy revision="1" name="` + n + `">
    <Basepaths>` + bp + `</Basepaths>
    <DisplayName>` + n + `</DisplayName>
    <Policies/>
    <ProxyEndpoints>
        <ProxyEndpoint>default</ProxyEndpoint>
    </ProxyEndpoints>
    <TargetEndpoints>
        <TargetEndpoint>default</TargetEndpoint>
    </TargetEndpoints>
</APIProxy>
`,
		"apiproxy/proxies/default.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<ProxyEndpoint name="default">
    <PreFlow name="PreFlow">
        <Request/>
        <Response/>
    </PreFlow>
    <Flows/>
    <PostFlow name="PostFlow">
        <Request/>
        <Response/>
    </PostFlow>
    <HTTPProxyConnection>
        <BasePath>` + bp + `</BasePath>
    </HTTPProxyConnection>
    <RouteRule name="default">
        <TargetEndpoint>default</TargetEndpoint>
    </RouteRule>
</ProxyEndpoint>
`,
		"apiproxy/targets/default.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<TargetEndpoint name="default">
    <PreFlow name="PreFlow">
        <Request/>
        <Response/>
    </PreFlow>
    <Flows/>
    <PostFlow name="PostFlow">
        <Request/>
        <Response/>
    </PostFlow>
    <HTTPTargetConnection>
        <URL>` + u + `</URL>
    </HTTPTargetConnection>
</TargetEndpoint>
`,
	}
}

// SharedFlow returns the files of a minimal valid shared flow bundle: the
// manifest sharedflowbundle/<name>.xml and the shared flow "default", whose
// single step runs the AssignMessage policy "AM-MarkSharedFlow". That policy
// sets the flow variable "sharedflow.<name>.executed" to "true", so a test
// can observe that the shared flow ran.
func SharedFlow(name string) map[string]string {
	n := esc(name)
	return map[string]string{
		"sharedflowbundle/" + name + ".xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<SharedFlowBundle revision="1" name="` + n + `">
    <DisplayName>` + n + `</DisplayName>
    <Policies>
        <Policy>AM-MarkSharedFlow</Policy>
    </Policies>
    <SharedFlows>
        <SharedFlow>default</SharedFlow>
    </SharedFlows>
</SharedFlowBundle>
`,
		"sharedflowbundle/sharedflows/default.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<SharedFlow name="default">
    <Step>
        <Name>AM-MarkSharedFlow</Name>
    </Step>
</SharedFlow>
`,
		"sharedflowbundle/policies/AM-MarkSharedFlow.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<AssignMessage continueOnError="false" enabled="true" name="AM-MarkSharedFlow">
    <AssignVariable>
        <Name>sharedflow.` + n + `.executed</Name>
        <Value>true</Value>
    </AssignVariable>
    <IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables>
</AssignMessage>
`,
	}
}

// esc escapes s for use in XML text or a double-quoted attribute.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Entry is a zip entry RawZip writes with full control over its header:
// any name (hostile ones included), a mode (fs.ModeSymlink, fs.ModeDir),
// and optionally a false uncompressed size.
type Entry struct {
	Name string
	Data []byte
	Mode fs.FileMode
	// Declared, when > 0, replaces the uncompressed size in the header.
	Declared uint64
}

// RawZip writes entries deflated, in the order given; an entry with a
// Declared size is written raw (CRC 0, so only the size check can catch
// the lie). It is for archives Zip cannot express: zip slip, symlinks,
// bombs, lying headers.
func RawZip(tb testing.TB, entries ...Entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	fail := func(name string, err error) {
		tb.Helper()
		tb.Fatalf("bundletest.RawZip: %q: %v", name, err)
	}
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: modTime}
		if e.Mode != 0 {
			h.SetMode(e.Mode)
		}
		if e.Declared > 0 {
			var c bytes.Buffer
			fw, err := flate.NewWriter(&c, flate.BestCompression)
			if err != nil {
				fail(e.Name, err)
			}
			if _, err := fw.Write(e.Data); err != nil {
				fail(e.Name, err)
			}
			if err := fw.Close(); err != nil {
				fail(e.Name, err)
			}
			h.CompressedSize64 = uint64(c.Len())
			h.UncompressedSize64 = e.Declared
			w, err := zw.CreateRaw(h)
			if err != nil {
				fail(e.Name, err)
			}
			if _, err := w.Write(c.Bytes()); err != nil {
				fail(e.Name, err)
			}
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			fail(e.Name, err)
		}
		if _, err := w.Write(e.Data); err != nil {
			fail(e.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatalf("bundletest.RawZip: %v", err)
	}
	return buf.Bytes()
}

// Entries turns files into entries in name order, followed by extra.
func Entries(files map[string]string, extra ...Entry) []Entry {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Entry, 0, len(names)+len(extra))
	for _, n := range names {
		out = append(out, Entry{Name: n, Data: []byte(files[n])})
	}
	return append(out, extra...)
}
