package xslt

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file holds the XSLT 2.0 features real Apigee bundles use (see
// testdata/README.md for the survey): as="…" on variables and parameters,
// xsl:namespace, xsl:for-each-group, and what forwards-compatible mode
// needs (fallback for an unknown instruction).

// seqType is a sequence type of an as="…" attribute, reduced to what this
// processor can honour: an atomic type converted to a string, number or
// boolean, or a node (or item) type.
type seqType struct {
	src string
	// atomic is "string", "number" or "boolean" for an atomic type
	// (xs:string, xs:integer…), "" for node kinds and item().
	atomic  string
	integer bool   // an integer type: the value must be a whole number
	xsName  string // the atomic type's local name, for errors
	// doc: document-node(), the value a variable with content has
	// without as=.
	doc bool
	// optional: ? or * (the empty sequence is allowed); many: * or +.
	optional, many bool
}

var (
	nodeKindType = regexp.MustCompile(`^(item|node|element|attribute|text|comment|processing-instruction|document-node)\s*\(\s*([^,()]*|element\s*\([^,()]*\))\s*\)$`)
	stringTypes  = "string normalizedString token language Name NCName NMTOKEN ID IDREF ENTITY anyURI untypedAtomic anyAtomicType"
	integerTypes = "integer int long short byte nonNegativeInteger positiveInteger nonPositiveInteger negativeInteger unsignedLong unsignedInt unsignedShort unsignedByte"
)

// asAttr compiles the as attribute of a variable or parameter (nil when
// there is none). hasBody: the value is the element's content.
func (c *compiler) asAttr(el *node, hasBody bool) (*seqType, error) {
	v, ok := el.attr("", "as")
	if !ok {
		return nil, nil
	}
	st := &seqType{src: strings.TrimSpace(v)}
	s := st.src
	if n := len(s); n > 0 {
		switch s[n-1] {
		case '?':
			st.optional, s = true, strings.TrimSpace(s[:n-1])
		case '*':
			st.optional, st.many, s = true, true, strings.TrimSpace(s[:n-1])
		case '+':
			st.many, s = true, strings.TrimSpace(s[:n-1])
		}
	}
	unsupported := func(why string) error {
		return errAt(el, "as=%q (XSLT 2.0) is not supported by this runtime: %s", st.src, why)
	}
	if m := nodeKindType.FindStringSubmatch(s); m != nil {
		st.doc = m[1] == "document-node"
		if hasBody && !st.doc && m[1] != "item" && m[1] != "node" && m[1] != "element" && m[1] != "text" {
			return nil, unsupported("content can only make nodes of type node(), element() or text()")
		}
		return st, nil
	}
	prefix, local, found := strings.Cut(s, ":")
	if !found {
		return nil, unsupported("not a sequence type this processor knows")
	}
	if uri, ok := el.lookupNS(prefix); !ok || uri != nsXS {
		return nil, unsupported("only XML Schema (xs:) atomic types and node types are known")
	}
	st.xsName = local
	switch {
	case local == "boolean":
		st.atomic = "boolean"
	case local == "double" || local == "float" || local == "decimal":
		st.atomic = "number"
	case slices.Contains(strings.Fields(integerTypes), local):
		st.atomic, st.integer = "number", true
	case slices.Contains(strings.Fields(stringTypes), local):
		st.atomic = "string"
	default:
		return nil, unsupported("xs:" + local + " values do not exist in this processor")
	}
	if st.many && st.atomic != "string" {
		// A sequence of strings is a node-set of atomic text nodes (see
		// node.atomic); there is no such stand-in for numbers or booleans.
		return nil, unsupported("a sequence of xs:" + local + " values")
	}
	return st, nil
}

// valueAs is transform.value with an as="…" conversion.
func (t *transform) valueAs(sel expr, body seq, as *seqType) (any, error) {
	if as == nil {
		return t.value(sel, body)
	}
	if sel == nil && body == nil {
		// XSLT 2.0: with as=, an empty binding is the empty sequence.
		return as.convert(t, nodeSet(nil))
	}
	v, err := t.value(sel, body)
	if err != nil {
		return nil, err
	}
	if body != nil && !as.doc {
		// With as= (but document-node()), content makes a sequence: the
		// nodes themselves, not a document node holding them.
		v = nodeSet(slices.Clone(v.(nodeSet)[0].children))
	}
	return as.convert(t, v)
}

// convert applies XSLT 2.0's function conversion rules as far as this
// processor's values go: atomize, check the count, cast untyped values.
func (st *seqType) convert(t *transform, v any) (any, error) {
	if st.atomic == "" {
		return v, nil // node and item types: nodes pass as they are
	}
	var items []string
	var single any
	if ns, ok := v.(nodeSet); ok {
		for _, n := range ns {
			items = append(items, n.stringValue())
		}
		if len(items) == 1 {
			single = items[0]
		}
	} else {
		items, single = []string{toString(v)}, v
	}
	switch {
	case len(items) == 0 && !st.optional:
		return nil, fmt.Errorf("the empty sequence is not allowed as %s", st.src)
	case len(items) == 0:
		return nodeSet(nil), nil
	case len(items) > 1 && !st.many:
		return nil, fmt.Errorf("a sequence of %d items is not allowed as %s", len(items), st.src)
	case st.many:
		return t.atomicSeq(items), nil
	}
	switch st.atomic {
	case "string":
		return toString(single), nil
	case "boolean":
		if f, ok := asNumber(single); ok {
			return f != 0 && !math.IsNaN(f), nil
		}
		if b, ok := single.(bool); ok {
			return b, nil
		}
		switch strings.TrimSpace(toString(single)) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not an xs:boolean", toString(single))
	}
	f, ok := asNumber(single)
	switch _, isBool := single.(bool); {
	case isBool:
		return nil, fmt.Errorf("a boolean is not an xs:%s", st.xsName)
	case !ok:
		if f, ok = castNumber(strings.TrimSpace(toString(single)), st.xsName); !ok {
			return nil, fmt.Errorf("%q is not an xs:%s", toString(single), st.xsName)
		}
	}
	if st.integer && f != math.Trunc(f) {
		return nil, fmt.Errorf("%s is not an xs:%s", numberToString(f), st.xsName)
	}
	if st.xsName == "double" || st.xsName == "float" {
		return xsDouble(f), nil
	}
	return f, nil
}

var (
	integerLexical = regexp.MustCompile(`^[+-]?[0-9]+$`)
	decimalLexical = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
)

// castNumber casts a string to an XML Schema numeric type (xs:integer and
// its subtypes take digits only, xs:decimal no exponent, xs:double and
// xs:float also an exponent, INF, -INF and NaN).
func castNumber(s, xsName string) (float64, bool) {
	switch xsName {
	case "double", "float":
		switch s {
		case "INF", "+INF":
			return math.Inf(1), true
		case "-INF":
			return math.Inf(-1), true
		case "NaN":
			return math.NaN(), true
		}
		if strings.ContainsAny(s, "xXpP_") || strings.EqualFold(strings.TrimLeft(s, "+-"), "inf") || strings.EqualFold(strings.TrimLeft(s, "+-"), "infinity") || strings.EqualFold(s, "nan") {
			return 0, false // Go syntax that XML Schema does not have
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	case "decimal":
		if !decimalLexical.MatchString(s) {
			return 0, false
		}
	default:
		if !integerLexical.MatchString(s) {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// fallbackInstr is an instruction this processor does not know, in
// forwards-compatible mode (XSLT 1.0 section 2.5, 15): its xsl:fallback
// children run instead, and without any it fails only when instantiated.
type fallbackInstr struct {
	loc
	name      string
	fallbacks []seq
}

func (in *fallbackInstr) exec(t *transform) error {
	if len(in.fallbacks) == 0 {
		return in.wrap(fmt.Errorf("%s is not an instruction this processor knows, and it has no xsl:fallback (forwards-compatible processing)", in.name))
	}
	for _, f := range in.fallbacks {
		if err := f.exec(t); err != nil {
			return err
		}
	}
	return nil
}

// compileFallbacks compiles the xsl:fallback children of an unknown
// instruction or extension element.
func (c *compiler) compileFallbacks(k *node, bc *bodyCtx) (*fallbackInstr, error) {
	in := &fallbackInstr{name: k.qname()}
	for _, f := range k.children {
		if f.kind != elementNode || f.space != nsXSL || f.local != "fallback" {
			continue
		}
		body, err := c.compileBody(f, bc)
		if err != nil {
			return nil, err
		}
		in.fallbacks = append(in.fallbacks, body)
	}
	return in, nil
}

// namespaceInstr is XSLT 2.0's xsl:namespace: a namespace node on the
// element being built (wsdl2apigee's generated bundles declare the
// backend's namespaces with it).
type namespaceInstr struct {
	loc
	name *avt
	sel  expr
	body seq
}

func (in *namespaceInstr) exec(t *transform) error {
	prefix, err := in.name.eval(t)
	if err != nil {
		return in.wrap(err)
	}
	prefix = strings.TrimSpace(prefix)
	var uri string
	if in.sel != nil {
		v, err := t.eval(in.sel)
		if err != nil {
			return in.wrap(err)
		}
		uri = joinValues(v, " ")
	} else if uri, err = t.textContent(in.body); err != nil {
		return in.wrap(err)
	}
	switch {
	case prefix != "" && !isNCName(prefix) || prefix == "xmlns":
		return in.wrap(fmt.Errorf("xsl:namespace name %q is not a prefix (an NCName other than xmlns, or empty)", prefix))
	case uri == "":
		return in.wrap(fmt.Errorf("xsl:namespace %s: the namespace URI is empty", prefix))
	case (prefix == "xml") != (uri == nsXML) || uri == nsXMLNS:
		return in.wrap(fmt.Errorf("xsl:namespace cannot bind %q to %s", prefix, uri))
	}
	return in.wrap(t.addNamespace(prefix, uri))
}

// addNamespace adds a namespace node to the element being built, as
// xsl:namespace and xsl:copy-of select="namespace::*" do. A prefix bound
// to another URI by a namespace node of the element is an error
// (XTDE0430); one only the element's name uses is given up instead, the
// element taking a new prefix, as Saxon's namespace fix-up does.
func (t *transform) addNamespace(prefix, uri string) error {
	el := t.out
	switch {
	case el.kind != elementNode:
		return fmt.Errorf("cannot add namespace %s: there is no element to add it to", prefix)
	case len(el.children) > 0:
		return fmt.Errorf("cannot add namespace %s to <%s> after its children", prefix, el.qname())
	case prefix == "" && el.space == "":
		// XTDE0440.
		return fmt.Errorf("cannot add the default namespace %s to <%s>, which is in no namespace", uri, el.qname())
	}
	for _, b := range el.ns {
		if b.prefix == prefix {
			if b.uri == uri {
				return nil
			}
			return fmt.Errorf("namespace %s=%s conflicts with %s=%s on <%s>", prefix, uri, b.prefix, b.uri, el.qname())
		}
	}
	if el.prefix == prefix && el.space != uri {
		el.prefix = fixupPrefix(el, prefix)
	}
	// el.ns may be a literal result element's compiled list: append to a
	// copy.
	el.ns = append(el.ns[:len(el.ns):len(el.ns)], nsBinding{prefix, uri})
	t.outSeq++
	return nil
}

// fixupPrefix is a prefix for el's name that none of its namespace nodes
// uses: p_0, p_1… (_0 for the default namespace's), Saxon's choice.
func fixupPrefix(el *node, prefix string) string {
	for i := 0; ; i++ {
		p := prefix + "_" + strconv.Itoa(i)
		if !slices.ContainsFunc(el.ns, func(b nsBinding) bool { return b.prefix == p }) {
			return p
		}
	}
}

// copyNamespaces is xsl:copy-of select="namespace::*", the one use of
// the namespace axis real bundles make (stylesheets generated for SOAP
// backends keep the input element's namespaces on the element they
// rename): the current element's in-scope namespaces are added to the
// element being built.
type copyNamespacesInstr struct{ loc }

func (in *copyNamespacesInstr) exec(t *transform) error {
	if t.current.kind != elementNode {
		return nil
	}
	for _, b := range t.current.inScopeNS() {
		if err := t.addNamespace(b.prefix, b.uri); err != nil {
			return in.wrap(err)
		}
	}
	return nil
}

// groupState is the current group of xsl:for-each-group.
type groupState struct {
	items nodeSet
	key   any // nil for group-starting-with and group-ending-with
}

// forEachGroup is XSLT 2.0's xsl:for-each-group.
type forEachGroup struct {
	loc
	sel   expr
	by    expr     // group-by
	adj   expr     // group-adjacent
	start *pattern // group-starting-with
	end   *pattern // group-ending-with
	sorts []*sortKey
	body  seq
}

// groupKey is a grouping key: XPath 2.0 compares strings with strings and
// numbers with numbers (untyped node values are strings), and NaN equals
// NaN when grouping.
type groupKey struct {
	kind byte // 's', 'n', 'b', 'N' (NaN)
	s    string
	f    float64
}

func keysOf(v any) []groupKey {
	var out []groupKey
	add := func(x any) {
		if f, ok := asNumber(x); ok {
			x = f
		}
		switch x := x.(type) {
		case float64:
			if math.IsNaN(x) {
				out = append(out, groupKey{kind: 'N'})
				return
			}
			if x == 0 {
				x = 0 // -0 and 0 are one key
			}
			out = append(out, groupKey{kind: 'n', f: x})
		case bool:
			out = append(out, groupKey{kind: 'b', s: strconv.FormatBool(x)})
		default:
			out = append(out, groupKey{kind: 's', s: toString(x)})
		}
	}
	if ns, ok := v.(nodeSet); ok {
		for _, n := range ns {
			add(n.stringValue())
		}
	} else {
		add(v)
	}
	return out
}

func (k groupKey) value() any {
	switch k.kind {
	case 'n':
		return k.f
	case 'N':
		return math.NaN()
	case 'b':
		return k.s == "true"
	}
	return k.s
}

type group struct {
	items nodeSet
	key   any
}

func (in *forEachGroup) exec(t *transform) error {
	v, err := t.eval(in.sel)
	if err != nil {
		return in.wrap(err)
	}
	pop, ok := v.(nodeSet)
	if !ok {
		// A single atomic value is a population of one.
		pop = t.atomicSeq([]string{toString(v)})
	}
	groups, err := in.groups(t, pop)
	if err != nil {
		return in.wrap(err)
	}
	cur, pos, size, g := t.current, t.pos, t.size, t.group
	defer func() { t.current, t.pos, t.size, t.group = cur, pos, size, g }()
	if len(in.sorts) > 0 {
		order, err := t.sortOrder(len(groups), in.sorts, func(i int) {
			t.current, t.pos, t.size = groups[i].items[0], i+1, len(groups)
			t.group = &groupState{items: groups[i].items, key: groups[i].key}
		})
		if err != nil {
			return in.wrap(err)
		}
		sorted := make([]group, len(groups))
		for i, k := range order {
			sorted[i] = groups[k]
		}
		groups = sorted
	}
	for i, gr := range groups {
		t.current, t.pos, t.size = gr.items[0], i+1, len(groups)
		t.group = &groupState{items: gr.items, key: gr.key}
		if err := in.body.exec(t); err != nil {
			return err
		}
	}
	return nil
}

// groups partitions the population (XSLT 2.0 section 14.5): by key, in
// order of first appearance; by adjacent equal keys; or by pattern.
func (in *forEachGroup) groups(t *transform, pop nodeSet) ([]group, error) {
	var groups []group
	eval := func(e expr, i int) (any, error) {
		return e.eval(&xctx{node: pop[i], pos: i + 1, size: len(pop), t: t})
	}
	switch {
	case in.by != nil:
		index := map[groupKey]int{}
		for i, n := range pop {
			v, err := eval(in.by, i)
			if err != nil {
				return nil, err
			}
			seen := map[groupKey]bool{}
			for _, k := range keysOf(v) {
				if seen[k] {
					continue // an item joins a group once
				}
				seen[k] = true
				g, ok := index[k]
				if !ok {
					g = len(groups)
					index[k] = g
					groups = append(groups, group{key: k.value()})
				}
				groups[g].items = append(groups[g].items, n)
			}
		}
	case in.adj != nil:
		var last groupKey
		for i, n := range pop {
			v, err := eval(in.adj, i)
			if err != nil {
				return nil, err
			}
			keys := keysOf(v)
			if len(keys) != 1 {
				return nil, fmt.Errorf("group-adjacent must give one value for each item, not %d", len(keys))
			}
			if i == 0 || keys[0] != last {
				groups = append(groups, group{key: keys[0].value()})
			}
			last = keys[0]
			groups[len(groups)-1].items = append(groups[len(groups)-1].items, n)
		}
	default:
		newGroup := true
		for _, n := range pop {
			p := in.start
			if p == nil {
				p = in.end
			}
			ok, err := p.matches(t, n)
			if err != nil {
				return nil, err
			}
			if in.start != nil && ok {
				newGroup = true
			}
			if newGroup {
				groups = append(groups, group{})
				newGroup = false
			}
			groups[len(groups)-1].items = append(groups[len(groups)-1].items, n)
			if in.end != nil && ok {
				newGroup = true
			}
		}
	}
	return groups, nil
}

// forEachGroup compiles xsl:for-each-group.
func (c *compiler) forEachGroup(k *node, bc *bodyCtx) (instr, error) {
	in := &forEachGroup{}
	var err error
	if in.sel, err = c.requiredXPath(k, "select", bc); err != nil {
		return nil, err
	}
	n := 0
	for _, a := range []string{"group-by", "group-adjacent", "group-starting-with", "group-ending-with"} {
		if _, ok := k.attr("", a); ok {
			n++
		}
	}
	if n != 1 {
		return nil, errAt(k, "xsl:for-each-group needs exactly one of group-by, group-adjacent, group-starting-with and group-ending-with")
	}
	if v, ok := k.attr("", "collation"); ok && !slices.Contains(codepoint, strings.TrimSpace(v)) {
		return nil, errAt(k, "collation=%q (XSLT 2.0) is not supported by this runtime (only %s)", v, codepoint[0])
	}
	if in.by, err = c.xpath(k, "group-by", bc); err != nil {
		return nil, err
	}
	if in.adj, err = c.xpath(k, "group-adjacent", bc); err != nil {
		return nil, err
	}
	if in.start, err = c.pattern(k, "group-starting-with"); err != nil {
		return nil, err
	}
	if in.end, err = c.pattern(k, "group-ending-with"); err != nil {
		return nil, err
	}
	sorts, rest, err := c.sorts(k.children, bc, false)
	if err != nil {
		return nil, err
	}
	in.sorts = sorts
	if in.body, err = c.compileSeq(rest, bc); err != nil {
		return nil, err
	}
	return in, nil
}
