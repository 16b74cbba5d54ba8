// Package xslt is a pure-Go XSLT 1.0 processor with the parts of XSLT 2.0
// that real Apigee bundles use, written for the XSL policy: it transforms
// XML message payloads the way those bundles do (reshape, rename, filter,
// group, strip namespaces, add attributes, emit text or JSON-like text).
// Compile a stylesheet once, then Transform concurrently; a compiled
// Stylesheet is immutable.
//
// # Why pure Go, and how it is checked
//
// Apigee runs XSL policies on Saxon, a Java processor. This package is
// written in Go so that the message processor stays a static, cgo-free
// binary with no JVM beside it (no second runtime to ship, start, size and
// patch in the container, no process or JNI bridge on the request path).
// Saxon-HE is the oracle in tests instead: `make oracle` (scripts/oracle.sh
// fetches Saxon-HE from Maven Central; oracle_test.go, build tag oracle)
// runs every golden case through Saxon, which runs version="1.0"
// stylesheets in its backwards-compatible mode as Apigee does and later
// versions as XSLT 3.0, and compares the output byte for byte with the
// golden file, after
// normalising only what no XML parser can see inside start tags: white
// space between attributes (Saxon wraps long tags) and the order of
// namespace declarations (Saxon sorts them by prefix). The cases where
// this package keeps XSLT 1.0 behaviour instead of Saxon's are listed, with
// the reason, in testdata/oracle-deviations.txt: XPath 1.0 number-to-string
// (Saxon prints 1.0E12, INF, -0 and 3.6288E6 for a product of integers,
// where XPath 1.0 says 1000000000000, Infinity, 0 and 3628800), numbers
// without exponents, and what system-property, function-available and
// element-available report about this processor.
//
// # Why not github.com/antchfx/xpath
//
// XSLT binds variables and parameters inside XPath expressions and adds
// functions (current, key, generate-id, format-number…). antchfx/xpath
// v1.3.9 rejects every $variable at compile time and has no function
// registry, so this package has its own XPath 1.0 lexer, parser and
// evaluator (xpath_*.go) over its own tree, which keeps the XPath data
// model exactly: document order, merged adjacent text and CDATA, no
// namespace declarations among the attributes, attribute nodes with
// parents. Input is parsed with encoding/xml; only the predefined
// entities exist, so no external entity is ever resolved.
//
// antchfx/xpath (with antchfx/xmlquery) is still used elsewhere in the
// runtime, by the ExtractVariables policy (XMLPayload variables, including
// type="nodeset", which serialises the nodes) and by
// RegularExpressionProtection (XMLPayload/XPath string values); both
// compile plain XPath 1.0 with a prefix-to-namespace map and no variables,
// which this package's evaluator already covers, so a second engine is not
// needed. Using one engine would take: an exported API here (compile an
// expression with a namespace map; parse a document with this package's
// parser; evaluate to a string, number, boolean or node list, with each
// node's string value and its XML serialisation), then porting those two
// call sites with tests for where the engines differ (number formatting,
// namespace nodes, functions antchfx adds beyond XPath 1.0, how each
// serialises a node-set), then dropping both modules from go.mod. The gain
// is one set of XPath semantics and one hardened XML parser for every
// policy.
//
// # XSLT 2.0, as bundles write it
//
// Apigee's Saxon accepts XSLT 2.0 (and 3.0), so public bundles declare
// version="2.0", mostly on stylesheets that only use XSLT 1.0, and use
// the XSLT 2.0 that is handy: a survey of 35 public bundle stylesheets
// (testdata/README.md) found version="2.0" in 15, *:local name tests in
// 11, xsl:namespace in 3 (all in version="1.0" stylesheets, which Saxon
// accepts), xsl:for-each-group in 1, and none of the 2.0 functions,
// casts, sequence expressions or xsl:function. So:
//
//   - A version other than 1.0 runs in forwards-compatible mode (XSLT 1.0
//     section 2.5): unknown top-level elements and unknown attributes of
//     XSLT elements are ignored, and an unknown instruction runs its
//     xsl:fallback children or, without any, fails when instantiated
//     (only then). The effective version is the nearest version attribute
//     (xsl:version on literal result elements), so a region can differ.
//   - In a version 2.0 (or later) scope the processor gives the XSLT 2.0
//     behaviours it implements, where XSLT 1.0 differs: xsl:value-of and
//     attribute value templates write every item of a node-set, space
//     separated (separator="…" on xsl:value-of and xsl:attribute), not
//     the first; adjacent atomic values written by xsl:copy-of are
//     separated by a space; arithmetic and round/floor/ceiling/abs on an
//     empty node-set give the empty sequence (written as nothing, not
//     NaN); and a number computed from a node's value (arithmetic on it,
//     number(), sum()) is an xs:double, which prints with an exponent from
//     1e6 up and below 1e-6 (1.0E6) while integers (literals, count(),
//     arithmetic on them) do not, as in Saxon. A version="1.0" scope keeps
//     XPath 1.0, as Saxon's backwards-compatible mode does.
//   - XSLT 2.0 implemented, whatever the version: xsl:namespace;
//     xsl:for-each-group (group-by, group-adjacent, group-starting-with,
//     group-ending-with, xsl:sort on groups, current-group(),
//     current-grouping-key()); select on xsl:attribute, xsl:comment,
//     xsl:processing-instruction and xsl:message; xsl:value-of with
//     content; copy-namespaces="no" on xsl:copy and xsl:copy-of;
//     xpath-default-namespace; exclude-result-prefixes on any XSLT
//     element; template modes as a list, #all, #default, and
//     apply-templates mode="#current"; as="…" on variables and parameters
//     for xs:string (and its kin, with * or + for tokens), the numeric
//     types, xs:boolean and node types (a policy parameter is a string:
//     as="xs:integer" converts it); *:local name tests; if … then … else;
//     (); fn: function names; tokenize (tokens are text nodes marked as
//     atomic values); and Saxon's namespace fix-up when a namespace node
//     takes the prefix of the element's name.
//   - XSLT 2.0 and 3.0 refused at compile time, naming the construct and
//     its version ("xsl:analyze-string (XSLT 2.0) is not supported by this
//     runtime"), whatever the version and even with an xsl:fallback
//     (Saxon runs the instruction, not the fallback, so running the
//     fallback would change the output silently): the other XSLT 2.0 and
//     3.0 elements (xsl:function, xsl:sequence, xsl:analyze-string,
//     xsl:next-match, xsl:perform-sort, xsl:result-document,
//     xsl:character-map, xsl:import-schema, xsl:iterate, xsl:try,
//     xsl:mode…), use-when, expand-text="yes", tunnel and required
//     parameters, collations other than Unicode code points, schema types,
//     character maps and named outputs; the XPath 2.0 and 3.0 functions
//     not listed above (format-dateTime, distinct-values…), xs: casts,
//     sequence expressions (a, b), for/some/every, value comparisons (eq…),
//     to, intersect, except, instance of and cast as.
//
// Not emulated: XPath 2.0 decimal arithmetic (10 div 3 is a double here,
// 3.3333333333333335, where Saxon prints the xs:decimal
// 3.333333333333333333), and XPath 2.0's type errors (a string where a
// number is expected, several nodes where one is) run here with XPath
// 1.0's conversions instead of failing.
//
// # Supported
//
//   - xsl:stylesheet / xsl:transform with any version (see above), and
//     simplified stylesheets (a literal result element with xsl:version).
//   - Top level: xsl:output (method xml|html|text, indent, encoding
//     UTF-8|ISO-8859-1|US-ASCII, omit-xml-declaration, standalone,
//     doctype-public/system, cdata-section-elements, media-type),
//     xsl:template (match, name, mode, priority), xsl:param and
//     xsl:variable (select or content, evaluated lazily, cycles rejected
//     at compile time), xsl:key, xsl:attribute-set, xsl:decimal-format,
//     xsl:strip-space / xsl:preserve-space, and foreign-namespace top-level
//     elements (ignored, as XSLT says).
//   - Instructions: apply-templates (select, mode, with-param, sort),
//     call-template (with-param), apply-imports (the built-in rules, as
//     there are no imports), for-each (+ sort: select, order, data-type
//     text|number, case-order; attribute value templates allowed),
//     value-of and text (disable-output-escaping), copy (use-attribute-
//     sets), copy-of, if, choose/when/otherwise, variable, element and
//     attribute (name and namespace as value templates), literal result
//     elements with attribute value templates ({…}, {{ and }}),
//     xsl:use-attribute-sets, exclude-result-prefixes (#default, #all),
//     comment, processing-instruction, number (level single|multiple|any,
//     count, from, value, format tokens 1 01 a A i I, grouping), message
//     (terminate="yes" fails the transformation), fallback (ignored).
//   - Template rules: patterns with predicates, '|', '//', id() and key();
//     XSLT 1.0 default priorities (0, -0.25, -0.5, 0.5); explicit priority;
//     among equal priorities the last rule in the stylesheet wins (what
//     Saxon and libxslt do); modes; the built-in rules.
//   - XPath 1.0: every axis but namespace, all node tests, predicates,
//     the full operator set with XPath 1.0 comparison and conversion rules,
//     the core function library, XSLT's current, key, generate-id,
//     format-number (Java DecimalFormat semantics, half-even rounding),
//     system-property, element-available, function-available,
//     unparsed-entity-uri; id() finds xml:id attributes (there is no DTD).
//     The namespace axis only as xsl:copy-of select="namespace::*", the
//     form stylesheets generated for SOAP backends use.
//     Result tree fragments may be used as node-sets, and exsl:node-set /
//     msxsl:node-set are available.
//   - XPath 2.0 functions that Saxon (Apigee's processor) also accepts in
//     version="1.0" stylesheets: upper-case, lower-case, ends-with,
//     matches, replace and tokenize (RE2 syntax, flags i s m x),
//     string-join, abs, current-dateTime, current-date.
//   - Serialization: namespace fix-up (declarations added or undeclared
//     where the result needs them, prefixes invented for attributes in a
//     namespace without one), XML escaping, character references for what
//     the encoding cannot hold, html method (void elements, boolean
//     attributes, raw script/style, &nbsp;, a meta content-type in head,
//     & before { left alone in attributes), and Saxon's layout: its
//     indentation rules and three spaces (see indenting in serialize.go;
//     html text is not re-flowed as Saxon does), its DOCTYPE on two lines,
//     its character references (&#34; in attributes, lower-case
//     hexadecimal for characters the encoding cannot hold) and a newline
//     at the end of an indented XML document.
//
// # Not supported (all compile errors naming the line and element)
//
// xsl:import and xsl:include (Apigee does not support them either),
// xsl:namespace-alias, document(), the namespace axis (but the form
// above), extension elements without xsl:fallback and extension functions
// other than node-set, the XSLT 2.0 and 3.0 listed above, output methods
// other than xml/html/text, encodings other than UTF-8, ISO-8859-1 and
// US-ASCII, xsl:decimal-format with a zero-digit other than 0. Variables,
// params and call-template targets are resolved at compile time; an
// unknown attribute on an XSLT element (a typo) is an error in a
// version="1.0" stylesheet, as XSLT 1.0 requires outside
// forwards-compatible mode. Unknown functions and XPath syntax errors are
// compile errors in every version (XSLT 1.0 would defer them in
// forwards-compatible mode; Saxon reports them statically too).
//
// # Run-time behaviour
//
// Errors at run time are *RuntimeError with the line and instruction
// (xsl:message terminate, an attribute or namespace added after an
// element's children or outside an element, a path applied to a string,
// a value as="…" cannot convert, current-group() outside a group, an
// unknown instruction without fallback, recursion deeper than
// Options.MaxDepth); a malformed input wraps ErrMalformed. Transform checks
// its context while running, so a deadline stops a runaway stylesheet.
// Sorting text compares Unicode code points, Saxon's default collation;
// with lang or case-order on xsl:sort it compares case-insensitively
// first, then lower case first (case-order="upper-first" reverses that),
// approximating the Java Collator Saxon then uses. XSLT leaves the
// collation to the processor.
package xslt
