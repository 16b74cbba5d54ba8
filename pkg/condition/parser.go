package condition

import (
	"regexp"
	"strconv"
	"strings"
)

// opKind identifies a comparison operator.
type opKind uint8

const (
	opNone opKind = iota
	opEquals
	opNotEquals
	opEqualsCI
	opGT
	opGE
	opLT
	opLE
	opJavaRegex
	opMatchesPath
	opMatches
	opStartsWith
)

// opCanon is the spelling String() uses for each operator.
var opCanon = [...]string{
	opEquals:      "=",
	opNotEquals:   "!=",
	opEqualsCI:    "EqualsCaseInsensitive",
	opGT:          ">",
	opGE:          ">=",
	opLT:          "<",
	opLE:          "<=",
	opJavaRegex:   "JavaRegex",
	opMatchesPath: "MatchesPath",
	opMatches:     "Matches",
	opStartsWith:  "StartsWith",
}

// wordOps are the operator words; they are matched case-insensitively.
var wordOps = map[string]opKind{
	"equals":                opEquals,
	"is":                    opEquals,
	"notequals":             opNotEquals,
	"isnot":                 opNotEquals,
	"equalscaseinsensitive": opEqualsCI,
	"greaterthan":           opGT,
	"greaterthanorequals":   opGE,
	"lesserthan":            opLT,
	"lesserthanorequals":    opLE,
	"javaregex":             opJavaRegex,
	"matchespath":           opMatchesPath,
	"likepath":              opMatchesPath,
	"matches":               opMatches,
	"like":                  opMatches,
	"startswith":            opStartsWith,
}

func (o opKind) isPattern() bool {
	return o == opJavaRegex || o == opMatchesPath || o == opMatches
}

// reservedWord reports whether a bare word cannot name a variable (String()
// single-quotes such variable names so they re-parse as variables).
func reservedWord(w string) bool {
	lw := strings.ToLower(w)
	switch lw {
	case "and", "or", "not":
		return true
	}
	if w == "true" || w == "false" || w == "null" {
		return true
	}
	_, isOp := wordOps[lw]
	return isOp
}

type nodeKind uint8

const (
	nConst nodeKind = iota // constant true/false (bare literal, or an empty condition)
	nVar                   // bare variable: truthiness
	nNot
	nAnd
	nOr
	nCmp
)

type node struct {
	kind nodeKind
	b    bool     // nConst
	kids []*node  // nNot (1), nAnd, nOr (>= 2)
	v    operand  // nVar
	cmp  *compare // nCmp
}

type compare struct {
	op       opKind
	lhs, rhs operand
	re       *regexp.Regexp // opJavaRegex
	glob     *glob          // opMatches
	path     *pathPattern   // opMatchesPath
}

type parser struct {
	lx lexer
	// lastBareVar is the end offset of the most recent variable that was not
	// followed by an operator, used to give a better error message.
	lastBareVar     int
	lastBareVarName string
	depth           int // current nesting of "(" and "not"
}

// maxDepth bounds the nesting of parentheses and negations, so a hostile
// bundle cannot make Parse, Eval or String recurse without limit. Real
// conditions nest a handful of levels.
const maxDepth = 256

func parse(src string) (*node, []string, *SyntaxError) {
	p := &parser{lx: lexer{src: src}, lastBareVar: -1}
	t, err := p.lx.peek()
	if err != nil {
		return nil, nil, err
	}
	if t.kind == tEOF {
		return &node{kind: nConst, b: true}, nil, nil
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, nil, err
	}
	t, err = p.lx.peek()
	if err != nil {
		return nil, nil, err
	}
	if t.kind != tEOF {
		if t.kind == tRParen {
			return nil, nil, p.lx.errAt(t.pos, `unexpected ")" with no matching "("`)
		}
		return nil, nil, p.unexpectedAfterOperand(t, `expected "and", "or" or end of condition`)
	}
	return n, collectVars(n, nil), nil
}

func (p *parser) unexpectedAfterOperand(t token, expected string) *SyntaxError {
	if p.lastBareVar >= 0 && p.lastBareVar == p.prevEnd(t) {
		return p.lx.errAt(t.pos, "expected a comparison operator (=, !=, :=, >, >=, <, <=, ~~, ~/, ~, =| or a word such as Equals), \"and\", \"or\" or end of condition after variable, found %s", describe(t))
	}
	return p.lx.errAt(t.pos, "%s, found %s", expected, describe(t))
}

// prevEnd returns the end offset of whatever precedes token t (skipping
// whitespace backwards).
func (p *parser) prevEnd(t token) int {
	i := t.pos
	for i > 0 && isSpace(p.lx.src[i-1]) {
		i--
	}
	return i
}

func isWord(t token, w string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, w)
}

func (p *parser) parseOr() (*node, *SyntaxError) {
	return p.parseBinary(nOr)
}

// parseBinary parses an and-chain (kind nAnd) or an or-chain (kind nOr).
// Chains are flattened into one n-ary node: both operators are associative
// and side-effect free, so grouping within a chain cannot change the result.
func (p *parser) parseBinary(kind nodeKind) (*node, *SyntaxError) {
	sub := func() (*node, *SyntaxError) {
		if kind == nOr {
			return p.parseBinary(nAnd)
		}
		return p.parseUnary()
	}
	first, err := sub()
	if err != nil {
		return nil, err
	}
	var kids []*node
	for {
		t, err := p.lx.peek()
		if err != nil {
			return nil, err
		}
		isOp := false
		if kind == nOr {
			isOp = t.kind == tOr || isWord(t, "or")
		} else {
			isOp = t.kind == tAnd || isWord(t, "and")
		}
		if !isOp {
			break
		}
		p.lx.next()
		next, err := sub()
		if err != nil {
			return nil, err
		}
		if kids == nil {
			kids = appendFlat(kids, first, kind)
		}
		kids = appendFlat(kids, next, kind)
	}
	if kids == nil {
		return first, nil
	}
	return &node{kind: kind, kids: kids}, nil
}

func appendFlat(kids []*node, n *node, kind nodeKind) []*node {
	if n.kind == kind {
		return append(kids, n.kids...)
	}
	return append(kids, n)
}

func (p *parser) parseUnary() (*node, *SyntaxError) {
	t, err := p.lx.peek()
	if err != nil {
		return nil, err
	}
	if t.kind == tNot || isWord(t, "not") {
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		p.lx.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &node{kind: nNot, kids: []*node{x}}, nil
	}
	return p.parsePrimary()
}

func (p *parser) enter(t token) *SyntaxError {
	p.depth++
	if p.depth > maxDepth {
		return p.lx.errAt(t.pos, "condition nested more than %d levels deep (parentheses and negations)", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parsePrimary() (*node, *SyntaxError) {
	t, err := p.lx.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		nt, err := p.lx.peek()
		if err != nil {
			return nil, err
		}
		if nt.kind == tRParen {
			return nil, p.lx.errAt(nt.pos, `empty parentheses: expected a condition after "(" at column %d`, t.pos+1)
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		ct, err := p.lx.next()
		if err != nil {
			return nil, err
		}
		if ct.kind != tRParen {
			return nil, p.unexpectedAfterOperand(ct, `expected ")" to close the "(" at column `+strconv.Itoa(t.pos+1)+` (or "and"/"or")`)
		}
		return x, nil
	case tIdent, tQIdent:
		if t.kind == tIdent {
			if isWord(t, "and") || isWord(t, "or") {
				return nil, p.lx.errAt(t.pos, "expected a condition before %q, found none", t.text)
			}
			if t.text == "true" || t.text == "false" || t.text == "null" {
				nt, err := p.lx.peek()
				if err != nil {
					return nil, err
				}
				if _, ok := p.operatorOf(nt); ok {
					return nil, p.lx.errAt(t.pos, "the left side of %s must be a variable name, found literal %s", nt.text, t.text)
				}
				return &node{kind: nConst, b: t.text == "true"}, nil
			}
		}
		lhs := operand{isVar: true, name: t.text}
		nt, err := p.lx.peek()
		if err != nil {
			return nil, err
		}
		op, ok := p.operatorOf(nt)
		if !ok {
			p.lastBareVar, p.lastBareVarName = t.end, t.text
			return &node{kind: nVar, v: lhs}, nil
		}
		p.lx.next()
		return p.parseComparison(lhs, op, nt)
	case tEOF:
		return nil, p.lx.errAt(t.pos, "expected a condition (a variable, comparison, \"not\" or \"(\"), found end of condition")
	case tString, tNumber:
		return nil, p.lx.errAt(t.pos, "expected a variable name, \"not\" or \"(\" at the start of a condition, found %s (a comparison needs the variable on its left)", describe(t))
	default:
		return nil, p.lx.errAt(t.pos, "expected a condition (a variable, comparison, \"not\" or \"(\"), found %s", describe(t))
	}
}

func (p *parser) operatorOf(t token) (opKind, bool) {
	switch t.kind {
	case tOp:
		return t.op, true
	case tIdent:
		op, ok := wordOps[strings.ToLower(t.text)]
		return op, ok
	}
	return opNone, false
}

func (p *parser) parseComparison(lhs operand, op opKind, opTok token) (*node, *SyntaxError) {
	opName := opTok.text
	t, err := p.lx.next()
	if err != nil {
		return nil, err
	}
	var rhs operand
	switch t.kind {
	case tString:
		rhs = operand{lit: stringValue(t.text)}
	case tNumber:
		rhs = operand{lit: numberLiteral(t.text)}
	case tIdent, tQIdent:
		switch {
		case t.kind == tIdent && t.text == "true":
			rhs = operand{lit: value{kind: vBool, b: true}}
		case t.kind == tIdent && t.text == "false":
			rhs = operand{lit: value{kind: vBool}}
		case t.kind == tIdent && t.text == "null":
			rhs = operand{lit: value{kind: vNull}}
		case t.kind == tIdent && reservedWord(t.text):
			return nil, p.lx.errAt(t.pos, "expected a value (string, number, true, false, null or variable) after %q, found %q", opName, t.text)
		default:
			if op.isPattern() {
				return nil, p.lx.errAt(t.pos, "%s needs a double-quoted pattern on its right, found variable %q (patterns are compiled when the condition is parsed)", opCanon[op], t.text)
			}
			rhs = operand{isVar: true, name: t.text}
		}
	default:
		return nil, p.lx.errAt(t.pos, "expected a value (string, number, true, false, null or variable) after %q, found %s", opName, describe(t))
	}
	c := &compare{op: op, lhs: lhs, rhs: rhs}
	if op.isPattern() && rhs.lit.kind != vNull {
		pat := rhs.lit.text()
		switch op {
		case opJavaRegex:
			re, err := compileJavaRegex(pat)
			if err != nil {
				return nil, p.lx.errAt(t.pos, "invalid JavaRegex pattern %q: %v", pat, err)
			}
			c.re = re
		case opMatches:
			c.glob = compileGlob(pat)
		case opMatchesPath:
			c.path = compilePath(pat)
		}
	}
	return &node{kind: nCmp, cmp: c}, nil
}

// compileJavaRegex compiles a JavaRegex operand so that it must match the
// whole input, like java.util.regex.Matcher.matches().
func compileJavaRegex(pat string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pat); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + pat + `)$`)
}

func collectVars(n *node, out []string) []string {
	add := func(o operand) {
		if !o.isVar {
			return
		}
		for _, v := range out {
			if v == o.name {
				return
			}
		}
		out = append(out, o.name)
	}
	switch n.kind {
	case nVar:
		add(n.v)
	case nCmp:
		add(n.cmp.lhs)
		add(n.cmp.rhs)
	case nNot, nAnd, nOr:
		for _, k := range n.kids {
			out = collectVars(k, out)
		}
	}
	return out
}
