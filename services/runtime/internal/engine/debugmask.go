package engine

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/jsonpath"
)

// masked replaces a value the environment's debug mask hides: ten
// asterisks, what Apigee's data masking page shows for a masked element
// (<customer-name>**********</customer-name>). It is the same whatever the
// value's length, so a capture does not even give the length away.
const masked = "**********"

// debugMask is a contract's DebugMask, compiled: the variables it hides
// (lower-cased, so header variables match whatever case the message has)
// and its payload paths, with Jayway's JSONPath (the dialect of Apigee's
// runtime) and the XPath of the XML policies.
type debugMask struct {
	vars map[string]bool
	// the payload masks of request, response and error flow messages.
	request, response, fault payloadMask
	// broken is why an expression did not compile: no payload is captured.
	broken error
}

// payloadMask is one message kind's XPaths and JSONPaths.
type payloadMask struct {
	xpaths    []*xpath.Expr
	jsonPaths []*jsonpath.Path
}

func (p payloadMask) empty() bool { return len(p.xpaths) == 0 && len(p.jsonPaths) == 0 }

// with is p and q's paths together.
func (p payloadMask) with(q payloadMask) payloadMask {
	return payloadMask{xpaths: append(append([]*xpath.Expr(nil), p.xpaths...), q.xpaths...),
		jsonPaths: append(append([]*jsonpath.Path(nil), p.jsonPaths...), q.jsonPaths...)}
}

// compileDebugMask compiles m. The control plane refuses a mask whose
// expressions do not compile; should one reach the message processor
// anyway (a contract from an older control plane), its sessions capture
// no payloads at all rather than unmasked ones.
func compileDebugMask(m *contract.DebugMask) *debugMask {
	if m == nil {
		return nil
	}
	d := &debugMask{vars: map[string]bool{}}
	for _, v := range m.Variables {
		d.vars[strings.ToLower(strings.TrimSpace(v))] = true
	}
	var err error
	compile := func(xps, jps []string) payloadMask {
		var p payloadMask
		for _, src := range xps {
			e, cerr := xpath.CompileWithNS(src, m.Namespaces)
			if cerr != nil {
				err = fmt.Errorf("debug mask XPath %q: %w", src, cerr)
				continue
			}
			p.xpaths = append(p.xpaths, e)
		}
		for _, src := range jps {
			jp, cerr := jsonpath.Compile(src)
			if cerr != nil {
				err = fmt.Errorf("debug mask JSONPath %q: %w", src, cerr)
				continue
			}
			p.jsonPaths = append(p.jsonPaths, jp)
		}
		return p
	}
	d.request = compile(m.RequestXPaths, m.RequestJSONPaths)
	d.response = compile(m.ResponseXPaths, m.ResponseJSONPaths)
	d.fault = compile(m.FaultXPaths, m.FaultJSONPaths)
	d.broken = err
	return d
}

func (d *debugMask) hides(name string) bool { return d != nil && d.vars[strings.ToLower(name)] }

// payload is the mask of a message: the request's, the response's, and in
// an error flow the fault paths besides ("faultXPaths: payloads in error
// flows").
func (d *debugMask) payload(response, inError bool) payloadMask {
	if d == nil {
		return payloadMask{}
	}
	p := d.request
	if response {
		p = d.response
	}
	if inError {
		p = p.with(d.fault)
	}
	return p
}

// apply masks b, a message body, by what it looks like: JSONPaths on a
// JSON document, XPaths on an XML one. Anything else is returned as it is,
// as Apigee applies the paths only to payloads of their kind.
func (p payloadMask) apply(b []byte) []byte {
	if p.empty() || len(b) == 0 {
		return b
	}
	switch t := bytes.TrimSpace(b); {
	case len(t) == 0:
		return b
	case t[0] == '<':
		return maskXML(b, p.xpaths)
	case t[0] == '{' || t[0] == '[':
		return maskJSON(b, p.jsonPaths)
	}
	return b
}

// maskXML replaces the text of the elements, and the values of the
// attributes, that xpaths select. A payload that does not parse is
// returned as it is.
func maskXML(b []byte, xpaths []*xpath.Expr) []byte {
	if len(xpaths) == 0 {
		return b
	}
	doc, err := xmlquery.Parse(bytes.NewReader(b))
	if err != nil {
		return b
	}
	type hit struct {
		n    *xmlquery.Node
		attr string // the attribute's name when the path selected one
	}
	var hits []hit
	for _, e := range xpaths {
		if it, ok := e.Evaluate(xmlquery.CreateXPathNavigator(doc)).(*xpath.NodeIterator); ok {
			for it.MoveNext() {
				nav := it.Current().(*xmlquery.NodeNavigator)
				h := hit{n: nav.Current()}
				if nav.NodeType() == xpath.AttributeNode {
					h.attr = nav.LocalName()
					if nav.Prefix() != "" {
						h.attr = nav.Prefix() + ":" + h.attr
					}
				}
				hits = append(hits, h)
			}
		}
	}
	if len(hits) == 0 {
		return b
	}
	for _, h := range hits {
		n := h.n
		if h.attr != "" {
			n.SetAttr(h.attr, masked)
			continue
		}
		switch n.Type {
		case xmlquery.ElementNode:
			// The element stays, its content goes: children that are
			// elements would carry the value in their own text.
			for c := n.FirstChild; c != nil; {
				next := c.NextSibling
				xmlquery.RemoveFromTree(c)
				c = next
			}
			xmlquery.AddChild(n, &xmlquery.Node{Type: xmlquery.TextNode, Data: masked})
		case xmlquery.TextNode, xmlquery.CharDataNode, xmlquery.CommentNode:
			n.Data = masked
		}
	}
	// The parser adds an XML declaration the payload may not have had.
	declared := bytes.HasPrefix(bytes.TrimSpace(b), []byte("<?xml"))
	var out bytes.Buffer
	for c := doc.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == xmlquery.DeclarationNode && !declared {
			continue
		}
		out.WriteString(c.OutputXMLWithOptions(xmlquery.WithOutputSelf(), xmlquery.WithPreserveSpace()))
	}
	return out.Bytes()
}

// maskJSON replaces what each of paths selects in a JSON payload. A
// payload that is not JSON, or has none of the paths, is returned as it is.
//
// Jayway's evaluator gives values, not locations, so locations are found
// this way: objects and arrays by identity (the evaluator returns the
// document's own), and scalars by tagging — each scalar is swapped for a
// unique marker while the path is evaluated, and the markers the path
// returns are the scalars it selected. A filter ([?(...)]) reads the
// scalars, so a path with one is evaluated on the untagged document and
// the scalars it selects are masked wherever their value appears in the
// payload: more than the path selects, never less.
func maskJSON(b []byte, paths []*jsonpath.Path) []byte {
	if len(paths) == 0 || len(b) == 0 {
		return b
	}
	doc, err := jsonpath.Decode(b)
	if err != nil {
		return b
	}
	ix := &jsonIndex{containers: map[any]jsonSlot{}}
	ix.walk(doc, jsonSlot{})
	hits := map[int]bool{}         // scalars by index in ix.leaves
	var boxes []jsonSlot           // objects and arrays selected
	var values = map[string]bool{} // scalar values selected by filtered paths
	for _, p := range paths {
		filtered := strings.Contains(p.String(), "?(")
		if !filtered {
			ix.tag()
		}
		vals, err := p.Values(doc)
		if !filtered {
			ix.untag()
		}
		if err != nil {
			continue
		}
		for _, v := range vals {
			if s, ok := ix.container(v); ok {
				boxes = append(boxes, s)
				continue
			}
			if i, ok := v.(string); ok && !filtered {
				if n, ok := ix.tagged(i); ok {
					hits[n] = true
				}
				continue
			}
			if filtered {
				values[jsonpath.JSON(v)] = true
			}
		}
	}
	for i, l := range ix.leaves {
		if hits[i] || len(values) > 0 && values[jsonpath.JSON(l.value)] {
			l.slot.set(masked)
		}
	}
	for _, s := range boxes {
		s.set(masked)
	}
	if len(hits) == 0 && len(values) == 0 && len(boxes) == 0 {
		return b
	}
	if doc, ok := ix.root(); ok {
		return []byte(jsonpath.JSON(doc))
	}
	return []byte(masked) // the root itself was selected
}

// jsonSlot is where a value sits: a member of an object, an element of an
// array, or (neither) the document itself.
type jsonSlot struct {
	obj *jsonpath.Object
	key string
	arr []any
	idx int
	ix  *jsonIndex
}

func (s jsonSlot) set(v any) {
	switch {
	case s.obj != nil:
		s.obj.Set(s.key, v)
	case s.arr != nil:
		s.arr[s.idx] = v
	case s.ix != nil:
		s.ix.doc, s.ix.rootMasked = v, true
	}
}

type jsonLeaf struct {
	slot  jsonSlot
	value any
}

// jsonIndex locates a decoded document's values.
type jsonIndex struct {
	doc        any
	rootMasked bool
	containers map[any]jsonSlot // *jsonpath.Object, or *any (an array's first element)
	leaves     []jsonLeaf
}

// tagPrefix starts the markers scalars are swapped for; a NUL never
// occurs in a decoded JSON string unless escaped in, and then the marker
// would also need the digits after it to collide.
const tagPrefix = "\x00debugmask:"

func (ix *jsonIndex) walk(v any, at jsonSlot) {
	if at.obj == nil && at.arr == nil {
		at.ix, ix.doc = ix, v
	}
	switch n := v.(type) {
	case *jsonpath.Object:
		ix.containers[n] = at
		for _, k := range n.Keys() {
			c, _ := n.Get(k)
			ix.walk(c, jsonSlot{obj: n, key: k})
		}
	case []any:
		if len(n) > 0 {
			ix.containers[&n[0]] = at
		}
		for i := range n {
			ix.walk(n[i], jsonSlot{arr: n, idx: i})
		}
	default:
		ix.leaves = append(ix.leaves, jsonLeaf{slot: at, value: v})
	}
}

func (ix *jsonIndex) tag() {
	for i, l := range ix.leaves {
		l.slot.set(tagPrefix + strconv.Itoa(i))
	}
	ix.rootMasked = false
}

func (ix *jsonIndex) untag() {
	for _, l := range ix.leaves {
		l.slot.set(l.value)
	}
	ix.rootMasked = false
}

func (ix *jsonIndex) tagged(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, tagPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0 && n < len(ix.leaves)
}

func (ix *jsonIndex) container(v any) (jsonSlot, bool) {
	switch n := v.(type) {
	case *jsonpath.Object:
		s, ok := ix.containers[n]
		return s, ok
	case []any:
		if len(n) > 0 {
			s, ok := ix.containers[&n[0]]
			return s, ok
		}
	}
	return jsonSlot{}, false
}

// root is the document after masking, unless the whole of it was masked.
func (ix *jsonIndex) root() (any, bool) {
	if ix.rootMasked {
		return nil, false
	}
	return ix.doc, true
}
