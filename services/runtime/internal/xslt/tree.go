package xslt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

// Namespace URIs the processor knows.
const (
	nsXSL   = "http://www.w3.org/1999/XSL/Transform"
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
	nsEXSLT = "http://exslt.org/common"
	nsMSXSL = "urn:schemas-microsoft-com:xslt"
)

type nodeKind uint8

const (
	rootNode nodeKind = iota
	elementNode
	attributeNode
	textNode
	commentNode
	piNode
)

// node is one node of the XPath 1.0 data model. The same type holds the
// input document, the stylesheet, result tree fragments and the result
// tree, so a fragment bound to a variable can be navigated (exsl:node-set)
// and copied without conversion. Namespace declarations are kept per
// element rather than as namespace nodes; the namespace axis is not
// supported.
type node struct {
	kind   nodeKind
	space  string // namespace URI of an element or attribute
	local  string // local name; the target of a processing instruction
	prefix string // prefix as written (elements, attributes)
	value  string // text, comment, PI data, attribute value

	parent   *node
	children []*node
	attrs    []*node
	// ns are the namespace declarations written on an input element, or the
	// namespace nodes a result element must carry.
	ns []nsBinding

	// ord is the document order: unique among all trees that meet in one
	// transformation (the input is numbered from 1, fragments after it).
	ord int
	// idx is the node's index in its parent's children (or attributes).
	idx int
	// line is the source line (stylesheet diagnostics).
	line int
	// noEscape marks result text written with disable-output-escaping.
	noEscape bool
	// atomic marks a text node that stands for an atomic value of an XPath
	// 2.0 sequence (the strings tokenize returns): copied into a result,
	// adjacent ones are separated by a space, as XSLT 2.0 does with
	// atomic values, and templates are not applied to it.
	atomic bool
	// buf accumulates a result text node that grows by many appends (so
	// building a long text output is linear); value is stale until
	// flushText copies it back.
	buf *[]byte
}

// flushText materializes the text nodes of a finished result tree.
func flushText(n *node) {
	if n.buf != nil {
		n.value, n.buf = string(*n.buf), nil
	}
	for _, k := range n.children {
		flushText(k)
	}
}

type nsBinding struct{ prefix, uri string }

// stringValue is the XPath string-value of the node.
func (n *node) stringValue() string {
	switch n.kind {
	case rootNode, elementNode:
		if len(n.children) == 1 && n.children[0].kind == textNode {
			return n.children[0].value
		}
		var b strings.Builder
		n.appendText(&b)
		return b.String()
	default:
		return n.value
	}
}

func (n *node) appendText(b *strings.Builder) {
	for _, c := range n.children {
		switch c.kind {
		case textNode:
			b.WriteString(c.value)
		case elementNode:
			c.appendText(b)
		}
	}
}

// root returns the root of the node's tree.
func (n *node) root() *node {
	for n.parent != nil {
		n = n.parent
	}
	return n
}

// qname is the node's name as written (prefix:local).
func (n *node) qname() string {
	if n.prefix != "" {
		return n.prefix + ":" + n.local
	}
	return n.local
}

// inScopeNS returns the namespaces in scope at an element, nearest
// declaration first per prefix; a default namespace undeclared with
// xmlns="" is left out. The xml namespace is implicit and not listed.
func (n *node) inScopeNS() []nsBinding {
	var out []nsBinding
	seen := map[string]bool{}
	for e := n; e != nil && e.kind == elementNode; e = e.parent {
		for _, b := range e.ns {
			if seen[b.prefix] {
				continue
			}
			seen[b.prefix] = true
			if b.uri != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// lookupNS resolves a prefix at an element ("" is the default namespace).
func (n *node) lookupNS(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for e := n; e != nil && e.kind == elementNode; e = e.parent {
		for _, b := range e.ns {
			if b.prefix == prefix {
				return b.uri, b.uri != "" || prefix == ""
			}
		}
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}

func (n *node) attr(space, local string) (string, bool) {
	for _, a := range n.attrs {
		if a.local == local && a.space == space {
			return a.value, true
		}
	}
	return "", false
}

// number assigns document order to a tree from start on; it returns the
// next free number.
func number(n *node, start int) int {
	if n.buf != nil {
		n.value, n.buf = string(*n.buf), nil
	}
	n.ord = start
	start++
	for i, a := range n.attrs {
		a.idx = i
		a.ord = start
		start++
	}
	for i, c := range n.children {
		c.idx = i
		start = number(c, start)
	}
	return start
}

// parseOptions controls parseXML.
type parseOptions struct {
	// lines records line numbers (stylesheets).
	lines bool
	// maxDepth bounds element nesting; 0 means 1000.
	maxDepth int
}

// ErrMalformed wraps every XML syntax error of an input document.
var ErrMalformed = errors.New("malformed XML")

// parseXML parses a document into the data model. Adjacent character data
// (text and CDATA sections) becomes one text node; the DOCTYPE is skipped
// and only the predefined entities are known, so no external entity is ever
// resolved.
func parseXML(data []byte, o parseOptions) (*node, error) {
	if o.maxDepth == 0 {
		o.maxDepth = 1000
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charset.NewReaderLabel
	root := &node{kind: rootNode}
	cur := root
	depth := 0
	sawElement := false
	for {
		line := 0
		if o.lines {
			line, _ = d.InputPos()
		}
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == root && sawElement {
				return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
			}
			sawElement = true
			depth++
			if depth > o.maxDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", ErrMalformed, o.maxDepth)
			}
			el := &node{kind: elementNode, parent: cur, local: t.Name.Local, prefix: t.Name.Space, line: line}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					if a.Value == "" {
						return nil, fmt.Errorf("%w: line %d: prefix %s undeclared with an empty namespace (XML 1.0 does not allow it)", ErrMalformed, line, a.Name.Local)
					}
					el.ns = append(el.ns, nsBinding{a.Name.Local, a.Value})
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					el.ns = append(el.ns, nsBinding{"", a.Value})
				}
			}
			uri, ok := el.lookupNS(el.prefix)
			if !ok {
				return nil, fmt.Errorf("%w: element <%s>: namespace prefix %q is not declared", ErrMalformed, el.qname(), el.prefix)
			}
			el.space = uri
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				at := &node{kind: attributeNode, parent: el, local: a.Name.Local, prefix: a.Name.Space, value: a.Value}
				if at.prefix != "" {
					u, ok := el.lookupNS(at.prefix)
					if !ok {
						return nil, fmt.Errorf("%w: attribute %s on <%s>: namespace prefix %q is not declared", ErrMalformed, at.qname(), el.qname(), at.prefix)
					}
					at.space = u
				}
				for _, prev := range el.attrs {
					if prev.local == at.local && prev.space == at.space {
						return nil, fmt.Errorf("%w: attribute %s repeated on <%s>", ErrMalformed, at.qname(), el.qname())
					}
				}
				el.attrs = append(el.attrs, at)
			}
			cur.children = append(cur.children, el)
			cur = el
		case xml.EndElement:
			if cur == root || t.Name.Local != cur.local || t.Name.Space != cur.prefix {
				return nil, fmt.Errorf("%w: unexpected end tag </%s>", ErrMalformed, rawName(t.Name))
			}
			cur = cur.parent
			depth--
		case xml.CharData:
			if cur == root {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fmt.Errorf("%w: text outside the root element", ErrMalformed)
				}
				continue
			}
			if k := len(cur.children); k > 0 && cur.children[k-1].kind == textNode {
				cur.children[k-1].value += string(t)
				continue
			}
			cur.children = append(cur.children, &node{kind: textNode, parent: cur, value: string(t), line: line})
		case xml.Comment:
			cur.children = append(cur.children, &node{kind: commentNode, parent: cur, value: string(t)})
		case xml.ProcInst:
			if t.Target == "xml" {
				continue
			}
			cur.children = append(cur.children, &node{kind: piNode, parent: cur, local: t.Target, value: strings.TrimLeft(string(t.Inst), " \t\r\n")})
		case xml.Directive:
			// DOCTYPE: internal subsets are ignored (no entity expansion).
		}
	}
	if cur != root {
		return nil, fmt.Errorf("%w: unexpected end of document inside <%s>", ErrMalformed, cur.qname())
	}
	if !sawElement {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return root, nil
}

func rawName(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// isXMLSpace reports whether s is only XML whitespace.
func isXMLSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// stripSpace removes whitespace-only text nodes whose parent element the
// strip function selects, honouring xml:space="preserve".
func stripSpace(n *node, strip func(*node) bool, preserve bool) {
	if n.kind == elementNode {
		if v, ok := n.attr(nsXML, "space"); ok {
			switch v {
			case "preserve":
				preserve = true
			case "default":
				preserve = false
			}
		}
	}
	kids := n.children[:0]
	doStrip := !preserve && n.kind == elementNode && strip(n)
	for _, c := range n.children {
		if c.kind == textNode && doStrip && isXMLSpace(c.value) {
			continue
		}
		if c.kind == elementNode {
			stripSpace(c, strip, preserve)
		}
		kids = append(kids, c)
	}
	for i := len(kids); i < len(n.children); i++ {
		n.children[i] = nil
	}
	n.children = kids
}
