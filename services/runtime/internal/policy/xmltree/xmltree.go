// Package xmltree decodes a policy file into a small element tree that
// keeps document order (some policies, like AssignMessage, execute their
// children in the order written) and the raw inner XML of each element
// (payload templates may hold XML).
package xmltree

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// Element is one XML element.
type Element struct {
	Name     string
	Space    string
	Attrs    []xml.Attr
	Children []*Element
	// Text is the concatenated character data directly inside the element.
	Text string
	// Inner is the raw XML between the start and end tags.
	Inner string
	// NS maps prefixes in scope at this element to namespace URIs.
	NS map[string]string
}

// Parse decodes a document and returns its root element.
func Parse(data []byte) (*Element, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var stack []*Element
	var starts []int64
	var root *Element
	for {
		off := d.InputOffset()
		tok, err := d.RawToken()
		if err != nil {
			if root != nil && len(stack) == 0 {
				return root, nil
			}
			return nil, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			el := &Element{Name: t.Name.Local, Space: t.Name.Space, NS: map[string]string{}}
			if len(stack) > 0 {
				for k, v := range stack[len(stack)-1].NS {
					el.NS[k] = v
				}
			}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					el.NS[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					el.NS[""] = a.Value
				default:
					el.Attrs = append(el.Attrs, a)
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, el)
			} else if root == nil {
				root = el
			}
			stack = append(stack, el)
			starts = append(starts, d.InputOffset())
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("malformed XML: unexpected end element")
			}
			el := stack[len(stack)-1]
			el.Inner = string(data[starts[len(starts)-1]:off])
			el.Text = strings.TrimSpace(el.Text)
			stack, starts = stack[:len(stack)-1], starts[:len(starts)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
}

// Attr returns an attribute value ("" when absent).
func (e *Element) Attr(name string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// HasAttr reports whether the attribute is present.
func (e *Element) HasAttr(name string) bool {
	if e == nil {
		return false
	}
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return true
		}
	}
	return false
}

// Child returns the first child element with the name, or nil.
func (e *Element) Child(name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// All returns the child elements with the name.
func (e *Element) All(name string) []*Element {
	if e == nil {
		return nil
	}
	var out []*Element
	for _, c := range e.Children {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// ChildText returns a child's trimmed text ("" when absent).
func (e *Element) ChildText(name string) string {
	if c := e.Child(name); c != nil {
		return c.Text
	}
	return ""
}

// Bool parses a child's text as a boolean; absent gives def.
func (e *Element) Bool(name string, def bool) (bool, error) {
	c := e.Child(name)
	if c == nil || c.Text == "" {
		return def, nil
	}
	v, err := strconv.ParseBool(c.Text)
	if err != nil {
		return def, fmt.Errorf("<%s> must be true or false, not %q", name, c.Text)
	}
	return v, nil
}

// Int parses a child's text as an integer; absent gives def.
func (e *Element) Int(name string, def int) (int, error) {
	c := e.Child(name)
	if c == nil || c.Text == "" {
		return def, nil
	}
	v, err := strconv.Atoi(c.Text)
	if err != nil {
		return def, fmt.Errorf("<%s> must be a number, not %q", name, c.Text)
	}
	return v, nil
}

// BoolAttr parses an attribute as a boolean; absent gives def.
func (e *Element) BoolAttr(name string, def bool) (bool, error) {
	v := e.Attr(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("attribute %s must be true or false, not %q", name, v)
	}
	return b, nil
}
