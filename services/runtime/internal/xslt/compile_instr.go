package xslt

import (
	"fmt"
	"strings"
)

func errorString(format string, args ...any) error { return fmt.Errorf(format, args...) }

func (c *compiler) compileBody(el *node, bc *bodyCtx) (seq, error) {
	return c.compileSeq(el.children, bc)
}

// compileSeq compiles a sequence of instructions; a variable is in scope
// for its following siblings and their descendants.
func (c *compiler) compileSeq(kids []*node, bc *bodyCtx) (seq, error) {
	mark := len(bc.vars)
	defer func() { bc.vars = bc.vars[:mark] }()
	var out seq
	for _, k := range kids {
		in, err := c.compileNode(k, bc)
		if err != nil {
			return nil, err
		}
		if in != nil {
			out = append(out, in)
		}
	}
	return out, nil
}

func (c *compiler) compileNode(k *node, bc *bodyCtx) (instr, error) {
	switch k.kind {
	case textNode:
		return &textInstr{s: k.value}, nil
	case elementNode:
	default:
		return nil, nil
	}
	var in instr
	var err error
	if k.space != nsXSL {
		if c.isExtension(k) {
			// An extension element this processor lacks runs its
			// xsl:fallback children (XSLT 1.0 section 15); without one it
			// is refused here rather than when instantiated.
			if !hasFallback(k) {
				return nil, errAt(k, "extension element {%s}%s is not supported", k.space, k.local)
			}
			in, err = c.compileFallbacks(k, bc)
		} else {
			in, err = c.literalElement(k, bc)
		}
	} else {
		if err := checkAttrs(k); err != nil {
			return nil, err
		}
		in, err = c.compileXSL(k, bc)
	}
	if l, ok := in.(interface{ setLoc(int, string) }); ok && err == nil {
		l.setLoc(k.line, k.qname())
	}
	return in, err
}

// hasFallback reports whether an element has xsl:fallback children.
func hasFallback(k *node) bool {
	for _, f := range k.children {
		if f.kind == elementNode && f.space == nsXSL && f.local == "fallback" {
			return true
		}
	}
	return false
}

// selectOrBody compiles the value of an XSLT 2.0 instruction that takes a
// select attribute or content, not both.
func (c *compiler) selectOrBody(k *node, bc *bodyCtx) (expr, seq, error) {
	sel, err := c.xpath(k, "select", bc)
	if err != nil {
		return nil, nil, err
	}
	if sel != nil && len(k.children) > 0 && !(len(k.children) == 1 && hasFallback(k)) {
		return nil, nil, errAt(k, "has both a select attribute and content")
	}
	if sel != nil {
		return sel, nil, nil
	}
	body, err := c.compileBody(k, bc)
	return nil, body, err
}

// copyNamespaces reads copy-namespaces (XSLT 2.0): "no" copies an element
// without the namespace declarations its name does not need.
func copyNamespaces(k *node) (bool, error) {
	v, ok := k.attr("", "copy-namespaces")
	if !ok {
		return true, nil
	}
	switch strings.TrimSpace(v) {
	case "yes", "true", "1":
		return true, nil
	case "no", "false", "0":
		return false, nil
	}
	return false, errAt(k, "copy-namespaces must be yes or no, not %q", v)
}

func (c *compiler) compileXSL(k *node, bc *bodyCtx) (instr, error) {
	switch k.local {
	case "namespace":
		name, err := c.avtAttr(k, "name", bc, true)
		if err != nil {
			return nil, err
		}
		in := &namespaceInstr{name: name}
		if in.sel, in.body, err = c.selectOrBody(k, bc); err != nil {
			return nil, err
		}
		return in, nil
	case "for-each-group":
		return c.forEachGroup(k, bc)
	case "apply-templates":
		return c.applyTemplates(k, bc)
	case "call-template":
		q, err := c.requiredQName(k, "name")
		if err != nil {
			return nil, err
		}
		ct := &callTemplate{name: q, el: k}
		for _, p := range k.children {
			if p.kind != elementNode || p.space != nsXSL || p.local != "with-param" {
				return nil, errAt(k, "xsl:call-template may only contain xsl:with-param")
			}
		}
		if ct.params, err = c.withParams(k.children, bc); err != nil {
			return nil, err
		}
		c.calls = append(c.calls, ct)
		return ct, nil
	case "apply-imports":
		return &applyImports{}, nil
	case "for-each":
		sel, err := c.requiredXPath(k, "select", bc)
		if err != nil {
			return nil, err
		}
		sorts, rest, err := c.sorts(k.children, bc, false)
		if err != nil {
			return nil, err
		}
		body, err := c.compileSeq(rest, bc)
		if err != nil {
			return nil, err
		}
		return &forEach{sel: sel, sorts: sorts, body: body}, nil
	case "value-of":
		// XSLT 2.0 also allows content instead of select, and a separator.
		in := &valueOf{join: xslt2(k)}
		if _, ok := k.attr("", "select"); !ok && len(k.children) == 0 {
			return nil, errAt(k, "the select attribute is required")
		}
		var err error
		if in.sel, in.body, err = c.selectOrBody(k, bc); err != nil {
			return nil, err
		}
		if in.noEscape, err = yesNo(k, "disable-output-escaping"); err != nil {
			return nil, err
		}
		if in.sep, err = c.avtAttr(k, "separator", bc, false); err != nil {
			return nil, err
		}
		if in.sep != nil {
			in.join = true
		}
		return in, nil
	case "copy-of":
		if v, _ := k.attr("", "select"); strings.Join(strings.Fields(v), "") == "namespace::*" {
			return &copyNamespacesInstr{}, nil
		}
		sel, err := c.requiredXPath(k, "select", bc)
		if err != nil {
			return nil, err
		}
		keepNS, err := copyNamespaces(k)
		if err != nil {
			return nil, err
		}
		return &copyOf{sel: sel, noNS: !keepNS, atomic: xslt2(k)}, nil
	case "number":
		return c.number(k, bc)
	case "choose":
		return c.choose(k, bc)
	case "if":
		test, err := c.requiredXPath(k, "test", bc)
		if err != nil {
			return nil, err
		}
		body, err := c.compileBody(k, bc)
		if err != nil {
			return nil, err
		}
		return &ifInstr{test: test, body: body}, nil
	case "text":
		doe, err := yesNo(k, "disable-output-escaping")
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, t := range k.children {
			if t.kind != textNode {
				return nil, errAt(k, "xsl:text may only contain text")
			}
			b.WriteString(t.value)
		}
		return &textInstr{s: b.String(), noEscape: doe}, nil
	case "copy":
		sets, err := c.attrSetNames(k, "use-attribute-sets", "")
		if err != nil {
			return nil, err
		}
		keepNS, err := copyNamespaces(k)
		if err != nil {
			return nil, err
		}
		body, err := c.compileBody(k, bc)
		if err != nil {
			return nil, err
		}
		return &copyInstr{sets: sets, body: body, noNS: !keepNS}, nil
	case "variable":
		q, err := c.requiredQName(k, "name")
		if err != nil {
			return nil, err
		}
		v := &variableInstr{name: q}
		if v.sel, v.body, err = c.varValue(k, bc); err != nil {
			return nil, err
		}
		if v.as, err = c.asAttr(k, v.body != nil); err != nil {
			return nil, err
		}
		if v.slot, err = bc.declare(k, q); err != nil {
			return nil, err
		}
		return v, nil
	case "param":
		return nil, errAt(k, "xsl:param is only allowed at the top level or at the start of a template")
	case "message":
		term := false
		if v, ok := k.attr("", "terminate"); ok {
			switch strings.TrimSpace(v) {
			case "yes":
				term = true
			case "no":
			default:
				return nil, errAt(k, "terminate must be yes or no, not %q", v)
			}
		}
		sel, body, err := c.selectOrBody(k, bc)
		if err != nil {
			return nil, err
		}
		return &message{sel: sel, body: body, terminate: term}, nil
	case "fallback":
		// Only used when its parent instruction is unknown; every
		// instruction this processor accepts is known.
		return nil, nil
	case "processing-instruction":
		name, err := c.avtAttr(k, "name", bc, true)
		if err != nil {
			return nil, err
		}
		sel, body, err := c.selectOrBody(k, bc)
		if err != nil {
			return nil, err
		}
		return &piInstr{name: name, sel: sel, body: body}, nil
	case "comment":
		sel, body, err := c.selectOrBody(k, bc)
		if err != nil {
			return nil, err
		}
		return &commentInstr{sel: sel, body: body}, nil
	case "element":
		name, err := c.avtAttr(k, "name", bc, true)
		if err != nil {
			return nil, err
		}
		ns, err := c.avtAttr(k, "namespace", bc, false)
		if err != nil {
			return nil, err
		}
		sets, err := c.attrSetNames(k, "use-attribute-sets", "")
		if err != nil {
			return nil, err
		}
		body, err := c.compileBody(k, bc)
		if err != nil {
			return nil, err
		}
		in := &elementInstr{name: name, ns: ns, sets: sets, body: body, scope: k}
		if name.static && ns == nil {
			if in.staticName, err = expandName(k, name.text, true); err != nil {
				return nil, errAt(k, "%v", err)
			}
		}
		return in, nil
	case "attribute":
		name, err := c.avtAttr(k, "name", bc, true)
		if err != nil {
			return nil, err
		}
		ns, err := c.avtAttr(k, "namespace", bc, false)
		if err != nil {
			return nil, err
		}
		sel, body, err := c.selectOrBody(k, bc)
		if err != nil {
			return nil, err
		}
		sep, err := c.avtAttr(k, "separator", bc, false)
		if err != nil {
			return nil, err
		}
		in := &attributeInstr{name: name, ns: ns, sel: sel, sep: sep, body: body, scope: k}
		if name.static {
			if name.text == "xmlns" || strings.HasPrefix(name.text, "xmlns:") && ns == nil {
				return nil, errAt(k, "xsl:attribute cannot create a namespace declaration (%s)", name.text)
			}
			if ns == nil {
				if in.staticName, err = expandName(k, name.text, false); err != nil {
					return nil, errAt(k, "%v", err)
				}
			}
		}
		return in, nil
	case "sort":
		return nil, errAt(k, "xsl:sort is only allowed at the start of xsl:for-each or inside xsl:apply-templates")
	case "with-param", "when", "otherwise":
		return nil, errAt(k, "xsl:%s is misplaced", k.local)
	case "import", "include", "template", "output", "key", "decimal-format", "attribute-set", "strip-space", "preserve-space", "namespace-alias", "stylesheet", "transform":
		return nil, errAt(k, "xsl:%s is only allowed at the top level", k.local)
	}
	if v, ok := laterInstructions[k.local]; ok {
		return nil, errAt(k, "xsl:%s (XSLT %s) is not supported by this runtime", k.local, v)
	}
	if forwards(k) {
		return c.compileFallbacks(k, bc)
	}
	return nil, errAt(k, "unknown XSLT instruction xsl:%s", k.local)
}

func yesNo(el *node, attr string) (bool, error) {
	v, ok := el.attr("", attr)
	if !ok {
		return false, nil
	}
	switch strings.TrimSpace(v) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, errAt(el, "%s must be yes or no, not %q", attr, v)
}

func (c *compiler) isExtension(el *node) bool {
	if c.extension[el.space] {
		return true
	}
	for a := el; a != nil && a.kind == elementNode; a = a.parent {
		if a == c.root {
			continue // read once, into c.extension
		}
		if v, ok := a.attr(attrSpace(a), "extension-element-prefixes"); ok {
			uris, err := c.prefixList(a, v)
			if err == nil && containsString(uris, el.space) {
				return true
			}
		}
	}
	return false
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// literalLaterAttrs are the XSLT 2.0 and 3.0 attributes of literal result
// elements (in the XSLT namespace) beyond those of every XSLT element.
var literalLaterAttrs = map[string]laterAttr{
	"inherit-namespaces": accepted("2.0", yesValues), "type": refused("2.0"),
	"validation": accepted("2.0", stripping), "on-empty": refused("3.0"),
}

// literalElement compiles a literal result element: its name, its
// attributes as attribute value templates and the namespace nodes it
// copies from the stylesheet (minus the XSLT namespace and excluded ones).
func (c *compiler) literalElement(k *node, bc *bodyCtx) (instr, error) {
	excluded := map[string]bool{}
	for a := k; a != nil && a.kind == elementNode; a = a.parent {
		if a == c.root {
			continue // read once, into c.excluded
		}
		// On literal result elements xsl:exclude-result-prefixes; XSLT 2.0
		// also allows exclude-result-prefixes on any XSLT element.
		for _, attr := range []string{"exclude-result-prefixes", "extension-element-prefixes"} {
			if v, ok := a.attr(attrSpace(a), attr); ok {
				uris, err := c.prefixList(a, v)
				if err != nil {
					return nil, err
				}
				for _, u := range uris {
					excluded[u] = true
				}
			}
		}
	}
	le := &literalElem{space: k.space, local: k.local, prefix: k.prefix}
	for _, b := range k.inScopeNS() {
		if c.excluded[b.uri] || excluded[b.uri] {
			continue
		}
		le.ns = append(le.ns, b)
	}
	var err error
	if le.sets, err = c.attrSetNames(k, "use-attribute-sets", nsXSL); err != nil {
		return nil, err
	}
	for _, a := range k.attrs {
		if a.space == nsXSL {
			if a.local == "use-attribute-sets" {
				continue
			}
			la, ok := laterAttrs["*"][a.local]
			if !ok {
				la, ok = literalLaterAttrs[a.local]
			}
			switch {
			case ok:
				if err := checkLaterAttr(k, "xsl:", a, la); err != nil {
					return nil, err
				}
			case !forwards(k):
				return nil, errAt(k, "attribute xsl:%s is not allowed on a literal result element", a.local)
			}
			continue // forwards-compatible mode: unknown ones are ignored
		}
		v, err := c.avt(k, a.value, bc)
		if err != nil {
			return nil, errAt(k, "attribute %s: %v", a.qname(), err)
		}
		le.attrs = append(le.attrs, litAttr{space: a.space, local: a.local, prefix: a.prefix, value: v})
	}
	if le.body, err = c.compileBody(k, bc); err != nil {
		return nil, err
	}
	return le, nil
}

func (c *compiler) applyTemplates(k *node, bc *bodyCtx) (instr, error) {
	at := &applyTemplates{}
	var err error
	if at.sel, err = c.xpath(k, "select", bc); err != nil {
		return nil, err
	}
	if m, ok := k.attr("", "mode"); ok {
		switch m = strings.TrimSpace(m); m {
		case "#current": // XSLT 2.0
			at.currentMode = true
		case "#default": // XSLT 2.0
		default:
			if at.mode, err = c.expandQName(k, m); err != nil {
				return nil, err
			}
		}
	}
	c.applyModes[at.mode] = true
	var params []*node
	for _, ch := range k.children {
		if ch.kind != elementNode || ch.space != nsXSL || ch.local != "sort" && ch.local != "with-param" {
			return nil, errAt(k, "xsl:apply-templates may only contain xsl:sort and xsl:with-param")
		}
		if ch.local == "with-param" {
			params = append(params, ch)
		}
	}
	if at.sorts, _, err = c.sorts(k.children, bc, true); err != nil {
		return nil, err
	}
	if at.params, err = c.withParams(params, bc); err != nil {
		return nil, err
	}
	return at, nil
}

func (c *compiler) withParams(els []*node, bc *bodyCtx) ([]withParam, error) {
	var out []withParam
	for _, el := range els {
		if el.local != "with-param" {
			continue
		}
		if err := checkAttrs(el); err != nil {
			return nil, err
		}
		q, err := c.requiredQName(el, "name")
		if err != nil {
			return nil, err
		}
		for _, p := range out {
			if p.name == q {
				return nil, errAt(el, "parameter %s is passed twice", q)
			}
		}
		wp := withParam{name: q}
		if wp.sel, wp.body, err = c.varValue(el, bc); err != nil {
			return nil, err
		}
		if wp.as, err = c.asAttr(el, wp.body != nil); err != nil {
			return nil, err
		}
		out = append(out, wp)
	}
	return out, nil
}

// sorts compiles the leading xsl:sort children (all xsl:sort children for
// apply-templates) and returns the remaining nodes.
func (c *compiler) sorts(kids []*node, bc *bodyCtx, inApply bool) ([]*sortKey, []*node, error) {
	var out []*sortKey
	i := 0
	for ; i < len(kids); i++ {
		k := kids[i]
		if k.kind != elementNode || k.space != nsXSL || k.local != "sort" {
			if inApply && k.kind == elementNode && k.space == nsXSL && k.local == "with-param" {
				continue
			}
			break
		}
		if err := checkAttrs(k); err != nil {
			return nil, nil, err
		}
		if len(k.children) > 0 {
			return nil, nil, errAt(k, "xsl:sort must be empty")
		}
		sk := &sortKey{}
		_, lang := k.attr("", "lang")
		_, caseOrder := k.attr("", "case-order")
		sk.collate = lang || caseOrder
		var err error
		if sk.sel, err = c.xpath(k, "select", bc); err != nil {
			return nil, nil, err
		}
		if sk.order, err = c.avtAttr(k, "order", bc, false); err != nil {
			return nil, nil, err
		}
		if sk.dataType, err = c.avtAttr(k, "data-type", bc, false); err != nil {
			return nil, nil, err
		}
		if sk.caseOrder, err = c.avtAttr(k, "case-order", bc, false); err != nil {
			return nil, nil, err
		}
		for attr, a := range map[string]*avt{"order": sk.order, "data-type": sk.dataType, "case-order": sk.caseOrder} {
			if a != nil && a.static {
				if err := checkSortValue(attr, a.text); err != nil {
					return nil, nil, errAt(k, "%v", err)
				}
			}
		}
		out = append(out, sk)
	}
	for _, k := range kids[i:] {
		if k.kind == elementNode && k.space == nsXSL && k.local == "sort" {
			return nil, nil, errAt(k, "xsl:sort must come before the other content")
		}
	}
	return out, kids[i:], nil
}

func (c *compiler) choose(k *node, bc *bodyCtx) (instr, error) {
	ch := &choose{}
	for i, w := range k.children {
		if w.kind != elementNode || w.space != nsXSL || w.local != "when" && w.local != "otherwise" {
			return nil, errAt(k, "xsl:choose may only contain xsl:when and xsl:otherwise")
		}
		if err := checkAttrs(w); err != nil {
			return nil, err
		}
		body, err := c.compileBody(w, bc)
		if err != nil {
			return nil, err
		}
		if w.local == "otherwise" {
			if i != len(k.children)-1 {
				return nil, errAt(w, "xsl:otherwise must be the last child of xsl:choose")
			}
			ch.otherwise = body
			continue
		}
		test, err := c.requiredXPath(w, "test", bc)
		if err != nil {
			return nil, err
		}
		ch.whens = append(ch.whens, when{test: test, body: body})
	}
	if len(ch.whens) == 0 {
		return nil, errAt(k, "xsl:choose needs at least one xsl:when")
	}
	return ch, nil
}

func (c *compiler) number(k *node, bc *bodyCtx) (instr, error) {
	n := &numberInstr{level: "single"}
	if v, ok := k.attr("", "level"); ok {
		switch v = strings.TrimSpace(v); v {
		case "single", "multiple", "any":
			n.level = v
		default:
			return nil, errAt(k, "level must be single, multiple or any, not %q", v)
		}
	}
	var err error
	if n.count, err = c.pattern(k, "count"); err != nil {
		return nil, err
	}
	if n.from, err = c.pattern(k, "from"); err != nil {
		return nil, err
	}
	if n.value, err = c.xpath(k, "value", bc); err != nil {
		return nil, err
	}
	if n.format, err = c.avtAttr(k, "format", bc, false); err != nil {
		return nil, err
	}
	if n.groupSep, err = c.avtAttr(k, "grouping-separator", bc, false); err != nil {
		return nil, err
	}
	if n.groupSize, err = c.avtAttr(k, "grouping-size", bc, false); err != nil {
		return nil, err
	}
	if len(k.children) > 0 {
		return nil, errAt(k, "xsl:number must be empty")
	}
	return n, nil
}

// avtAttr compiles an attribute value template attribute (nil when absent
// and not required).
func (c *compiler) avtAttr(el *node, attr string, bc *bodyCtx, required bool) (*avt, error) {
	v, ok := el.attr("", attr)
	if !ok {
		if required {
			return nil, errAt(el, "the %s attribute is required", attr)
		}
		return nil, nil
	}
	a, err := c.avt(el, v, bc)
	if err != nil {
		return nil, errAt(el, "%s: %v", attr, err)
	}
	return a, nil
}

// avt compiles an attribute value template: text with {expr} parts, {{
// and }} for literal braces.
func (c *compiler) avt(el *node, s string, bc *bodyCtx) (*avt, error) {
	a := &avt{join: xslt2(el)}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case ch == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case ch == '}':
			return nil, errorString("unmatched } in attribute value template %q (write }} for a literal brace)", s)
		case ch == '{':
			end := -1
			var quote byte
			for j := i + 1; j < len(s); j++ {
				switch {
				case quote != 0:
					if s[j] == quote {
						quote = 0
					}
				case s[j] == '\'' || s[j] == '"':
					quote = s[j]
				case s[j] == '}':
					end = j
				}
				if end >= 0 {
					break
				}
			}
			if end < 0 {
				return nil, errorString("unclosed { in attribute value template %q", s)
			}
			e, err := compileXPath(s[i+1:end], c.env(el, bc))
			if err != nil {
				return nil, err
			}
			if lit.Len() > 0 {
				a.parts = append(a.parts, avtPart{lit: lit.String()})
				lit.Reset()
			}
			a.parts = append(a.parts, avtPart{e: e})
			i = end
		default:
			lit.WriteByte(ch)
		}
	}
	if lit.Len() > 0 {
		a.parts = append(a.parts, avtPart{lit: lit.String()})
	}
	if len(a.parts) == 0 || len(a.parts) == 1 && a.parts[0].e == nil {
		a.static = true
		if len(a.parts) == 1 {
			a.text = a.parts[0].lit
		}
	}
	return a, nil
}
