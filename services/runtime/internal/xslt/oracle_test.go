//go:build oracle

package xslt

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The oracle: every case of TestTransformGolden run through Saxon-HE, the
// processor Apigee runs, and compared with the golden file, which this
// package produced itself. Saxon takes its mode from the stylesheet: a
// version="1.0" stylesheet runs in its backwards compatible mode, a
// version="2.0" one (the xslt2-* cases) as XSLT 3.0, which for what those
// cases use is XSLT 2.0, and a later version (forwards) in XSLT 3.0's
// forwards-compatible mode. Run it with `make oracle` (scripts/oracle.sh fetches
// Saxon-HE from Maven Central and sets SAXON_CP), or by hand:
//
//	SAXON_CP=saxon.jar:xmlresolver.jar go test -tags oracle -run TestOracleSaxon ./services/runtime/internal/xslt
//
// A case that differs must be listed, with the reason, in
// testdata/oracle-deviations.txt; a listed case that no longer differs
// fails too, so the list stays honest.

const deviationsFile = "testdata/oracle-deviations.txt"

func TestOracleSaxon(t *testing.T) {
	cp := os.Getenv("SAXON_CP")
	if cp == "" {
		t.Fatal("SAXON_CP (the Saxon-HE class path) is not set: run `make oracle` (scripts/oracle.sh)")
	}
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	}
	deviations := readDeviations(t)
	known := map[string]bool{}
	for _, tc := range goldenCases {
		known[tc.name()] = true
	}
	for name := range deviations {
		if !known[name] {
			t.Errorf("%s lists %q, which is not a case of TestTransformGolden", deviationsFile, name)
		}
	}
	t.Logf("comparing %d cases with Saxon", len(goldenCases))
	for _, tc := range goldenCases {
		t.Run(tc.name(), func(t *testing.T) {
			t.Parallel()
			want := readFile(t, filepath.Join("testdata", "golden", tc.name()+".out"))
			got := runSaxon(t, java, cp, tc)
			ours, theirs := string(want), string(got)
			if tc.method != "text" {
				ours, theirs = normalizeMarkup(ours), normalizeMarkup(theirs)
			}
			reason, listed := deviations[tc.name()]
			switch {
			case ours == theirs && listed:
				t.Errorf("listed in %s (%s) but Saxon now agrees with the golden file: remove the line", deviationsFile, reason)
			case ours != theirs && !listed:
				t.Errorf("golden file differs from Saxon (fix the processor, or list the case in %s with the reason):\n%s", deviationsFile, lineDiff(ours, theirs))
			case ours != theirs:
				t.Logf("accepted deviation: %s\n%s", reason, lineDiff(ours, theirs))
			}
		})
	}
}

// runSaxon applies the case's stylesheet to its input with Saxon's
// command line, the parameters as name=value (string) pairs.
func runSaxon(t *testing.T, java, cp string, tc goldenCase) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), tc.name()+".out")
	args := []string{"-cp", cp, "net.sf.saxon.Transform",
		"-s:" + filepath.Join("testdata", "input", tc.input+".xml"),
		"-xsl:" + filepath.Join("testdata", "xsl", tc.xsl+".xsl"),
		"-o:" + out,
	}
	names := make([]string, 0, len(tc.params))
	for n := range tc.params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		args = append(args, n+"="+tc.params[n])
	}
	var stderr bytes.Buffer
	cmd := exec.Command(java, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("saxon: %s", strings.TrimSpace(stderr.String())) // warnings, xsl:message
	}
	require.NoError(t, err, "saxon failed: %s", stderr.String())
	return readFile(t, out)
}

// readDeviations reads the accepted deviations: one line per case, its
// name, then the reason; blank lines and lines starting with # are
// ignored.
func readDeviations(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(deviationsFile)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, reason, _ := strings.Cut(s, " ")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			t.Errorf("%s:%d: %s has no reason", deviationsFile, line, name)
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s:%d: %s is listed twice", deviationsFile, line, name)
		}
		out[name] = reason
	}
	require.NoError(t, sc.Err())
	return out
}

// markupToken matches, in XML or HTML output, a CDATA section, a comment
// (both left alone: their content is not markup) or a start tag whose
// attributes all have quoted values.
var (
	markupToken = regexp.MustCompile(`<!\[CDATA\[(?s:.*?)\]\]>|<!--(?s:.*?)-->|<([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>`)
	attribute   = regexp.MustCompile(`\s+([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')`)
)

// normalizeMarkup rewrites every start tag the way both serialisers could
// have written it, and nothing else. Two differences are normalised, both
// inside start tags, where an XML or HTML parser cannot see them:
//
//   - The white space between attributes (and before the closing > or />)
//     becomes one space or none: Saxon (since 10) breaks a start tag longer
//     than its line length into one attribute per line when indenting.
//   - Namespace declarations are sorted by prefix (the default namespace
//     first), ahead of the attributes: Saxon (since 10) keeps in-scope
//     namespaces sorted by prefix and writes them in that order, while this
//     package keeps the order of the source; the order of namespace
//     declarations, like that of attributes, carries no information.
//
// Everything else must match byte for byte: the XML declaration, the
// DOCTYPE, empty-element tags, character references, CDATA sections, the
// indentation between tags and the final newline.
func normalizeMarkup(s string) string {
	return markupToken.ReplaceAllStringFunc(s, func(tok string) string {
		m := markupToken.FindStringSubmatch(tok)
		if m[1] == "" { // CDATA section or comment
			return tok
		}
		var decls, attrs [][]string // name, quoted value
		for _, a := range attribute.FindAllStringSubmatch(m[2], -1) {
			if a[1] == "xmlns" || strings.HasPrefix(a[1], "xmlns:") {
				decls = append(decls, a[1:])
			} else {
				attrs = append(attrs, a[1:])
			}
		}
		sort.SliceStable(decls, func(i, j int) bool { return decls[i][0] < decls[j][0] }) // "xmlns" first
		var b strings.Builder
		b.WriteString("<" + m[1])
		for _, a := range append(decls, attrs...) {
			b.WriteString(" " + a[0] + "=" + a[1])
		}
		b.WriteString(m[3] + ">")
		return b.String()
	})
}

// lineDiff lists the lines that differ between the golden output and
// Saxon's (a line-by-line comparison, enough to see what differs).
func lineDiff(ours, theirs string) string {
	a, b := strings.Split(ours, "\n"), strings.Split(theirs, "\n")
	var out strings.Builder
	shown := 0
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x == y && i < len(a) && i < len(b) {
			continue
		}
		if shown++; shown > 20 {
			out.WriteString("…\n")
			break
		}
		fmt.Fprintf(&out, "line %d\n  golden: %q\n  saxon:  %q\n", i+1, x, y)
	}
	return out.String()
}

// TestNormalizeMarkup: only white space and namespace declaration order
// inside start tags are normalised.
func TestNormalizeMarkup(t *testing.T) {
	for in, want := range map[string]string{
		"<a xmlns:o=\"u\"\n   xmlns=\"d\"\n   x='1' >t</a>": `<a xmlns="d" xmlns:o="u" x='1'>t</a>`,
		`<x:a xmlns:x="1" b="2" xmlns:a="3"/>`:              `<x:a xmlns:a="3" xmlns:x="1" b="2"/>`,
		`<a b="2" c="1"/>`:                                  `<a b="2" c="1"/>`,
		"<!-- <a  b='1'> --><![CDATA[<a  b='1'>]]>":         "<!-- <a  b='1'> --><![CDATA[<a  b='1'>]]>",
		"<a>\n   <b/></a>\n":                                "<a>\n   <b/></a>\n",
		`<p>&#34;&quot;<br></p>`:                            `<p>&#34;&quot;<br></p>`,
		`<input checked  name="x">`:                         `<input checked  name="x">`,
	} {
		require.Equal(t, want, normalizeMarkup(in), in)
	}
}
