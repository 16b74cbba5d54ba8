package xslt

import (
	"errors"
	"fmt"
	"strings"
)

// instr is a compiled instruction.
type instr interface {
	exec(t *transform) error
}

type seq []instr

func (s seq) exec(t *transform) error {
	for _, in := range s {
		t.steps++
		if t.steps&1023 == 0 {
			if err := t.ctx.Err(); err != nil {
				return fmt.Errorf("transformation stopped: %w", err)
			}
		}
		if err := in.exec(t); err != nil {
			return err
		}
	}
	return nil
}

// RuntimeError is an error raised while transforming, located at the
// instruction that failed.
type RuntimeError struct {
	Line  int
	Instr string
	Err   error
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("line %d: <%s>: %v", e.Line, e.Instr, e.Err)
}

func (e *RuntimeError) Unwrap() error { return e.Err }

// loc is an instruction's place in the stylesheet.
type loc struct {
	line int
	name string
}

func (l *loc) setLoc(line int, name string) { l.line, l.name = line, name }

func (l *loc) wrap(err error) error {
	if err == nil {
		return nil
	}
	var re *RuntimeError
	if errors.As(err, &re) || errors.Is(err, errStopped) {
		return err
	}
	return &RuntimeError{Line: l.line, Instr: l.name, Err: err}
}

var errStopped = errors.New("transformation stopped")

type textInstr struct {
	loc
	s        string
	noEscape bool
}

func (in *textInstr) exec(t *transform) error {
	t.text(in.s, in.noEscape)
	return nil
}

type valueOf struct {
	loc
	sel      expr
	body     seq // XSLT 2.0: content instead of select
	noEscape bool
	// join writes every item of a sequence, separated by sep (a space by
	// default), as XSLT 2.0 does; XSLT 1.0 (and Saxon's backwards
	// compatible mode) writes the first node's string value.
	join bool
	sep  *avt
}

func (in *valueOf) exec(t *transform) error {
	if in.sel == nil {
		s, err := t.textContent(in.body)
		if err != nil {
			return in.wrap(err)
		}
		t.text(s, in.noEscape)
		return nil
	}
	v, err := t.eval(in.sel)
	if err != nil {
		return in.wrap(err)
	}
	s, err := t.sequenceText(v, in.join, in.sep)
	if err != nil {
		return in.wrap(err)
	}
	t.text(s, in.noEscape)
	return nil
}

// sequenceText is the text a select expression's value makes: with join
// (XSLT 2.0) every item's string value separated by sep (default a
// space), else the value's XPath 1.0 string value.
func (t *transform) sequenceText(v any, join bool, sep *avt) (string, error) {
	if !join {
		return toString(v), nil
	}
	s := " "
	if sep != nil {
		var err error
		if s, err = sep.eval(t); err != nil {
			return "", err
		}
	}
	return joinValues(v, s), nil
}

type copyOf struct {
	loc
	sel  expr
	noNS bool // copy-namespaces="no" (XSLT 2.0)
	// atomic: in an XSLT 2.0 scope a string, number or boolean is an
	// atomic value, separated from an adjacent one by a space.
	atomic bool
}

func (in *copyOf) exec(t *transform) error {
	v, err := t.eval(in.sel)
	if err != nil {
		return in.wrap(err)
	}
	ns, ok := v.(nodeSet)
	if !ok {
		if in.atomic {
			t.atomic(toString(v))
		} else {
			t.text(toString(v), false)
		}
		return nil
	}
	for _, n := range ns {
		if err := t.copyNode(n, in.noNS); err != nil {
			return in.wrap(err)
		}
	}
	return nil
}

type withParam struct {
	name qname
	sel  expr
	body seq
	as   *seqType
}

type paramVal struct {
	name qname
	v    any
}

func (t *transform) evalParams(ps []withParam) ([]paramVal, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	out := make([]paramVal, len(ps))
	for i, p := range ps {
		v, err := t.valueAs(p.sel, p.body, p.as)
		if err != nil {
			return nil, err
		}
		out[i] = paramVal{name: p.name, v: v}
	}
	return out, nil
}

type applyTemplates struct {
	loc
	sel         expr // nil: child::node()
	mode        qname
	currentMode bool // mode="#current" (XSLT 2.0)
	sorts       []*sortKey
	params      []withParam
}

func (in *applyTemplates) exec(t *transform) error {
	var nodes nodeSet
	if in.sel == nil {
		nodes = t.current.children
	} else {
		v, err := t.eval(in.sel)
		if err != nil {
			return in.wrap(err)
		}
		var ok bool
		if nodes, ok = v.(nodeSet); !ok {
			return in.wrap(fmt.Errorf("select must give a node-set, not a %s", typeName(v)))
		}
		for _, n := range nodes {
			if n.atomic {
				// XSLT 2.0 would apply the built-in rule for atomic values,
				// which no template here can tell from a text node.
				return in.wrap(fmt.Errorf("applying templates to atomic values (from tokenize()) is not supported by this runtime"))
			}
		}
	}
	if len(in.sorts) > 0 {
		var err error
		if nodes, err = t.sortNodes(nodes, in.sorts); err != nil {
			return in.wrap(err)
		}
	}
	params, err := t.evalParams(in.params)
	if err != nil {
		return in.wrap(err)
	}
	mode := in.mode
	if in.currentMode {
		mode = t.mode
	}
	return in.wrap(t.applyList(nodes, mode, params))
}

type callTemplate struct {
	loc
	name   qname
	tmpl   *template
	params []withParam
	el     *node
}

func (in *callTemplate) exec(t *transform) error {
	params, err := t.evalParams(in.params)
	if err != nil {
		return in.wrap(err)
	}
	return in.wrap(t.invoke(in.tmpl, params, t.mode))
}

type applyImports struct{ loc }

// exec: there are no imported stylesheets, so only the built-in rules
// remain below the current template rule.
func (in *applyImports) exec(t *transform) error { return in.wrap(t.builtin(t.current, t.mode)) }

type forEach struct {
	loc
	sel   expr
	sorts []*sortKey
	body  seq
}

func (in *forEach) exec(t *transform) error {
	v, err := t.eval(in.sel)
	if err != nil {
		return in.wrap(err)
	}
	nodes, ok := v.(nodeSet)
	if !ok {
		return in.wrap(fmt.Errorf("select must give a node-set, not a %s", typeName(v)))
	}
	if len(in.sorts) > 0 {
		if nodes, err = t.sortNodes(nodes, in.sorts); err != nil {
			return in.wrap(err)
		}
	}
	cur, pos, size := t.current, t.pos, t.size
	defer func() { t.current, t.pos, t.size = cur, pos, size }()
	for i, n := range nodes {
		t.current, t.pos, t.size = n, i+1, len(nodes)
		if err := in.body.exec(t); err != nil {
			return err
		}
	}
	return nil
}

type ifInstr struct {
	loc
	test expr
	body seq
}

func (in *ifInstr) exec(t *transform) error {
	v, err := t.eval(in.test)
	if err != nil {
		return in.wrap(err)
	}
	if toBool(v) {
		return in.body.exec(t)
	}
	return nil
}

type when struct {
	test expr
	body seq
}

type choose struct {
	loc
	whens     []when
	otherwise seq
}

func (in *choose) exec(t *transform) error {
	for _, w := range in.whens {
		v, err := t.eval(w.test)
		if err != nil {
			return in.wrap(err)
		}
		if toBool(v) {
			return w.body.exec(t)
		}
	}
	return in.otherwise.exec(t)
}

type variableInstr struct {
	loc
	name qname
	slot int
	sel  expr
	body seq
	as   *seqType
}

func (in *variableInstr) exec(t *transform) error {
	v, err := t.valueAs(in.sel, in.body, in.as)
	if err != nil {
		return in.wrap(err)
	}
	t.frame[in.slot] = v
	return nil
}

type message struct {
	loc
	sel       expr // XSLT 2.0
	body      seq
	terminate bool
}

// selectText is the text of an instruction with XSLT 2.0's select or with
// content: a sequence's items are joined with spaces (there is no XSLT
// 1.0 behaviour to keep: select is new in XSLT 2.0).
func (t *transform) selectText(sel expr, body seq) (string, error) {
	if sel == nil {
		return t.textContent(body)
	}
	v, err := t.eval(sel)
	if err != nil {
		return "", err
	}
	return joinValues(v, " "), nil
}

func (in *message) exec(t *transform) error {
	s, err := t.selectText(in.sel, in.body)
	if err != nil {
		return in.wrap(err)
	}
	t.messages = append(t.messages, s)
	if in.terminate {
		return in.wrap(fmt.Errorf("xsl:message terminated the transformation: %s", s))
	}
	return nil
}

type piInstr struct {
	loc
	name *avt
	sel  expr
	body seq
}

func (in *piInstr) exec(t *transform) error {
	name, err := in.name.eval(t)
	if err != nil {
		return in.wrap(err)
	}
	name = strings.TrimSpace(name)
	if !isNCName(name) || strings.EqualFold(name, "xml") {
		return in.wrap(fmt.Errorf("%q is not a valid processing-instruction name", name))
	}
	s, err := t.selectText(in.sel, in.body)
	if err != nil {
		return in.wrap(err)
	}
	s = strings.ReplaceAll(s, "?>", "? >")
	t.appendChild(&node{kind: piNode, local: name, value: strings.TrimLeft(s, " \t\r\n")})
	return nil
}

type commentInstr struct {
	loc
	sel  expr
	body seq
}

func (in *commentInstr) exec(t *transform) error {
	s, err := t.selectText(in.sel, in.body)
	if err != nil {
		return in.wrap(err)
	}
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "- -")
	}
	if strings.HasSuffix(s, "-") {
		s += " "
	}
	t.appendChild(&node{kind: commentNode, value: s})
	return nil
}

// expName is an expanded name with the prefix to write it with.
type expName struct{ space, local, prefix string }

// expandName expands the name of xsl:element (useDefault: unprefixed names
// take the default namespace in scope) or xsl:attribute.
func expandName(scope *node, name string, useDefault bool) (expName, error) {
	name = strings.TrimSpace(name)
	prefix, local, ok := strings.Cut(name, ":")
	if !ok {
		local, prefix = prefix, ""
	}
	if !isNCName(local) || prefix != "" && !isNCName(prefix) {
		return expName{}, fmt.Errorf("%q is not a valid QName", name)
	}
	n := expName{local: local, prefix: prefix}
	if prefix == "" {
		if useDefault {
			n.space, _ = scope.lookupNS("")
		}
		return n, nil
	}
	uri, found := scope.lookupNS(prefix)
	if !found || uri == "" {
		return expName{}, fmt.Errorf("namespace prefix %q of %q is not declared", prefix, name)
	}
	n.space = uri
	return n, nil
}

func (t *transform) runtimeName(nameAVT, nsAVT *avt, static *expName, scope *node, isElem bool) (expName, error) {
	if static != nil {
		return *static, nil
	}
	name, err := nameAVT.eval(t)
	if err != nil {
		return expName{}, err
	}
	if nsAVT == nil {
		return expandName(scope, name, isElem)
	}
	ns, err := nsAVT.eval(t)
	if err != nil {
		return expName{}, err
	}
	name = strings.TrimSpace(name)
	prefix, local, ok := strings.Cut(name, ":")
	if !ok {
		local, prefix = prefix, ""
	}
	if !isNCName(local) || prefix != "" && !isNCName(prefix) {
		return expName{}, fmt.Errorf("%q is not a valid QName", name)
	}
	if ns == "" {
		prefix = ""
	}
	return expName{space: ns, local: local, prefix: prefix}, nil
}

type elementInstr struct {
	loc
	name, ns   *avt
	staticName expName
	sets       []qname
	body       seq
	scope      *node
}

func (in *elementInstr) exec(t *transform) error {
	var static *expName
	if in.name.static && in.ns == nil {
		static = &in.staticName
	}
	n, err := t.runtimeName(in.name, in.ns, static, in.scope, true)
	if err != nil {
		return in.wrap(fmt.Errorf("xsl:element name: %w", err))
	}
	prev := t.startElement(n.space, n.local, n.prefix, nil)
	if err := t.applySets(in.sets); err != nil {
		return in.wrap(err)
	}
	if err := in.body.exec(t); err != nil {
		return err
	}
	t.out = prev
	return nil
}

type attributeInstr struct {
	loc
	name, ns   *avt
	staticName expName
	sel        expr // XSLT 2.0
	sep        *avt // XSLT 2.0 separator for select (default a space)
	body       seq
	scope      *node
}

func (in *attributeInstr) exec(t *transform) error {
	var static *expName
	if in.name.static && in.ns == nil {
		static = &in.staticName
	}
	n, err := t.runtimeName(in.name, in.ns, static, in.scope, false)
	if err != nil {
		return in.wrap(fmt.Errorf("xsl:attribute name: %w", err))
	}
	if n.space == "" && n.local == "xmlns" && n.prefix == "" || n.prefix == "xmlns" {
		return in.wrap(fmt.Errorf("xsl:attribute cannot create a namespace declaration"))
	}
	var v string
	if in.sel != nil {
		sv, err := t.eval(in.sel)
		if err == nil {
			v, err = t.sequenceText(sv, true, in.sep)
		}
		if err != nil {
			return in.wrap(err)
		}
	} else if v, err = t.textContent(in.body); err != nil {
		return in.wrap(err)
	}
	return in.wrap(t.attribute(n.space, n.local, n.prefix, v))
}

type litAttr struct {
	space, local, prefix string
	value                *avt
}

type literalElem struct {
	loc
	space, local, prefix string
	ns                   []nsBinding
	attrs                []litAttr
	sets                 []qname
	body                 seq
}

func (in *literalElem) exec(t *transform) error {
	prev := t.startElement(in.space, in.local, in.prefix, in.ns)
	if err := t.applySets(in.sets); err != nil {
		return in.wrap(err)
	}
	for _, a := range in.attrs {
		v, err := a.value.eval(t)
		if err != nil {
			return in.wrap(fmt.Errorf("attribute %s: %w", joinQName(a.prefix, a.local), err))
		}
		if err := t.attribute(a.space, a.local, a.prefix, v); err != nil {
			return in.wrap(err)
		}
	}
	if err := in.body.exec(t); err != nil {
		return err
	}
	t.out = prev
	return nil
}

type copyInstr struct {
	loc
	sets []qname
	body seq
	noNS bool // copy-namespaces="no" (XSLT 2.0)
}

func (in *copyInstr) exec(t *transform) error {
	n := t.current
	switch n.kind {
	case rootNode:
		return in.body.exec(t)
	case elementNode:
		var ns []nsBinding
		if !in.noNS {
			ns = n.inScopeNS()
		}
		prev := t.startElement(n.space, n.local, n.prefix, ns)
		if err := t.applySets(in.sets); err != nil {
			return in.wrap(err)
		}
		if err := in.body.exec(t); err != nil {
			return err
		}
		t.out = prev
		return nil
	}
	return in.wrap(t.copyNode(n, in.noNS))
}

// avt is a compiled attribute value template.
type avt struct {
	parts  []avtPart
	static bool
	text   string // the value when static
	// join: an expression's sequence gives all its items separated by
	// spaces (XSLT 2.0), not the first node's string value.
	join bool
}

type avtPart struct {
	lit string
	e   expr
}

func (a *avt) eval(t *transform) (string, error) {
	if a.static {
		return a.text, nil
	}
	var b strings.Builder
	for _, p := range a.parts {
		if p.e == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := t.eval(p.e)
		if err != nil {
			return "", err
		}
		if a.join {
			b.WriteString(joinValues(v, " "))
		} else {
			b.WriteString(toString(v))
		}
	}
	return b.String(), nil
}

type sortKey struct {
	sel                        expr // nil: "."
	order, dataType, caseOrder *avt
	// collate: lang or case-order is present, so text compares with a
	// collation (see compareText); otherwise by Unicode code point, the
	// default collation of Saxon (Apigee's processor).
	collate bool
}

// sortValues are the values the xsl:sort attributes allow.
var sortValues = map[string][]string{
	"order":      {"ascending", "descending"},
	"data-type":  {"text", "number"},
	"case-order": {"upper-first", "lower-first"},
}

func checkSortValue(attr, v string) error {
	for _, ok := range sortValues[attr] {
		if v == ok {
			return nil
		}
	}
	return fmt.Errorf("xsl:sort %s must be one of %s, not %q", attr, strings.Join(sortValues[attr], ", "), v)
}
