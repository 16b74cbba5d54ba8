package jsonpath

import (
	"os"
	"testing"
)

// BenchmarkExtract is the per-request work of an ExtractVariables JSONPath:
// decode the payload, evaluate a compiled path, print the result.
func BenchmarkExtract(b *testing.B) {
	src, err := os.ReadFile("testdata/docs/store.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"$.store.book[0].author", "$..book[?(@.price < 10)].title", "$.store.book[*].price"} {
		p := MustCompile(path)
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				doc, err := Decode(src)
				if err != nil {
					b.Fatal(err)
				}
				v, err := p.Eval(doc)
				if err != nil {
					b.Fatal(err)
				}
				_ = String(v)
			}
		})
	}
}
