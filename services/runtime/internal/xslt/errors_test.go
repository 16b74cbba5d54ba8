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
		{"version not a number", `<xsl:stylesheet version="two" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`, []string{`version "two" is not a number`}},
		{"inner version not a number", tmpl(`<xsl:if test="1" version="x"/>`), []string{`<xsl:if>: version "x" is not a number`}},
		{"no version", `<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`, []string{"the version attribute is required"}},
		{"import", sheet(`<xsl:import href="http://example.com/a.xsl"/>`), []string{"line 2: <xsl:import>: xsl:import is not supported"}},
		{"include", sheet(`<xsl:include href="b.xsl"/>`), []string{"<xsl:include>: xsl:include is not supported"}},
		{"namespace-alias", sheet(`<xsl:namespace-alias stylesheet-prefix="ext" result-prefix="#default"/>`), []string{"xsl:namespace-alias is not supported"}},
		{"unknown top-level", sheet(`<xsl:frobnicate/>`), []string{"unknown or misplaced XSLT element xsl:frobnicate"}},
		{"top-level in no namespace", sheet(`<data/>`), []string{"a top-level element must be in a namespace"}},
		{"unknown instruction", tmpl(`<xsl:frobnicate select="1"/>`), []string{"line 2: <xsl:frobnicate>: unknown XSLT instruction xsl:frobnicate"}},
		{"unknown instruction with fallback", tmpl(`<xsl:frobnicate><xsl:fallback/></xsl:frobnicate>`), []string{"unknown XSLT instruction xsl:frobnicate"}},
		{"unknown literal xsl: attribute", tmpl(`<out xsl:frob="1"/>`), []string{"attribute xsl:frob is not allowed on a literal result element"}},
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

// sheet2 is sheet with version="2.0", the XML Schema namespace as xs, and
// no namespace declarations copied to the result.
func sheet2(body string) string {
	return strings.Replace(sheet(body), `version="1.0"`, `version="2.0" xmlns:xs="http://www.w3.org/2001/XMLSchema" exclude-result-prefixes="#all"`, 1)
}

func tmpl2(body string) string {
	return sheet2(`<xsl:template match="/">` + body + `</xsl:template>`)
}

// TestLaterConstructsRefused: the XSLT 2.0 and 3.0 constructs this
// processor does not implement fail at compile time (so the deployment
// fails), naming the construct, the version that added it and the line,
// whatever the stylesheet's version: Saxon knows them all, so running
// without them (or their xsl:fallback) would change the output silently.
func TestLaterConstructsRefused(t *testing.T) {
	cases := []struct {
		name, src string
		want      string
	}{
		{"xsl:function", sheet2(`<xsl:function name="ext:f"><xsl:param name="a"/></xsl:function>`), "line 2: <xsl:function>: xsl:function (XSLT 2.0) is not supported by this runtime"},
		{"xsl:character-map", sheet2(`<xsl:character-map name="m"/>`), "<xsl:character-map>: xsl:character-map (XSLT 2.0) is not supported by this runtime"},
		{"xsl:import-schema", sheet2(`<xsl:import-schema namespace="urn:x"/>`), "xsl:import-schema (XSLT 2.0) is not supported"},
		{"xsl:mode", sheet2(`<xsl:mode on-no-match="shallow-copy"/>`), "xsl:mode (XSLT 3.0) is not supported"},
		{"xsl:analyze-string", tmpl2(`<xsl:analyze-string select="." regex="a"><xsl:matching-substring/></xsl:analyze-string>`), "line 2: <xsl:analyze-string>: xsl:analyze-string (XSLT 2.0) is not supported by this runtime"},
		{"xsl:analyze-string with fallback", tmpl2(`<xsl:analyze-string select="." regex="a"><xsl:fallback>x</xsl:fallback></xsl:analyze-string>`), "xsl:analyze-string (XSLT 2.0) is not supported"},
		{"xsl:analyze-string in a 1.0 stylesheet", tmpl(`<xsl:analyze-string select="." regex="a"/>`), "xsl:analyze-string (XSLT 2.0) is not supported"},
		{"xsl:sequence", tmpl2(`<xsl:sequence select="1"/>`), "xsl:sequence (XSLT 2.0) is not supported"},
		{"xsl:next-match", sheet2(`<xsl:template match="*"><xsl:next-match/></xsl:template>`), "xsl:next-match (XSLT 2.0) is not supported"},
		{"xsl:perform-sort", tmpl2(`<xsl:perform-sort select="*"><xsl:sort/></xsl:perform-sort>`), "xsl:perform-sort (XSLT 2.0) is not supported"},
		{"xsl:result-document", tmpl2(`<xsl:result-document href="a.xml"/>`), "xsl:result-document (XSLT 2.0) is not supported"},
		{"xsl:iterate", tmpl2(`<xsl:iterate select="*"/>`), "xsl:iterate (XSLT 3.0) is not supported"},
		{"xsl:try", tmpl2(`<xsl:try><xsl:catch/></xsl:try>`), "xsl:try (XSLT 3.0) is not supported"},
		{"xsl:evaluate", tmpl2(`<xsl:evaluate xpath="'1'"/>`), "xsl:evaluate (XSLT 3.0) is not supported"},
		{"use-when", sheet2(`<xsl:template match="/" use-when="true()"/>`), "<xsl:template>: use-when (XSLT 2.0) is not supported by this runtime"},
		{"xsl:use-when on a literal result element", tmpl2(`<out xsl:use-when="true()"/>`), "<out>: xsl:use-when (XSLT 2.0) is not supported"},
		{"expand-text", tmpl2(`<out xsl:expand-text="yes">{.}</out>`), `xsl:expand-text="yes" (XSLT 3.0) is not supported by this runtime (only no, false, 0)`},
		{"character maps in xsl:output", sheet2(`<xsl:output use-character-maps="m"/>`), "use-character-maps (XSLT 2.0) is not supported"},
		{"named xsl:output", sheet2(`<xsl:output name="other" method="text"/>`), "<xsl:output>: name (XSLT 2.0) is not supported"},
		{"xhtml output method", sheet2(`<xsl:output method="xhtml"/>`), `output method "xhtml" is not supported`},
		{"byte-order-mark", sheet2(`<xsl:output byte-order-mark="yes"/>`), `byte-order-mark="yes" (XSLT 2.0) is not supported`},
		{"tunnel parameter", sheet2(`<xsl:template name="t"><xsl:param name="p" tunnel="yes"/></xsl:template>`), `tunnel="yes" (XSLT 2.0) is not supported`},
		{"required parameter", sheet2(`<xsl:param name="p" required="yes"/>`), `required="yes" (XSLT 2.0) is not supported`},
		{"sort collation", tmpl2(`<xsl:for-each select="*"><xsl:sort collation="http://example.com/c"/></xsl:for-each>`), `collation="http://example.com/c" (XSLT 2.0) is not supported`},
		{"group collation", tmpl2(`<xsl:for-each-group select="*" group-by="." collation="urn:c"/>`), `collation="urn:c" (XSLT 2.0) is not supported`},
		{"schema type", tmpl2(`<xsl:element name="e" type="xs:string"/>`), "<xsl:element>: type (XSLT 2.0) is not supported"},
		{"xsl:number select", tmpl2(`<xsl:number select="*"/>`), "<xsl:number>: select (XSLT 2.0) is not supported"},
		{"xsl:copy select", tmpl2(`<xsl:copy select="*"/>`), "<xsl:copy>: select (XSLT 3.0) is not supported"},
		{"inherit-namespaces", tmpl2(`<xsl:element name="e" inherit-namespaces="no"/>`), `inherit-namespaces="no" (XSLT 2.0) is not supported`},
		{"default collation", sheet2(`<xsl:template match="/" default-collation="urn:c"/>`), `default-collation="urn:c" (XSLT 2.0) is not supported`},
		{"as xs:date", tmpl2(`<xsl:variable name="d" as="xs:date" select="'2024-01-01'"/>`), `<xsl:variable>: as="xs:date" (XSLT 2.0) is not supported by this runtime: xs:date values do not exist`},
		{"as a sequence of numbers", tmpl2(`<xsl:variable name="d" as="xs:integer*" select="1"/>`), `a sequence of xs:integer values`},
		{"as attributes from content", tmpl2(`<xsl:variable name="d" as="attribute()*"><xsl:attribute name="a"/></xsl:variable>`), "content can only make nodes of type"},
		{"as an unknown type", tmpl2(`<xsl:variable name="d" as="map(*)" select="1"/>`), "not a sequence type this processor knows"},
		{"format-dateTime()", tmpl2(`<xsl:value-of select="format-dateTime(current-dateTime(), '[Y]')"/>`), "<xsl:value-of>: select: invalid XPath"},
		{"format-dateTime() named", tmpl2(`<xsl:value-of select="format-dateTime(current-dateTime(), '[Y]')"/>`), "format-dateTime() (XPath 2.0) is not supported by this runtime"},
		{"distinct-values()", tmpl2(`<xsl:value-of select="distinct-values(//a)"/>`), "distinct-values() (XPath 2.0) is not supported by this runtime"},
		{"xs: cast", tmpl2(`<xsl:value-of select="xs:integer('1')"/>`), "the constructor function xs:integer() (XPath 2.0 casts) is not supported by this runtime"},
		{"sequence expression", tmpl2(`<xsl:value-of select="(1, 2)"/>`), "sequence expressions (a, b) (XPath 2.0) are not supported by this runtime"},
		{"value comparison", tmpl2(`<xsl:if test="@a eq 'x'"/>`), "the value comparison eq (XPath 2.0) is not supported by this runtime"},
		{"for expression", tmpl2(`<xsl:value-of select="for $i in //a return $i"/>`), "for/some/every … in (XPath 2.0) is not supported"},
		{"range", tmpl2(`<xsl:for-each select="1 to 3"/>`), "the range operator to (XPath 2.0) is not supported"},
		{"except", tmpl2(`<xsl:copy-of select="//a except //b"/>`), "the operator except (XPath 2.0) is not supported"},
		{"tokenize on empty matches", tmpl2(`<xsl:value-of select="tokenize('abc', 'x*')"/>`), `tokenize(): the pattern "x*" matches a zero-length string`},
		{"two grouping attributes", tmpl2(`<xsl:for-each-group select="*" group-by="." group-adjacent="."/>`), "needs exactly one of group-by, group-adjacent, group-starting-with and group-ending-with"},
		{"no grouping attribute", tmpl2(`<xsl:for-each-group select="*"/>`), "needs exactly one of group-by"},
		{"empty value-of", tmpl2(`<xsl:value-of/>`), "<xsl:value-of>: the select attribute is required"},
		{"select and content", tmpl2(`<out><xsl:attribute name="a" select="1">2</xsl:attribute></out>`), "<xsl:attribute>: has both a select attribute and content"},
		{"mode without modes", sheet2(`<xsl:template match="*" mode=" "/>`), "mode must name at least one mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]byte(tc.src), Options{})
			var ce *CompileError
			require.ErrorAs(t, err, &ce)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestForwardsCompatible: a stylesheet with a version other than 1.0 runs
// in forwards-compatible mode (XSLT 1.0 section 2.5): unknown top-level
// elements and attributes are ignored, an unknown instruction runs its
// xsl:fallback, and without one fails only when instantiated. The
// effective version is the nearest version attribute, so a version="1.0"
// region of a 2.0 stylesheet keeps XSLT 1.0's first-node value-of.
func TestForwardsCompatible(t *testing.T) {
	input := []byte(`<r><a>1</a><a>2</a></r>`)
	cases := []struct {
		name, src string
		want      string // output, or the run-time error
	}{
		{"unknown top-level element", sheet2(`<xsl:frobnicate><xsl:whatever/></xsl:frobnicate><xsl:template match="/"><out/></xsl:template>`), `<out/>`},
		{"unknown attributes", sheet2(`<xsl:output method="text" version="1.0" future="1"/><xsl:template match="/" future="2"><xsl:value-of select="count(//a)" future="3"/></xsl:template>`), `2`},
		{"unknown literal xsl: attribute", tmpl2(`<out xsl:future="1"/>`), `<out/>`},
		{"unknown instruction never instantiated", tmpl2(`<out><xsl:if test="false()"><xsl:frobnicate/></xsl:if></out>`), `<out/>`},
		{"unknown instruction with fallbacks", tmpl2(`<out><xsl:frobnicate select="a"><x/><xsl:fallback>one </xsl:fallback><xsl:fallback><xsl:value-of select="count(//a)"/></xsl:fallback></xsl:frobnicate></out>`), `<out>one 2</out>`},
		{"fallback in a known instruction", tmpl2(`<out><xsl:if test="1"><xsl:fallback>never</xsl:fallback>yes</xsl:if></out>`), `<out>yes</out>`},
		{"unknown instruction instantiated", tmpl2(`<out><xsl:frobnicate/></out>`), `line 2: <xsl:frobnicate>: xsl:frobnicate is not an instruction this processor knows, and it has no xsl:fallback`},
		{"extension element with fallback", tmpl(`<out xmlns:e="urn:e" xsl:extension-element-prefixes="e"><e:log><xsl:fallback>no log</xsl:fallback></e:log></out>`), `<out xmlns:ext="urn:ext">no log</out>`},
		{"xsl:version on a literal result element", tmpl(`<out xsl:version="2.0"><xsl:frobnicate><xsl:fallback><xsl:value-of select="//a"/></xsl:fallback></xsl:frobnicate></out>`), `<out xmlns:ext="urn:ext">1 2</out>`},
		{"version 1.0 region of a 2.0 stylesheet", tmpl2(`<out><all><xsl:value-of select="//a"/></all><first xsl:version="1.0" n="{//a}"><xsl:value-of select="//a"/></first></out>`), `<out><all>1 2</all><first n="1">1</first></out>`},
		{"version attribute on an XSLT element", sheet2(`<xsl:template match="/" version="1.0"><out><xsl:value-of select="//a"/></out></xsl:template>`), `<out>1</out>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile([]byte(tc.src), Options{})
			require.NoError(t, err)
			res, err := s.Transform(context.Background(), input, nil)
			if strings.HasPrefix(tc.want, "line ") {
				var re *RuntimeError
				require.ErrorAs(t, err, &re)
				require.Contains(t, err.Error(), tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, strings.TrimPrefix(strings.TrimPrefix(string(res.Output), `<?xml version="1.0" encoding="UTF-8"?>`), "\n"))
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
		{"current-group outside a group", tmpl2(`<xsl:value-of select="count(current-group())"/>`), "current-group(): there is no current group"},
		{"no grouping key", tmpl2(`<xsl:for-each-group select="//a" group-starting-with="a"><xsl:value-of select="current-grouping-key()"/></xsl:for-each-group>`), "current-grouping-key(): there is no current grouping key"},
		{"two adjacent keys", tmpl2(`<xsl:for-each-group select="//a" group-adjacent="(//a)"><x/></xsl:for-each-group>`), "group-adjacent must give one value for each item, not 2"},
		{"namespace after children", tmpl2(`<out><x/><xsl:namespace name="p" select="'urn:p'"/></out>`), "cannot add namespace p to <out> after its children"},
		{"namespace outside an element", tmpl2(`<xsl:namespace name="p" select="'urn:p'"/>`), "there is no element to add it to"},
		{"conflicting namespace", tmpl2(`<p:out xmlns:p="urn:one"><xsl:namespace name="p" select="'urn:two'"/></p:out>`), "namespace p=urn:two conflicts with p=urn:one on <p:out>"},
		{"empty namespace URI", tmpl2(`<out><xsl:namespace name="p"/></out>`), "the namespace URI is empty"},
		{"bad namespace prefix", tmpl2(`<out><xsl:namespace name="{'1p'}" select="'urn:p'"/></out>`), `xsl:namespace name "1p" is not a prefix`},
		{"as integer", sheet2(`<xsl:param name="n" as="xs:integer" select="'abc'"/><xsl:template match="/"><xsl:value-of select="$n"/></xsl:template>`), `"abc" is not an xs:integer`},
		{"as boolean", tmpl2(`<xsl:variable name="b" as="xs:boolean" select="//a[2]"/><xsl:value-of select="$b"/>`), `"2" is not an xs:boolean`},
		{"as one string", tmpl2(`<xsl:variable name="s" as="xs:string" select="//a"/><xsl:value-of select="$s"/>`), "a sequence of 2 items is not allowed as xs:string"},
		{"as a required string", tmpl2(`<xsl:variable name="s" as="xs:string" select="//nothing"/><xsl:value-of select="$s"/>`), "the empty sequence is not allowed as xs:string"},
		{"templates for tokens", tmpl2(`<xsl:apply-templates select="tokenize('a b', ' ')"/>`), "applying templates to atomic values (from tokenize()) is not supported by this runtime"},
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
