package xslt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sheet(body string) string {
	return `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:ext="urn:ext">` + "\n" + body + "\n</xsl:stylesheet>"
}

func tmpl(body string) string {
	return sheet(`<xsl:template match="/">` + body + `</xsl:template>`)
}

// TestCompileErrors: everything the processor cannot run fails at compile
// time, naming the line and the element.
func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"not xml", `<xsl:stylesheet`, []string{"the stylesheet is not well-formed XML"}},
		{"not a stylesheet", `<html><body/></html>`, []string{"not an XSLT stylesheet"}},
		{"version 2.0", `<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`, []string{"XSLT version 2.0 is not supported"}},
		{"no version", `<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`, []string{"the version attribute is required"}},
		{"import", sheet(`<xsl:import href="http://example.com/a.xsl"/>`), []string{"line 2: <xsl:import>: xsl:import is not supported"}},
		{"include", sheet(`<xsl:include href="b.xsl"/>`), []string{"<xsl:include>: xsl:include is not supported"}},
		{"namespace-alias", sheet(`<xsl:namespace-alias stylesheet-prefix="ext" result-prefix="#default"/>`), []string{"xsl:namespace-alias is not supported"}},
		{"unknown top-level", sheet(`<xsl:frobnicate/>`), []string{"unknown or misplaced XSLT element xsl:frobnicate"}},
		{"top-level in no namespace", sheet(`<data/>`), []string{"a top-level element must be in a namespace"}},
		{"unknown instruction", tmpl(`<xsl:evaluate select="1"/>`), []string{"line 2: <xsl:evaluate>: unknown XSLT instruction xsl:evaluate"}},
		{"extension element", `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:ext="urn:ext" extension-element-prefixes="ext"><xsl:template match="/"><ext:write/></xsl:template></xsl:stylesheet>`, []string{"<ext:write>: extension element {urn:ext}write is not supported"}},
		{"extension function", tmpl(`<xsl:value-of select="ext:now()"/>`), []string{"<xsl:value-of>: select: invalid XPath", "extension function {urn:ext}now is not supported"}},
		{"document()", tmpl(`<xsl:copy-of select="document('other.xml')"/>`), []string{"document() is not supported"}},
		{"unknown function", tmpl(`<xsl:value-of select="frob(1)"/>`), []string{"frob(): unknown function"}},
		{"arity", tmpl(`<xsl:value-of select="substring('a')"/>`), []string{"substring(): takes 2 to 3 arguments, not 1"}},
		{"undeclared variable", tmpl(`<xsl:value-of select="$nope"/>`), []string{"variable $nope is not declared"}},
		{"variable used before declaration", tmpl(`<xsl:value-of select="$v"/><xsl:variable name="v" select="1"/>`), []string{"variable $v is not declared"}},
		{"variable out of scope", tmpl(`<xsl:if test="1"><xsl:variable name="v" select="1"/></xsl:if><xsl:value-of select="$v"/>`), []string{"variable $v is not declared"}},
		{"variable in pattern", sheet(`<xsl:variable name="g" select="1"/><xsl:template match="a[$g]"/>`), []string{"variable references are not allowed in patterns"}},
		{"variable in key", sheet(`<xsl:variable name="g" select="1"/><xsl:key name="k" match="a" use="$g"/>`), []string{"variable references are not allowed in xsl:key"}},
		{"bad xpath", tmpl(`<xsl:value-of select="a["/>`), []string{`select: invalid XPath "a["`}},
		{"bad pattern axis", sheet(`<xsl:template match="a/following::b"/>`), []string{"pattern steps may only use the child or attribute axis"}},
		{"bad pattern expression", sheet(`<xsl:template match="1 + 2"/>`), []string{"a pattern must be a location path"}},
		{"missing named template", tmpl(`<xsl:call-template name="missing"/>`), []string{"<xsl:call-template>: no template named missing"}},
		{"duplicate named template", sheet(`<xsl:template name="t"/><xsl:template name="t"/>`), []string{"a template named t is already defined on line 2"}},
		{"template without match or name", sheet(`<xsl:template/>`), []string{"a template needs a match or a name attribute"}},
		{"attribute typo", tmpl(`<xsl:value-of selct="."/>`), []string{"attribute selct is not allowed on xsl:value-of"}},
		{"missing select", tmpl(`<xsl:value-of/>`), []string{"<xsl:value-of>: the select attribute is required"}},
		{"misplaced sort", tmpl(`<xsl:sort select="."/>`), []string{"xsl:sort is only allowed"}},
		{"sort after content", tmpl(`<xsl:for-each select="*"><x/><xsl:sort/></xsl:for-each>`), []string{"xsl:sort must come before the other content"}},
		{"sort order", tmpl(`<xsl:for-each select="*"><xsl:sort order="up"/></xsl:for-each>`), []string{"xsl:sort order must be one of ascending, descending"}},
		{"with-param in for-each", tmpl(`<xsl:for-each select="*"><xsl:with-param name="p"/></xsl:for-each>`), []string{"xsl:with-param is misplaced"}},
		{"output method", sheet(`<xsl:output method="json"/>`), []string{`output method "json" is not supported`}},
		{"output encoding", sheet(`<xsl:output encoding="UTF-16"/>`), []string{`output encoding "UTF-16" is not supported`}},
		{"unknown key", tmpl(`<xsl:value-of select="key('k', 'v')"/>`), []string{"key(): no xsl:key named k"}},
		{"unknown decimal format", tmpl(`<xsl:value-of select="format-number(1, '0', 'eu')"/>`), []string{"no xsl:decimal-format named eu"}},
		{"shadowing", tmpl(`<xsl:variable name="v" select="1"/><xsl:for-each select="*"><xsl:variable name="v" select="2"/></xsl:for-each>`), []string{"variable $v shadows a variable of the same name"}},
		{"global cycle", sheet(`<xsl:variable name="a" select="$b"/><xsl:variable name="b" select="$a + 1"/>`), []string{"is defined in terms of itself"}},
		{"duplicate global", sheet(`<xsl:param name="a"/><xsl:variable name="a"/>`), []string{"global variable $a is already declared on line 2"}},
		{"unclosed avt", tmpl(`<out a="{1 + "/>`), []string{"attribute a: unclosed { in attribute value template"}},
		{"stray brace in avt", tmpl(`<out a="x}"/>`), []string{"unmatched } in attribute value template"}},
		{"namespace axis", tmpl(`<xsl:value-of select="count(namespace::*)"/>`), []string{"the namespace axis is not supported"}},
		{"misplaced param", tmpl(`<x/><xsl:param name="p"/>`), []string{"xsl:param is only allowed at the top level or at the start of a template"}},
		{"undeclared prefix", tmpl(`<xsl:value-of select="p:a"/>`), []string{`namespace prefix "p" is not declared`}},
		{"choose without when", tmpl(`<xsl:choose><xsl:otherwise/></xsl:choose>`), []string{"xsl:choose needs at least one xsl:when"}},
		{"otherwise first", tmpl(`<xsl:choose><xsl:otherwise/><xsl:when test="1"/></xsl:choose>`), []string{"xsl:otherwise must be the last child"}},
		{"unknown attribute set", tmpl(`<out xsl:use-attribute-sets="nope"/>`), []string{"no attribute set named nope"}},
		{"recursive attribute set", sheet(`<xsl:attribute-set name="a" use-attribute-sets="b"/><xsl:attribute-set name="b" use-attribute-sets="a"/>`), []string{"uses itself"}},
		{"bad regex", tmpl(`<xsl:value-of select="replace(., '[', 'x')"/>`), []string{"replace(): error parsing regexp"}},
		{"number level", tmpl(`<xsl:number level="all"/>`), []string{"level must be single, multiple or any"}},
		{"duplicate with-param", tmpl(`<xsl:call-template name="t"><xsl:with-param name="p"/><xsl:with-param name="p"/></xsl:call-template>`), []string{"parameter p is passed twice"}},
		{"select and content", tmpl(`<xsl:variable name="v" select="1">x</xsl:variable>`), []string{"has both a select attribute and content"}},
		{"xsl:text with markup", tmpl(`<xsl:text>a<b/></xsl:text>`), []string{"xsl:text may only contain text"}},
		{"bad QName", tmpl(`<xsl:element name="1x"/>`), []string{`"1x" is not a valid QName`}},
		{"namespace declaration attribute", tmpl(`<out><xsl:attribute name="xmlns:p">u</xsl:attribute></out>`), []string{"cannot create a namespace declaration"}},
		{"bad priority", sheet(`<xsl:template match="a" priority="high"/>`), []string{`priority "high" is not a number`}},
		{"sort data-type qname", tmpl(`<xsl:for-each select="*"><xsl:sort data-type="ext:date"/></xsl:for-each>`), []string{"xsl:sort data-type must be one of text, number"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]byte(tc.src), Options{})
			require.Error(t, err)
			var ce *CompileError
			require.True(t, errors.As(err, &ce), "%T: %v", err, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	input := []byte(`<r><a>1</a><a>2</a></r>`)
	cases := []struct {
		name, src string
		want      string
	}{
		{"terminate", tmpl(`<xsl:message terminate="yes">stop at <xsl:value-of select="count(//a)"/></xsl:message>`), "line 2: <xsl:message>: xsl:message terminated the transformation: stop at 2"},
		{"attribute after children", tmpl(`<out><x/><xsl:attribute name="a">1</xsl:attribute></out>`), "cannot add attribute a to <out> after its children"},
		{"attribute without element", tmpl(`<xsl:attribute name="a">1</xsl:attribute>`), "there is no element to add it to"},
		{"string as path", tmpl(`<xsl:variable name="s" select="'x'"/><xsl:for-each select="$s/a"/>`), "the start of a path is a string, not a node-set"},
		{"for-each over a number", tmpl(`<xsl:for-each select="1"/>`), "select must give a node-set, not a number"},
		{"dynamic element name", tmpl(`<xsl:element name="{'1bad'}"/>`), `xsl:element name: "1bad" is not a valid QName`},
		{"dynamic key name", sheet(`<xsl:key name="k" match="a" use="."/><xsl:template match="/"><xsl:value-of select="key(concat('n', 'o'), '1')"/></xsl:template>`), "key(): no xsl:key named no"},
		{"bad format-number pattern", tmpl(`<xsl:value-of select="format-number(1, concat('', ''))"/>`), "format-number(): pattern \"\" has no digits"},
		{"recursion", sheet(`<xsl:template match="/" name="loop"><xsl:call-template name="loop"/></xsl:template>`), "templates nested deeper than 5000 (infinite recursion?)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile([]byte(tc.src), Options{})
			require.NoError(t, err)
			_, err = s.Transform(context.Background(), input, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			var re *RuntimeError
			require.True(t, errors.As(err, &re), "%T: %v", err, err)
		})
	}
}

func TestMalformedInput(t *testing.T) {
	s, err := Compile([]byte(tmpl(`<x/>`)), Options{})
	require.NoError(t, err)
	for _, in := range []string{"", "<a>", "<a></b>", "<a/><b/>", "text", "<a xmlns:p='u'><q:b/></a>", "<!DOCTYPE a [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><a>&e;</a>"} {
		_, err := s.Transform(context.Background(), []byte(in), nil)
		require.ErrorIs(t, err, ErrMalformed, "input %q", in)
	}
}

func TestTransformHonoursContext(t *testing.T) {
	// Exponential work: each level calls the next twice.
	s, err := Compile([]byte(sheet(`<xsl:template match="/"><xsl:call-template name="t"><xsl:with-param name="n" select="40"/></xsl:call-template></xsl:template>
<xsl:template name="t"><xsl:param name="n"/><xsl:if test="$n > 0"><xsl:call-template name="t"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template><xsl:call-template name="t"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template></xsl:if></xsl:template>`)), Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Transform(ctx, []byte(`<r/>`), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestMaxDepthOption(t *testing.T) {
	s, err := Compile([]byte(sheet(`<xsl:template match="/" name="loop"><xsl:call-template name="loop"/></xsl:template>`)), Options{MaxDepth: 10})
	require.NoError(t, err)
	_, err = s.Transform(context.Background(), []byte(`<r/>`), nil)
	require.ErrorContains(t, err, "templates nested deeper than 10")
}

// TestConcurrentTransforms shares one compiled stylesheet (keys, globals,
// sorting) between goroutines; run with -race.
func TestConcurrentTransforms(t *testing.T) {
	s := compileFile(t, "keys")
	want, err := s.Transform(context.Background(), readFile(t, "testdata/input/catalog.xml"), nil)
	require.NoError(t, err)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			in := strings.Replace(string(readFile(t, "testdata/input/catalog.xml")), "zebra", fmt.Sprint("zebra", i%2), 1)
			for range 20 {
				res, err := s.Transform(context.Background(), []byte(in), nil)
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 && !strings.Contains(string(res.Output), "zebra0") || i%2 == 1 && !strings.Contains(string(res.Output), "zebra1") {
					errs <- fmt.Errorf("goroutine %d got another document's output: %s", i, res.Output)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	again, err := s.Transform(context.Background(), readFile(t, "testdata/input/catalog.xml"), nil)
	require.NoError(t, err)
	require.Equal(t, string(want.Output), string(again.Output))
}

func TestResultMetadata(t *testing.T) {
	cases := []struct{ src, method, media, enc string }{
		{tmpl(`<out/>`), "xml", "text/xml", "UTF-8"},
		{tmpl(`<html><body/></html>`), "html", "text/html", "UTF-8"},
		{sheet(`<xsl:output method="text" media-type="application/json"/><xsl:template match="/">{}</xsl:template>`), "text", "application/json", "UTF-8"},
		{sheet(`<xsl:output encoding="iso-8859-1"/><xsl:template match="/"><out/></xsl:template>`), "xml", "text/xml", "ISO-8859-1"},
	}
	for _, tc := range cases {
		s, err := Compile([]byte(tc.src), Options{})
		require.NoError(t, err)
		res, err := s.Transform(context.Background(), []byte(`<r/>`), nil)
		require.NoError(t, err)
		require.Equal(t, tc.method, res.Method)
		require.Equal(t, tc.media, res.MediaType)
		require.Equal(t, tc.enc, res.Encoding)
	}
	s, err := Compile([]byte(tmpl(`<xsl:message>one</xsl:message><xsl:message>two <xsl:value-of select="name(*)"/></xsl:message>`)), Options{})
	require.NoError(t, err)
	res, err := s.Transform(context.Background(), []byte(`<r/>`), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"one", "two r"}, res.Messages)
}
