package xslt

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is an XPath 1.0 lexer and recursive-descent parser. XSLT
// needs variable references bound per evaluation and its own functions
// (current, key, generate-id, format-number…) inside expressions, which
// github.com/antchfx/xpath cannot provide (it rejects every $variable at
// compile time and has no function registry), so expressions are compiled
// here into an AST that xpath_eval.go evaluates over the package's tree.

type tokKind uint8

const (
	tkEOF tokKind = iota
	tkNum
	tkStr
	tkVar      // prefix, local
	tkName     // name test: prefix, local ("*" for wildcards)
	tkFunc     // function name: prefix, local
	tkNodeType // comment, text, node, processing-instruction
	tkAxis     // axis name (the "::" is consumed)
	tkOp       // and or mod div * / // | + - = != < <= > >=
	tkLParen
	tkRParen
	tkLBrack
	tkRBrack
	tkComma
	tkAt
	tkDot
	tkDotDot
)

type token struct {
	kind          tokKind
	s             string // operator, literal, axis, node type
	num           float64
	prefix, local string
	pos           int
}

func (t token) String() string {
	switch t.kind {
	case tkEOF:
		return "end of expression"
	case tkNum:
		return strconv.FormatFloat(t.num, 'f', -1, 64)
	case tkStr:
		return strconv.Quote(t.s)
	case tkVar:
		return "$" + joinQName(t.prefix, t.local)
	case tkName, tkFunc:
		return joinQName(t.prefix, t.local)
	case tkNodeType, tkAxis, tkOp:
		return t.s
	}
	return [...]string{tkLParen: "(", tkRParen: ")", tkLBrack: "[", tkRBrack: "]", tkComma: ",", tkAt: "@", tkDot: ".", tkDotDot: ".."}[t.kind]
}

func joinQName(prefix, local string) string {
	if prefix != "" {
		return prefix + ":" + local
	}
	return local
}

func isNameStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

func isNameChar(r rune) bool {
	return r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || r == '·'
}

func lexXPath(src string) ([]token, error) {
	var toks []token
	i := 0
	// operand reports whether the next * or NCName is a name test rather
	// than an operator (XPath 1.0 section 3.7).
	operand := func() bool {
		if len(toks) == 0 {
			return true
		}
		switch toks[len(toks)-1].kind {
		case tkAt, tkAxis, tkLParen, tkLBrack, tkComma, tkOp:
			return true
		}
		return false
	}
	readNCName := func() string {
		start := i
		for i < len(src) {
			r, w := utf8.DecodeRuneInString(src[i:])
			if i == start && !isNameStart(r) || i > start && !isNameChar(r) {
				break
			}
			i += w
		}
		return src[start:i]
	}
	for {
		for i < len(src) && strings.IndexByte(" \t\r\n", src[i]) >= 0 {
			i++
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tkEOF, pos: i})
			return toks, nil
		}
		start := i
		c := src[i]
		tok := token{pos: start}
		switch {
		case c == '(':
			tok.kind, i = tkLParen, i+1
		case c == ')':
			tok.kind, i = tkRParen, i+1
		case c == '[':
			tok.kind, i = tkLBrack, i+1
		case c == ']':
			tok.kind, i = tkRBrack, i+1
		case c == ',':
			tok.kind, i = tkComma, i+1
		case c == '@':
			tok.kind, i = tkAt, i+1
		case c == '|' || c == '+' || c == '-' || c == '=':
			tok.kind, tok.s, i = tkOp, string(c), i+1
		case c == '!':
			if i+1 >= len(src) || src[i+1] != '=' {
				return nil, fmt.Errorf("unexpected '!' at offset %d (did you mean != or not()?)", i)
			}
			tok.kind, tok.s, i = tkOp, "!=", i+2
		case c == '<' || c == '>':
			tok.kind, tok.s, i = tkOp, string(c), i+1
			if i < len(src) && src[i] == '=' {
				tok.s += "="
				i++
			}
		case c == '/':
			tok.kind, tok.s, i = tkOp, "/", i+1
			if i < len(src) && src[i] == '/' {
				tok.s, i = "//", i+1
			}
		case c == '.' && i+1 < len(src) && src[i+1] == '.':
			tok.kind, i = tkDotDot, i+2
		case c == '.' && (i+1 >= len(src) || src[i+1] < '0' || src[i+1] > '9'):
			tok.kind, i = tkDot, i+1
		case c == '.' || c >= '0' && c <= '9':
			for i < len(src) && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			if i < len(src) && src[i] == '.' {
				i++
				for i < len(src) && src[i] >= '0' && src[i] <= '9' {
					i++
				}
			}
			f, err := strconv.ParseFloat(src[start:i], 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %q", src[start:i])
			}
			tok.kind, tok.num = tkNum, f
		case c == '"' || c == '\'':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string literal at offset %d", i)
			}
			tok.kind, tok.s = tkStr, src[i+1:i+1+end]
			i += end + 2
		case c == '$':
			i++
			p, l, err := lexQName(src, &i, readNCName, false)
			if err != nil {
				return nil, fmt.Errorf("bad variable reference at offset %d: %v", start, err)
			}
			tok.kind, tok.prefix, tok.local = tkVar, p, l
		case c == '*':
			i++
			switch {
			case !operand():
				tok.kind, tok.s = tkOp, "*"
			case i+1 < len(src) && src[i] == ':' && src[i+1] != ':':
				// *:local, XPath 2.0's name test for a local name in any
				// namespace (SOAP stylesheets match *:Body with it).
				i++
				local := readNCName()
				if local == "" {
					return nil, fmt.Errorf("expected a local name after *: at offset %d", start)
				}
				tok.kind, tok.prefix, tok.local = tkName, "*", local
			default:
				tok.kind, tok.local = tkName, "*"
			}
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			if !isNameStart(r) {
				return nil, fmt.Errorf("unexpected character %q at offset %d", r, i)
			}
			if !operand() {
				name := readNCName()
				switch {
				case name == "and" || name == "or" || name == "mod" || name == "div" || name == "then" || name == "else":
					tok.kind, tok.s = tkOp, name
				case xpath2Operators[name] != "":
					return nil, fmt.Errorf("%s (XPath 2.0) is not supported by this runtime", xpath2Operators[name])
				default:
					return nil, fmt.Errorf("expected an operator at offset %d, found %q", start, name)
				}
				break
			}
			p, l, err := lexQName(src, &i, readNCName, true)
			if err != nil {
				return nil, fmt.Errorf("bad name at offset %d: %v", start, err)
			}
			j := i
			for j < len(src) && strings.IndexByte(" \t\r\n", src[j]) >= 0 {
				j++
			}
			switch {
			case l != "*" && j < len(src) && src[j] == '(':
				if p == "" && (l == "comment" || l == "text" || l == "node" || l == "processing-instruction") {
					tok.kind, tok.s = tkNodeType, l
				} else {
					tok.kind, tok.prefix, tok.local = tkFunc, p, l
				}
			case p == "" && l != "*" && strings.HasPrefix(src[j:], "::"):
				tok.kind, tok.s = tkAxis, l
				i = j + 2
			default:
				tok.kind, tok.prefix, tok.local = tkName, p, l
			}
		}
		toks = append(toks, tok)
	}
}

// lexQName reads NCName or NCName:NCName (or NCName:* when star).
func lexQName(src string, i *int, readNCName func() string, star bool) (string, string, error) {
	first := readNCName()
	if first == "" {
		return "", "", fmt.Errorf("expected a name")
	}
	if *i+1 < len(src) && src[*i] == ':' && src[*i+1] != ':' {
		*i++
		if star && src[*i] == '*' {
			*i++
			return first, "*", nil
		}
		second := readNCName()
		if second == "" {
			return "", "", fmt.Errorf("expected a local name after %q", first+":")
		}
		return first, second, nil
	}
	return "", first, nil
}

// xpath2Operators are the XPath 2.0 and 3.0 keyword operators this
// evaluator does not implement, for an error that names them (without
// the table an expression such as a eq b fails as "expected an
// operator").
var xpath2Operators = map[string]string{
	"eq": "the value comparison eq", "ne": "the value comparison ne", "lt": "the value comparison lt",
	"le": "the value comparison le", "gt": "the value comparison gt", "ge": "the value comparison ge",
	"idiv": "the operator idiv", "to": "the range operator to", "union": "the operator union",
	"intersect": "the operator intersect", "except": "the operator except", "is": "the node comparison is",
	"instance": "instance of", "treat": "treat as", "castable": "castable as", "cast": "cast as",
	"return": "for … return", "satisfies": "some/every … satisfies", "in": "for/some/every … in",
	"otherwise": "the operator otherwise",
}

// xpathEnv is the static context an expression compiles in.
type xpathEnv struct {
	// ns resolves a prefix of the stylesheet ("" is never passed: unprefixed
	// names are in no namespace, as XPath 1.0 says).
	ns func(prefix string) (string, bool)
	// variable resolves $name; nil means no variables are in scope
	// (patterns, keys).
	variable func(q qname) (varRef, bool)
	// function returns a function's definition.
	function func(q qname, nargs int) (*funcDef, error)
	// check validates literal arguments at compile time (key and
	// decimal-format names); nil skips it.
	check func(q qname, call *callExpr) error
	// noVars is the reason variable references are not allowed here.
	noVars string
	// pattern keeps location paths as written (see optimize).
	pattern bool
	// xpath2 gives the expression the XPath 2.0 behaviours this evaluator
	// implements: arithmetic with an empty operand, and round, floor,
	// ceiling and abs of an empty argument, give the empty sequence
	// rather than NaN. It is set in a version="2.0" (or later) scope; a
	// version="1.0" stylesheet keeps XPath 1.0 (what Saxon's backwards
	// compatible mode does too).
	xpath2 bool
	// elementNS is the namespace of unprefixed element names in name
	// tests (XSLT 2.0's xpath-default-namespace; "" in XPath 1.0).
	elementNS string
}

type qname struct{ space, local string }

func (q qname) String() string {
	if q.space == "" {
		return q.local
	}
	return "{" + q.space + "}" + q.local
}

// checkCall precompiles literal regular expressions and runs env.check.
func (env *xpathEnv) checkCall(q qname, call *callExpr) error {
	if q.space == "" {
		switch q.local {
		case "matches":
			if err := precompileRegex(call, 1, 2); err != nil {
				return err
			}
		case "replace":
			if err := precompileRegex(call, 1, 3); err != nil {
				return err
			}
		case "tokenize":
			if len(call.args) > 1 {
				if err := precompileRegex(call, 1, 2); err != nil {
					return err
				}
				if call.re != nil && call.re.MatchString("") {
					return fmt.Errorf("the pattern %q matches a zero-length string", call.re.String())
				}
			}
		}
	}
	if env.check != nil {
		return env.check(q, call)
	}
	return nil
}

type parser struct {
	toks  []token
	p     int
	env   *xpathEnv
	src   string
	depth int
}

const maxExprDepth = 200

func (p *parser) peek() token { return p.toks[p.p] }
func (p *parser) next() token { t := p.toks[p.p]; p.p++; return t }

func (p *parser) isOp(s string) bool {
	t := p.toks[p.p]
	return t.kind == tkOp && t.s == s
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

func (p *parser) expect(k tokKind, what string) error {
	if t := p.next(); t.kind != k {
		return p.errorf("expected %s, found %s", what, t)
	}
	return nil
}

// compileXPath compiles an expression.
func compileXPath(src string, env *xpathEnv) (expr, error) {
	toks, err := lexXPath(src)
	if err != nil {
		return nil, fmt.Errorf("invalid XPath %q: %v", src, err)
	}
	p := &parser{toks: toks, env: env, src: src}
	e, err := p.parseExpr()
	if err == nil && p.peek().kind != tkEOF {
		err = p.errorf("unexpected %s", p.peek())
	}
	if err != nil {
		return nil, fmt.Errorf("invalid XPath %q: %v", src, err)
	}
	return e, nil
}

func (p *parser) parseExpr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth {
		return nil, p.errorf("expression nested too deeply")
	}
	return p.parseOr()
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	for err == nil && p.isOp("or") {
		p.next()
		var r expr
		if r, err = p.parseAnd(); err == nil {
			l = &logicExpr{or: true, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parseEquality()
	for err == nil && p.isOp("and") {
		p.next()
		var r expr
		if r, err = p.parseEquality(); err == nil {
			l = &logicExpr{l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseEquality() (expr, error) {
	l, err := p.parseRelational()
	for err == nil && (p.isOp("=") || p.isOp("!=")) {
		op := p.next().s
		var r expr
		if r, err = p.parseRelational(); err == nil {
			l = &cmpExpr{op: cmpOps[op], l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseRelational() (expr, error) {
	l, err := p.parseAdditive()
	for err == nil && (p.isOp("<") || p.isOp("<=") || p.isOp(">") || p.isOp(">=")) {
		op := p.next().s
		var r expr
		if r, err = p.parseAdditive(); err == nil {
			l = &cmpExpr{op: cmpOps[op], l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseAdditive() (expr, error) {
	l, err := p.parseMultiplicative()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		op := p.next().s
		var r expr
		if r, err = p.parseMultiplicative(); err == nil {
			l = &arithExpr{op: op[0], l: l, r: r, xpath2: p.env.xpath2}
		}
	}
	return l, err
}

func (p *parser) parseMultiplicative() (expr, error) {
	l, err := p.parseUnary()
	for err == nil && (p.isOp("*") || p.isOp("div") || p.isOp("mod")) {
		op := p.next().s
		var r expr
		if r, err = p.parseUnary(); err == nil {
			l = &arithExpr{op: op[0], l: l, r: r, xpath2: p.env.xpath2}
		}
	}
	return l, err
}

func (p *parser) parseUnary() (expr, error) {
	if p.isOp("-") {
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxExprDepth {
			return nil, p.errorf("expression nested too deeply")
		}
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &negExpr{e: e, xpath2: p.env.xpath2}, nil
	}
	return p.parseUnion()
}

func (p *parser) parseUnion() (expr, error) {
	l, err := p.parsePath()
	for err == nil && p.isOp("|") {
		p.next()
		var r expr
		if r, err = p.parsePath(); err == nil {
			l = &unionExpr{l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) canStartStep() bool {
	switch p.peek().kind {
	case tkName, tkAxis, tkAt, tkDot, tkDotDot, tkNodeType:
		return true
	}
	return false
}

var descendantOrSelf = &step{axis: axisDescendantOrSelf, test: nodeTest{kind: testNode}}

func (p *parser) parsePath() (expr, error) {
	switch t := p.peek(); {
	case t.kind == tkOp && t.s == "/":
		p.next()
		pe := &pathExpr{abs: true}
		if p.canStartStep() {
			if err := p.parseRelative(pe); err != nil {
				return nil, err
			}
		}
		return pe, nil
	case t.kind == tkOp && t.s == "//":
		p.next()
		pe := &pathExpr{abs: true, steps: []*step{descendantOrSelf}}
		if err := p.parseRelative(pe); err != nil {
			return nil, err
		}
		return p.optimize(pe), nil
	case t.kind == tkVar || t.kind == tkLParen || t.kind == tkStr || t.kind == tkNum || t.kind == tkFunc:
		prim, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		var preds []expr
		for p.peek().kind == tkLBrack {
			pr, err := p.parsePredicate()
			if err != nil {
				return nil, err
			}
			preds = append(preds, pr)
		}
		var e expr = prim
		if len(preds) > 0 {
			e = &filterExpr{primary: prim, preds: preds}
		}
		if p.isOp("/") || p.isOp("//") {
			pe := &pathExpr{start: e}
			if p.next().s == "//" {
				pe.steps = append(pe.steps, descendantOrSelf)
			}
			if err := p.parseRelative(pe); err != nil {
				return nil, err
			}
			return p.optimize(pe), nil
		}
		return e, nil
	default:
		if !p.canStartStep() {
			return nil, p.errorf("unexpected %s", t)
		}
		pe := &pathExpr{}
		if err := p.parseRelative(pe); err != nil {
			return nil, err
		}
		return p.optimize(pe), nil
	}
}

// parseRelative parses Step (('/' | '//') Step)* into pe.steps.
func (p *parser) parseRelative(pe *pathExpr) error {
	for {
		st, err := p.parseStep()
		if err != nil {
			return err
		}
		pe.steps = append(pe.steps, st)
		switch {
		case p.isOp("/"):
			p.next()
		case p.isOp("//"):
			p.next()
			pe.steps = append(pe.steps, descendantOrSelf)
		default:
			return nil
		}
	}
}

var axisNames = map[string]axis{
	"ancestor": axisAncestor, "ancestor-or-self": axisAncestorOrSelf, "attribute": axisAttribute,
	"child": axisChild, "descendant": axisDescendant, "descendant-or-self": axisDescendantOrSelf,
	"following": axisFollowing, "following-sibling": axisFollowingSibling, "parent": axisParent,
	"preceding": axisPreceding, "preceding-sibling": axisPrecedingSibling, "self": axisSelf,
}

func (p *parser) parseStep() (*step, error) {
	t := p.next()
	switch t.kind {
	case tkDot:
		return &step{axis: axisSelf, test: nodeTest{kind: testNode}}, nil
	case tkDotDot:
		return &step{axis: axisParent, test: nodeTest{kind: testNode}}, nil
	}
	st := &step{axis: axisChild}
	switch t.kind {
	case tkAt:
		st.axis = axisAttribute
		t = p.next()
	case tkAxis:
		if t.s == "namespace" {
			return nil, p.errorf("the namespace axis is not supported")
		}
		a, ok := axisNames[t.s]
		if !ok {
			return nil, p.errorf("unknown axis %s::", t.s)
		}
		st.axis = a
		t = p.next()
	}
	switch t.kind {
	case tkName:
		st.test = nodeTest{kind: testName, local: t.local}
		switch {
		case t.prefix == "*":
			st.test.anySpace = true
		case t.prefix != "":
			uri, ok := p.env.ns(t.prefix)
			if !ok {
				return nil, p.errorf("namespace prefix %q is not declared", t.prefix)
			}
			st.test.space = uri
		case t.local == "*":
			st.test.anySpace = true
		case st.axis != axisAttribute:
			// xpath-default-namespace applies to element names only.
			st.test.space = p.env.elementNS
		}
	case tkNodeType:
		if err := p.expect(tkLParen, "("); err != nil {
			return nil, err
		}
		switch t.s {
		case "node":
			st.test.kind = testNode
		case "text":
			st.test.kind = testText
		case "comment":
			st.test.kind = testComment
		case "processing-instruction":
			st.test.kind = testPI
			if p.peek().kind == tkStr {
				st.test.local = strings.TrimSpace(p.next().s)
				st.test.hasTarget = true
			}
		}
		if err := p.expect(tkRParen, ")"); err != nil {
			return nil, err
		}
	default:
		return nil, p.errorf("expected a node test, found %s", t)
	}
	for p.peek().kind == tkLBrack {
		pr, err := p.parsePredicate()
		if err != nil {
			return nil, err
		}
		st.preds = append(st.preds, pr)
	}
	return st, nil
}

func (p *parser) parsePredicate() (expr, error) {
	p.next() // [
	e, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tkRBrack, "]"); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tkStr:
		return &literalExpr{v: t.s}, nil
	case tkNum:
		return &literalExpr{v: t.num}, nil
	case tkLParen:
		if p.peek().kind == tkRParen {
			// (), XPath 2.0's empty sequence: an empty node-set.
			p.next()
			return &literalExpr{v: nodeSet(nil)}, nil
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if p.peek().kind == tkComma {
			// A node-set is in document order, so (b, a) cannot keep its
			// order, nor hold strings and numbers: refused rather than
			// evaluated differently from Saxon.
			return nil, p.errorf("sequence expressions (a, b) (XPath 2.0) are not supported by this runtime")
		}
		if err := p.expect(tkRParen, ")"); err != nil {
			return nil, err
		}
		return e, nil
	case tkVar:
		q := qname{local: t.local}
		if t.prefix != "" {
			uri, ok := p.env.ns(t.prefix)
			if !ok {
				return nil, p.errorf("namespace prefix %q of variable $%s is not declared", t.prefix, joinQName(t.prefix, t.local))
			}
			q.space = uri
		}
		if p.env.variable == nil {
			reason := p.env.noVars
			if reason == "" {
				reason = "variables are not allowed here"
			}
			return nil, p.errorf("$%s: %s", joinQName(t.prefix, t.local), reason)
		}
		ref, ok := p.env.variable(q)
		if !ok {
			return nil, p.errorf("variable $%s is not declared", joinQName(t.prefix, t.local))
		}
		return &varExpr{ref: ref, name: joinQName(t.prefix, t.local)}, nil
	case tkFunc:
		if t.prefix == "" && t.local == "if" {
			return p.parseIf()
		}
		q := qname{local: t.local}
		if t.prefix != "" {
			uri, ok := p.env.ns(t.prefix)
			if !ok {
				return nil, p.errorf("namespace prefix %q of function %s() is not declared", t.prefix, joinQName(t.prefix, t.local))
			}
			q.space = uri
		}
		if err := p.expect(tkLParen, "("); err != nil {
			return nil, err
		}
		var args []expr
		if p.peek().kind != tkRParen {
			for {
				a, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				if p.peek().kind != tkComma {
					break
				}
				p.next()
			}
		}
		if err := p.expect(tkRParen, ")"); err != nil {
			return nil, err
		}
		def, err := p.env.function(q, len(args))
		if err != nil {
			return nil, p.errorf("%s(): %v", joinQName(t.prefix, t.local), err)
		}
		call := &callExpr{def: def, args: args, name: joinQName(t.prefix, t.local), ns: p.env.ns, xpath2: p.env.xpath2}
		if err := p.env.checkCall(q, call); err != nil {
			return nil, p.errorf("%s(): %v", call.name, err)
		}
		return call, nil
	}
	return nil, p.errorf("unexpected %s", t)
}

// parseIf parses XPath 2.0's if (test) then a else b, after "if" (which
// the lexer reads as a function name).
func (p *parser) parseIf() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth {
		return nil, p.errorf("expression nested too deeply")
	}
	if err := p.expect(tkLParen, "( after if"); err != nil {
		return nil, err
	}
	e := &ifExpr{}
	var err error
	if e.test, err = p.parseExpr(); err != nil {
		return nil, err
	}
	if err := p.expect(tkRParen, ")"); err != nil {
		return nil, err
	}
	if !p.isOp("then") {
		return nil, p.errorf("expected then, found %s", p.peek())
	}
	p.next()
	if e.then, err = p.parseExpr(); err != nil {
		return nil, err
	}
	if !p.isOp("else") {
		return nil, p.errorf("expected else, found %s", p.peek())
	}
	p.next()
	if e.els, err = p.parseExpr(); err != nil {
		return nil, err
	}
	return e, nil
}

// optimize rewrites descendant-or-self::node()/child::T (what // expands
// to) into descendant::T when the child step has no predicates: the same
// nodes without visiting every node's children twice.
func (p *parser) optimize(pe *pathExpr) *pathExpr {
	if p.env.pattern {
		// Patterns keep the '//' steps: matching reads them as separators.
		return pe
	}
	out := pe.steps[:0:0]
	for i := 0; i < len(pe.steps); i++ {
		s := pe.steps[i]
		if s == descendantOrSelf && i+1 < len(pe.steps) {
			n := pe.steps[i+1]
			if n.axis == axisChild && len(n.preds) == 0 {
				out = append(out, &step{axis: axisDescendant, test: n.test})
				i++
				continue
			}
		}
		out = append(out, s)
	}
	pe.steps = out
	return pe
}
