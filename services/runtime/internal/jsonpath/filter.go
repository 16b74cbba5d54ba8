package jsonpath

import (
	"math/big"
	"regexp"
	"strings"
	"unicode/utf16"
)

// This file ports Jayway's inline filter compiler (FilterCompiler), the
// value nodes it builds (ValueNode) and the relational operators
// (EvaluatorFactory), keeping their asymmetries: '1' == 1 is true but
// [1] == @.a is not; an operator Jayway cannot apply makes the filter
// false rather than failing.

// expr is a compiled filter expression (Jayway's ExpressionNode).
type expr interface {
	apply(pc *predCtx) bool
}

type logicalOp uint8

const (
	opAnd logicalOp = iota
	opOr
	opNot
)

type logicalExpr struct {
	op    logicalOp
	chain []expr
}

func (e *logicalExpr) apply(pc *predCtx) bool {
	switch e.op {
	case opOr:
		for _, x := range e.chain {
			if x.apply(pc) {
				return true
			}
		}
		return false
	case opAnd:
		for _, x := range e.chain {
			if !x.apply(pc) {
				return false
			}
		}
		return true
	}
	return !e.chain[0].apply(pc)
}

type relOp uint8

const (
	relGTE relOp = iota
	relLTE
	relEQ
	relTSEQ
	relNE
	relTSNE
	relLT
	relGT
	relRegex
	relNIN
	relIN
	relContains
	relAll
	relSize
	relExists
	relType
	relMatches
	relEmpty
	relSubsetOf
)

// relOps are the operators in Jayway's order (RelationalOperator), which
// matters: the first whose text equals the upper-cased operator wins.
var relOps = []struct {
	text string
	op   relOp
}{
	{">=", relGTE}, {"<=", relLTE}, {"==", relEQ}, {"===", relTSEQ}, {"!=", relNE},
	{"!==", relTSNE}, {"<", relLT}, {">", relGT}, {"=~", relRegex}, {"NIN", relNIN},
	{"IN", relIN}, {"CONTAINS", relContains}, {"ALL", relAll}, {"SIZE", relSize},
	{"EXISTS", relExists}, {"TYPE", relType}, {"MATCHES", relMatches}, {"EMPTY", relEmpty},
	{"SUBSETOF", relSubsetOf},
}

func relOpFromString(s string) relOp {
	u := strings.ToUpper(s)
	for _, o := range relOps {
		if o.text == u {
			return o.op
		}
	}
	throw(exInvalid, "Filter operator %s is not supported!", s)
	return 0
}

type relationalExpr struct {
	left  *vnode
	op    relOp
	right *vnode
}

func (e *relationalExpr) apply(pc *predCtx) bool {
	l, r := e.left, e.right
	if l.kind == vPath {
		l = l.evaluate(pc)
	}
	if r.kind == vPath {
		r = r.evaluate(pc)
	}
	return evaluateRel(e.op, l, r, pc)
}

// vkind is the class of a Jayway ValueNode.
type vkind uint8

const (
	vPattern vkind = iota
	vPath
	vNumber
	vString
	vBool
	vJSON
	vValueList
	vNull
	vUndefined
)

// vnode is a Jayway ValueNode.
type vnode struct {
	kind vkind

	// vPattern
	re *regexp.Regexp
	// vPath
	path                     *Path
	existsCheck, shouldExist bool
	// vNumber: the text of a BigDecimal; nan for NumberNode.NAN
	num string
	nan bool
	// vString
	str string
	// vBool
	b bool
	// vJSON: either the literal text (parsed when used) or a parsed value
	jsonText string
	json     any
	parsed   bool
	// vValueList
	list []*vnode
}

var (
	nodeTrue      = &vnode{kind: vBool, b: true}
	nodeFalse     = &vnode{kind: vBool, b: false}
	nodeNull      = &vnode{kind: vNull}
	nodeUndefined = &vnode{kind: vUndefined}
)

func boolNode(b bool) *vnode {
	if b {
		return nodeTrue
	}
	return nodeFalse
}

// numberNode is NumberNode(CharSequence): new BigDecimal(text), which
// throws NumberFormatException (not an InvalidPathException) on bad text.
func numberNode(text string) *vnode {
	if _, _, _, ok := decimalParts(text); !ok {
		throw(exOther, "%q is not a number (NumberFormatException)", text)
	}
	return &vnode{kind: vNumber, num: text}
}

// stringNode is StringNode(text, escape): surrounding quotes of one kind
// are removed, then with escape the backslash escapes are decoded.
func stringNode(s string, escape bool) *vnode {
	if len(s) > 1 {
		if (s[0] == '\'' && s[len(s)-1] == '\'') || (s[0] == '"' && s[len(s)-1] == '"') {
			s = s[1 : len(s)-1]
		}
	}
	if escape {
		s = javaUnescape(s)
	}
	return &vnode{kind: vString, str: s}
}

func (n *vnode) asBool() bool {
	if n.kind != vBool {
		throw(exInvalid, "Expected boolean node")
	}
	return n.b
}

// asNumber is asNumberNode: a string converts (to NaN when not numeric).
func (n *vnode) asNumber() *vnode {
	switch n.kind {
	case vNumber:
		return n
	case vString:
		if _, _, _, ok := decimalParts(n.str); !ok {
			return &vnode{kind: vNumber, nan: true}
		}
		return &vnode{kind: vNumber, num: n.str}
	}
	throw(exInvalid, "Expected number node")
	return nil
}

// asString is asStringNode: a number converts to BigDecimal.toString.
func (n *vnode) asString() string {
	switch n.kind {
	case vString:
		return n.str
	case vNumber:
		return bigDecimalString(n.num)
	}
	throw(exInvalid, "Expected string node")
	return ""
}

// equals is ValueNode.equals(Object).
func (n *vnode) equals(o *vnode) bool {
	if n == o {
		return true
	}
	switch n.kind {
	case vNumber:
		if o.kind != vNumber && o.kind != vString {
			return false
		}
		that := o.asNumber()
		if that.nan {
			return false
		}
		return compareDecimal(n.num, that.num) == 0
	case vString:
		if o.kind != vString && o.kind != vNumber {
			return false
		}
		return n.str == o.asString()
	case vBool:
		return o.kind == vBool && n.b == o.b
	case vNull:
		return o.kind == vNull
	case vJSON:
		if o.kind != vJSON {
			return false
		}
		return javaEquals(n.rawJSON(), o.rawJSON())
	case vValueList:
		if o.kind != vValueList || len(n.list) != len(o.list) {
			return false
		}
		for i := range n.list {
			if !n.list[i].equals(o.list[i]) {
				return false
			}
		}
		return true
	}
	// Patterns and paths compare by identity; undefined equals nothing.
	return false
}

// rawJSON is JsonNode's json field: the literal's text, or the parsed value.
func (n *vnode) rawJSON() any {
	if n.parsed {
		return n.json
	}
	return n.jsonText
}

// parse is JsonNode.parse: a literal is parsed afresh (json-smart,
// permissive mode); a parse failure is an IllegalArgumentException.
func (n *vnode) parse() any {
	if n.parsed {
		return n.json
	}
	v, err := parseLiteral(n.jsonText)
	if err != nil {
		throw(exOther, "%v", err)
	}
	return v
}

// jsonEquals is JsonNode.equals(JsonNode, ctx): this node's raw value
// against the other's parsed value, so [1] == @.a is false (a String is
// never a List) while @.a == [1] can be true.
func (n *vnode) jsonEquals(o *vnode) bool {
	if n == o {
		return true
	}
	return javaEquals(n.rawJSON(), o.parse())
}

func (n *vnode) jsonLength() int {
	v := n.parse()
	if a, ok := v.([]any); ok {
		return len(a)
	}
	return -1
}

func (n *vnode) jsonIsEmpty() bool {
	switch v := n.parse().(type) {
	case []any:
		return len(v) == 0
	case *Object:
		return v.Len() == 0
	case string:
		return len(v) == 0
	}
	return true
}

// asValueList is JsonNode.asValueListNode(ctx): an array becomes a list
// of value nodes; anything else is undefined (nil).
func (n *vnode) asValueList() []*vnode {
	a, ok := n.parse().([]any)
	if !ok {
		return nil
	}
	out := make([]*vnode, 0, len(a))
	for _, v := range a {
		out = append(out, toValueNode(v))
	}
	return out
}

// toValueNode is ValueNode.toValueNode for the values of a parsed list:
// a string that compiles as a path becomes a path node, one that parses
// as a JSON array or object a JSON node, others a string node (escapes
// decoded again).
func toValueNode(v any) *vnode {
	switch x := v.(type) {
	case nil:
		return nodeNull
	case string:
		if t := javaTrim(x); t != "" && (t[0] == '@' || t[0] == '$') {
			if _, ok := tryCompile(t); ok {
				// Jayway tests the trimmed text but compiles the original,
				// which fails (and throws) when it has leading blanks.
				return &vnode{kind: vPath, path: compilePath(x)}
			}
		}
		if t := javaTrim(x); len(t) > 1 && ((t[0] == '[' && t[len(t)-1] == ']') || (t[0] == '{' && t[len(t)-1] == '}')) {
			if _, err := parseLiteral(t); err == nil {
				return &vnode{kind: vJSON, jsonText: x}
			}
		}
		return stringNode(x, true)
	case bool:
		return boolNode(x)
	case int64, float64, Decimal, *big.Int:
		return numberNode(javaString(x))
	}
	throw(exOther, "Could not determine value type")
	return nil
}

func tryCompile(s string) (p *Path, ok bool) {
	ex := catch(func() { p = compilePath(s) }, anyEx)
	return p, ex == nil
}

// listContains is List.contains(node): node.equals(element).
func listContains(list []*vnode, node *vnode) bool {
	for _, e := range list {
		if node.equals(e) {
			return true
		}
	}
	return false
}

// evaluate is PathNode.evaluate: an exists check runs the path with
// REQUIRE_PROPERTIES against the current item (even a $ path, as Jayway
// does); otherwise the value found becomes a value node, or undefined when
// the path finds nothing.
func (n *vnode) evaluate(pc *predCtx) *vnode {
	if n.existsCheck {
		var found bool
		ex := catch(func() {
			// A fresh configuration, as Jayway builds: REQUIRE_PROPERTIES.
			c := pc.ctx.child(n.path, true)
			c.run(pc.item)
			c.value()
			found = true
		}, notFoundEx)
		if ex != nil {
			return nodeFalse
		}
		return boolNode(found)
	}
	var res any
	if ex := catch(func() { res = pc.evaluate(n.path) }, notFoundEx); ex != nil {
		return nodeUndefined
	}
	switch x := res.(type) {
	case int64, float64, Decimal, *big.Int:
		return numberNode(javaString(x))
	case string:
		return &vnode{kind: vString, str: x}
	case bool:
		return boolNode(x)
	case nil:
		return nodeNull
	case []any, *Object:
		return &vnode{kind: vJSON, json: x, parsed: true}
	}
	throw(exOther, "Could not convert %v to a ValueNode", res)
	return nil
}

// compareDecimal is BigDecimal.compareTo. It works on the digits and
// the exponent rather than expanding the numbers, so a hostile
// "1e999999999" in a payload costs nothing.
func compareDecimal(a, b string) int {
	na, da, sa, _ := decimalParts(a)
	nb, db, sb, _ := decimalParts(b)
	sign := func(neg bool, d string) int {
		switch {
		case d == "0":
			return 0
		case neg:
			return -1
		}
		return 1
	}
	ga, gb := sign(na, da), sign(nb, db)
	if ga != gb || ga == 0 {
		return cmpInt(ga, gb)
	}
	// Same sign, both non-zero: compare magnitudes, then apply the sign.
	ea, eb := len(da)-1-sa, len(db)-1-sb // exponent of the leading digit
	m := cmpInt(ea, eb)
	if m == 0 {
		for i := 0; i < len(da) || i < len(db); i++ {
			x, y := byte('0'), byte('0')
			if i < len(da) {
				x = da[i]
			}
			if i < len(db) {
				y = db[i]
			}
			if x != y {
				m = cmpInt(int(x), int(y))
				break
			}
		}
	}
	return m * ga
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// javaCompare is String.compareTo: by UTF-16 code units.
func javaCompare(a, b string) int {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return int(ua[i]) - int(ub[i])
		}
	}
	return len(ua) - len(ub)
}

// javaLength is String.length: UTF-16 code units.
func javaLength(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// evaluateRel is EvaluatorFactory's evaluators.
func evaluateRel(op relOp, l, r *vnode, pc *predCtx) bool {
	switch op {
	case relExists:
		if l.kind != vBool && r.kind != vBool {
			throw(exOther, "Failed to evaluate exists expression")
		}
		return l.asBool() == r.asBool()
	case relNE:
		return !evaluateRel(relEQ, l, r, pc)
	case relTSNE:
		return !evaluateRel(relTSEQ, l, r, pc)
	case relEQ:
		if l.kind == vJSON && r.kind == vJSON {
			return l.jsonEquals(r)
		}
		return l.equals(r)
	case relTSEQ:
		if l.kind != r.kind {
			return false
		}
		return evaluateRel(relEQ, l, r, pc)
	case relType:
		throw(exInvalid, "Expected class node") // no inline syntax makes one
	case relLT, relLTE, relGT, relGTE:
		var c int
		switch {
		case l.kind == vNumber && r.kind == vNumber:
			c = compareDecimal(l.num, r.num)
		case l.kind == vString && r.kind == vString:
			c = javaCompare(l.str, r.str)
		default:
			return false
		}
		switch op {
		case relLT:
			return c < 0
		case relLTE:
			return c <= 0
		case relGT:
			return c > 0
		}
		return c >= 0
	case relSize:
		if r.kind != vNumber {
			return false
		}
		want := bigDecimalIntValue(r.num)
		switch l.kind {
		case vString:
			return javaLength(l.str) == want
		case vJSON:
			return l.jsonLength() == want
		}
		return false
	case relEmpty:
		switch l.kind {
		case vString:
			return (l.str == "") == r.asBool()
		case vJSON:
			return l.jsonIsEmpty() == r.asBool()
		}
		return false
	case relIN, relNIN:
		if r.kind != vJSON {
			throw(exInvalid, "Expected value list node")
		}
		list := r.asValueList()
		in := list != nil && listContains(list, l)
		if op == relNIN {
			return !in
		}
		return in
	case relAll:
		// ALL takes the right side as a value list node, which no inline
		// syntax makes (a [..] literal is a JSON node): always refused.
		throw(exInvalid, "Expected value list node")
	case relContains:
		switch {
		case l.kind == vString && r.kind == vString:
			return strings.Contains(l.str, r.str)
		case l.kind == vJSON:
			list := l.asValueList()
			return list != nil && listContains(list, r)
		}
		return false
	case relMatches:
		throw(exInvalid, "Expected predicate node")
	case relRegex:
		if (l.kind == vPattern) == (r.kind == vPattern) {
			return false
		}
		if l.kind == vPattern {
			return l.re.MatchString(regexInput(r))
		}
		return r.re.MatchString(regexInput(l))
	case relSubsetOf:
		if r.kind != vJSON {
			throw(exInvalid, "Expected value list node")
		}
		right := r.asValueList()
		if right == nil {
			return false
		}
		if l.kind != vJSON {
			throw(exInvalid, "Expected value list node")
		}
		left := l.asValueList()
		if left == nil {
			return false
		}
		for _, x := range left {
			if !listContains(right, x) {
				return false
			}
		}
		return true
	}
	return false
}

func regexInput(n *vnode) string {
	switch n.kind {
	case vString, vNumber:
		return n.asString()
	case vBool:
		if n.b {
			return "true"
		}
		return "false"
	}
	return ""
}

// bigDecimalIntValue is BigDecimal.intValue: the fraction dropped, then
// the low 32 bits of the two's complement (computed modulo 2^32, so a
// huge exponent costs nothing).
func bigDecimalIntValue(s string) int {
	neg, digits, scale, _ := decimalParts(s)
	mod := new(big.Int).Lsh(big.NewInt(1), 32)
	var m *big.Int
	switch {
	case scale >= len(digits):
		return 0
	case scale >= 0:
		m, _ = new(big.Int).SetString(digits[:len(digits)-scale], 10)
		m.Mod(m, mod)
	default:
		m, _ = new(big.Int).SetString(digits, 10)
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), mod)
		m.Mul(m, p).Mod(m, mod)
	}
	if neg && m.Sign() != 0 {
		m.Sub(mod, m)
	}
	return int(int32(uint32(m.Uint64())))
}

// filterCompiler is Jayway's FilterCompiler.
type filterCompiler struct {
	f *charIndex
}

// compileFilter compiles "[?(...)]". Every failure is an
// InvalidPathException.
func compileFilter(filterString string) expr {
	f := newCharIndex(filterString)
	f.trim()
	if !f.currentCharIs('[') || !f.lastCharIs(']') {
		throw(exInvalid, "Filter must start with '[' and end with ']'. %s", filterString)
	}
	f.incrementPosition(1)
	f.end--
	f.trim()
	if !f.currentCharIs('?') {
		throw(exInvalid, "Filter must start with '[?' and end with ']'. %s", filterString)
	}
	f.incrementPosition(1)
	f.trim()
	if !f.currentCharIs('(') || !f.lastCharIs(')') {
		throw(exInvalid, "Filter must start with '[?(' and end with ')]'. %s", filterString)
	}
	fc := &filterCompiler{f: f}
	var result expr
	ex := catch(func() {
		result = fc.readLogicalOR()
		f.skipBlanks()
		if f.inBounds(f.pos) {
			throw(exInvalid, "Expected end of filter expression instead of: %s", f.subSequence(f.pos, f.length()))
		}
	}, anyEx)
	if ex != nil {
		if ex.kind == exInvalid || ex.kind == exNotFound {
			panic(ex)
		}
		throw(exInvalid, "Failed to parse filter: %s, error on position: %d", filterString, f.pos)
	}
	return result
}

func isRelationalOperatorChar(c byte) bool {
	return c == '<' || c == '>' || c == '=' || c == '~' || c == '!'
}

func (fc *filterCompiler) readValueNode() *vnode {
	f := fc.f
	switch f.skipBlanks().currentChar() {
	case '$', '@':
		return fc.readPath()
	case '!':
		f.incrementPosition(1)
		switch f.skipBlanks().currentChar() {
		case '$', '@':
			return fc.readPath()
		}
		throw(exInvalid, "Unexpected character: !")
	}
	return fc.readLiteral()
}

func (fc *filterCompiler) readLiteral() *vnode {
	switch fc.f.skipBlanks().currentChar() {
	case '\'':
		return fc.readStringLiteral('\'')
	case '"':
		return fc.readStringLiteral('"')
	case 't', 'f':
		return fc.readBooleanLiteral()
	case '-':
		return fc.readNumberLiteral()
	case 'n':
		return fc.readNullLiteral()
	case '{', '[':
		return fc.readJSONLiteral()
	case '/':
		return fc.readPattern()
	}
	return fc.readNumberLiteral()
}

// readLogicalOR: LogicalAND { '||' LogicalAND }
func (fc *filterCompiler) readLogicalOR() expr {
	ops := []expr{fc.readLogicalAND()}
	for {
		save := fc.f.pos
		ex := catch(func() {
			fc.f.readSignificantSubSequence("||")
			ops = append(ops, fc.readLogicalAND())
		}, invalidEx)
		if ex != nil {
			fc.f.setPosition(save)
			break
		}
	}
	if len(ops) == 1 {
		return ops[0]
	}
	return &logicalExpr{op: opOr, chain: ops}
}

// readLogicalAND: LogicalANDOperand { '&&' LogicalANDOperand }
func (fc *filterCompiler) readLogicalAND() expr {
	ops := []expr{fc.readLogicalANDOperand()}
	for {
		save := fc.f.pos
		ex := catch(func() {
			fc.f.readSignificantSubSequence("&&")
			ops = append(ops, fc.readLogicalANDOperand())
		}, invalidEx)
		if ex != nil {
			fc.f.setPosition(save)
			break
		}
	}
	if len(ops) == 1 {
		return ops[0]
	}
	return &logicalExpr{op: opAnd, chain: ops}
}

// readLogicalANDOperand: RelationalExpression | '(' LogicalOR ')' | '!' LogicalANDOperand
func (fc *filterCompiler) readLogicalANDOperand() expr {
	f := fc.f
	save := f.skipBlanks().pos
	if f.skipBlanks().currentCharIs('!') {
		f.readSignificantChar('!')
		switch f.skipBlanks().currentChar() {
		case '$', '@':
			f.setPosition(save) // !@.x is a negated exists check, read below
		default:
			return &logicalExpr{op: opNot, chain: []expr{fc.readLogicalANDOperand()}}
		}
	}
	if f.skipBlanks().currentCharIs('(') {
		f.readSignificantChar('(')
		op := fc.readLogicalOR()
		f.readSignificantChar(')')
		return op
	}
	return fc.readExpression()
}

// readExpression: Value [ RelationalOperator Value ]; a lone path is an
// exists check.
func (fc *filterCompiler) readExpression() expr {
	left := fc.readValueNode()
	save := fc.f.pos
	var rel *relationalExpr
	ex := catch(func() {
		op := fc.readRelationalOperator()
		right := fc.readValueNode()
		rel = &relationalExpr{left: left, op: op, right: right}
	}, invalidEx)
	if ex == nil {
		return rel
	}
	fc.f.setPosition(save)
	if left.kind != vPath {
		throw(exInvalid, "Expected path node")
	}
	check := &vnode{kind: vPath, path: left.path, existsCheck: true, shouldExist: left.shouldExist}
	return &relationalExpr{left: check, op: relExists, right: boolNode(left.shouldExist)}
}

func (fc *filterCompiler) readRelationalOperator() relOp {
	f := fc.f
	begin := f.skipBlanks().pos
	if isRelationalOperatorChar(f.currentChar()) {
		for f.inBounds(f.pos) && isRelationalOperatorChar(f.currentChar()) {
			f.incrementPosition(1)
		}
	} else {
		for f.inBounds(f.pos) && f.currentChar() != ' ' {
			f.incrementPosition(1)
		}
	}
	return relOpFromString(f.subSequence(begin, f.pos))
}

func (fc *filterCompiler) readNullLiteral() *vnode {
	f := fc.f
	if f.currentChar() == 'n' && f.inBounds(f.pos+3) && f.subSequence(f.pos, f.pos+4) == "null" {
		f.incrementPosition(4)
		return nodeNull
	}
	throw(exInvalid, "Expected <null> value")
	return nil
}

func (fc *filterCompiler) readJSONLiteral() *vnode {
	f := fc.f
	begin := f.pos
	open := f.currentChar()
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	closing := f.indexOfMatchingCloseChar(f.pos, open, closer, true, false)
	if closing == -1 {
		throw(exInvalid, "String not closed. Expected ' in %s", f.s)
	}
	f.setPosition(closing + 1)
	return &vnode{kind: vJSON, jsonText: f.subSequence(begin, f.pos)}
}

func (fc *filterCompiler) readPattern() *vnode {
	f := fc.f
	begin := f.pos
	closing := f.nextIndexOfUnescaped(f.pos, '/')
	if closing == -1 {
		throw(exInvalid, "Pattern not closed. Expected / in %s", f.s)
	}
	if f.inBounds(closing+1) && f.charAt(closing+1) == 'i' {
		closing++
	}
	f.setPosition(closing + 1)
	return patternNode(f.subSequence(begin, f.pos))
}

// patternNode is PatternNode(CharSequence): the text between the first and
// the last "/", case-insensitive when it ends in "/i". Java's
// Matcher.matches() must match the whole input, hence the anchors. A
// pattern Go's RE2 cannot compile (look-around, back references) fails
// here; Jayway would accept it.
func patternNode(s string) *vnode {
	begin, end := strings.IndexByte(s, '/'), strings.LastIndexByte(s, '/')
	if end <= begin {
		throw(exOther, "begin %d, end %d", begin+1, end)
	}
	src := `^(?:` + s[begin+1:end] + `)$`
	if strings.HasSuffix(s, "/i") {
		src = "(?i)" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		throw(exOther, "regular expression %s is not supported (RE2 syntax: no look-around or back references): %v", s, err)
	}
	return &vnode{kind: vPattern, re: re}
}

func (fc *filterCompiler) readStringLiteral(endChar byte) *vnode {
	f := fc.f
	begin := f.pos
	closing := f.nextIndexOfUnescaped(f.pos, endChar)
	if closing == -1 {
		throw(exInvalid, "String literal does not have matching quotes. Expected %c in %s", endChar, f.s)
	}
	f.setPosition(closing + 1)
	return stringNode(f.subSequence(begin, f.pos), true)
}

func (fc *filterCompiler) readNumberLiteral() *vnode {
	f := fc.f
	begin := f.pos
	for f.inBounds(f.pos) && f.isNumberCharacter(f.pos) {
		f.incrementPosition(1)
	}
	return numberNode(f.subSequence(begin, f.pos))
}

func (fc *filterCompiler) readBooleanLiteral() *vnode {
	f := fc.f
	begin := f.pos
	end := f.pos + 4
	if f.currentChar() == 't' {
		end = f.pos + 3
	}
	if !f.inBounds(end) {
		throw(exInvalid, "Expected boolean literal")
	}
	v := f.subSequence(begin, end+1)
	if v != "true" && v != "false" {
		throw(exInvalid, "Expected boolean literal")
	}
	f.incrementPosition(len(v))
	return boolNode(v == "true")
}

func (fc *filterCompiler) readPath() *vnode {
	f := fc.f
	previous := f.previousSignificantChar(f.pos)
	begin := f.pos
	f.incrementPosition(1) // $ or @
	for f.inBounds(f.pos) {
		if f.currentChar() == '[' {
			closing := f.indexOfMatchingCloseChar(f.pos, '[', ']', true, false)
			if closing == -1 {
				throw(exInvalid, "Square brackets does not match in filter %s", f.s)
			}
			f.setPosition(closing + 1)
		}
		closingFunction := f.currentChar() == ')' && fc.currentCharIsClosingFunctionBracket(begin)
		closingLogical := f.currentChar() == ')' && !closingFunction
		if !f.inBounds(f.pos) || isRelationalOperatorChar(f.currentChar()) || f.currentChar() == ' ' || closingLogical {
			break
		}
		f.incrementPosition(1)
	}
	p := compilePath(f.subSequence(begin, f.pos))
	return &vnode{kind: vPath, path: p, shouldExist: previous != '!'}
}

func (fc *filterCompiler) currentCharIsClosingFunctionBracket(lowerBound int) bool {
	f := fc.f
	if f.currentChar() != ')' {
		return false
	}
	idx := f.indexOfPreviousSignificantChar(f.pos)
	if idx == -1 || f.charAt(idx) != '(' {
		return false
	}
	idx--
	for f.inBounds(idx) && idx > lowerBound {
		if f.charAt(idx) == '.' {
			return true
		}
		idx--
	}
	return false
}
