package xslt

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// outputSpec is the merged xsl:output declarations.
type outputSpec struct {
	method   string // "" = choose from the result (html or xml)
	version  string
	encoding string // canonical: UTF-8, ISO-8859-1, US-ASCII
	// encodingLabel is the encoding as xsl:output spells it (utf-8): the
	// XML declaration repeats it, as Saxon does.
	encodingLabel                string
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
			o.encoding, o.encodingLabel = enc.name, v
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

// declaredEncoding is the encoding as the output declares it (the XML
// declaration, html's meta element): xsl:output's spelling.
func (o *outputSpec) declaredEncoding() string {
	if o.encodingLabel != "" {
		return o.encodingLabel
	}
	return o.encodingName()
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
			w.b.WriteString(`<?xml version="1.0" encoding="` + o.declaredEncoding() + `"`)
			if o.standalone != "" {
				w.b.WriteString(` standalone="` + o.standalone + `"`)
			}
			w.b.WriteString("?>")
			w.decl = true
		}
	}
	w.doctype = o.doctypeSystem != "" || w.html && o.doctypePublic != ""
	w.children(root, nil, 0)
	if method == "xml" && w.indent && w.b.Len() > 0 {
		// Saxon ends an indented XML document with a newline.
		w.b.WriteByte('\n')
	}
	return w.encode(w.b.String(), false), method, nil
}

type writer struct {
	b        strings.Builder
	o        *outputSpec
	html     bool
	indent   bool
	max      rune
	decl     bool // the XML declaration was written
	doctype  bool // a DOCTYPE is still to be written before the document element
	rootSeen bool // the document element was started

	// Indentation state (see indenting).
	last     event  // the last start tag, end tag or text written
	pending  func() // writes the whitespace-only text held back (xml)
	suppress int    // > 0 inside elements whose content is never indented
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

// htmlInline lists the elements Saxon's html indenter keeps on the line
// of what precedes them: HTML5 phrasing content and the HTML 4 inline
// elements.
var htmlInline = map[string]bool{
	"a": true, "abbr": true, "acronym": true, "applet": true, "area": true, "audio": true, "b": true, "basefont": true,
	"bdi": true, "bdo": true, "big": true, "br": true, "button": true, "canvas": true, "cite": true, "code": true,
	"data": true, "datalist": true, "del": true, "dfn": true, "em": true, "embed": true, "font": true, "i": true,
	"iframe": true, "img": true, "input": true, "ins": true, "kbd": true, "label": true, "map": true, "mark": true,
	"math": true, "meter": true, "noscript": true, "object": true, "output": true, "picture": true, "progress": true,
	"q": true, "ruby": true, "s": true, "samp": true, "script": true, "select": true, "small": true, "span": true,
	"strike": true, "strong": true, "sub": true, "sup": true, "svg": true, "template": true, "textarea": true,
	"time": true, "tt": true, "u": true, "var": true, "video": true, "wbr": true,
}

// htmlFormatted lists the html elements inside which nothing is indented.
var htmlFormatted = map[string]bool{"pre": true, "script": true, "style": true, "textarea": true, "title": true, "xmp": true}

var htmlVoid = map[string]bool{
	"area": true, "base": true, "basefont": true, "br": true, "col": true, "frame": true, "hr": true, "img": true,
	"input": true, "isindex": true, "link": true, "meta": true, "param": true,
}

var htmlBoolean = map[string]bool{
	"checked": true, "compact": true, "declare": true, "defer": true, "disabled": true, "ismap": true, "multiple": true,
	"nohref": true, "noresize": true, "noshade": true, "nowrap": true, "readonly": true, "selected": true,
}

// event is what the indenter last saw.
type event int

const (
	evNone      event = iota
	evStart           // a start tag
	evEnd             // an end tag (html: of a block element)
	evInlineEnd       // html: the end tag of an inline element
	evText            // text
)

// Indentation follows Saxon's indenters event by event (their output is
// what Apigee returns). The xml method puts a start tag on a new line
// after a start or an end tag, an end tag after an end tag, and a comment
// or processing instruction after an end tag, which leave the state as it
// was; text that is not only whitespace stops that, so mixed content
// stays on its line until an end tag follows an end tag. Whitespace-only
// text is held back and dropped where a line break takes its place. The
// html method never breaks before an inline element; it breaks before a
// block start tag after a start tag, a block end tag or text, before a
// block end tag after a block end tag, and before a comment or processing
// instruction after any end tag; it writes all text as it is (Saxon also
// re-indents the lines of a text with newlines and breaks long lines of
// text at spaces; this package does not). Nothing is indented inside an
// element with xml:space="preserve" (html: inside pre, script, style,
// textarea, title and xmp).

// indenting reports whether line breaks may be added here.
func (w *writer) indenting() bool { return w.indent && w.suppress == 0 }

// breakBeforeStart reports whether a start tag goes on a new line.
func (w *writer) breakBeforeStart(inline bool) bool {
	if !w.indenting() || inline {
		return false
	}
	return w.last == evStart || w.last == evEnd || w.html && w.last == evText
}

// breakBeforeOther reports whether a comment or processing instruction
// goes on a new line.
func (w *writer) breakBeforeOther() bool {
	return w.indenting() && (w.last == evEnd || w.last == evInlineEnd)
}

func (w *writer) newline(depth int) {
	w.pending = nil
	w.b.WriteByte('\n')
	for range depth {
		w.b.WriteString(indentUnit)
	}
}

// flush writes the whitespace-only text held back, if any.
func (w *writer) flush() {
	if p := w.pending; p != nil {
		w.pending = nil
		p()
	}
}

// prologue starts a comment or processing instruction before the document
// element: each on its own line when indenting after an XML declaration or
// before a DOCTYPE, as Saxon writes them.
func (w *writer) prologue() {
	w.pending = nil
	if w.indent && !w.html && (w.decl || w.doctype) {
		w.b.WriteByte('\n')
	}
}

func (w *writer) children(n *node, scope *nsScope, depth int) {
	raw := w.html && n.kind == elementNode && n.space == "" && (strings.EqualFold(n.local, "script") || strings.EqualFold(n.local, "style"))
	cdata := !w.html && n.kind == elementNode && w.o.cdata[qname{n.space, n.local}]
	top := n.kind == rootNode
	for _, k := range n.children {
		switch k.kind {
		case elementNode:
			w.element(k, scope, depth, top)
		case textNode:
			write := func() {
				switch {
				case k.noEscape || raw:
					w.b.WriteString(w.charRefs(k.value))
				case cdata:
					w.cdata(k.value)
				default:
					w.escape(k.value, false)
				}
			}
			if w.indenting() && !w.html && isXMLSpace(k.value) {
				if prev := w.pending; prev != nil {
					w.pending = func() { prev(); write() }
				} else {
					w.pending = write
				}
				continue
			}
			w.flush()
			write()
			w.last = evText
		case commentNode, piNode:
			switch {
			case top && !w.rootSeen:
				w.prologue()
			case w.breakBeforeOther():
				w.newline(depth)
			default:
				w.flush()
			}
			if k.kind == commentNode {
				w.b.WriteString("<!--" + w.charRefs(k.value) + "-->")
			} else {
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
			if w.html {
				// What Saxon's html indenter does after a comment: a block
				// end before it counts as text, an inline end as nothing.
				switch w.last {
				case evEnd:
					w.last = evText
				case evInlineEnd:
					w.last = evNone
				}
			}
		}
	}
}

func (w *writer) element(n *node, scope *nsScope, depth int, top bool) {
	lname := strings.ToLower(n.local)
	htmlEl := w.html && n.space == ""
	inline := htmlEl && htmlInline[lname]
	switch {
	case top && !w.rootSeen:
		w.rootSeen = true
		w.pending = nil
		if w.doctype {
			w.writeDoctype(n)
		} else if w.indent && w.decl {
			w.b.WriteByte('\n')
		}
	case w.breakBeforeStart(inline):
		w.newline(depth)
	default:
		w.flush()
	}
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
	suppress := htmlEl && htmlFormatted[lname]
	for _, a := range n.attrs {
		if a.space == nsXML && a.local == "space" && a.value == "preserve" {
			suppress = true
		}
	}
	if suppress {
		w.suppress++
		defer func() { w.suppress-- }()
	}
	if htmlEl {
		w.b.WriteByte('>')
		w.last = evStart
		if lname == "head" {
			// The meta element is written as if it were the first child.
			if w.indenting() {
				w.newline(depth + 1)
			}
			w.b.WriteString(`<meta http-equiv="Content-Type" content="` + w.o.mediaTypeFor("html") + `; charset=` + w.o.declaredEncoding() + `">`)
			w.last = evEnd
		}
		if htmlVoid[lname] && len(n.children) == 0 {
			w.last = evEnd
			if inline {
				w.last = evInlineEnd
			}
			return
		}
		w.children(n, scope, depth+1)
		w.endTag(name, depth, inline, suppress)
		return
	}
	if len(n.children) == 0 {
		w.b.WriteString("/>")
		w.last = evEnd
		return
	}
	w.b.WriteByte('>')
	w.last = evStart
	w.children(n, scope, depth+1)
	w.endTag(name, depth, false, suppress)
}

func (w *writer) endTag(name string, depth int, inline, suppress bool) {
	if w.indenting() && w.last == evEnd && !inline && !suppress {
		w.newline(depth)
	} else {
		w.flush()
	}
	w.b.WriteString("</" + name + ">")
	w.last = evEnd
	if inline {
		w.last = evInlineEnd
	}
}

// writeDoctype writes the document type declaration just before the
// document element, whose name it declares, laid out as Saxon does: the
// public and system identifiers on a second line, and (xml) a line of its
// own even at the start of the output.
func (w *writer) writeDoctype(el *node) {
	w.doctype = false
	name := el.qname()
	if w.html {
		name = "html"
	} else {
		w.b.WriteByte('\n')
	}
	w.b.WriteString("<!DOCTYPE " + name + "\n  ")
	if w.o.doctypePublic != "" {
		w.b.WriteString(`PUBLIC "` + w.o.doctypePublic + `"`)
		if w.o.doctypeSystem != "" {
			w.b.WriteString(` "` + w.o.doctypeSystem + `"`)
		}
	} else {
		w.b.WriteString(`SYSTEM "` + w.o.doctypeSystem + `"`)
	}
	w.b.WriteString(">\n")
}

// cdata writes text as CDATA sections: "]]>" ends a section, and a
// character the encoding cannot hold is written as a character reference
// between sections (no empty section is written, as in Saxon).
func (w *writer) cdata(s string) {
	open := false
	for i, r := range s {
		if r > w.max {
			if open {
				w.b.WriteString("]]>")
				open = false
			}
			fmt.Fprintf(&w.b, "&#x%x;", r)
			continue
		}
		if !open {
			w.b.WriteString("<![CDATA[")
			open = true
		}
		if r == '>' && strings.HasSuffix(s[:i], "]]") {
			w.b.WriteString("]]><![CDATA[>")
			continue
		}
		w.b.WriteRune(r)
	}
	if open {
		w.b.WriteString("]]>")
	}
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
			w.b.WriteString("&#34;")
		case r == '\n' && attr:
			w.b.WriteString("&#xA;")
		case r == '\t' && attr:
			w.b.WriteString("&#x9;")
		case r == '\r':
			w.b.WriteString("&#xD;")
		case r == 0xA0 && w.html:
			w.b.WriteString("&nbsp;")
		case r > w.max:
			fmt.Fprintf(&w.b, "&#x%x;", r)
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
			w.b.WriteString("&#34;")
		case r == 0xA0:
			w.b.WriteString("&nbsp;")
		case r > w.max:
			fmt.Fprintf(&w.b, "&#x%x;", r)
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
			fmt.Fprintf(&b, "&#x%x;", r)
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
			out = append(out, fmt.Sprintf("&#x%x;", r)...)
			continue
		}
		out = append(out, byte(r))
	}
	return out
}
