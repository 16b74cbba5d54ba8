package xslt

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// XPath values are nodeSet (document order, no duplicates), string,
// float64, xsDouble or bool. A nodeSet held by a variable is shared:
// never modify one in place.
type nodeSet []*node

// xsDouble is a number an XPath 2.0 scope typed xs:double: one computed
// from a node's value (arithmetic on it, number(), sum()). It prints as
// XPath 2.0 prints doubles, with an exponent from 1e6 up and below 1e-6
// (1.0E6), where an integer or decimal (float64 here: literals, count(),
// position(), arithmetic on them) prints without one, as in Saxon. XPath
// 1.0 scopes only make float64.
type xsDouble float64

// asNumber returns v's number if v is one.
func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case xsDouble:
		return float64(x), true
	}
	return 0, false
}

func typeName(v any) string {
	switch v.(type) {
	case nodeSet:
		return "node-set"
	case string:
		return "string"
	case float64, xsDouble:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// xctx is the dynamic context of an evaluation.
type xctx struct {
	node      *node
	pos, size int
	t         *transform
}

func (c *xctx) with(n *node, pos, size int) *xctx {
	return &xctx{node: n, pos: pos, size: size, t: c.t}
}

type expr interface {
	eval(c *xctx) (any, error)
}

type literalExpr struct{ v any }

func (e *literalExpr) eval(*xctx) (any, error) { return e.v, nil }

// varRef addresses a variable: a global by index or a local slot of the
// current template frame.
type varRef struct {
	global bool
	slot   int
}

type varExpr struct {
	ref  varRef
	name string
}

func (e *varExpr) eval(c *xctx) (any, error) { return c.t.variable(e.ref, e.name) }

type logicExpr struct {
	or   bool
	l, r expr
}

func (e *logicExpr) eval(c *xctx) (any, error) {
	l, err := e.l.eval(c)
	if err != nil {
		return nil, err
	}
	if toBool(l) == e.or {
		return e.or, nil
	}
	r, err := e.r.eval(c)
	if err != nil {
		return nil, err
	}
	return toBool(r), nil
}

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpOps = map[string]cmpOp{"=": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}

// swap mirrors a relational operator (a < b is b > a).
func (o cmpOp) swap() cmpOp {
	switch o {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return o
}

type cmpExpr struct {
	op   cmpOp
	l, r expr
}

func (e *cmpExpr) eval(c *xctx) (any, error) {
	l, err := e.l.eval(c)
	if err != nil {
		return nil, err
	}
	r, err := e.r.eval(c)
	if err != nil {
		return nil, err
	}
	return compareValues(e.op, l, r), nil
}

// compareValues implements XPath 1.0 section 3.4.
func compareValues(op cmpOp, l, r any) bool {
	ln, lok := l.(nodeSet)
	rn, rok := r.(nodeSet)
	switch {
	case lok && rok:
		if op == opEq || op == opNe {
			rs := make(map[string]bool, len(rn))
			for _, n := range rn {
				rs[n.stringValue()] = true
			}
			for _, a := range ln {
				s := a.stringValue()
				if op == opEq && rs[s] {
					return true
				}
				if op == opNe {
					for o := range rs {
						if o != s {
							return true
						}
					}
				}
			}
			return false
		}
		for _, a := range ln {
			x := stringToNumber(a.stringValue())
			for _, b := range rn {
				if compareNumbers(op, x, stringToNumber(b.stringValue())) {
					return true
				}
			}
		}
		return false
	case lok:
		return compareNodeSet(op, ln, r)
	case rok:
		return compareNodeSet(op.swap(), rn, l)
	}
	if op == opEq || op == opNe {
		var eq bool
		_, lb := l.(bool)
		_, rb := r.(bool)
		_, lf := asNumber(l)
		_, rf := asNumber(r)
		switch {
		case lb || rb:
			eq = toBool(l) == toBool(r)
		case lf || rf:
			eq = toNumber(l) == toNumber(r)
		default:
			eq = toString(l) == toString(r)
		}
		return eq == (op == opEq)
	}
	return compareNumbers(op, toNumber(l), toNumber(r))
}

// compareNodeSet compares a node-set (on the left) with a scalar.
func compareNodeSet(op cmpOp, ns nodeSet, v any) bool {
	switch x := v.(type) {
	case bool:
		b := len(ns) > 0
		switch op {
		case opEq:
			return b == x
		case opNe:
			return b != x
		}
		return compareNumbers(op, boolToNumber(b), boolToNumber(x))
	case float64, xsDouble:
		f := toNumber(x)
		for _, n := range ns {
			if compareNumbers(op, stringToNumber(n.stringValue()), f) {
				return true
			}
		}
		return false
	case string:
		for _, n := range ns {
			s := n.stringValue()
			switch op {
			case opEq:
				if s == x {
					return true
				}
			case opNe:
				if s != x {
					return true
				}
			default:
				if compareNumbers(op, stringToNumber(s), stringToNumber(x)) {
					return true
				}
			}
		}
	}
	return false
}

func compareNumbers(op cmpOp, a, b float64) bool {
	switch op {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	}
	return a >= b
}

func boolToNumber(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

type arithExpr struct {
	op     byte // + - * d(iv) m(od)
	l, r   expr
	xpath2 bool // an empty operand gives the empty sequence (XPath 2.0)
}

func (e *arithExpr) eval(c *xctx) (any, error) {
	l, err := e.l.eval(c)
	if err != nil {
		return nil, err
	}
	r, err := e.r.eval(c)
	if err != nil {
		return nil, err
	}
	if e.xpath2 && (isEmpty(l) || isEmpty(r)) {
		return nodeSet(nil), nil
	}
	num := toNumber
	if e.xpath2 {
		num = toDouble
	}
	a, b := num(l), num(r)
	var f float64
	switch e.op {
	case '+':
		f = a + b
	case '-':
		f = a - b
	case '*':
		f = a * b
	case 'd':
		f = a / b
	default:
		f = math.Mod(a, b)
	}
	if e.xpath2 && (isDouble(l) || isDouble(r)) {
		return xsDouble(f), nil
	}
	return f, nil
}

// isDouble reports whether v is an xs:double operand in XPath 2.0
// arithmetic: a double, or a node's (untyped) value, which arithmetic
// casts to xs:double.
func isDouble(v any) bool {
	switch v.(type) {
	case xsDouble, nodeSet, string:
		return true
	}
	return false
}

type negExpr struct {
	e      expr
	xpath2 bool
}

func (e *negExpr) eval(c *xctx) (any, error) {
	v, err := e.e.eval(c)
	if err != nil {
		return nil, err
	}
	if e.xpath2 && isEmpty(v) {
		return nodeSet(nil), nil
	}
	if e.xpath2 && isDouble(v) {
		return xsDouble(-toDouble(v)), nil
	}
	return -toNumber(v), nil
}

// isEmpty reports whether v is the empty sequence (an empty node-set).
func isEmpty(v any) bool {
	ns, ok := v.(nodeSet)
	return ok && len(ns) == 0
}

// ifExpr is XPath 2.0's if (test) then a else b.
type ifExpr struct{ test, then, els expr }

func (e *ifExpr) eval(c *xctx) (any, error) {
	v, err := e.test.eval(c)
	if err != nil {
		return nil, err
	}
	if toBool(v) {
		return e.then.eval(c)
	}
	return e.els.eval(c)
}

type unionExpr struct{ l, r expr }

func (e *unionExpr) eval(c *xctx) (any, error) {
	l, err := evalNodeSet(c, e.l, "the left operand of |")
	if err != nil {
		return nil, err
	}
	r, err := evalNodeSet(c, e.r, "the right operand of |")
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return r, nil
	}
	if len(r) == 0 {
		return l, nil
	}
	out := make([]*node, 0, len(l)+len(r))
	out = append(append(out, l...), r...)
	return nodeSet(sortNodes(out)), nil
}

func evalNodeSet(c *xctx, e expr, what string) (nodeSet, error) {
	v, err := e.eval(c)
	if err != nil {
		return nil, err
	}
	ns, ok := v.(nodeSet)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a node-set", what, typeName(v))
	}
	return ns, nil
}

// sortNodes sorts into document order and removes duplicates, in place.
func sortNodes(ns []*node) []*node {
	slices.SortFunc(ns, func(a, b *node) int { return cmp.Compare(a.ord, b.ord) })
	return slices.Compact(ns)
}

type filterExpr struct {
	primary expr
	preds   []expr
}

func (e *filterExpr) eval(c *xctx) (any, error) {
	ns, err := evalNodeSet(c, e.primary, "a filtered expression")
	if err != nil {
		return nil, err
	}
	out, err := filterPreds(c, ns, e.preds, true)
	return nodeSet(out), err
}

// filterPreds applies predicates in turn; positions count in the order of
// nodes (the axis order). copyFirst must be set when nodes is shared.
func filterPreds(c *xctx, nodes []*node, preds []expr, copyFirst bool) ([]*node, error) {
	for _, p := range preds {
		if lit, ok := p.(*literalExpr); ok {
			if f, ok := lit.v.(float64); ok {
				if f >= 1 && f <= float64(len(nodes)) && f == math.Trunc(f) {
					nodes = []*node{nodes[int(f)-1]}
				} else {
					nodes = nil
				}
				copyFirst = false
				continue
			}
		}
		var out []*node
		if copyFirst {
			out = make([]*node, 0, len(nodes))
			copyFirst = false
		} else {
			out = nodes[:0]
		}
		size := len(nodes)
		sub := &xctx{size: size, t: c.t}
		for i, n := range nodes {
			sub.node, sub.pos = n, i+1
			v, err := p.eval(sub)
			if err != nil {
				return nil, err
			}
			keep := false
			if f, ok := asNumber(v); ok {
				keep = f == float64(i+1)
			} else {
				keep = toBool(v)
			}
			if keep {
				out = append(out, n)
			}
		}
		nodes = out
	}
	return nodes, nil
}

type axis uint8

const (
	axisChild axis = iota
	axisAttribute
	axisSelf
	axisParent
	axisAncestor
	axisAncestorOrSelf
	axisDescendant
	axisDescendantOrSelf
	axisFollowing
	axisFollowingSibling
	axisPreceding
	axisPrecedingSibling
)

func (a axis) reverse() bool {
	switch a {
	case axisAncestor, axisAncestorOrSelf, axisPreceding, axisPrecedingSibling:
		return true
	}
	return false
}

type testKind uint8

const (
	testName testKind = iota
	testNode
	testText
	testComment
	testPI
)

type nodeTest struct {
	kind         testKind
	space, local string // local "*" is a wildcard
	anySpace     bool   // unprefixed *, or *:local
	hasTarget    bool   // processing-instruction('target')
}

func (t *nodeTest) match(n *node, principal nodeKind) bool {
	switch t.kind {
	case testNode:
		return true
	case testText:
		return n.kind == textNode
	case testComment:
		return n.kind == commentNode
	case testPI:
		return n.kind == piNode && (!t.hasTarget || n.local == t.local)
	}
	if n.kind != principal {
		return false
	}
	if t.local == "*" {
		return t.anySpace || n.space == t.space
	}
	return n.local == t.local && (t.anySpace || n.space == t.space)
}

type step struct {
	axis  axis
	test  nodeTest
	preds []expr
}

type pathExpr struct {
	start expr // a filter expression the path starts from, or nil
	abs   bool
	steps []*step
}

func (e *pathExpr) eval(c *xctx) (any, error) {
	var base []*node
	switch {
	case e.abs:
		base = []*node{c.node.root()}
	case e.start != nil:
		ns, err := evalNodeSet(c, e.start, "the start of a path")
		if err != nil {
			return nil, err
		}
		base = ns
	default:
		base = []*node{c.node}
	}
	for _, st := range e.steps {
		var err error
		if base, err = st.apply(c, base); err != nil {
			return nil, err
		}
		if len(base) == 0 {
			break
		}
	}
	return nodeSet(base), nil
}

// apply evaluates the step from every node of in.
func (s *step) apply(c *xctx, in []*node) ([]*node, error) {
	if len(in) == 1 {
		out := s.collect(in[0], nil)
		var err error
		if len(s.preds) > 0 {
			if out, err = filterPreds(c, out, s.preds, false); err != nil {
				return nil, err
			}
		}
		if s.axis.reverse() {
			slices.Reverse(out)
		}
		return out, nil
	}
	var out, buf []*node
	for _, n := range in {
		buf = s.collect(n, buf[:0])
		if len(s.preds) > 0 {
			var err error
			if buf, err = filterPreds(c, buf, s.preds, false); err != nil {
				return nil, err
			}
		}
		out = append(out, buf...)
	}
	if len(out) > 1 {
		out = sortNodes(out)
	}
	return out, nil
}

// collect appends the nodes of the axis from n that pass the node test,
// in axis order (reverse document order for reverse axes).
func (s *step) collect(n *node, out []*node) []*node {
	t := &s.test
	switch s.axis {
	case axisChild:
		for _, k := range n.children {
			if t.match(k, elementNode) {
				out = append(out, k)
			}
		}
	case axisAttribute:
		for _, a := range n.attrs {
			if t.match(a, attributeNode) {
				out = append(out, a)
			}
		}
	case axisSelf:
		if t.match(n, elementNode) {
			out = append(out, n)
		}
	case axisParent:
		if n.parent != nil && t.match(n.parent, elementNode) {
			out = append(out, n.parent)
		}
	case axisAncestorOrSelf:
		if t.match(n, elementNode) {
			out = append(out, n)
		}
		fallthrough
	case axisAncestor:
		for a := n.parent; a != nil; a = a.parent {
			if t.match(a, elementNode) {
				out = append(out, a)
			}
		}
	case axisDescendantOrSelf:
		if t.match(n, elementNode) {
			out = append(out, n)
		}
		fallthrough
	case axisDescendant:
		out = appendDescendants(n, t, out)
	case axisFollowingSibling:
		if n.kind != attributeNode && n.parent != nil {
			for _, k := range n.parent.children[n.idx+1:] {
				if t.match(k, elementNode) {
					out = append(out, k)
				}
			}
		}
	case axisPrecedingSibling:
		if n.kind != attributeNode && n.parent != nil {
			sibs := n.parent.children[:n.idx]
			for i := len(sibs) - 1; i >= 0; i-- {
				if t.match(sibs[i], elementNode) {
					out = append(out, sibs[i])
				}
			}
		}
	case axisFollowing:
		start := n
		if n.kind == attributeNode {
			start = n.parent
			out = appendDescendants(start, t, out)
		}
		for a := start; a.parent != nil; a = a.parent {
			for _, k := range a.parent.children[a.idx+1:] {
				if t.match(k, elementNode) {
					out = append(out, k)
				}
				out = appendDescendants(k, t, out)
			}
		}
	case axisPreceding:
		start := n
		if n.kind == attributeNode {
			start = n.parent
		}
		for a := start; a.parent != nil; a = a.parent {
			sibs := a.parent.children[:a.idx]
			for i := len(sibs) - 1; i >= 0; i-- {
				out = appendReverse(sibs[i], t, out)
			}
		}
	}
	return out
}

func appendDescendants(n *node, t *nodeTest, out []*node) []*node {
	for _, k := range n.children {
		if t.match(k, elementNode) {
			out = append(out, k)
		}
		if len(k.children) > 0 {
			out = appendDescendants(k, t, out)
		}
	}
	return out
}

// appendReverse appends n's subtree in reverse document order.
func appendReverse(n *node, t *nodeTest, out []*node) []*node {
	for i := len(n.children) - 1; i >= 0; i-- {
		out = appendReverse(n.children[i], t, out)
	}
	if t.match(n, elementNode) {
		out = append(out, n)
	}
	return out
}

// Conversions (XPath 1.0 section 4).

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nodeSet:
		if len(x) == 0 {
			return ""
		}
		return x[0].stringValue()
	case float64:
		return numberToString(x)
	case xsDouble:
		return doubleToString(float64(x))
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

func toNumber(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case xsDouble:
		return float64(x)
	case string:
		return stringToNumber(x)
	case bool:
		return boolToNumber(x)
	case nodeSet:
		return stringToNumber(toString(x))
	}
	return math.NaN()
}

func toBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case xsDouble:
		return x != 0 && !math.IsNaN(float64(x))
	case string:
		return x != ""
	case nodeSet:
		return len(x) > 0
	}
	return false
}

// stringToNumber accepts XPath's Number production only: optional
// whitespace, an optional minus, digits with an optional fraction; no
// exponent, no plus sign.
func stringToNumber(s string) float64 {
	s = strings.Trim(s, " \t\r\n")
	t := strings.TrimPrefix(s, "-")
	if t == "" || t == "." {
		return math.NaN()
	}
	dot := false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return math.NaN()
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// numberToString formats a number the XPath 1.0 way: no exponent, no
// trailing zeros, integers without a decimal point.
func numberToString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// doubleToString formats an xs:double the XPath 2.0 way (what Saxon
// prints): INF, -INF, NaN, -0; from 1e-6 to below 1e6 without exponent
// and without a fraction when whole; otherwise the shortest mantissa with
// at least one fractional digit and an exponent (1.0E6, 1.25E-7).
func doubleToString(f float64) string {
	switch a := math.Abs(f); {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case f == 0 && math.Signbit(f):
		return "-0"
	case f == 0:
		return "0"
	case a >= 1e-6 && a < 1e6:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, 64), "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// toDouble is toNumber in an XPath 2.0 scope, where a string or node
// value is cast to xs:double (see stringToDouble).
func toDouble(v any) float64 {
	switch v.(type) {
	case string, nodeSet:
		return stringToDouble(toString(v))
	}
	return toNumber(v)
}

// stringToDouble is XPath 2.0's cast of an untyped value to xs:double:
// the XPath 1.0 number syntax, or XML Schema's (an exponent, INF, NaN);
// NaN when it is neither (Saxon raises an error there).
func stringToDouble(s string) float64 {
	if f := stringToNumber(s); !math.IsNaN(f) {
		return f
	}
	if f, ok := castNumber(strings.Trim(s, " \t\r\n"), "double"); ok {
		return f
	}
	return math.NaN()
}
