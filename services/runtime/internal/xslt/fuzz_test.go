package xslt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const fuzzInput = `<r xmlns:o="urn:o"><a id="1">x<b/></a><o:c k="v">y</o:c><!--c--><?p d?></r>`

// FuzzCompile: compiling any bytes never panics, and a stylesheet that
// compiles transforms a small document without panicking (errors are
// fine; the processor's panic guard must never fire).
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("testdata/xsl/*.xsl")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		tmpl(`<xsl:apply-templates select="//node()|//@*"/>`),
		tmpl(`<xsl:for-each select="//*"><xsl:sort select="name()"/><xsl:number level="any" format="a"/></xsl:for-each>`),
		sheet(`<xsl:key name="k" match="*" use="name()"/><xsl:template match="/"><xsl:copy-of select="key('k', 'a')"/></xsl:template>`),
		`<out xsl:version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">{<xsl:value-of select="."/>}</out>`,
		tmpl2(`<xsl:for-each-group select="//node()" group-adjacent="name()"><g n="{count(current-group())}"><xsl:namespace name="p" select="'urn:p'"/></g></xsl:for-each-group>`),
		tmpl2(`<xsl:frobnicate><xsl:fallback><xsl:value-of select="//*:c" separator=","/></xsl:fallback></xsl:frobnicate>`),
	} {
		f.Add([]byte(s))
	}
	doc := []byte(fuzzInput)
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Compile(src, Options{MaxDepth: 50})
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = s.Transform(ctx, doc, map[string]string{"p": "v"})
		if ie := (*InternalError)(nil); errors.As(err, &ie) {
			t.Fatalf("%v\n%s", ie, ie.Stack)
		}
		// The deadline must stop any stylesheet promptly.
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("transformation ran %v past a 200ms deadline", d)
		}
	})
}

// FuzzXPath: any expression either fails to compile or evaluates without
// panicking.
func FuzzXPath(f *testing.F) {
	for _, s := range []string{"//a[1]/@id", "count(//*) div 0", "(//b | //a)[last()]/following::node()", "substring('abc', 1 div 0)", "format-number(-1.5, '#,##0.0;(0)')", "translate(., 'a', '')", "key('k', 1)", "if (//a) then //*:c else ()", "tokenize('a b', ' ')[2]", "current-group()"} {
		f.Add(s)
	}
	doc, err := parseXML([]byte(fuzzInput), parseOptions{})
	if err != nil {
		f.Fatal(err)
	}
	number(doc, 1)
	f.Fuzz(func(t *testing.T, src string) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%q: panic: %v", src, r)
			}
		}()
		_, _ = evalXPath(t, doc, src)
	})
}
