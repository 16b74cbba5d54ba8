// Package xslt is a pure-Go XSLT 1.0 processor, written for the XSL
// policy: it transforms XML message payloads the way real Apigee bundles
// do (reshape, rename, filter, strip namespaces, add attributes, emit
// text or JSON-like text). Compile a stylesheet once, then Transform
// concurrently; a compiled Stylesheet is immutable.
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
// # Supported
//
//   - xsl:stylesheet / xsl:transform with version="1.0", and simplified
//     stylesheets (a literal result element with xsl:version="1.0").
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
//     Result tree fragments may be used as node-sets, and exsl:node-set /
//     msxsl:node-set are available.
//   - XPath 2.0 string functions that Saxon (Apigee's processor) also
//     accepts in version="1.0" stylesheets: upper-case, lower-case,
//     ends-with, matches, replace (RE2 syntax, flags i s m x), string-join
//     over a node-set, abs, current-dateTime, current-date.
//   - Serialization: namespace fix-up (declarations added or undeclared
//     where the result needs them, prefixes invented for attributes in a
//     namespace without one), XML escaping, character references for what
//     the encoding cannot hold, html method (void elements, boolean
//     attributes, raw script/style, &nbsp;, a meta content-type in head,
//     & before { left alone in attributes), indentation of element-only
//     content with Saxon's three spaces (html: inline elements stay on
//     their line), no newline after the XML declaration unless indenting.
//
// # Not supported (all compile errors naming the line and element)
//
// xsl:import and xsl:include (Apigee does not support them either),
// xsl:namespace-alias, document(), the namespace axis, version other than
// 1.0, extension elements and extension functions other than node-set,
// tokenize() and other sequence-valued XPath 2.0 functions, output
// methods other than xml/html/text, encodings other than UTF-8,
// ISO-8859-1 and US-ASCII, xsl:decimal-format with a zero-digit other
// than 0. Variables, params and call-template targets are resolved at
// compile time; an unknown attribute on an XSLT element (a typo) is an
// error, as XSLT 1.0 requires outside forwards-compatible mode.
//
// # Run-time behaviour
//
// Errors at run time are *RuntimeError with the line and instruction
// (xsl:message terminate, an attribute added after an element's children
// or outside an element, a path applied to a string, recursion deeper than
// Options.MaxDepth); a malformed input wraps ErrMalformed. Transform checks
// its context while running, so a deadline stops a runaway stylesheet.
// Sorting text uses a case-insensitive comparison with lower case first
// (case-order="upper-first" reverses that), approximating the Java
// Collator Saxon uses; XSLT leaves the collation to the processor.
package xslt
