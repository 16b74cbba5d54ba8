package condition

import (
	"strings"
)

// Resolver looks up flow variables. Values may be string, any Go integer or
// float type, bool, or nil; a nil value is treated exactly like a missing
// variable (Apigee's null). Other types are compared through their string
// form.
type Resolver interface {
	Lookup(name string) (value any, ok bool)
}

// MapResolver is a Resolver backed by a map.
type MapResolver map[string]any

// Lookup implements Resolver.
func (m MapResolver) Lookup(name string) (any, bool) {
	v, ok := m[name]
	return v, ok
}

// ResolverFunc adapts a function to the Resolver interface.
type ResolverFunc func(name string) (any, bool)

// Lookup implements Resolver.
func (f ResolverFunc) Lookup(name string) (any, bool) { return f(name) }

// Condition is a compiled Apigee condition. It is immutable and safe for
// concurrent use by multiple goroutines.
type Condition struct {
	src  string
	root *node
	vars []string
}

// Parse compiles an Apigee condition. All patterns (JavaRegex, Matches,
// MatchesPath) are compiled here, so Eval never compiles anything. An empty
// or all-blank condition is valid and always true, like an empty
// <Condition/> element. Errors are of type *SyntaxError.
func Parse(src string) (*Condition, error) {
	root, vars, err := parse(src)
	if err != nil {
		return nil, err
	}
	return &Condition{src: src, root: root, vars: vars}, nil
}

// MustParse is like Parse but panics on error. For conditions fixed at
// compile time (tests, built-in flows).
func MustParse(src string) *Condition {
	c, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return c
}

// Source returns the text the condition was parsed from.
func (c *Condition) Source() string { return c.src }

// Variables returns the names of the flow variables the condition reads, in
// order of first appearance, without duplicates. The caller may modify the
// returned slice.
func (c *Condition) Variables() []string {
	return append([]string(nil), c.vars...)
}

// Eval evaluates the condition against the flow variables in r. A nil r
// means "no variables are set". Eval never panics on any parsed condition and
// does not allocate for string/number/bool variables.
func (c *Condition) Eval(r Resolver) bool {
	if c == nil || c.root == nil {
		return true
	}
	return c.root.eval(r)
}

// String returns a canonical form of the condition: operator words are
// normalised (=, !=, >, >=, <, <=, EqualsCaseInsensitive, StartsWith,
// JavaRegex, Matches, MatchesPath, and, or, not), and/or chains are
// flattened, and only the parentheses that precedence requires are kept.
// Parsing the result yields an equivalent condition with the same String.
func (c *Condition) String() string {
	if c == nil || c.root == nil {
		return ""
	}
	if c.root.kind == nConst && c.root.b && strings.TrimSpace(c.src) == "" {
		return ""
	}
	var b strings.Builder
	c.root.write(&b, 0)
	return b.String()
}

func (n *node) eval(r Resolver) bool {
	switch n.kind {
	case nConst:
		return n.b
	case nVar:
		return n.v.resolve(r).truthy()
	case nNot:
		return !n.kids[0].eval(r)
	case nAnd:
		for _, k := range n.kids {
			if !k.eval(r) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if k.eval(r) {
				return true
			}
		}
		return false
	case nCmp:
		return n.cmp.eval(r)
	}
	return false
}

// operand is one side of a comparison: a variable reference or a literal.
type operand struct {
	isVar bool
	name  string
	lit   value
}

func (o *operand) resolve(r Resolver) value {
	if !o.isVar {
		return o.lit
	}
	if r == nil {
		return value{}
	}
	x, ok := r.Lookup(o.name)
	if !ok {
		return value{}
	}
	return fromAny(x)
}

func (c *compare) eval(r Resolver) bool {
	l := c.lhs.resolve(r)
	rv := c.rhs.resolve(r)
	if l.kind == vNull || rv.kind == vNull {
		return nullResult(c.op, l.kind == vNull, rv.kind == vNull)
	}
	switch c.op {
	case opJavaRegex:
		return c.re.MatchString(l.text())
	case opMatches:
		return c.glob.match(l.text())
	case opMatchesPath:
		return c.path.match(l.text())
	case opStartsWith:
		return strings.HasPrefix(l.text(), rv.text())
	}
	cmp, ok := compareValues(l, rv, c.op == opEqualsCI)
	switch c.op {
	case opEquals, opEqualsCI:
		return ok && cmp == 0
	case opNotEquals:
		return !ok || cmp != 0
	case opGT:
		return ok && cmp > 0
	case opGE:
		return ok && cmp >= 0
	case opLT:
		return ok && cmp < 0
	case opLE:
		return ok && cmp <= 0
	}
	return false
}

// nullResult is Apigee's documented "Behavior of null operands in
// conditional statements" table (Conditions reference). A missing variable,
// a variable whose value is nil, and the literal null are all null.
//
//	Operator        LHS null  RHS null  both null
//	=, ==, :=       false     false     true
//	=|              false     false     false
//	!=              true      true      false
//	>               true      false     false
//	>=              false     true      true
//	<               true      false     false
//	<=              true      false     true
//	~, ~~, ~/       false     n/a       false
func nullResult(op opKind, lNull, rNull bool) bool {
	both := lNull && rNull
	switch op {
	case opEquals, opEqualsCI:
		return both
	case opNotEquals:
		return !both
	case opGT, opLT:
		return lNull && !rNull
	case opGE:
		return rNull
	case opLE:
		return lNull
	}
	return false // =|, ~, ~~, ~/
}

// Precedence levels used by String to decide where parentheses are needed.
const (
	precOr = 1 + iota
	precAnd
	precNot
	precCmp
	precAtom
)

func (n *node) prec() int {
	switch n.kind {
	case nOr:
		return precOr
	case nAnd:
		return precAnd
	case nNot:
		return precNot
	case nCmp:
		return precCmp
	}
	return precAtom
}

func (n *node) writeChild(b *strings.Builder, k *node, min int) {
	if k.prec() < min {
		b.WriteByte('(')
		k.write(b, 0)
		b.WriteByte(')')
		return
	}
	k.write(b, min)
}

func (n *node) write(b *strings.Builder, _ int) {
	switch n.kind {
	case nConst:
		if n.b {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nVar:
		n.v.write(b)
	case nNot:
		// "not" applies to a whole comparison, so only and/or chains need
		// parentheses: not a = "b", not not a, not (a or b). Adding no
		// other parentheses also keeps the canonical form's nesting depth
		// no greater than the source's (see maxDepth).
		b.WriteString("not ")
		n.writeChild(b, n.kids[0], precNot)
	case nAnd, nOr:
		sep := " and "
		if n.kind == nOr {
			sep = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			// An or inside an and needs parentheses; an and inside an or
			// does not (and binds tighter).
			n.writeChild(b, k, precAnd)
		}
	case nCmp:
		n.cmp.lhs.write(b)
		b.WriteByte(' ')
		b.WriteString(opCanon[n.cmp.op])
		b.WriteByte(' ')
		n.cmp.rhs.write(b)
	}
}

func (o *operand) write(b *strings.Builder) {
	if o.isVar {
		if plainIdent(o.name) && !reservedWord(o.name) {
			b.WriteString(o.name)
		} else {
			b.WriteByte('\'')
			b.WriteString(o.name)
			b.WriteByte('\'')
		}
		return
	}
	switch o.lit.kind {
	case vNull:
		b.WriteString("null")
	case vBool, vNumber:
		b.WriteString(o.lit.text())
	case vString:
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(o.lit.s, `"`, `\"`))
		b.WriteByte('"')
	}
}

func plainIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}
