package xslt

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// funcDef is a function callable from expressions.
type funcDef struct {
	min, max int // max < 0: any number of arguments
	fn       func(c *xctx, call *callExpr) (any, error)
}

type callExpr struct {
	def  *funcDef
	args []expr
	name string
	// ns resolves prefixes of QName-valued string arguments (key names,
	// decimal formats, system properties) in the expression's scope.
	ns func(prefix string) (string, bool)
	// re is a regular expression compiled from a literal argument.
	re *regexp.Regexp
	// xpath2: the call is in an XPath 2.0 scope (see xpathEnv.xpath2).
	xpath2 bool
}

func (e *callExpr) eval(c *xctx) (any, error) { return e.def.fn(c, e) }

func (e *callExpr) str(c *xctx, i int) (string, error) {
	v, err := e.args[i].eval(c)
	if err != nil {
		return "", err
	}
	return toString(v), nil
}

func (e *callExpr) num(c *xctx, i int) (float64, error) {
	v, err := e.args[i].eval(c)
	if err != nil {
		return 0, err
	}
	return toNumber(v), nil
}

func (e *callExpr) nodes(c *xctx, i int) (nodeSet, error) {
	return evalNodeSet(c, e.args[i], fmt.Sprintf("argument %d of %s()", i+1, e.name))
}

// optNode returns the first node of the optional node-set argument, or the
// context node when the argument is absent (nil when the set is empty).
func (e *callExpr) optNode(c *xctx) (*node, error) {
	if len(e.args) == 0 {
		return c.node, nil
	}
	ns, err := e.nodes(c, 0)
	if err != nil || len(ns) == 0 {
		return nil, err
	}
	return ns[0], nil
}

// resolveQName expands a QName given as a string at run time.
func (e *callExpr) resolveQName(s string) (qname, error) {
	s = strings.TrimSpace(s)
	prefix, local, ok := strings.Cut(s, ":")
	if !ok {
		return qname{local: s}, nil
	}
	uri, found := e.ns(prefix)
	if !found {
		return qname{}, fmt.Errorf("namespace prefix %q in %q is not declared", prefix, s)
	}
	return qname{space: uri, local: local}, nil
}

func strFn(f func(string) any) func(*xctx, *callExpr) (any, error) {
	return func(c *xctx, e *callExpr) (any, error) {
		var s string
		if len(e.args) == 0 {
			s = c.node.stringValue()
		} else {
			var err error
			if s, err = e.str(c, 0); err != nil {
				return nil, err
			}
		}
		return f(s), nil
	}
}

func str2Fn(f func(a, b string) any) func(*xctx, *callExpr) (any, error) {
	return func(c *xctx, e *callExpr) (any, error) {
		a, err := e.str(c, 0)
		if err != nil {
			return nil, err
		}
		b, err := e.str(c, 1)
		if err != nil {
			return nil, err
		}
		return f(a, b), nil
	}
}

func numFn(f func(float64) float64) func(*xctx, *callExpr) (any, error) {
	return func(c *xctx, e *callExpr) (any, error) {
		v, err := e.args[0].eval(c)
		if err != nil {
			return nil, err
		}
		if e.xpath2 {
			switch {
			case isEmpty(v):
				return nodeSet(nil), nil // XPath 2.0: round(()) is ()
			case isDouble(v):
				return xsDouble(f(toDouble(v))), nil // the argument's type
			}
		}
		return f(toNumber(v)), nil
	}
}

// coreFunctions are XPath 1.0's library plus XSLT 1.0's additions, keyed
// by local name (they are in no namespace).
var coreFunctions = map[string]*funcDef{
	"last":     {0, 0, func(c *xctx, _ *callExpr) (any, error) { return float64(c.size), nil }},
	"position": {0, 0, func(c *xctx, _ *callExpr) (any, error) { return float64(c.pos), nil }},
	"count": {1, 1, func(c *xctx, e *callExpr) (any, error) {
		ns, err := e.nodes(c, 0)
		return float64(len(ns)), err
	}},
	"sum": {1, 1, func(c *xctx, e *callExpr) (any, error) {
		ns, err := e.nodes(c, 0)
		if e.xpath2 && len(ns) > 0 {
			// XPath 2.0: node values are cast to xs:double.
			s := 0.0
			for _, n := range ns {
				s += stringToDouble(n.stringValue())
			}
			return xsDouble(s), err
		}
		s := 0.0
		for _, n := range ns {
			s += stringToNumber(n.stringValue())
		}
		return s, err
	}},
	"id": {1, 1, fnID},
	"local-name": {0, 1, func(c *xctx, e *callExpr) (any, error) {
		n, err := e.optNode(c)
		if n == nil || err != nil {
			return "", err
		}
		switch n.kind {
		case elementNode, attributeNode, piNode:
			return n.local, nil
		}
		return "", nil
	}},
	"namespace-uri": {0, 1, func(c *xctx, e *callExpr) (any, error) {
		n, err := e.optNode(c)
		if n == nil || err != nil {
			return "", err
		}
		return n.space, nil
	}},
	"name": {0, 1, func(c *xctx, e *callExpr) (any, error) {
		n, err := e.optNode(c)
		if n == nil || err != nil {
			return "", err
		}
		switch n.kind {
		case elementNode, attributeNode:
			return n.qname(), nil
		case piNode:
			return n.local, nil
		}
		return "", nil
	}},
	"string": {0, 1, func(c *xctx, e *callExpr) (any, error) {
		if len(e.args) == 0 {
			return c.node.stringValue(), nil
		}
		return e.str(c, 0)
	}},
	"concat": {2, -1, func(c *xctx, e *callExpr) (any, error) {
		var b strings.Builder
		for i := range e.args {
			s, err := e.str(c, i)
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
		return b.String(), nil
	}},
	"starts-with": {2, 2, str2Fn(func(a, b string) any { return strings.HasPrefix(a, b) })},
	"contains":    {2, 2, str2Fn(func(a, b string) any { return strings.Contains(a, b) })},
	"substring-before": {2, 2, str2Fn(func(a, b string) any {
		if i := strings.Index(a, b); i >= 0 {
			return a[:i]
		}
		return ""
	})},
	"substring-after": {2, 2, str2Fn(func(a, b string) any {
		if i := strings.Index(a, b); i >= 0 {
			return a[i+len(b):]
		}
		return ""
	})},
	"substring":       {2, 3, fnSubstring},
	"string-length":   {0, 1, strFn(func(s string) any { return float64(utf8.RuneCountInString(s)) })},
	"normalize-space": {0, 1, strFn(func(s string) any { return strings.Join(strings.Fields(s), " ") })},
	"translate":       {3, 3, fnTranslate},
	"boolean": {1, 1, func(c *xctx, e *callExpr) (any, error) {
		v, err := e.args[0].eval(c)
		return toBool(v), err
	}},
	"not": {1, 1, func(c *xctx, e *callExpr) (any, error) {
		v, err := e.args[0].eval(c)
		return !toBool(v), err
	}},
	"true":  {0, 0, func(*xctx, *callExpr) (any, error) { return true, nil }},
	"false": {0, 0, func(*xctx, *callExpr) (any, error) { return false, nil }},
	"lang":  {1, 1, fnLang},
	"number": {0, 1, func(c *xctx, e *callExpr) (any, error) {
		var v any = nodeSet{c.node}
		if len(e.args) > 0 {
			var err error
			if v, err = e.args[0].eval(c); err != nil {
				return nil, err
			}
		}
		if e.xpath2 {
			return xsDouble(toDouble(v)), nil // number() is an xs:double
		}
		return toNumber(v), nil
	}},
	"floor":   {1, 1, numFn(math.Floor)},
	"ceiling": {1, 1, numFn(math.Ceil)},
	"round":   {1, 1, numFn(xpathRound)},

	// XSLT 1.0 section 12.
	"current": {0, 0, func(c *xctx, _ *callExpr) (any, error) { return nodeSet{c.t.current}, nil }},
	"key":     {2, 2, fnKey},
	"generate-id": {0, 1, func(c *xctx, e *callExpr) (any, error) {
		n, err := e.optNode(c)
		if n == nil || err != nil {
			return "", err
		}
		return "id" + strconv.Itoa(n.ord), nil
	}},
	"format-number":       {2, 3, fnFormatNumber},
	"unparsed-entity-uri": {1, 1, func(*xctx, *callExpr) (any, error) { return "", nil }},
	"system-property":     {1, 1, fnSystemProperty},
	"element-available": {1, 1, func(c *xctx, e *callExpr) (any, error) {
		s, err := e.str(c, 0)
		if err != nil {
			return nil, err
		}
		q, err := e.resolveQName(s)
		if err != nil {
			return nil, err
		}
		return q.space == nsXSL && instructions[q.local], nil
	}},
	// XPath 2.0 string functions that Saxon (Apigee's processor) also
	// accepts in version="1.0" stylesheets, with string semantics.
	"upper-case": {1, 1, strFn(func(s string) any { return strings.ToUpper(s) })},
	"lower-case": {1, 1, strFn(func(s string) any { return strings.ToLower(s) })},
	"ends-with":  {2, 2, str2Fn(func(a, b string) any { return strings.HasSuffix(a, b) })},
	"abs":        {1, 1, numFn(math.Abs)},
	"string-join": {1, 2, func(c *xctx, e *callExpr) (any, error) {
		v, err := e.args[0].eval(c)
		if err != nil {
			return nil, err
		}
		sep := ""
		if len(e.args) == 2 {
			if sep, err = e.str(c, 1); err != nil {
				return nil, err
			}
		}
		return joinValues(v, sep), nil
	}},
	"tokenize": {1, 3, fnTokenize},
	"matches":  {2, 3, fnMatches},
	"replace":  {3, 4, fnReplace},
	"current-dateTime": {0, 0, func(c *xctx, _ *callExpr) (any, error) {
		return c.t.now.Format("2006-01-02T15:04:05.000Z07:00"), nil
	}},
	"current-date": {0, 0, func(c *xctx, _ *callExpr) (any, error) {
		return c.t.now.Format("2006-01-02Z07:00"), nil
	}},
	// XSLT 2.0's grouping functions (xsl:for-each-group).
	"current-group": {0, 0, func(c *xctx, _ *callExpr) (any, error) {
		if c.t.group == nil {
			// XTDE1061, as Saxon (XSLT 3.0) raises it.
			return nil, fmt.Errorf("current-group(): there is no current group (it is only set inside xsl:for-each-group)")
		}
		return c.t.group.items, nil
	}},
	"current-grouping-key": {0, 0, func(c *xctx, _ *callExpr) (any, error) {
		if c.t.group == nil || c.t.group.key == nil {
			// XTDE1071, as Saxon (XSLT 3.0) raises it: outside a group, or
			// in one made by group-starting-with or group-ending-with.
			return nil, fmt.Errorf("current-grouping-key(): there is no current grouping key")
		}
		return c.t.group.key, nil
	}},
}

// joinValues is the string value of a sequence: the string values of a
// node-set's nodes joined with sep (XPath 2.0's string-join, and how XSLT
// 2.0 builds text from a sequence), or the value itself.
func joinValues(v any, sep string) string {
	ns, ok := v.(nodeSet)
	if !ok {
		return toString(v)
	}
	if len(ns) == 1 {
		return ns[0].stringValue()
	}
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.stringValue()
	}
	return strings.Join(parts, sep)
}

// fnTokenize is XPath 2.0's tokenize (and 3.0's one-argument form, which
// splits on white space). XPath 1.0 has no sequence of strings, so the
// tokens are atomic-value text nodes of a new tree (see node.atomic), in
// token order: counting, indexing, iterating, comparing and joining them
// work as on a sequence of strings.
func fnTokenize(c *xctx, e *callExpr) (any, error) {
	s, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	var tokens []string
	if len(e.args) == 1 {
		tokens = strings.Fields(s)
	} else {
		re, err := e.regex(c, 1, 2)
		if err != nil {
			return nil, err
		}
		if re.MatchString("") {
			// FORX0003: a pattern matching "" would split everywhere.
			return nil, fmt.Errorf("tokenize(): the pattern %q matches a zero-length string", re.String())
		}
		if s != "" {
			tokens = re.Split(s, -1)
		}
	}
	return c.t.atomicSeq(tokens), nil
}

func init() {
	// Registered here: function-available looks functions up in this table.
	coreFunctions["function-available"] = &funcDef{1, 1, func(c *xctx, e *callExpr) (any, error) {
		s, err := e.str(c, 0)
		if err != nil {
			return nil, err
		}
		q, err := e.resolveQName(s)
		if err != nil {
			return nil, err
		}
		_, err = lookupFunction(q, -1)
		return err == nil, nil
	}}
}

// nodeSetFunc converts a result tree fragment (or any value) to a
// node-set: exsl:node-set and msxsl:node-set.
var nodeSetFunc = &funcDef{1, 1, func(c *xctx, e *callExpr) (any, error) {
	v, err := e.args[0].eval(c)
	if err != nil {
		return nil, err
	}
	if ns, ok := v.(nodeSet); ok {
		return ns, nil
	}
	root := &node{kind: rootNode}
	root.children = []*node{{kind: textNode, parent: root, value: toString(v)}}
	c.t.numberTree(root)
	return nodeSet{root.children[0]}, nil
}}

// unsupportedFunctions explain why a known function is refused.
var unsupportedFunctions = map[string]string{
	"document": "document() is not supported: the XSL policy transforms one message and cannot load other documents",
	"doc":      "doc() (XPath 2.0) is not supported: the XSL policy transforms one message and cannot load other documents",
}

// laterFunctions are XPath 2.0 and 3.0 functions (in the fn namespace)
// this evaluator does not implement, with the version that added them:
// Saxon knows them, so a stylesheet calling one is refused at deployment
// by name rather than failing as an unknown function.
var laterFunctions = func() map[string]string {
	m := map[string]string{}
	for v, names := range map[string]string{
		"2.0": "data exists empty distinct-values index-of remove insert-before reverse subsequence unordered " +
			"zero-or-one one-or-more exactly-one deep-equal avg max min compare codepoint-equal " +
			"codepoints-to-string string-to-codepoints normalize-unicode encode-for-uri iri-to-uri " +
			"escape-html-uri resolve-uri base-uri document-uri static-base-uri node-name nilled root " +
			"in-scope-prefixes namespace-uri-for-prefix resolve-QName QName prefix-from-QName " +
			"local-name-from-QName namespace-uri-from-QName round-half-to-even years-from-duration " +
			"months-from-duration days-from-duration hours-from-duration minutes-from-duration " +
			"seconds-from-duration year-from-dateTime month-from-dateTime day-from-dateTime " +
			"hours-from-dateTime minutes-from-dateTime seconds-from-dateTime timezone-from-dateTime " +
			"year-from-date month-from-date day-from-date timezone-from-date hours-from-time " +
			"minutes-from-time seconds-from-time timezone-from-time adjust-dateTime-to-timezone " +
			"adjust-date-to-timezone adjust-time-to-timezone implicit-timezone default-collation " +
			"collection doc-available error trace format-date format-time format-dateTime current-time " +
			"dateTime unparsed-text unparsed-text-available regex-group type-available " +
			"unparsed-entity-public-id element-with-id idref",
		"3.0": "format-integer analyze-string path has-children innermost outermost head tail " +
			"serialize parse-xml parse-xml-fragment parse-json json-doc json-to-xml xml-to-json " +
			"unparsed-text-lines environment-variable available-environment-variables " +
			"sort apply for-each filter fold-left fold-right for-each-pair function-lookup " +
			"function-name function-arity random-number-generator string-to-codepoints " +
			"contains-token collation-key parse-ietf-date load-xquery-module transform " +
			"copy-of snapshot accumulator-before accumulator-after current-merge-group " +
			"current-merge-key current-output-uri available-system-properties stream-available",
	} {
		for _, n := range strings.Fields(names) {
			if _, dup := m[n]; !dup && coreFunctions[n] == nil {
				m[n] = v
			}
		}
	}
	return m
}()

// Namespaces of XPath 2.0 function names.
const (
	nsFN = "http://www.w3.org/2005/xpath-functions"
	nsXS = "http://www.w3.org/2001/XMLSchema"
)

// lookupFunction finds a function by expanded name; nargs < 0 skips the
// arity check.
func lookupFunction(q qname, nargs int) (*funcDef, error) {
	var def *funcDef
	switch q.space {
	case "", nsFN:
		// fn:name is the same function as name (XPath 2.0 puts the core
		// library in the fn namespace).
		if why, ok := unsupportedFunctions[q.local]; ok {
			return nil, fmt.Errorf("%s", why)
		}
		if v, ok := laterFunctions[q.local]; ok {
			return nil, fmt.Errorf("%s() (XPath %s) is not supported by this runtime", q.local, v)
		}
		def = coreFunctions[q.local]
	case nsXS:
		return nil, fmt.Errorf("the constructor function xs:%s() (XPath 2.0 casts) is not supported by this runtime", q.local)
	case nsEXSLT, nsMSXSL:
		if q.local == "node-set" {
			def = nodeSetFunc
		}
	}
	if def == nil {
		if q.space == "" {
			return nil, fmt.Errorf("unknown function")
		}
		return nil, fmt.Errorf("extension function {%s}%s is not supported", q.space, q.local)
	}
	if nargs >= 0 && (nargs < def.min || def.max >= 0 && nargs > def.max) {
		want := strconv.Itoa(def.min)
		switch {
		case def.max < 0:
			want += " or more"
		case def.max != def.min:
			want += " to " + strconv.Itoa(def.max)
		}
		return nil, fmt.Errorf("takes %s arguments, not %d", want, nargs)
	}
	return def, nil
}

// xpathRound rounds half up (towards positive infinity), as XPath does.
func xpathRound(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	if f < 0 && f >= -0.5 {
		return math.Copysign(0, -1)
	}
	return math.Floor(f + 0.5)
}

func fnSubstring(c *xctx, e *callExpr) (any, error) {
	s, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	start, err := e.num(c, 1)
	if err != nil {
		return nil, err
	}
	first := xpathRound(start)
	end := math.Inf(1)
	if len(e.args) == 3 {
		l, err := e.num(c, 2)
		if err != nil {
			return nil, err
		}
		end = first + xpathRound(l)
	}
	if math.IsNaN(first) || math.IsNaN(end) {
		return "", nil
	}
	var b strings.Builder
	pos := 1.0
	for _, r := range s {
		if pos >= first && pos < end {
			b.WriteRune(r)
		}
		pos++
	}
	return b.String(), nil
}

func fnTranslate(c *xctx, e *callExpr) (any, error) {
	s, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	from, err := e.str(c, 1)
	if err != nil {
		return nil, err
	}
	to, err := e.str(c, 2)
	if err != nil {
		return nil, err
	}
	toR := []rune(to)
	m := map[rune]int{}
	i := 0
	for _, r := range from {
		if _, ok := m[r]; !ok {
			m[r] = i
		}
		i++
	}
	var b strings.Builder
	for _, r := range s {
		k, ok := m[r]
		switch {
		case !ok:
			b.WriteRune(r)
		case k < len(toR):
			b.WriteRune(toR[k])
		}
	}
	return b.String(), nil
}

func fnLang(c *xctx, e *callExpr) (any, error) {
	want, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	n := c.node
	if n.kind != elementNode {
		n = n.parent
	}
	for ; n != nil; n = n.parent {
		if v, ok := n.attr(nsXML, "lang"); ok {
			v, want = strings.ToLower(v), strings.ToLower(want)
			return v == want || strings.HasPrefix(v, want+"-"), nil
		}
	}
	return false, nil
}

// fnID finds elements by xml:id (the input has no DTD to declare ID
// attributes, so xml:id is the only kind of ID there is).
func fnID(c *xctx, e *callExpr) (any, error) {
	v, err := e.args[0].eval(c)
	if err != nil {
		return nil, err
	}
	var ids []string
	if ns, ok := v.(nodeSet); ok {
		for _, n := range ns {
			ids = append(ids, strings.Fields(n.stringValue())...)
		}
	} else {
		ids = strings.Fields(toString(v))
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []*node
	var walk func(n *node)
	walk = func(n *node) {
		for _, k := range n.children {
			if k.kind != elementNode {
				continue
			}
			if id, ok := k.attr(nsXML, "id"); ok && want[id] {
				out = append(out, k)
			}
			walk(k)
		}
	}
	walk(c.node.root())
	return nodeSet(out), nil
}

func fnKey(c *xctx, e *callExpr) (any, error) {
	name, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	q, err := e.resolveQName(name)
	if err != nil {
		return nil, err
	}
	v, err := e.args[1].eval(c)
	if err != nil {
		return nil, err
	}
	return c.t.key(q, v, c.node.root())
}

func fnSystemProperty(c *xctx, e *callExpr) (any, error) {
	s, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	q, err := e.resolveQName(s)
	if err != nil {
		return nil, err
	}
	if q.space != nsXSL {
		return "", nil
	}
	switch q.local {
	case "version":
		return 1.0, nil
	case "vendor":
		return "hybrid-emulator", nil
	}
	return "", nil
}

func fnFormatNumber(c *xctx, e *callExpr) (any, error) {
	n, err := e.num(c, 0)
	if err != nil {
		return nil, err
	}
	pat, err := e.str(c, 1)
	if err != nil {
		return nil, err
	}
	var df *decimalFormat
	if len(e.args) == 3 {
		name, err := e.str(c, 2)
		if err != nil {
			return nil, err
		}
		q, err := e.resolveQName(name)
		if err != nil {
			return nil, err
		}
		if df = c.t.sheet.decimalFormats[q]; df == nil {
			return nil, fmt.Errorf("format-number(): no xsl:decimal-format named %s", name)
		}
	} else {
		df = c.t.sheet.decimalFormats[qname{}]
	}
	return df.format(n, pat)
}

// regex compiles an XPath regular expression with flags (s, m, i, x) into
// Go's RE2 syntax, which agrees for the constructs real stylesheets use.
func compileRegex(pattern, flags string) (*regexp.Regexp, error) {
	prefix := ""
	for _, f := range flags {
		switch f {
		case 's', 'm', 'i':
			prefix += string(f)
		case 'x':
			pattern = strings.Map(func(r rune) rune {
				if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
					return -1
				}
				return r
			}, pattern)
		default:
			return nil, fmt.Errorf("unknown regular expression flag %q", f)
		}
	}
	if prefix != "" {
		pattern = "(?" + prefix + ")" + pattern
	}
	return regexp.Compile(pattern)
}

func (e *callExpr) regex(c *xctx, patArg, flagArg int) (*regexp.Regexp, error) {
	if e.re != nil {
		return e.re, nil
	}
	pat, err := e.str(c, patArg)
	if err != nil {
		return nil, err
	}
	flags := ""
	if len(e.args) > flagArg {
		if flags, err = e.str(c, flagArg); err != nil {
			return nil, err
		}
	}
	re, err := compileRegex(pat, flags)
	if err != nil {
		return nil, fmt.Errorf("%s(): %v", e.name, err)
	}
	return re, nil
}

func fnMatches(c *xctx, e *callExpr) (any, error) {
	s, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	re, err := e.regex(c, 1, 2)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

func fnReplace(c *xctx, e *callExpr) (any, error) {
	s, err := e.str(c, 0)
	if err != nil {
		return nil, err
	}
	re, err := e.regex(c, 1, 3)
	if err != nil {
		return nil, err
	}
	rep, err := e.str(c, 2)
	if err != nil {
		return nil, err
	}
	return re.ReplaceAllString(s, xpathReplacement(rep)), nil
}

// xpathReplacement converts XPath's replacement syntax ($N, \$, \\) into
// Go's (${N}, $$, \).
func xpathReplacement(rep string) string {
	var b strings.Builder
	for i := 0; i < len(rep); i++ {
		switch c := rep[i]; {
		case c == '\\' && i+1 < len(rep):
			i++
			if rep[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(rep[i])
			}
		case c == '$':
			j := i + 1
			for j < len(rep) && rep[j] >= '0' && rep[j] <= '9' {
				j++
			}
			if j == i+1 {
				b.WriteString("$$")
				continue
			}
			b.WriteString("${" + rep[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// precompileRegex compiles a literal pattern at compile time so a bad one
// fails the deployment.
func precompileRegex(call *callExpr, patArg, flagArg int) error {
	lit, ok := call.args[patArg].(*literalExpr)
	if !ok {
		return nil
	}
	pat, ok := lit.v.(string)
	if !ok {
		return nil
	}
	flags := ""
	if len(call.args) > flagArg {
		fl, ok := call.args[flagArg].(*literalExpr)
		if !ok {
			return nil
		}
		flags = toString(fl.v)
	}
	re, err := compileRegex(pat, flags)
	if err != nil {
		return err
	}
	call.re = re
	return nil
}
