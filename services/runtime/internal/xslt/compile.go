package xslt

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// CompileError is a stylesheet that cannot run: the line, the element and
// why.
type CompileError struct {
	Line    int
	Element string // e.g. "xsl:template" or "out:item"
	Msg     string
}

func (e *CompileError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Element != "" {
		b.WriteString("<" + e.Element + ">: ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func errAt(el *node, format string, args ...any) error {
	ce := &CompileError{Msg: fmt.Sprintf(format, args...)}
	if el != nil {
		ce.Line, ce.Element = el.line, el.qname()
	}
	return ce
}

// Options tune a compiled stylesheet.
type Options struct {
	// MaxDepth bounds nested template calls (and so recursion); 0 means
	// DefaultMaxDepth.
	MaxDepth int
}

// DefaultMaxDepth is the default bound on nested template invocations.
const DefaultMaxDepth = 5000

// Stylesheet is a compiled stylesheet. It is immutable and safe for
// concurrent use.
type Stylesheet struct {
	output         outputSpec
	modes          map[qname]*modeRules
	named          map[qname]*template
	globals        []*globalVar
	globalIdx      map[qname]int
	keys           map[qname][]*keyDef
	decimalFormats map[qname]*decimalFormat
	attrSets       map[qname]*attrSet
	space          []spaceRule
	maxDepth       int
}

type template struct {
	match    *pattern
	name     qname
	named    bool
	modes    []qname // the modes of a template rule (XSLT 2.0 allows several)
	allModes bool    // mode="#all" (XSLT 2.0)
	priority *float64
	params   []*paramDef
	body     seq
	nslots   int
	index    int
	line     int
}

type paramDef struct {
	name qname
	slot int
	sel  expr
	body seq
	as   *seqType // XSLT 2.0 as="…", or nil
}

type globalVar struct {
	name   qname
	param  bool
	sel    expr
	body   seq
	as     *seqType
	nslots int
	el     *node
	refs   []int
}

type keyDef struct {
	match *pattern
	use   expr
}

type attrSet struct {
	name   qname
	uses   []qname
	body   seq
	nslots int
	el     *node
}

type spaceRule struct {
	test  nodeTest
	prio  float64
	strip bool
}

// instructions are the XSLT 1.0 instructions this processor runs (for
// element-available()).
var instructions = map[string]bool{
	"apply-templates": true, "call-template": true, "apply-imports": true, "for-each": true,
	"value-of": true, "copy-of": true, "number": true, "choose": true, "if": true, "text": true,
	"copy": true, "variable": true, "message": true, "fallback": true, "processing-instruction": true,
	"comment": true, "element": true, "attribute": true,
	// XSLT 2.0 instructions this processor implements.
	"namespace": true, "for-each-group": true,
}

// allowedAttrs lists the XSLT 1.0 attributes of each XSLT element (and
// of the XSLT 2.0 instructions this processor implements); laterAttrs
// lists those XSLT 2.0 and 3.0 add. Any other attribute (a typo such as
// selct=) is a compile error, as XSLT 1.0 requires outside forwards-
// compatible mode, and ignored in forwards-compatible mode.
var allowedAttrs = map[string][]string{
	"namespace":              {"name", "select"},
	"for-each-group":         {"select", "group-by", "group-adjacent", "group-starting-with", "group-ending-with", "collation"},
	"stylesheet":             {"id", "version", "extension-element-prefixes", "exclude-result-prefixes"},
	"output":                 {"method", "version", "encoding", "omit-xml-declaration", "standalone", "doctype-public", "doctype-system", "cdata-section-elements", "indent", "media-type"},
	"template":               {"match", "name", "priority", "mode"},
	"apply-templates":        {"select", "mode"},
	"call-template":          {"name"},
	"apply-imports":          {},
	"for-each":               {"select"},
	"value-of":               {"select", "disable-output-escaping"},
	"copy-of":                {"select"},
	"number":                 {"level", "count", "from", "value", "format", "lang", "letter-value", "grouping-separator", "grouping-size"},
	"choose":                 {},
	"when":                   {"test"},
	"otherwise":              {},
	"if":                     {"test"},
	"text":                   {"disable-output-escaping"},
	"copy":                   {"use-attribute-sets"},
	"variable":               {"name", "select"},
	"param":                  {"name", "select"},
	"with-param":             {"name", "select"},
	"message":                {"terminate"},
	"fallback":               {},
	"processing-instruction": {"name"},
	"comment":                {},
	"element":                {"name", "namespace", "use-attribute-sets"},
	"attribute":              {"name", "namespace"},
	"sort":                   {"select", "lang", "data-type", "order", "case-order"},
	"key":                    {"name", "match", "use"},
	"decimal-format":         {"name", "decimal-separator", "grouping-separator", "infinity", "minus-sign", "NaN", "percent", "per-mille", "zero-digit", "digit", "pattern-separator"},
	"attribute-set":          {"name", "use-attribute-sets"},
	"strip-space":            {"elements"},
	"preserve-space":         {"elements"},
}

// Values of XSLT 2.0 and 3.0 attributes that change nothing here.
var (
	yesValues = []string{"yes", "true", "1"}
	noValues  = []string{"no", "false", "0"}
	// codepoint is the Unicode code point collation: how this processor
	// compares strings, and Saxon's default.
	codepoint = []string{"http://www.w3.org/2005/xpath-functions/collation/codepoint"}
	stripping = []string{"strip", "preserve"}
)

// laterAttr is an attribute XSLT 2.0 or 3.0 added to an XSLT element.
type laterAttr struct {
	since string
	// values are the values accepted (defaults, or values that change
	// nothing in this processor); nil means the processor implements the
	// attribute, an empty non-nil list that no value is supported.
	values []string
}

var implemented = laterAttr{since: "2.0"}

func refused(since string) laterAttr { return laterAttr{since, []string{}} }

func accepted(since string, values ...[]string) laterAttr {
	var all []string
	for _, v := range values {
		all = append(all, v...)
	}
	return laterAttr{since, all}
}

// laterAttrs are the attributes XSLT 2.0 and 3.0 add to XSLT elements
// ("*": to every XSLT element, and with the xsl: prefix to literal result
// elements). Saxon, Apigee's processor, knows them in every stylesheet,
// version="1.0" included, so one this processor cannot honour is refused
// rather than ignored: ignoring it would change the output silently.
var laterAttrs = map[string]map[string]laterAttr{
	"*": {
		"version": implemented, "exclude-result-prefixes": implemented, "extension-element-prefixes": implemented,
		"xpath-default-namespace": implemented, "default-collation": accepted("2.0", codepoint),
		"use-when": refused("2.0"), "default-validation": accepted("2.0", stripping),
		"default-mode": accepted("3.0", []string{"#unnamed"}), "expand-text": accepted("3.0", noValues),
	},
	"stylesheet": {
		"input-type-annotations": accepted("2.0", []string{"unspecified", "strip", "preserve"}),
		"declared-modes":         accepted("3.0", noValues),
	},
	"output": {
		"byte-order-mark": accepted("2.0", noValues), "escape-uri-attributes": accepted("2.0", yesValues, noValues),
		"include-content-type": accepted("2.0", yesValues), "normalization-form": accepted("2.0", []string{"none"}),
		"undeclare-prefixes": accepted("2.0", noValues), "use-character-maps": refused("2.0"), "name": refused("2.0"),
		"html-version": accepted("3.0", []string{"4", "4.0", "4.01"}), "item-separator": refused("3.0"),
		"suppress-indentation": refused("3.0"), "parameter-document": refused("3.0"),
		"json-node-output-method": refused("3.0"), "allow-duplicate-names": accepted("3.0", noValues),
		"build-tree": accepted("3.0", yesValues),
	},
	"template":               {"as": implemented, "visibility": accepted("3.0", []string{"public", "private", "final"})},
	"variable":               {"as": implemented, "static": accepted("3.0", noValues), "visibility": accepted("3.0", []string{"public", "private", "final"})},
	"param":                  {"as": implemented, "required": accepted("2.0", noValues), "tunnel": accepted("2.0", noValues), "static": accepted("3.0", noValues)},
	"with-param":             {"as": implemented, "tunnel": accepted("2.0", noValues)},
	"value-of":               {"separator": implemented},
	"attribute":              {"select": implemented, "separator": implemented, "type": refused("2.0"), "validation": accepted("2.0", stripping)},
	"element":                {"inherit-namespaces": accepted("2.0", yesValues), "type": refused("2.0"), "validation": accepted("2.0", stripping), "on-empty": refused("3.0")},
	"copy":                   {"copy-namespaces": implemented, "inherit-namespaces": accepted("2.0", yesValues), "type": refused("2.0"), "validation": accepted("2.0", stripping), "select": refused("3.0"), "on-empty": refused("3.0")},
	"copy-of":                {"copy-namespaces": implemented, "type": refused("2.0"), "validation": accepted("2.0", stripping), "copy-accumulators": accepted("3.0", noValues)},
	"comment":                {"select": implemented},
	"processing-instruction": {"select": implemented},
	"message":                {"select": implemented, "error-code": refused("3.0")},
	"sort":                   {"collation": accepted("2.0", codepoint), "stable": accepted("2.0", yesValues, noValues)},
	"key":                    {"collation": accepted("2.0", codepoint), "composite": accepted("3.0", noValues)},
	"number":                 {"select": refused("2.0"), "ordinal": refused("2.0"), "start-at": accepted("3.0", []string{"1"})},
	"attribute-set":          {"visibility": accepted("3.0", []string{"public", "private", "final"}), "streamable": accepted("3.0", noValues)},
	"decimal-format":         {"exponent-separator": accepted("3.0", []string{"e"})},
}

// laterInstructions are the XSLT 2.0 and 3.0 elements this processor does
// not implement, with the version that added them. Saxon runs them, and
// runs them rather than their xsl:fallback, so a stylesheet using one is
// refused at compile time, fallback or not.
var laterInstructions = func() map[string]string {
	m := map[string]string{}
	for v, names := range map[string]string{
		"2.0": "analyze-string matching-substring non-matching-substring function sequence next-match " +
			"perform-sort result-document document character-map output-character import-schema",
		"3.0": "iterate next-iteration break on-completion try catch evaluate map map-entry array " +
			"array-member merge merge-source merge-key merge-action fork where-populated on-empty " +
			"on-non-empty source-document stream assert accumulator accumulator-rule mode package " +
			"use-package expose accept override global-context-item context-item",
	} {
		for _, n := range strings.Fields(names) {
			m[n] = v
		}
	}
	return m
}()

type compiler struct {
	sheet     *Stylesheet
	root      *node // xsl:stylesheet element (nil for a simplified stylesheet)
	excluded  map[string]bool
	extension map[string]bool
	templates []*template
	calls     []*callTemplate
	setUses   []setUse
	// applyModes are the modes xsl:apply-templates names (for templates
	// with mode="#all").
	applyModes map[qname]bool
	// current global being compiled (for cycle detection), or -1.
	currentGlobal int
}

type setUse struct {
	el   *node
	name qname
}

// scopeVar is a local variable or parameter in scope.
type scopeVar struct {
	name qname
	slot int
}

// bodyCtx is the variable scope of a template (or global, or attribute
// set) body being compiled.
type bodyCtx struct {
	vars   []scopeVar
	nslots int
}

func (bc *bodyCtx) declare(el *node, name qname) (int, error) {
	for _, v := range bc.vars {
		if v.name == name {
			return 0, errAt(el, "variable $%s shadows a variable of the same name in the same template", name)
		}
	}
	slot := bc.nslots
	bc.nslots++
	bc.vars = append(bc.vars, scopeVar{name: name, slot: slot})
	return slot, nil
}

// Compile compiles a stylesheet: XSLT 1.0 and the XSLT 2.0 the package
// doc lists. Everything the processor does not support fails here, naming
// the line and element.
func Compile(src []byte, opts Options) (*Stylesheet, error) {
	doc, err := parseXML(src, parseOptions{lines: true})
	if err != nil {
		return nil, &CompileError{Msg: "the stylesheet is not well-formed XML: " + strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": ")}
	}
	var top *node
	for _, k := range doc.children {
		if k.kind == elementNode {
			top = k
		}
	}
	s := &Stylesheet{
		modes:          map[qname]*modeRules{},
		named:          map[qname]*template{},
		globalIdx:      map[qname]int{},
		keys:           map[qname][]*keyDef{},
		decimalFormats: map[qname]*decimalFormat{{}: defaultDecimalFormat()},
		attrSets:       map[qname]*attrSet{},
		maxDepth:       opts.MaxDepth,
	}
	if s.maxDepth <= 0 {
		s.maxDepth = DefaultMaxDepth
	}
	c := &compiler{sheet: s, excluded: map[string]bool{nsXSL: true}, extension: map[string]bool{}, currentGlobal: -1, applyModes: map[qname]bool{}}
	stripStylesheet(top, false)
	if top.space == nsXSL && (top.local == "stylesheet" || top.local == "transform") {
		c.root = top
		if err := c.compileStylesheet(top); err != nil {
			return nil, err
		}
	} else {
		if err := c.compileSimplified(top); err != nil {
			return nil, err
		}
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	return s, nil
}

// stripStylesheet removes whitespace-only text from the stylesheet except
// inside xsl:text and under xml:space="preserve".
func stripStylesheet(n *node, preserve bool) {
	if v, ok := n.attr(nsXML, "space"); ok {
		preserve = v == "preserve"
	}
	if n.space == nsXSL && n.local == "text" {
		return
	}
	kids := n.children[:0]
	for _, k := range n.children {
		if k.kind == textNode && !preserve && isXMLSpace(k.value) {
			continue
		}
		if k.kind == commentNode || k.kind == piNode {
			continue
		}
		if k.kind == elementNode {
			stripStylesheet(k, preserve)
		}
		kids = append(kids, k)
	}
	n.children = kids
}

// checkVersion accepts any version: a stylesheet that is not version="1.0"
// runs in forwards-compatible mode (XSLT 1.0 section 2.5), which is how
// the version="2.0" stylesheets of real bundles that only use XSLT 1.0
// run, and from 2.0 on in an XSLT 2.0 scope (see xslt2).
func checkVersion(el *node, v string, ok bool) error {
	if !ok {
		return errAt(el, "the version attribute is required")
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
		return errAt(el, "version %q is not a number", v)
	}
	return nil
}

// version is the effective XSLT version of an element of the stylesheet:
// the version attribute of the nearest XSLT element (xsl:version on a
// literal result element) among it and its ancestors (XSLT 2.0 section
// 3.8; XSLT 1.0 only has it on xsl:stylesheet and literal result
// elements).
func version(el *node) float64 {
	for a := el; a != nil && a.kind == elementNode; a = a.parent {
		if a.space == nsXSL && a.local == "output" {
			continue // its version is the output's (XML 1.0, HTML 4.0)
		}
		v, ok := a.attr(attrSpace(a), "version")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f
		}
	}
	return 1.0
}

// forwards reports whether el is processed in forwards-compatible mode
// (XSLT 1.0 section 2.5: a version other than 1.0): an unknown top-level
// element or attribute is ignored, and an unknown instruction fails only
// when it is instantiated without an xsl:fallback.
func forwards(el *node) bool { return version(el) != 1.0 }

// xslt2 reports whether el is in an XSLT 2.0 (or later) scope, where this
// processor gives the XSLT 2.0 behaviours it implements: a sequence
// written as text (xsl:value-of, attribute value templates) joins all its
// items with spaces rather than taking the first, adjacent atomic values
// are separated by a space, and empty operands propagate through
// arithmetic. Saxon runs version="1.0" stylesheets in its backwards
// compatible mode, which keeps the XSLT 1.0 behaviours.
func xslt2(el *node) bool { return version(el) >= 2.0 }

// checkAttrs rejects attributes an XSLT element does not define, and the
// XSLT 2.0 and 3.0 attributes (or values) this processor cannot honour.
func checkAttrs(el *node) error {
	local := el.local
	if local == "transform" {
		local = "stylesheet"
	}
	allowed, known := allowedAttrs[local]
	for _, a := range el.attrs {
		if a.space != "" || slices.Contains(allowed, a.local) {
			continue
		}
		la, ok := laterAttrs[local][a.local]
		if !ok {
			la, ok = laterAttrs["*"][a.local]
		}
		if ok {
			if err := checkLaterAttr(el, "", a, la); err != nil {
				return err
			}
			continue
		}
		if known && !forwards(el) {
			return errAt(el, "attribute %s is not allowed on xsl:%s", a.local, el.local)
		}
		// Forwards-compatible mode: an attribute this processor does not
		// know is ignored (XSLT 1.0 section 2.5).
	}
	return nil
}

// checkLaterAttr checks an XSLT 2.0 or 3.0 attribute (prefix is "xsl:" on
// a literal result element).
func checkLaterAttr(el *node, prefix string, a *node, la laterAttr) error {
	if la.values == nil {
		if a.local == "version" {
			if _, err := strconv.ParseFloat(strings.TrimSpace(a.value), 64); err != nil {
				return errAt(el, "version %q is not a number", a.value)
			}
		}
		return nil
	}
	if slices.Contains(la.values, strings.TrimSpace(a.value)) {
		return nil
	}
	if len(la.values) == 0 {
		return errAt(el, "%s%s (XSLT %s) is not supported by this runtime", prefix, a.local, la.since)
	}
	return errAt(el, "%s%s=%q (XSLT %s) is not supported by this runtime (only %s)", prefix, a.local, a.value, la.since, strings.Join(la.values, ", "))
}

func (c *compiler) prefixList(el *node, v string) ([]string, error) {
	var uris []string
	for _, p := range strings.Fields(v) {
		switch p {
		case "#default":
			p = ""
		case "#all":
			for _, b := range el.inScopeNS() {
				uris = append(uris, b.uri)
			}
			continue
		}
		uri, ok := el.lookupNS(p)
		if !ok || uri == "" && p != "" {
			return nil, errAt(el, "namespace prefix %q is not declared", p)
		}
		uris = append(uris, uri)
	}
	return uris, nil
}

func (c *compiler) compileStylesheet(top *node) error {
	if err := checkAttrs(top); err != nil {
		return err
	}
	v, ok := top.attr("", "version")
	if err := checkVersion(top, v, ok); err != nil {
		return err
	}
	if err := c.readPrefixes(top, "exclude-result-prefixes", "extension-element-prefixes"); err != nil {
		return err
	}
	// First pass: declarations every expression may refer to.
	for _, el := range top.children {
		if el.kind == textNode {
			return errAt(top, "text %q is not allowed at the top level", strings.TrimSpace(el.value))
		}
		if el.space != nsXSL {
			if el.space == "" {
				return errAt(el, "a top-level element must be in a namespace")
			}
			continue // user data: ignored, as XSLT says
		}
		if err := checkAttrs(el); err != nil {
			return err
		}
		switch el.local {
		case "import", "include":
			return errAt(el, "xsl:%s is not supported: the XSL policy runs a single stylesheet resource (Apigee does not support xsl:include or xsl:import either); inline the other stylesheet", el.local)
		case "output":
			if err := c.sheet.output.merge(el); err != nil {
				return err
			}
		case "strip-space", "preserve-space":
			if err := c.spaceRules(el); err != nil {
				return err
			}
		case "decimal-format":
			if err := c.decimalFormat(el); err != nil {
				return err
			}
		case "key":
			q, err := c.requiredQName(el, "name")
			if err != nil {
				return err
			}
			c.sheet.keys[q] = append(c.sheet.keys[q], nil) // compiled below
		case "attribute-set":
			q, err := c.requiredQName(el, "name")
			if err != nil {
				return err
			}
			// Definitions with the same name merge (their bodies are
			// compiled together below).
			if c.sheet.attrSets[q] == nil {
				c.sheet.attrSets[q] = &attrSet{name: q, el: el}
			}
		case "variable", "param":
			q, err := c.requiredQName(el, "name")
			if err != nil {
				return err
			}
			if i, dup := c.sheet.globalIdx[q]; dup {
				return errAt(el, "global variable $%s is already declared on line %d", q, c.sheet.globals[i].el.line)
			}
			c.sheet.globalIdx[q] = len(c.sheet.globals)
			c.sheet.globals = append(c.sheet.globals, &globalVar{name: q, param: el.local == "param", el: el})
		case "template":
			// Compiled in the second pass.
		case "namespace-alias":
			return errAt(el, "xsl:namespace-alias is not supported")
		default:
			if v, ok := laterInstructions[el.local]; ok {
				return errAt(el, "xsl:%s (XSLT %s) is not supported by this runtime", el.local, v)
			}
			if forwards(el) && !instructions[el.local] {
				continue // forwards-compatible mode: ignored (XSLT 1.0 section 2.5)
			}
			return errAt(el, "unknown or misplaced XSLT element xsl:%s at the top level", el.local)
		}
	}
	// Second pass: bodies.
	keyCount := map[qname]int{}
	setBodies := map[qname][]*node{}
	for _, el := range top.children {
		if el.space != nsXSL {
			continue
		}
		switch el.local {
		case "variable", "param":
			q, _ := c.qnameAttr(el, "name")
			if err := c.compileGlobal(c.sheet.globalIdx[q]); err != nil {
				return err
			}
		case "template":
			if err := c.compileTemplate(el); err != nil {
				return err
			}
		case "key":
			q, _ := c.qnameAttr(el, "name")
			k, err := c.compileKey(el)
			if err != nil {
				return err
			}
			c.sheet.keys[q][keyCount[q]] = k
			keyCount[q]++
		case "attribute-set":
			q, _ := c.qnameAttr(el, "name")
			setBodies[q] = append(setBodies[q], el)
		}
	}
	for q, els := range setBodies {
		if err := c.compileAttrSet(c.sheet.attrSets[q], els); err != nil {
			return err
		}
	}
	return c.checkGlobalCycles()
}

func (c *compiler) readPrefixes(el *node, exclude, extension string) error {
	for _, pair := range []struct {
		attr string
		dst  map[string]bool
	}{{exclude, c.excluded}, {extension, c.extension}} {
		v, ok := el.attr(attrSpace(el), pair.attr)
		if !ok {
			continue
		}
		uris, err := c.prefixList(el, v)
		if err != nil {
			return err
		}
		for _, u := range uris {
			pair.dst[u] = true
			if pair.attr == extension {
				c.excluded[u] = true
			}
		}
	}
	return nil
}

// attrSpace: XSLT attributes are unqualified on XSLT elements and in the
// XSLT namespace on literal result elements.
func attrSpace(el *node) string {
	if el.space == nsXSL {
		return ""
	}
	return nsXSL
}

// compileSimplified compiles a literal result element used as the whole
// stylesheet (XSLT 1.0 section 2.3): a template for "/".
func (c *compiler) compileSimplified(top *node) error {
	v, ok := top.attr(nsXSL, "version")
	if !ok {
		return errAt(top, "not an XSLT stylesheet: the root element is not xsl:stylesheet or xsl:transform and has no xsl:version attribute")
	}
	if err := checkVersion(top, v, true); err != nil {
		return err
	}
	bc := &bodyCtx{}
	body, err := c.compileNode(top, bc)
	if err != nil {
		return err
	}
	root := &pattern{src: "/", alts: []*patAlt{{root: true, priority: 0.5}}}
	t := &template{match: root, body: seq{body}, nslots: bc.nslots, line: top.line}
	c.templates = append(c.templates, t)
	return nil
}

func (c *compiler) qnameAttr(el *node, attr string) (qname, bool) {
	v, ok := el.attr("", attr)
	if !ok {
		return qname{}, false
	}
	q, err := c.expandQName(el, v)
	if err != nil {
		return qname{}, false
	}
	return q, true
}

// expandQName expands a QName-valued attribute; unprefixed names are in no
// namespace.
func (c *compiler) expandQName(el *node, v string) (qname, error) {
	v = strings.TrimSpace(v)
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		local, prefix = prefix, ""
	}
	if !isNCName(local) || prefix != "" && !isNCName(prefix) {
		return qname{}, errAt(el, "%q is not a valid QName", v)
	}
	if prefix == "" {
		return qname{local: local}, nil
	}
	uri, found := el.lookupNS(prefix)
	if !found {
		return qname{}, errAt(el, "namespace prefix %q is not declared", prefix)
	}
	return qname{space: uri, local: local}, nil
}

func isNCName(s string) bool {
	for i, r := range s {
		if i == 0 && !isNameStart(r) || i > 0 && !isNameChar(r) {
			return false
		}
	}
	return s != ""
}

func (c *compiler) requiredQName(el *node, attr string) (qname, error) {
	v, ok := el.attr("", attr)
	if !ok {
		return qname{}, errAt(el, "the %s attribute is required", attr)
	}
	return c.expandQName(el, v)
}

func (c *compiler) required(el *node, attr string) (string, error) {
	v, ok := el.attr("", attr)
	if !ok {
		return "", errAt(el, "the %s attribute is required", attr)
	}
	return v, nil
}

// env is the static context for expressions on el.
func (c *compiler) env(el *node, bc *bodyCtx) *xpathEnv {
	env := &xpathEnv{
		ns: func(p string) (string, bool) {
			uri, ok := el.lookupNS(p)
			return uri, ok && uri != ""
		},
		function:  lookupFunction,
		check:     c.checkCall,
		xpath2:    xslt2(el),
		elementNS: xpathDefaultNamespace(el),
	}
	env.variable = func(q qname) (varRef, bool) {
		if bc != nil {
			for i := len(bc.vars) - 1; i >= 0; i-- {
				if bc.vars[i].name == q {
					return varRef{slot: bc.vars[i].slot}, true
				}
			}
		}
		i, ok := c.sheet.globalIdx[q]
		if ok && c.currentGlobal >= 0 {
			g := c.sheet.globals[c.currentGlobal]
			g.refs = append(g.refs, i)
		}
		return varRef{global: true, slot: i}, ok
	}
	return env
}

// xpathDefaultNamespace is XSLT 2.0's xpath-default-namespace in effect
// on el: the namespace of unprefixed element names in its expressions and
// patterns.
func xpathDefaultNamespace(el *node) string {
	for a := el; a != nil && a.kind == elementNode; a = a.parent {
		if v, ok := a.attr(attrSpace(a), "xpath-default-namespace"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (c *compiler) xpath(el *node, attr string, bc *bodyCtx) (expr, error) {
	v, ok := el.attr("", attr)
	if !ok {
		return nil, nil
	}
	e, err := compileXPath(v, c.env(el, bc))
	if err != nil {
		return nil, errAt(el, "%s: %v", attr, err)
	}
	return e, nil
}

func (c *compiler) requiredXPath(el *node, attr string, bc *bodyCtx) (expr, error) {
	if _, ok := el.attr("", attr); !ok {
		return nil, errAt(el, "the %s attribute is required", attr)
	}
	return c.xpath(el, attr, bc)
}

func (c *compiler) pattern(el *node, attr string) (*pattern, error) {
	v, ok := el.attr("", attr)
	if !ok {
		return nil, nil
	}
	p, err := compilePattern(v, c.env(el, nil))
	if err != nil {
		return nil, errAt(el, "%s: %v", attr, err)
	}
	return p, nil
}

// checkCall verifies literal key and decimal-format names.
func (c *compiler) checkCall(q qname, call *callExpr) error {
	if q.space != "" {
		return nil
	}
	argName := func(i int) (qname, bool, error) {
		if len(call.args) <= i {
			return qname{}, false, nil
		}
		lit, ok := call.args[i].(*literalExpr)
		if !ok {
			return qname{}, false, nil
		}
		s, ok := lit.v.(string)
		if !ok {
			return qname{}, false, nil
		}
		n, err := call.resolveQName(s)
		return n, true, err
	}
	switch q.local {
	case "key":
		n, ok, err := argName(0)
		if err != nil {
			return err
		}
		if ok && c.sheet.keys[n] == nil {
			return fmt.Errorf("no xsl:key named %s", n)
		}
	case "format-number":
		n, ok, err := argName(2)
		if err != nil {
			return err
		}
		if ok && c.sheet.decimalFormats[n] == nil {
			return fmt.Errorf("no xsl:decimal-format named %s", n)
		}
	}
	return nil
}

func (c *compiler) compileGlobal(i int) error {
	g := c.sheet.globals[i]
	c.currentGlobal = i
	defer func() { c.currentGlobal = -1 }()
	bc := &bodyCtx{}
	var err error
	if g.sel, g.body, err = c.varValue(g.el, bc); err != nil {
		return err
	}
	if g.as, err = c.asAttr(g.el, g.body != nil); err != nil {
		return err
	}
	g.nslots = bc.nslots
	return nil
}

// checkGlobalCycles rejects globals whose values depend on themselves.
func (c *compiler) checkGlobalCycles() error {
	state := make([]uint8, len(c.sheet.globals)) // 0 new, 1 visiting, 2 done
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			g := c.sheet.globals[i]
			return errAt(g.el, "global variable $%s is defined in terms of itself", g.name)
		case 2:
			return nil
		}
		state[i] = 1
		for _, r := range c.sheet.globals[i].refs {
			if err := visit(r); err != nil {
				return err
			}
		}
		state[i] = 2
		return nil
	}
	for i := range c.sheet.globals {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

// varValue compiles the value of a variable, parameter or with-param:
// select or content (a result tree fragment), not both.
func (c *compiler) varValue(el *node, bc *bodyCtx) (expr, seq, error) {
	sel, err := c.xpath(el, "select", bc)
	if err != nil {
		return nil, nil, err
	}
	if sel != nil {
		if len(el.children) > 0 {
			return nil, nil, errAt(el, "has both a select attribute and content")
		}
		return sel, nil, nil
	}
	body, err := c.compileBody(el, bc)
	return nil, body, err
}

func (c *compiler) compileTemplate(el *node) error {
	t := &template{line: el.line, index: len(c.templates)}
	var err error
	if t.match, err = c.pattern(el, "match"); err != nil {
		return err
	}
	if n, ok := el.attr("", "name"); ok {
		if t.name, err = c.expandQName(el, n); err != nil {
			return err
		}
		t.named = true
		if prev := c.sheet.named[t.name]; prev != nil {
			return errAt(el, "a template named %s is already defined on line %d", t.name, prev.line)
		}
		c.sheet.named[t.name] = t
	}
	if t.match == nil && !t.named {
		return errAt(el, "a template needs a match or a name attribute")
	}
	if m, ok := el.attr("", "mode"); ok {
		if t.match == nil {
			return errAt(el, "mode is only allowed on a template with a match attribute")
		}
		// XSLT 2.0: a list of modes, #default, or #all.
		for _, tok := range strings.Fields(m) {
			switch tok {
			case "#all":
				t.allModes = true
			case "#default":
				t.modes = append(t.modes, qname{})
			default:
				q, err := c.expandQName(el, tok)
				if err != nil {
					return err
				}
				t.modes = append(t.modes, q)
			}
		}
		if len(t.modes) == 0 && !t.allModes {
			return errAt(el, "mode must name at least one mode")
		}
	}
	if p, ok := el.attr("", "priority"); ok {
		if t.match == nil {
			return errAt(el, "priority is only allowed on a template with a match attribute")
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || strings.ContainsAny(p, "eE") {
			return errAt(el, "priority %q is not a number", p)
		}
		t.priority = &f
	}
	bc := &bodyCtx{}
	kids := el.children
	for len(kids) > 0 && kids[0].kind == elementNode && kids[0].space == nsXSL && kids[0].local == "param" {
		pel := kids[0]
		kids = kids[1:]
		if err := checkAttrs(pel); err != nil {
			return err
		}
		q, err := c.requiredQName(pel, "name")
		if err != nil {
			return err
		}
		p := &paramDef{name: q}
		if p.sel, p.body, err = c.varValue(pel, bc); err != nil {
			return err
		}
		if p.as, err = c.asAttr(pel, p.body != nil); err != nil {
			return err
		}
		if p.slot, err = bc.declare(pel, q); err != nil {
			return errAt(pel, "parameter $%s is declared twice", q)
		}
		t.params = append(t.params, p)
	}
	if t.body, err = c.compileSeq(kids, bc); err != nil {
		return err
	}
	t.nslots = bc.nslots
	c.templates = append(c.templates, t)
	return nil
}

func (c *compiler) compileKey(el *node) (*keyDef, error) {
	if _, err := c.required(el, "match"); err != nil {
		return nil, err
	}
	m, err := c.pattern(el, "match")
	if err != nil {
		return nil, err
	}
	v, err := c.required(el, "use")
	if err != nil {
		return nil, err
	}
	env := c.env(el, nil)
	env.variable, env.noVars = nil, "variable references are not allowed in xsl:key"
	use, err := compileXPath(v, env)
	if err != nil {
		return nil, errAt(el, "use: %v", err)
	}
	return &keyDef{match: m, use: use}, nil
}

func (c *compiler) compileAttrSet(s *attrSet, els []*node) error {
	bc := &bodyCtx{}
	for _, el := range els {
		for _, k := range el.children {
			if k.kind != elementNode || k.space != nsXSL || k.local != "attribute" {
				return errAt(el, "an attribute set may only contain xsl:attribute")
			}
		}
		uses, err := c.attrSetNames(el, "use-attribute-sets", "")
		if err != nil {
			return err
		}
		s.uses = append(s.uses, uses...)
		body, err := c.compileBody(el, bc)
		if err != nil {
			return err
		}
		s.body = append(s.body, body...)
	}
	s.nslots = bc.nslots
	return nil
}

func (c *compiler) attrSetNames(el *node, attr, space string) ([]qname, error) {
	v, ok := el.attr(space, attr)
	if !ok {
		return nil, nil
	}
	var out []qname
	for _, n := range strings.Fields(v) {
		q, err := c.expandQName(el, n)
		if err != nil {
			return nil, err
		}
		c.setUses = append(c.setUses, setUse{el: el, name: q})
		out = append(out, q)
	}
	return out, nil
}

func (c *compiler) spaceRules(el *node) error {
	v, err := c.required(el, "elements")
	if err != nil {
		return err
	}
	for _, t := range strings.Fields(v) {
		r := spaceRule{strip: el.local == "strip-space"}
		switch {
		case t == "*":
			r.test, r.prio = nodeTest{kind: testName, local: "*", anySpace: true}, -0.5
		case strings.HasPrefix(t, "*:") && isNCName(t[2:]):
			// XSLT 2.0: a local name in any namespace.
			r.test, r.prio = nodeTest{kind: testName, local: t[2:], anySpace: true}, -0.25
		case strings.HasSuffix(t, ":*"):
			uri, ok := el.lookupNS(strings.TrimSuffix(t, ":*"))
			if !ok {
				return errAt(el, "namespace prefix in %q is not declared", t)
			}
			r.test, r.prio = nodeTest{kind: testName, space: uri, local: "*"}, -0.25
		default:
			q, err := c.expandQName(el, t)
			if err != nil {
				return err
			}
			r.test = nodeTest{kind: testName, space: q.space, local: q.local}
		}
		c.sheet.space = append(c.sheet.space, r)
	}
	return nil
}

// stripFor decides xsl:strip-space / xsl:preserve-space for an element:
// the most specific matching rule wins, a later one on a tie.
func (s *Stylesheet) stripFor(el *node) bool {
	best, strip := -1.0, false
	for _, r := range s.space {
		if r.test.match(el, elementNode) && r.prio >= best {
			best, strip = r.prio, r.strip
		}
	}
	return strip
}

// finish resolves names used before their definition and builds the
// template rule tables.
func (c *compiler) finish() error {
	for _, ct := range c.calls {
		t := c.sheet.named[ct.name]
		if t == nil {
			return errAt(ct.el, "no template named %s", ct.name)
		}
		ct.tmpl = t
	}
	for _, u := range c.setUses {
		if c.sheet.attrSets[u.name] == nil {
			return errAt(u.el, "no attribute set named %s", u.name)
		}
	}
	// Attribute sets may not use themselves, directly or indirectly.
	for _, s := range c.sheet.attrSets {
		seen := map[qname]bool{}
		var walk func(q qname) error
		walk = func(q qname) error {
			if seen[q] {
				return errAt(s.el, "attribute set %s uses itself", s.name)
			}
			seen[q] = true
			for _, u := range c.sheet.attrSets[q].uses {
				if err := walk(u); err != nil {
					return err
				}
			}
			delete(seen, q)
			return nil
		}
		if err := walk(s.name); err != nil {
			return err
		}
	}
	// Every mode a template or xsl:apply-templates names, for the
	// templates of mode="#all".
	every := map[qname]bool{{}: true}
	for q := range c.applyModes {
		every[q] = true
	}
	for _, t := range c.templates {
		for _, q := range t.modes {
			every[q] = true
		}
	}
	for _, t := range c.templates {
		if t.match == nil {
			continue
		}
		modes := t.modes
		if len(modes) == 0 {
			modes = []qname{{}} // the default mode
		}
		if t.allModes {
			modes = modes[:0:0]
			for q := range every {
				modes = append(modes, q)
			}
		}
		for _, mode := range modes {
			m := c.sheet.modes[mode]
			if m == nil {
				m = &modeRules{byName: map[nameKey][]int{}}
				c.sheet.modes[mode] = m
			}
			for _, a := range t.match.alts {
				prio := a.priority
				if t.priority != nil {
					prio = *t.priority
				}
				m.rules = append(m.rules, &rule{alt: a, tmpl: t, prio: prio})
			}
		}
	}
	for _, m := range c.sheet.modes {
		m.build()
	}
	return nil
}

// modeRules are the template rules of one mode, best first.
type modeRules struct {
	rules  []*rule
	byName map[nameKey][]int
	other  []int
}

type rule struct {
	alt  *patAlt
	tmpl *template
	prio float64
}

type nameKey struct {
	attr  bool
	local string
}

// build orders rules by priority, then by position in the stylesheet (the
// last one wins a tie, as Saxon and libxslt resolve the conflict), and
// indexes them by the name their last step requires.
func (m *modeRules) build() {
	sort.SliceStable(m.rules, func(i, j int) bool {
		a, b := m.rules[i], m.rules[j]
		if a.prio != b.prio {
			return a.prio > b.prio
		}
		return a.tmpl.index > b.tmpl.index
	})
	for i, r := range m.rules {
		if n := len(r.alt.steps); n > 0 {
			last := r.alt.steps[n-1]
			if last.test.kind == testName && last.test.local != "*" {
				k := nameKey{attr: last.attr, local: last.test.local}
				m.byName[k] = append(m.byName[k], i)
				continue
			}
		}
		m.other = append(m.other, i)
	}
}
