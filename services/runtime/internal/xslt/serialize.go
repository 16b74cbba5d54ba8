package xslt

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// outputSpec is the merged xsl:output declarations.
type outputSpec struct {
	method                       string // "" = choose from the result (html or xml)
	version                      string
	encoding                     string // canonical: UTF-8, ISO-8859-1, US-ASCII
	omitDecl                     bool
	standalone                   string
	doctypePublic, doctypeSystem string
	cdata                        map[qname]bool
	indent                       *bool
	mediaType                    string
}

// encodings maps accepted encoding labels to the canonical name and the
// highest code point it can hold.
var encodings = map[string]struct {
	name string
	max  rune
}{
	"UTF-8": {"UTF-8", utf8.MaxRune}, "UTF8": {"UTF-8", utf8.MaxRune},
	"ISO-8859-1": {"ISO-8859-1", 0xFF}, "LATIN1": {"ISO-8859-1", 0xFF}, "ISO_8859-1": {"ISO-8859-1", 0xFF},
	"US-ASCII": {"US-ASCII", 0x7F}, "ASCII": {"US-ASCII", 0x7F},
}

func (o *outputSpec) merge(el *node) error {
	for _, a := range el.attrs {
		if a.space != "" {
			continue
		}
		v := strings.TrimSpace(a.value)
		switch a.local {
		case "method":
			switch v {
			case "xml", "html", "text":
				o.method = v
			default:
				return errAt(el, "output method %q is not supported (xml, html or text)", v)
			}
		case "version":
			o.version = v
		case "encoding":
			enc, ok := encodings[strings.ToUpper(v)]
			if !ok {
				return errAt(el, "output encoding %q is not supported (UTF-8, ISO-8859-1 or US-ASCII)", v)
			}
			o.encoding = enc.name
		case "omit-xml-declaration", "indent", "standalone":
			if v != "yes" && v != "no" {
				return errAt(el, "%s must be yes or no, not %q", a.local, v)
			}
			switch a.local {
			case "omit-xml-declaration":
				o.omitDecl = v == "yes"
			case "indent":
				b := v == "yes"
				o.indent = &b
			default:
				o.standalone = v
			}
		case "doctype-public":
			o.doctypePublic = v
		case "doctype-system":
			o.doctypeSystem = v
		case "media-type":
			o.mediaType = v
		case "cdata-section-elements":
			for _, n := range strings.Fields(v) {
				// QNames here take the default namespace (XSLT 1.0 16.1).
				en, err := expandName(el, n, true)
				if err != nil {
					return errAt(el, "cdata-section-elements: %v", err)
				}
				if o.cdata == nil {
					o.cdata = map[qname]bool{}
				}
				o.cdata[qname{en.space, en.local}] = true
			}
		}
	}
	return nil
}

func (o *outputSpec) encodingName() string {
	if o.encoding == "" {
		return "UTF-8"
	}
	return o.encoding
}

func (o *outputSpec) mediaTypeFor(method string) string {
	if o.mediaType != "" {
		return o.mediaType
	}
	switch method {
	case "html":
		return "text/html"
	case "text":
		return "text/plain"
	}
	return "text/xml"
}

// serialize writes the result tree with the output method.
func serialize(root *node, o *outputSpec) ([]byte, string, error) {
	method := o.method
	if method == "" {
		method = "xml"
		for _, k := range root.children {
			if k.kind == textNode && !isXMLSpace(k.value) {
				break
			}
			if k.kind == elementNode {
				if k.space == "" && strings.EqualFold(k.local, "html") {
					method = "html"
				}
				break
			}
		}
	}
	w := &writer{o: o, html: method == "html", max: encodings[o.encodingName()].max}
	w.indent = method == "html"
	if o.indent != nil {
		w.indent = *o.indent
	}
	switch method {
	case "text":
		var b strings.Builder
		var walk func(n *node)
		walk = func(n *node) {
			for _, k := range n.children {
				switch k.kind {
				case textNode:
					b.WriteString(k.value)
				case elementNode:
					walk(k)
				}
			}
		}
		walk(root)
		return w.encode(b.String(), true), method, nil
	case "xml":
		if !o.omitDecl {
			w.b.WriteString(`<?xml version="1.0" encoding="` + o.encodingName() + `"`)
			if o.standalone != "" {
				w.b.WriteString(` standalone="` + o.standalone + `"`)
			}
			w.b.WriteString("?>")
			if w.indent {
				w.b.WriteByte('\n')
			}
		}
	}
	w.doctype = o.doctypeSystem != "" || w.html && o.doctypePublic != ""
	w.children(root, nil, 0, w.indent && !hasText(root))
	return w.encode(w.b.String(), false), method, nil
}

type writer struct {
	b       strings.Builder
	doctype bool // a DOCTYPE is still to be written before the first element
	o       *outputSpec
	html    bool
	indent  bool
	max     rune
	wrote   bool // something was written at the top level
}

// nsScope is a persistent list of the namespace bindings in scope.
type nsScope struct {
	prefix, uri string
	parent      *nsScope
}

func (s *nsScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for ; s != nil; s = s.parent {
		if s.prefix == prefix {
			return s.uri, true
		}
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}

// indentUnit is Saxon's default indentation (Apigee runs Saxon).
const indentUnit = "   "

func hasText(n *node) bool {
	for _, k := range n.children {
		if k.kind == textNode {
			return true
		}
	}
	return false
}

var htmlInline = map[string]bool{
	"a": true, "abbr": true, "acronym": true, "b": true, "basefont": true, "bdo": true, "big": true, "br": true,
	"cite": true, "code": true, "dfn": true, "em": true, "font": true, "i": true, "img": true, "input": true,
	"kbd": true, "label": true, "q": true, "s": true, "samp": true, "select": true, "small": true, "span": true,
	"strike": true, "strong": true, "sub": true, "sup": true, "textarea": true, "tt": true, "u": true, "var": true,
}

var htmlVoid = map[string]bool{
	"area": true, "base": true, "basefont": true, "br": true, "col": true, "frame": true, "hr": true, "img": true,
	"input": true, "isindex": true, "link": true, "meta": true, "param": true,
}

var htmlBoolean = map[string]bool{
	"checked": true, "compact": true, "declare": true, "defer": true, "disabled": true, "ismap": true, "multiple": true,
	"nohref": true, "noresize": true, "noshade": true, "nowrap": true, "readonly": true, "selected": true,
}

// indentable reports whether the children of n may be put on their own
// lines without changing its content: no text, and (html) not inside an
// inline or preformatted element.
func (w *writer) indentable(n *node) bool {
	if !w.indent || hasText(n) {
		return false
	}
	if w.html && n.kind == elementNode && n.space == "" {
		switch l := strings.ToLower(n.local); l {
		case "pre", "script", "style", "textarea":
			return false
		default:
			return !htmlInline[l]
		}
	}
	return true
}

// breakBefore reports whether an indented child starts on a new line: in
// html an inline element stays on the line of what precedes it.
func (w *writer) breakBefore(k *node) bool {
	if k.kind == textNode {
		return false
	}
	return !w.html || k.kind != elementNode || k.space != "" || !htmlInline[strings.ToLower(k.local)]
}

func (w *writer) newline(depth int) {
	w.b.WriteByte('\n')
	for range depth {
		w.b.WriteString(indentUnit)
	}
}

func (w *writer) children(n *node, scope *nsScope, depth int, indent bool) {
	raw := w.html && n.kind == elementNode && n.space == "" && (strings.EqualFold(n.local, "script") || strings.EqualFold(n.local, "style"))
	cdata := !w.html && n.kind == elementNode && w.o.cdata[qname{n.space, n.local}]
	broke := false
	for _, k := range n.children {
		broke = indent && w.breakBefore(k)
		if broke && (n.kind != rootNode || w.wrote) {
			w.newline(depth)
		}
		switch k.kind {
		case elementNode:
			if w.doctype {
				w.writeDoctype(k, depth)
			}
			w.element(k, scope, depth)
		case textNode:
			switch {
			case k.noEscape || raw:
				w.b.WriteString(w.charRefs(k.value))
			case cdata:
				w.cdata(k.value)
			default:
				w.escape(k.value, false)
			}
		case commentNode:
			w.b.WriteString("<!--" + w.charRefs(k.value) + "-->")
		case piNode:
			w.b.WriteString("<?" + k.local)
			if k.value != "" {
				w.b.WriteString(" " + w.charRefs(k.value))
			}
			if w.html {
				w.b.WriteString(">")
			} else {
				w.b.WriteString("?>")
			}
		}
		if n.kind == rootNode {
			w.wrote = true
		}
	}
	if broke && n.kind != rootNode {
		w.newline(depth - 1)
	}
}

func (w *writer) element(n *node, scope *nsScope, depth int) {
	var decls []nsBinding
	local := map[string]string{}
	declare := func(prefix, uri string) {
		decls = append(decls, nsBinding{prefix, uri})
		local[prefix] = uri
		scope = &nsScope{prefix: prefix, uri: uri, parent: scope}
	}
	// A prefix unused in scope and on this element.
	fresh := func() string {
		for i := 0; ; i++ {
			p := "ns" + strconv.Itoa(i)
			if _, ok := local[p]; ok {
				continue
			}
			if _, ok := scope.lookup(p); !ok {
				return p
			}
		}
	}
	prefix := n.prefix
	if n.space == "" {
		prefix = ""
		if uri, _ := scope.lookup(""); uri != "" {
			declare("", "")
		}
	} else if uri, ok := scope.lookup(prefix); !ok || uri != n.space {
		if _, taken := local[prefix]; taken {
			prefix = fresh()
		}
		declare(prefix, n.space)
	}
	for _, b := range n.ns {
		if b.uri == "" || b.prefix == "xml" {
			continue
		}
		if _, taken := local[b.prefix]; taken {
			continue
		}
		if uri, ok := scope.lookup(b.prefix); ok && uri == b.uri {
			continue
		}
		if b.prefix == "" && n.space == "" {
			continue // the element itself is in no namespace
		}
		declare(b.prefix, b.uri)
	}
	attrPrefixes := make([]string, len(n.attrs))
	for i, a := range n.attrs {
		if a.space == "" || a.space == nsXML {
			if a.space == nsXML {
				attrPrefixes[i] = "xml"
			}
			continue
		}
		p := a.prefix
		if uri, ok := scope.lookup(p); p != "" && ok && uri == a.space {
			attrPrefixes[i] = p
			continue
		}
		if _, taken := local[p]; p == "" || taken {
			p = ""
			for s := scope; s != nil; s = s.parent {
				if s.uri == a.space && s.prefix != "" {
					if u, _ := scope.lookup(s.prefix); u == a.space {
						p = s.prefix
						break
					}
				}
			}
			if p == "" {
				p = fresh()
				declare(p, a.space)
			}
		} else {
			declare(p, a.space)
		}
		attrPrefixes[i] = p
	}
	name := joinQName(prefix, n.local)
	w.b.WriteString("<" + name)
	for _, d := range decls {
		if d.prefix == "" {
			w.b.WriteString(` xmlns="`)
		} else {
			w.b.WriteString(" xmlns:" + d.prefix + `="`)
		}
		w.escape(d.uri, true)
		w.b.WriteByte('"')
	}
	htmlEl := w.html && n.space == ""
	for i, a := range n.attrs {
		an := joinQName(attrPrefixes[i], a.local)
		if htmlEl && htmlBoolean[strings.ToLower(an)] && strings.EqualFold(a.value, an) {
			w.b.WriteString(" " + an)
			continue
		}
		w.b.WriteString(" " + an + `="`)
		if htmlEl {
			w.escapeHTMLAttr(a.value)
		} else {
			w.escape(a.value, true)
		}
		w.b.WriteByte('"')
	}
	lname := strings.ToLower(n.local)
	if htmlEl {
		w.b.WriteByte('>')
		if lname == "head" {
			if w.indent {
				w.newline(depth + 1)
			}
			w.b.WriteString(`<meta http-equiv="Content-Type" content="` + w.o.mediaTypeFor("html") + `; charset=` + w.o.encodingName() + `">`)
		}
		if htmlVoid[lname] && len(n.children) == 0 {
			return
		}
		w.children(n, scope, depth+1, w.indentable(n))
		if lname == "head" && w.indent && len(n.children) == 0 {
			w.newline(depth)
		}
		w.b.WriteString("</" + name + ">")
		return
	}
	if len(n.children) == 0 {
		w.b.WriteString("/>")
		return
	}
	w.b.WriteByte('>')
	w.children(n, scope, depth+1, w.indentable(n))
	w.b.WriteString("</" + name + ">")
}

// writeDoctype writes the document type declaration just before the
// first element, whose name it declares.
func (w *writer) writeDoctype(el *node, depth int) {
	w.doctype = false
	name := el.qname()
	if w.html {
		name = "html"
	}
	w.b.WriteString("<!DOCTYPE " + name)
	if w.o.doctypePublic != "" {
		w.b.WriteString(` PUBLIC "` + w.o.doctypePublic + `"`)
		if w.o.doctypeSystem != "" {
			w.b.WriteString(` "` + w.o.doctypeSystem + `"`)
		}
	} else {
		w.b.WriteString(` SYSTEM "` + w.o.doctypeSystem + `"`)
	}
	w.b.WriteString(">")
	w.newline(depth)
}

// cdata writes text as CDATA sections: "]]>" and characters the encoding
// cannot hold (written as character references) end a section.
func (w *writer) cdata(s string) {
	w.b.WriteString("<![CDATA[")
	for i, r := range s {
		switch {
		case r == '>' && strings.HasSuffix(s[:i], "]]"):
			w.b.WriteString("]]><![CDATA[>")
		case r > w.max:
			fmt.Fprintf(&w.b, "]]>&#%d;<![CDATA[", r)
		default:
			w.b.WriteRune(r)
		}
	}
	w.b.WriteString("]]>")
}

// escape writes text or an attribute value with XML escaping and
// character references for characters the encoding cannot hold.
func (w *writer) escape(s string, attr bool) {
	for _, r := range s {
		switch {
		case r == '&':
			w.b.WriteString("&amp;")
		case r == '<':
			w.b.WriteString("&lt;")
		case r == '>':
			w.b.WriteString("&gt;")
		case r == '"' && attr:
			w.b.WriteString("&quot;")
		case r == '\n' && attr:
			w.b.WriteString("&#xA;")
		case r == '\t' && attr:
			w.b.WriteString("&#x9;")
		case r == '\r':
			w.b.WriteString("&#xD;")
		case r == 0xA0 && w.html:
			w.b.WriteString("&nbsp;")
		case r > w.max:
			fmt.Fprintf(&w.b, "&#%d;", r)
		default:
			w.b.WriteRune(r)
		}
	}
}

// escapeHTMLAttr escapes an HTML attribute value: '<' stays, and '&' stays
// before '{' (XSLT 1.0 section 16.2).
func (w *writer) escapeHTMLAttr(s string) {
	for i, r := range s {
		switch {
		case r == '&' && strings.HasPrefix(s[i+1:], "{"):
			w.b.WriteByte('&')
		case r == '&':
			w.b.WriteString("&amp;")
		case r == '"':
			w.b.WriteString("&quot;")
		case r == 0xA0:
			w.b.WriteString("&nbsp;")
		case r > w.max:
			fmt.Fprintf(&w.b, "&#%d;", r)
		default:
			w.b.WriteRune(r)
		}
	}
}

// charRefs replaces characters the encoding cannot hold (unescaped text).
func (w *writer) charRefs(s string) string {
	if w.max == utf8.MaxRune {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r > w.max {
			fmt.Fprintf(&b, "&#%d;", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// encode converts the UTF-8 output into the output encoding; text output
// replaces what the encoding cannot hold with '?'.
func (w *writer) encode(s string, text bool) []byte {
	if w.max == utf8.MaxRune {
		return []byte(s)
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > w.max {
			if text {
				out = append(out, '?')
				continue
			}
			out = append(out, fmt.Sprintf("&#%d;", r)...)
			continue
		}
		out = append(out, byte(r))
	}
	return out
}
