package jsonpath

import (
	"strings"
	"testing"
)

// FuzzCompile: compiling any text never panics (Jayway's compiler reads
// past the end of the path in several places; the port must turn each of
// those into a compile error), and a path that compiles evaluates on the
// golden documents without panicking, giving a list when it is
// indefinite. The seeds are the golden table's expressions plus the
// corpus in testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	for _, c := range readCases(f) {
		f.Add(c.Path)
	}
	var docs []any
	for _, b := range readDocs(f) {
		d, err := Decode(b)
		if err != nil {
			f.Fatal(err)
		}
		docs = append(docs, d)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src)
		if err != nil {
			if p != nil {
				t.Fatalf("Compile(%q) returned a path and an error", src)
			}
			return
		}
		q, err := Compile(src)
		if err != nil || q.Definite() != p.Definite() {
			t.Fatalf("Compile(%q) is not deterministic", src)
		}
		if strings.Count(src, "..") > 2 {
			return // stacked deep scans only grow to the step limit: slow, not interesting
		}
		for _, d := range docs {
			v, err := p.Eval(d)
			if err != nil {
				continue
			}
			if _, isList := v.([]any); !p.Definite() && !isList {
				t.Fatalf("%q is indefinite but gave %T", src, v)
			}
			_ = String(v)
		}
	})
}
