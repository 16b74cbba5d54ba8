package xslt

import (
	"fmt"
	"slices"
)

// pattern is a compiled XSLT pattern: alternatives separated by '|'.
type pattern struct {
	src  string
	alts []*patAlt
}

// patAlt is one location path pattern, matched right to left.
type patAlt struct {
	root     bool      // starts with '/'
	start    *callExpr // starts with id(…) or key(…)
	steps    []*patStep
	priority float64 // default priority (XSLT 1.0 section 5.5)
}

type patStep struct {
	attr  bool // attribute axis (else child)
	test  nodeTest
	preds []expr
	// desc: the step is preceded by '//', so the previous step matches any
	// ancestor rather than the parent.
	desc bool
	// positional: some predicate depends on the node's position among its
	// siblings, so the sibling list must be filtered.
	positional bool
}

// compilePattern compiles a match or count/from pattern. Variables are
// not allowed in patterns (XSLT 1.0 section 5.2).
func compilePattern(src string, env *xpathEnv) (*pattern, error) {
	penv := *env
	penv.variable = nil
	penv.noVars = "variable references are not allowed in patterns"
	penv.pattern = true
	e, err := compileXPath(src, &penv)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern %q: %v", src, err)
	}
	p := &pattern{src: src}
	var flatten func(e expr) error
	flatten = func(e expr) error {
		if u, ok := e.(*unionExpr); ok {
			if err := flatten(u.l); err != nil {
				return err
			}
			return flatten(u.r)
		}
		alt, err := toPatAlt(e)
		if err != nil {
			return fmt.Errorf("invalid pattern %q: %v", src, err)
		}
		p.alts = append(p.alts, alt)
		return nil
	}
	if err := flatten(e); err != nil {
		return nil, err
	}
	return p, nil
}

func toPatAlt(e expr) (*patAlt, error) {
	alt := &patAlt{}
	var pe *pathExpr
	switch x := e.(type) {
	case *pathExpr:
		pe = x
	case *callExpr:
		pe = &pathExpr{start: x}
	default:
		return nil, fmt.Errorf("a pattern must be a location path, id(…) or key(…)")
	}
	alt.root = pe.abs
	if pe.start != nil {
		call, ok := pe.start.(*callExpr)
		if !ok || call.def != coreFunctions["id"] && call.def != coreFunctions["key"] {
			return nil, fmt.Errorf("a pattern may only start with id(…) or key(…)")
		}
		for _, a := range call.args {
			if _, ok := a.(*literalExpr); !ok {
				return nil, fmt.Errorf("the arguments of %s() in a pattern must be literals", call.name)
			}
		}
		alt.start = call
	}
	desc := false
	for _, s := range pe.steps {
		if s == descendantOrSelf {
			desc = true
			continue
		}
		if s.axis != axisChild && s.axis != axisAttribute {
			return nil, fmt.Errorf("pattern steps may only use the child or attribute axis")
		}
		ps := &patStep{attr: s.axis == axisAttribute, test: s.test, preds: s.preds, desc: desc}
		for _, p := range s.preds {
			if positional(p) {
				ps.positional = true
			}
		}
		alt.steps = append(alt.steps, ps)
		desc = false
	}
	if desc {
		return nil, fmt.Errorf("a pattern cannot end with //")
	}
	alt.priority = 0.5
	if !alt.root && alt.start == nil && len(alt.steps) == 1 && len(alt.steps[0].preds) == 0 {
		t := alt.steps[0].test
		switch {
		case t.kind == testName && t.local != "*" && !t.anySpace:
			alt.priority = 0
		case t.kind == testName && (t.local != "*" || !t.anySpace):
			// prefix:* and XSLT 2.0's *:local.
			alt.priority = -0.25
		case t.kind == testPI && t.hasTarget:
			alt.priority = 0
		default:
			alt.priority = -0.5
		}
	}
	return alt, nil
}

// positional reports whether a predicate may depend on the context
// position or size: it calls position() or last() outside nested
// predicates, or its value may be a number (a numeric predicate is a
// position test).
func positional(e expr) bool {
	switch x := e.(type) {
	case *literalExpr:
		_, num := x.v.(float64)
		return num
	case *arithExpr, *negExpr, *varExpr, *ifExpr:
		return true
	case *callExpr:
		switch x.name {
		case "position", "last", "count", "sum", "number", "floor", "ceiling", "round", "string-length", "abs":
			return true
		}
		return slices.ContainsFunc(x.args, usesPosition)
	}
	return usesPosition(e)
}

// usesPosition reports whether position() or last() is evaluated in the
// expression's own context.
func usesPosition(e expr) bool {
	switch x := e.(type) {
	case *callExpr:
		if x.name == "position" || x.name == "last" {
			return true
		}
		return slices.ContainsFunc(x.args, usesPosition)
	case *logicExpr:
		return usesPosition(x.l) || usesPosition(x.r)
	case *cmpExpr:
		return usesPosition(x.l) || usesPosition(x.r)
	case *arithExpr:
		return usesPosition(x.l) || usesPosition(x.r)
	case *negExpr:
		return usesPosition(x.e)
	case *ifExpr:
		return usesPosition(x.test) || usesPosition(x.then) || usesPosition(x.els)
	case *unionExpr:
		return usesPosition(x.l) || usesPosition(x.r)
	case *filterExpr:
		return usesPosition(x.primary)
	case *pathExpr:
		return x.start != nil && usesPosition(x.start)
	}
	return false
}

// matches reports whether any alternative matches n.
func (p *pattern) matches(t *transform, n *node) (bool, error) {
	for _, a := range p.alts {
		ok, err := a.match(t, n)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

func (a *patAlt) match(t *transform, n *node) (bool, error) {
	if len(a.steps) == 0 {
		if a.start != nil {
			return a.inStart(t, n)
		}
		// "/" matches the root node.
		return n.kind == rootNode, nil
	}
	return a.matchFrom(t, n, len(a.steps)-1)
}

func (a *patAlt) inStart(t *transform, n *node) (bool, error) {
	c := &xctx{node: n, pos: 1, size: 1, t: t}
	v, err := a.start.eval(c)
	if err != nil {
		return false, err
	}
	ns, _ := v.(nodeSet)
	return slices.Contains(ns, n), nil
}

func (a *patAlt) matchFrom(t *transform, n *node, i int) (bool, error) {
	st := a.steps[i]
	if ok, err := st.matchNode(t, n); !ok || err != nil {
		return false, err
	}
	if i == 0 {
		switch {
		case a.root && !st.desc:
			return n.parent != nil && n.parent.kind == rootNode, nil
		case a.root:
			return n.root().kind == rootNode, nil
		case a.start != nil:
			for p := n.parent; p != nil; p = p.parent {
				ok, err := a.inStart(t, p)
				if ok || err != nil || !st.desc {
					return ok, err
				}
			}
			return false, nil
		}
		return true, nil
	}
	if !st.desc {
		if n.parent == nil {
			return false, nil
		}
		return a.matchFrom(t, n.parent, i-1)
	}
	for p := n.parent; p != nil; p = p.parent {
		ok, err := a.matchFrom(t, p, i-1)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// matchNode tests the node itself: axis, node test and predicates.
func (s *patStep) matchNode(t *transform, n *node) (bool, error) {
	if s.attr {
		if n.kind != attributeNode || !s.test.match(n, attributeNode) {
			return false, nil
		}
	} else if n.kind == attributeNode || n.kind == rootNode || !s.test.match(n, elementNode) {
		return false, nil
	}
	if len(s.preds) == 0 {
		return true, nil
	}
	if !s.positional {
		c := &xctx{node: n, pos: 1, size: 1, t: t}
		for _, p := range s.preds {
			v, err := p.eval(c)
			if err != nil || !toBool(v) {
				return false, err
			}
		}
		return true, nil
	}
	if n.parent == nil {
		return false, nil
	}
	var sibs []*node
	if s.attr {
		for _, a := range n.parent.attrs {
			if s.test.match(a, attributeNode) {
				sibs = append(sibs, a)
			}
		}
	} else {
		for _, k := range n.parent.children {
			if s.test.match(k, elementNode) {
				sibs = append(sibs, k)
			}
		}
	}
	sel, err := filterPreds(&xctx{t: t}, sibs, s.preds, false)
	if err != nil {
		return false, err
	}
	return slices.Contains(sel, n), nil
}
