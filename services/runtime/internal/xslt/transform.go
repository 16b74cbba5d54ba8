package xslt

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Result is a transformation's serialized output.
type Result struct {
	Output []byte
	// Method is the output method used: xml, html or text.
	Method string
	// MediaType is xsl:output's media-type, or the method's default.
	MediaType string
	// Encoding is the output encoding (UTF-8 unless xsl:output says).
	Encoding string
	// Messages are the texts of the xsl:message instructions executed.
	Messages []string
}

// InternalError is a bug in the processor caught while transforming: it
// fails that transformation only. Stack is for the logs, not for clients.
type InternalError struct {
	Value any
	Stack []byte
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("internal error in the XSLT processor: %v", e.Value)
}

// transform is the state of one transformation.
type transform struct {
	ctx   context.Context
	sheet *Stylesheet
	doc   *node

	// current is XSLT's current node; pos and size its place in the
	// current node list.
	current   *node
	pos, size int
	mode      qname
	frame     []any

	globals []any
	gstate  []uint8 // 0 unevaluated, 1 evaluating, 2 done
	params  map[qname]string

	out      *node // where result nodes are appended
	nextOrd  int
	depth    int
	steps    int
	keys     map[keyID]map[string][]*node
	messages []string
	now      time.Time

	// group is xsl:for-each-group's current group (nil outside one).
	group *groupState
	// outSeq counts what is appended to result trees, and atomicAt is
	// where the last atomic value went (its container and outSeq just
	// after it): XSLT 2.0 separates adjacent atomic values with a space.
	outSeq   int
	atomicAt struct {
		out *node
		seq int
	}
}

type keyID struct {
	name qname
	root *node
}

// Transform parses input and transforms it. params bind top-level
// xsl:param values by name ("name" or "{namespace}name"); names the
// stylesheet does not declare are ignored. The context bounds the run.
func (s *Stylesheet) Transform(ctx context.Context, input []byte, params map[string]string) (res *Result, err error) {
	doc, err := parseXML(input, parseOptions{})
	if err != nil {
		return nil, err
	}
	if len(s.space) > 0 {
		stripSpace(doc, s.stripFor, false)
	}
	t := &transform{
		ctx: ctx, sheet: s, doc: doc,
		current: doc, pos: 1, size: 1,
		globals: make([]any, len(s.globals)), gstate: make([]uint8, len(s.globals)),
		params: map[qname]string{}, now: time.Now(),
	}
	t.nextOrd = number(doc, 1)
	for k, v := range params {
		q := qname{local: k}
		if strings.HasPrefix(k, "{") {
			if i := strings.IndexByte(k, '}'); i > 0 {
				q = qname{space: k[1:i], local: k[i+1:]}
			}
		}
		t.params[q] = v
	}
	defer func() {
		// A bug in the processor must fail this one message, never the
		// process; the stack goes into the error for the report.
		if r := recover(); r != nil {
			res, err = nil, &InternalError{Value: r, Stack: debug.Stack()}
		}
	}()
	result := &node{kind: rootNode}
	t.out = result
	if err := t.applyTo(doc, qname{}, nil); err != nil {
		return nil, err
	}
	flushText(result)
	out, method, err := serialize(result, &s.output)
	if err != nil {
		return nil, err
	}
	return &Result{Output: out, Method: method, MediaType: s.output.mediaTypeFor(method), Encoding: s.output.encodingName(), Messages: t.messages}, nil
}

// eval evaluates an expression with the current node as context.
func (t *transform) eval(e expr) (any, error) {
	return e.eval(&xctx{node: t.current, pos: t.pos, size: t.size, t: t})
}

func (t *transform) variable(ref varRef, name string) (any, error) {
	if !ref.global {
		v := t.frame[ref.slot]
		if v == nil {
			return nil, fmt.Errorf("variable $%s has no value yet", name)
		}
		return v, nil
	}
	return t.global(ref.slot)
}

// global evaluates a global variable on first use, with the root as the
// current node.
func (t *transform) global(i int) (any, error) {
	switch t.gstate[i] {
	case 2:
		return t.globals[i], nil
	case 1:
		return nil, fmt.Errorf("global variable $%s is defined in terms of itself", t.sheet.globals[i].name)
	}
	g := t.sheet.globals[i]
	if s, ok := t.params[g.name]; ok && g.param {
		var v any = s
		if g.as != nil {
			var err error
			if v, err = g.as.convert(t, s); err != nil {
				return nil, &RuntimeError{Line: g.el.line, Instr: g.el.qname(), Err: fmt.Errorf("parameter $%s: %w", g.name, err)}
			}
		}
		t.globals[i], t.gstate[i] = v, 2
		return v, nil
	}
	t.gstate[i] = 1
	cur, pos, size, frame, mode, group := t.current, t.pos, t.size, t.frame, t.mode, t.group
	t.current, t.pos, t.size, t.frame, t.mode, t.group = t.doc, 1, 1, make([]any, g.nslots), qname{}, nil
	v, err := t.valueAs(g.sel, g.body, g.as)
	t.current, t.pos, t.size, t.frame, t.mode, t.group = cur, pos, size, frame, mode, group
	if err != nil {
		t.gstate[i] = 0
		return nil, &RuntimeError{Line: g.el.line, Instr: g.el.qname(), Err: err}
	}
	t.globals[i], t.gstate[i] = v, 2
	return v, nil
}

// value computes a variable's value: the select expression, a result tree
// fragment built from the content, or the empty string.
func (t *transform) value(sel expr, body seq) (any, error) {
	if sel != nil {
		return t.eval(sel)
	}
	if body == nil {
		return "", nil
	}
	root := &node{kind: rootNode}
	prev := t.out
	t.out = root
	err := body.exec(t)
	t.out = prev
	if err != nil {
		return nil, err
	}
	t.numberTree(root)
	return nodeSet{root}, nil
}

// textContent runs a body that must produce text (attribute, comment,
// processing-instruction and message content) and returns the text.
func (t *transform) textContent(body seq) (string, error) {
	if len(body) == 1 {
		if ti, ok := body[0].(*textInstr); ok {
			return ti.s, nil
		}
	}
	root := &node{kind: rootNode}
	prev := t.out
	t.out = root
	err := body.exec(t)
	t.out = prev
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, k := range root.children {
		if k.kind == textNode {
			flushText(k)
			b.WriteString(k.value)
		}
	}
	return b.String(), nil
}

func (t *transform) numberTree(root *node) { t.nextOrd = number(root, t.nextOrd) }

// applyList applies templates to each node of a node list.
func (t *transform) applyList(nodes nodeSet, mode qname, params []paramVal) error {
	cur, pos, size, m := t.current, t.pos, t.size, t.mode
	defer func() { t.current, t.pos, t.size, t.mode = cur, pos, size, m }()
	for i, n := range nodes {
		t.current, t.pos, t.size = n, i+1, len(nodes)
		if err := t.applyTo(n, mode, params); err != nil {
			return err
		}
	}
	return nil
}

// applyTo processes one node (already the current node) with the best
// template rule of the mode, or the built-in rule.
func (t *transform) applyTo(n *node, mode qname, params []paramVal) error {
	r, err := t.findRule(n, mode)
	if err != nil {
		return err
	}
	t.mode = mode
	if r == nil {
		return t.builtin(n, mode)
	}
	return t.invoke(r.tmpl, params, mode)
}

func (t *transform) findRule(n *node, mode qname) (*rule, error) {
	m := t.sheet.modes[mode]
	if m == nil {
		return nil, nil
	}
	var named []int
	switch n.kind {
	case elementNode:
		named = m.byName[nameKey{local: n.local}]
	case attributeNode:
		named = m.byName[nameKey{attr: true, local: n.local}]
	}
	i, j := 0, 0
	for i < len(named) || j < len(m.other) {
		var idx int
		if j >= len(m.other) || i < len(named) && named[i] < m.other[j] {
			idx, i = named[i], i+1
		} else {
			idx, j = m.other[j], j+1
		}
		r := m.rules[idx]
		ok, err := r.alt.match(t, n)
		if err != nil {
			return nil, &RuntimeError{Line: r.tmpl.line, Instr: "xsl:template", Err: fmt.Errorf("match %q: %w", r.tmpl.match.src, err)}
		}
		if ok {
			return r, nil
		}
	}
	return nil, nil
}

// builtin runs XSLT's built-in template rules.
func (t *transform) builtin(n *node, mode qname) error {
	switch n.kind {
	case rootNode, elementNode:
		return t.applyList(n.children, mode, nil)
	case textNode, attributeNode:
		t.text(n.value, false)
	}
	return nil
}

// invoke instantiates a template for the current node.
func (t *transform) invoke(tmpl *template, params []paramVal, mode qname) error {
	t.depth++
	defer func() { t.depth-- }()
	if t.depth > t.sheet.maxDepth {
		return &RuntimeError{Line: tmpl.line, Instr: "xsl:template", Err: fmt.Errorf("templates nested deeper than %d (infinite recursion?)", t.sheet.maxDepth)}
	}
	frame := t.frame
	t.frame = make([]any, tmpl.nslots)
	defer func() { t.frame = frame }()
	t.mode = mode
	for _, p := range tmpl.params {
		found := false
		for _, v := range params {
			if v.name == p.name {
				t.frame[p.slot], found = v.v, true
				if p.as != nil {
					cv, err := p.as.convert(t, v.v)
					if err != nil {
						return &RuntimeError{Line: tmpl.line, Instr: "xsl:param", Err: fmt.Errorf("parameter $%s: %w", p.name, err)}
					}
					t.frame[p.slot] = cv
				}
				break
			}
		}
		if !found {
			v, err := t.valueAs(p.sel, p.body, p.as)
			if err != nil {
				return &RuntimeError{Line: tmpl.line, Instr: "xsl:param", Err: err}
			}
			t.frame[p.slot] = v
		}
	}
	return tmpl.body.exec(t)
}

// applySets adds the attributes of attribute sets to the current element.
func (t *transform) applySets(names []qname) error {
	for _, q := range names {
		s := t.sheet.attrSets[q]
		if err := t.applySets(s.uses); err != nil {
			return err
		}
		frame := t.frame
		t.frame = make([]any, s.nslots)
		err := s.body.exec(t)
		t.frame = frame
		if err != nil {
			return err
		}
	}
	return nil
}

// key implements key(): the nodes of root's tree whose key value equals
// the value (each string value, for a node-set).
func (t *transform) key(name qname, v any, root *node) (any, error) {
	defs := t.sheet.keys[name]
	if defs == nil {
		return nil, fmt.Errorf("key(): no xsl:key named %s", name)
	}
	id := keyID{name, root}
	idx, ok := t.keys[id]
	if !ok {
		var err error
		if idx, err = t.buildKey(defs, root); err != nil {
			return nil, err
		}
		if t.keys == nil {
			t.keys = map[keyID]map[string][]*node{}
		}
		t.keys[id] = idx
	}
	var vals []string
	if ns, ok := v.(nodeSet); ok {
		for _, n := range ns {
			vals = append(vals, n.stringValue())
		}
	} else {
		vals = []string{toString(v)}
	}
	if len(vals) == 1 {
		return nodeSet(idx[vals[0]]), nil
	}
	var out []*node
	for _, s := range vals {
		out = append(out, idx[s]...)
	}
	return nodeSet(sortNodes(out)), nil
}

func (t *transform) buildKey(defs []*keyDef, root *node) (map[string][]*node, error) {
	idx := map[string][]*node{}
	cur := t.current
	defer func() { t.current = cur }()
	var visit func(n *node) error
	add := func(n *node) error {
		for _, d := range defs {
			ok, err := d.match.matches(t, n)
			if err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			t.current = n
			v, err := d.use.eval(&xctx{node: n, pos: 1, size: 1, t: t})
			if err != nil {
				return err
			}
			if ns, ok := v.(nodeSet); ok {
				for _, k := range ns {
					s := k.stringValue()
					if l := idx[s]; len(l) == 0 || l[len(l)-1] != n {
						idx[s] = append(l, n)
					}
				}
			} else {
				s := toString(v)
				if l := idx[s]; len(l) == 0 || l[len(l)-1] != n {
					idx[s] = append(l, n)
				}
			}
		}
		return nil
	}
	visit = func(n *node) error {
		if err := add(n); err != nil {
			return err
		}
		for _, a := range n.attrs {
			if err := add(a); err != nil {
				return err
			}
		}
		for _, k := range n.children {
			if err := visit(k); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(root); err != nil {
		return nil, err
	}
	if len(defs) > 1 {
		for s, l := range idx {
			idx[s] = sortNodes(l)
		}
	}
	return idx, nil
}

// sortNodes orders nodes by xsl:sort keys (a stable sort: equal keys keep
// document order).
func (t *transform) sortNodes(nodes nodeSet, keys []*sortKey) (nodeSet, error) {
	order, err := t.sortOrder(len(nodes), keys, func(i int) {
		t.current, t.pos, t.size = nodes[i], i+1, len(nodes)
	})
	if err != nil {
		return nil, err
	}
	out := make(nodeSet, len(nodes))
	for i, k := range order {
		out[i] = nodes[k]
	}
	return out, nil
}

// sortOrder sorts n items by xsl:sort keys, evaluated after at(i) makes
// item i the context (a node, or a group of xsl:for-each-group); it
// returns the items' indexes in sorted order (a stable sort).
func (t *transform) sortOrder(n int, keys []*sortKey, at func(i int)) ([]int, error) {
	type spec struct {
		desc, numeric, upperFirst, collate bool
	}
	specs := make([]spec, len(keys))
	for i, k := range keys {
		specs[i].collate = k.collate
		for _, a := range []struct {
			attr string
			v    *avt
			set  func(string)
		}{
			{"order", k.order, func(s string) { specs[i].desc = s == "descending" }},
			{"data-type", k.dataType, func(s string) { specs[i].numeric = s == "number" }},
			{"case-order", k.caseOrder, func(s string) { specs[i].upperFirst = s == "upper-first" }},
		} {
			if a.v == nil {
				continue
			}
			s, err := a.v.eval(t)
			if err != nil {
				return nil, err
			}
			if err := checkSortValue(a.attr, s); err != nil {
				return nil, err
			}
			a.set(s)
		}
	}
	strs := make([][]string, n)
	nums := make([][]float64, n)
	cur, pos, size, g := t.current, t.pos, t.size, t.group
	defer func() { t.current, t.pos, t.size, t.group = cur, pos, size, g }()
	for i := range n {
		at(i)
		strs[i] = make([]string, len(keys))
		nums[i] = make([]float64, len(keys))
		for j, k := range keys {
			var v any = nodeSet{t.current}
			if k.sel != nil {
				var err error
				if v, err = t.eval(k.sel); err != nil {
					return nil, err
				}
			}
			strs[i][j] = toString(v)
			if specs[j].numeric {
				// The value, not its string: an XPath 2.0 double prints
				// with an exponent XPath 1.0 numbers cannot read.
				nums[i][j] = toNumber(v)
			}
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := order[a], order[b]
		for j, sp := range specs {
			var c int
			switch {
			case sp.numeric:
				c = compareSortNumbers(nums[x][j], nums[y][j])
			case sp.collate:
				c = compareText(strs[x][j], strs[y][j], sp.upperFirst)
			default:
				c = strings.Compare(strs[x][j], strs[y][j])
			}
			if sp.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	return order, nil
}

// compareSortNumbers orders NaN before every number, as XSLT 1.0 says.
func compareSortNumbers(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return -1
	case bn:
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareText is the collation for data-type="text" when xsl:sort has lang
// or case-order: letters compare case-insensitively first, then case
// decides (lower case first unless upper-first), approximating the Java
// Collator Saxon then uses.
func compareText(a, b string, upperFirst bool) int {
	if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	ar, br := []rune(a), []rune(b)
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		aUpper := strings.ToUpper(string(ar[i])) == string(ar[i])
		if aUpper == upperFirst {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// Result tree construction.

func (t *transform) appendChild(k *node) {
	t.outSeq++
	k.parent = t.out
	t.out.children = append(t.out.children, k)
}

// atomic appends an atomic value's string to the result: a text node,
// after a space if the previous item in the same container was an atomic
// value too (XSLT 2.0 section 5.7.1).
func (t *transform) atomic(s string) {
	if t.atomicAt.out == t.out && t.atomicAt.seq == t.outSeq {
		t.text(" ", false)
	}
	t.text(s, false)
	t.outSeq++
	t.atomicAt.out, t.atomicAt.seq = t.out, t.outSeq
}

// atomicSeq is a sequence of strings as atomic-value text nodes of a new
// tree, in order (see node.atomic).
func (t *transform) atomicSeq(strs []string) nodeSet {
	if len(strs) == 0 {
		return nodeSet(nil)
	}
	root := &node{kind: rootNode}
	out := make(nodeSet, len(strs))
	for i, s := range strs {
		k := &node{kind: textNode, parent: root, value: s, idx: i, atomic: true}
		root.children = append(root.children, k)
		out[i] = k
	}
	t.numberTree(root)
	return out
}

func (t *transform) text(s string, noEscape bool) {
	if s == "" {
		return
	}
	t.outSeq++
	if n := len(t.out.children); n > 0 {
		if last := t.out.children[n-1]; last.kind == textNode && last.noEscape == noEscape {
			if last.buf == nil {
				b := make([]byte, 0, 2*(len(last.value)+len(s)))
				b = append(b, last.value...)
				last.buf = &b
			}
			*last.buf = append(*last.buf, s...)
			return
		}
	}
	t.appendChild(&node{kind: textNode, value: s, noEscape: noEscape})
}

// startElement appends an element and makes it the output container; it
// returns the previous container to restore.
func (t *transform) startElement(space, local, prefix string, ns []nsBinding) *node {
	el := &node{kind: elementNode, space: space, local: local, prefix: prefix, ns: ns}
	t.appendChild(el)
	prev := t.out
	t.out = el
	return prev
}

func (t *transform) attribute(space, local, prefix, value string) error {
	el := t.out
	if el.kind != elementNode {
		return fmt.Errorf("cannot add attribute %s: there is no element to add it to", joinQName(prefix, local))
	}
	if len(el.children) > 0 {
		return fmt.Errorf("cannot add attribute %s to <%s> after its children", joinQName(prefix, local), el.qname())
	}
	for _, a := range el.attrs {
		if a.local == local && a.space == space {
			a.value, a.prefix = value, prefix
			return nil
		}
	}
	el.attrs = append(el.attrs, &node{kind: attributeNode, parent: el, space: space, local: local, prefix: prefix, value: value})
	return nil
}

// copyNode is xsl:copy-of for one node; noNS is XSLT 2.0's
// copy-namespaces="no": the copied elements carry no namespace
// declarations but those their names need (serialization adds them).
func (t *transform) copyNode(n *node, noNS bool) error {
	if !noNS {
		return t.copyDeep(n, true)
	}
	if n.kind != elementNode {
		return t.copyDeep(n, false)
	}
	prev := t.startElement(n.space, n.local, n.prefix, nil)
	for _, a := range n.attrs {
		t.out.attrs = append(t.out.attrs, &node{kind: attributeNode, parent: t.out, space: a.space, local: a.local, prefix: a.prefix, value: a.value})
	}
	for _, k := range n.children {
		if err := t.copyNode(k, true); err != nil {
			return err
		}
	}
	t.out = prev
	return nil
}

// copyDeep copies a node and its subtree into the result. top copies an
// element with all the namespaces in scope in its tree (its copied
// descendants carry their own declarations).
func (t *transform) copyDeep(n *node, top bool) error {
	switch n.kind {
	case rootNode:
		for _, k := range n.children {
			if err := t.copyDeep(k, true); err != nil {
				return err
			}
		}
	case elementNode:
		ns := n.ns
		if top {
			ns = n.inScopeNS()
		}
		prev := t.startElement(n.space, n.local, n.prefix, ns)
		for _, a := range n.attrs {
			t.out.attrs = append(t.out.attrs, &node{kind: attributeNode, parent: t.out, space: a.space, local: a.local, prefix: a.prefix, value: a.value})
		}
		for _, k := range n.children {
			if err := t.copyDeep(k, false); err != nil {
				return err
			}
		}
		t.out = prev
	case attributeNode:
		return t.attribute(n.space, n.local, n.prefix, n.value)
	case textNode:
		if n.atomic {
			t.atomic(n.value)
			break
		}
		t.text(n.value, n.noEscape)
	case commentNode, piNode:
		t.appendChild(&node{kind: n.kind, local: n.local, value: n.value})
	}
	return nil
}
