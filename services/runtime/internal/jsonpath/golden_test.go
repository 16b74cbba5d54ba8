package jsonpath

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/golden"
)

// The golden table: every case of testdata/jayway_cases.txt evaluated on
// its document, compared with testdata/jayway_golden.json, whose expected
// results are Jayway's own (oracle_test.go, run by `make oracle`, checks
// the file against Jayway and rewrites it with -update). This test needs
// no Java: it holds the Go port to the committed results.

const (
	casesFile  = "testdata/jayway_cases.txt"
	goldenFile = "testdata/jayway_golden.json"
	docsDir    = "testdata/docs"
)

type goldenCase struct {
	Doc, Path string
}

// goldenEntry is one line of the golden file. Value is the result as
// json-smart writes it (the text Apigee puts in a variable, but for a
// string, which is quoted here); Error is the kind of failure: invalid
// (a deploy error), notfound (a definite path that found nothing), eval
// (InvalidPathException while evaluating) or error (any other exception).
type goldenEntry struct {
	Doc      string          `json:"doc"`
	Path     string          `json:"path"`
	Definite *bool           `json:"definite,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
	Error    string          `json:"error,omitempty"`
}

func readCases(tb testing.TB) []goldenCase {
	tb.Helper()
	f, err := os.Open(casesFile)
	require.NoError(tb, err)
	defer f.Close()
	var out []goldenCase
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		doc, path, ok := strings.Cut(s, "\t")
		require.True(tb, ok, "%s:%d: no tab between the document and the expression", casesFile, line)
		out = append(out, goldenCase{Doc: doc, Path: path})
	}
	require.NoError(tb, sc.Err())
	return out
}

func readDocs(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(docsDir, "*.json"))
	require.NoError(tb, err)
	docs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(tb, err)
		docs[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	return docs
}

// evalCase runs one case through this package.
func evalCase(tb testing.TB, docs map[string][]byte, c goldenCase) goldenEntry {
	tb.Helper()
	e := goldenEntry{Doc: c.Doc, Path: c.Path}
	src, ok := docs[c.Doc]
	require.True(tb, ok, "no document %s", c.Doc)
	p, err := Compile(c.Path)
	if err != nil {
		var se *SyntaxError
		require.ErrorAs(tb, err, &se)
		e.Error = "invalid"
		return e
	}
	def := p.Definite()
	e.Definite = &def
	doc, err := Decode(src)
	require.NoError(tb, err, "document %s", c.Doc)
	v, err := p.Eval(doc)
	var ee *EvalError
	switch {
	case err == nil:
		e.Value = json.RawMessage(JSON(v))
	case errors.Is(err, ErrNotFound):
		e.Error = "notfound"
	case errors.As(err, &ee) && ee.invalidPath:
		e.Error = "eval"
	default:
		e.Error = "error"
	}
	return e
}

// renderGolden writes the golden file: a JSON array, one case a line, the
// value embedded as json-smart wrote it.
func renderGolden(tb testing.TB, entries []goldenEntry) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range entries {
		b.WriteString(entryLine(tb, e))
		if i < len(entries)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// entryLine is one case's line of the golden file.
func entryLine(tb testing.TB, e goldenEntry) string {
	tb.Helper()
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false) // keep < > & legible in paths and values
	require.NoError(tb, enc.Encode(e))
	return strings.TrimSuffix(line.String(), "\n")
}

func readGolden(tb testing.TB) map[goldenCase]goldenEntry {
	tb.Helper()
	b, err := os.ReadFile(goldenFile)
	require.NoError(tb, err, "run `make oracle` or go test -update to create %s", goldenFile)
	var entries []goldenEntry
	require.NoError(tb, json.Unmarshal(b, &entries))
	out := map[goldenCase]goldenEntry{}
	for _, e := range entries {
		out[goldenCase{e.Doc, e.Path}] = e
	}
	return out
}

func TestJaywayGolden(t *testing.T) {
	cases := readCases(t)
	require.GreaterOrEqual(t, len(cases), 60, "the golden table keeps at least 60 expressions")
	docs := readDocs(t)
	var got []goldenEntry
	for _, c := range cases {
		got = append(got, evalCase(t, docs, c))
	}
	if !golden.Update() {
		// Case by case first, so a failure names the expression.
		want := readGolden(t)
		for _, g := range got {
			w, ok := want[goldenCase{g.Doc, g.Path}]
			if !ok {
				t.Errorf("%s %q: not in %s (run `make oracle` with -update)", g.Doc, g.Path, goldenFile)
				continue
			}
			if a, b := entryLine(t, w), entryLine(t, g); a != b {
				t.Errorf("%s %q:\n  Jayway: %s\n  here:   %s", g.Doc, g.Path, a, b)
			}
		}
	}
	golden.Check(t, goldenFile, renderGolden(t, got))
}
