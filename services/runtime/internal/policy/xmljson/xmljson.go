// Package xmljson implements the XMLToJSON and JSONToXML policies with the
// common <Options> (RecognizeNumber/Boolean/Null, NullValue, TextNodeName,
// AttributePrefix, AttributeBlockName, StripLevels, TreatAsArray,
// ObjectRootElementName, ArrayRootElementName, ArrayItemElementName).
//
// As in Apigee, a policy whose source message does not carry the expected
// content type (XML for XMLToJSON, JSON for JSONToXML) does nothing.
package xmljson

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

type options struct {
	recognizeNumber, recognizeBoolean, recognizeNull bool
	nullValue                                        string
	textNodeName, attrPrefix, attrBlock              string
	textAlwaysAsProperty                             bool
	stripLevels                                      int
	treatAsArray                                     map[string]bool
	objectRoot, arrayRoot, arrayItem                 string
}

type policy struct {
	name, typ string
	source    string
	output    string
	opts      options
	toJSON    bool
	errPrefix string
}

// CompileXMLToJSON compiles an <XMLToJSON> policy.
func CompileXMLToJSON(cc *flow.CompileContext) (flow.Policy, error) { return compile(cc, true) }

// CompileJSONToXML compiles a <JSONToXML> policy.
func CompileJSONToXML(cc *flow.CompileContext) (flow.Policy, error) { return compile(cc, false) }

func compile(cc *flow.CompileContext, toJSON bool) (flow.Policy, error) {
	typ := cc.Policy.Type
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid(typ, "%v", err)
	}
	p := &policy{name: cc.Policy.Name, typ: typ, toJSON: toJSON, source: root.ChildText("Source"), output: root.ChildText("OutputVariable")}
	if p.source == "" {
		p.source = "message"
	}
	if p.output == "" {
		p.output = p.source
	}
	p.errPrefix = "steps.xml2json."
	if !toJSON {
		p.errPrefix = "steps.json2xml."
	}
	o := root.Child("Options")
	p.opts = options{textNodeName: "TEXT", objectRoot: "Root", arrayRoot: "Array", arrayItem: "Item", treatAsArray: map[string]bool{}}
	if f := root.ChildText("Format"); f != "" && toJSON {
		switch f {
		case "yahoo", "google", "badgerFish":
		default:
			return nil, flow.Invalid(typ+"/Format", "unknown format %q (yahoo, google or badgerFish)", f)
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"RecognizeNumber", &p.opts.recognizeNumber}, {"RecognizeBoolean", &p.opts.recognizeBoolean}, {"RecognizeNull", &p.opts.recognizeNull}, {"TextAlwaysAsProperty", &p.opts.textAlwaysAsProperty}} {
		if *b.dst, err = o.Bool(b.name, false); err != nil {
			return nil, flow.Invalid(typ+"/Options/"+b.name, "%v", err)
		}
	}
	if o != nil {
		if v := o.ChildText("NullValue"); v != "" {
			p.opts.nullValue = v
		}
		for _, s := range []struct {
			name string
			dst  *string
		}{{"TextNodeName", &p.opts.textNodeName}, {"AttributePrefix", &p.opts.attrPrefix}, {"AttributeBlockName", &p.opts.attrBlock},
			{"ObjectRootElementName", &p.opts.objectRoot}, {"ArrayRootElementName", &p.opts.arrayRoot}, {"ArrayItemElementName", &p.opts.arrayItem}} {
			if v := o.ChildText(s.name); v != "" {
				*s.dst = v
			}
		}
		if p.opts.stripLevels, err = o.Int("StripLevels", 0); err != nil {
			return nil, flow.Invalid(typ+"/Options/StripLevels", "%v", err)
		}
		for _, path := range o.Child("TreatAsArray").All("Path") {
			p.opts.treatAsArray[strings.Trim(path.Text, "/")] = true
		}
	}
	return p, nil
}

func (p *policy) fail(reason string) error {
	return flow.Errorf(http.StatusInternalServerError, p.errPrefix+"ExecutionFailed", "%s[%s]: Execution failed due to reason: %s", p.typ, p.name, reason)
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	var src []byte
	var srcMsg *message.Message
	if m := mc.Message(p.source); m != nil {
		srcMsg = m
		ct, _, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if p.toJSON && !strings.Contains(ct, "xml") || !p.toJSON && !strings.Contains(ct, "json") {
			return nil
		}
		b, err := m.Content()
		if err != nil {
			return p.fail(err.Error())
		}
		src = b
	} else if s, ok := mc.GetString(p.source); ok {
		src = []byte(s)
	} else {
		return flow.Errorf(http.StatusInternalServerError, p.errPrefix+"SourceUnavailable", "%s[%s]: Source %s is not available", p.typ, p.name, p.source)
	}
	var out []byte
	var ct string
	if p.toJSON {
		root, err := xmltree.Parse(src)
		if err != nil {
			return p.fail(err.Error())
		}
		var b bytes.Buffer
		p.writeJSONDoc(&b, root)
		out, ct = b.Bytes(), "application/json"
	} else {
		d := json.NewDecoder(bytes.NewReader(src))
		d.UseNumber()
		v, err := decodeOrdered(d)
		if err == nil {
			if _, extra := d.Token(); extra != io.EOF {
				err = errors.New("unexpected data after the top-level value")
			}
		}
		if err != nil {
			return p.fail("invalid JSON: " + err.Error())
		}
		out, ct = p.toXML(v), "application/xml"
	}
	if m := mc.Message(p.output); m != nil || p.output == "response" || p.output == "request" {
		if m == nil {
			m = mc.EnsureResponse()
		}
		m.SetContent(out)
		m.Header.Set("Content-Type", ct)
		return nil
	}
	_ = srcMsg
	if err := mc.Set(p.output, string(out)); err != nil {
		return flow.Errorf(http.StatusInternalServerError, p.errPrefix+"OutputVariableIsNotAvailable", "%s[%s]: Output variable %s is not available", p.typ, p.name, p.output)
	}
	return nil
}

// writeJSONDoc converts an XML document to JSON in document order.
func (p *policy) writeJSONDoc(b *bytes.Buffer, root *xmltree.Element) {
	el := root
	path := ""
	for i := 0; i < p.opts.stripLevels && len(el.Children) == 1; i++ {
		el = el.Children[0]
	}
	if el != root || p.opts.stripLevels > 0 {
		p.writeValue(b, el, path)
		return
	}
	b.WriteByte('{')
	writeKey(b, elemName(root))
	p.writeValue(b, root, elemName(root))
	b.WriteByte('}')
}

func elemName(e *xmltree.Element) string {
	if e.Space != "" {
		return e.Space + ":" + e.Name
	}
	return e.Name
}

func writeKey(b *bytes.Buffer, k string) {
	kb, _ := json.Marshal(k)
	b.Write(kb)
	b.WriteByte(':')
}

func (p *policy) writeScalar(b *bytes.Buffer, s string) {
	o := p.opts
	switch {
	case o.recognizeNull && (s == "" || (o.nullValue != "" && s == o.nullValue)):
		b.WriteString("null")
		return
	case o.recognizeBoolean && (s == "true" || s == "false"):
		b.WriteString(s)
		return
	case o.recognizeNumber:
		if _, err := strconv.ParseFloat(s, 64); err == nil && !strings.HasPrefix(s, "+") && !(len(s) > 1 && s[0] == '0' && s[1] != '.') {
			b.WriteString(s)
			return
		}
	}
	sb, _ := json.Marshal(s)
	b.Write(sb)
}

// writeValue writes an element's value: a scalar when it has only text,
// otherwise an object of attributes and children (repeated names become
// arrays, as do TreatAsArray paths).
func (p *policy) writeValue(b *bytes.Buffer, e *xmltree.Element, path string) {
	o := p.opts
	if len(e.Children) == 0 && len(e.Attrs) == 0 && !o.textAlwaysAsProperty {
		if e.Text == "" && !o.recognizeNull {
			b.WriteString(`""`)
			return
		}
		p.writeScalar(b, e.Text)
		return
	}
	b.WriteByte('{')
	first := true
	comma := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	if len(e.Attrs) > 0 {
		if o.attrBlock != "" {
			comma()
			writeKey(b, o.attrBlock)
			b.WriteByte('{')
		}
		for i, a := range e.Attrs {
			if o.attrBlock != "" {
				if i > 0 {
					b.WriteByte(',')
				}
			} else {
				comma()
			}
			name := a.Name.Local
			if a.Name.Space != "" {
				name = a.Name.Space + ":" + name
			}
			writeKey(b, o.attrPrefix+name)
			p.writeScalar(b, a.Value)
		}
		if o.attrBlock != "" {
			b.WriteByte('}')
		}
	}
	// Group children by name, keeping first-seen order.
	var order []string
	groups := map[string][]*xmltree.Element{}
	for _, c := range e.Children {
		n := elemName(c)
		if _, ok := groups[n]; !ok {
			order = append(order, n)
		}
		groups[n] = append(groups[n], c)
	}
	for _, n := range order {
		comma()
		writeKey(b, n)
		cpath := strings.TrimPrefix(path+"/"+n, "/")
		kids := groups[n]
		if len(kids) > 1 || o.treatAsArray[cpath] {
			b.WriteByte('[')
			for i, k := range kids {
				if i > 0 {
					b.WriteByte(',')
				}
				p.writeValue(b, k, cpath)
			}
			b.WriteByte(']')
		} else {
			p.writeValue(b, kids[0], cpath)
		}
	}
	if e.Text != "" && (len(e.Children) == 0 || len(e.Attrs) > 0 || o.textAlwaysAsProperty) {
		comma()
		writeKey(b, o.textNodeName)
		p.writeScalar(b, e.Text)
	}
	b.WriteByte('}')
}

// toXML converts decoded JSON to XML: an object with one key becomes that
// element; otherwise the ObjectRootElementName / ArrayRootElementName
// wraps it. Keys starting with AttributePrefix become attributes.
func (p *policy) toXML(v any) []byte {
	var b bytes.Buffer
	o := p.opts
	switch x := v.(type) {
	case *object:
		if len(x.keys) == 1 {
			p.xmlElement(&b, x.keys[0], x.vals[x.keys[0]])
		} else {
			p.xmlElement(&b, o.objectRoot, x)
		}
	case []any:
		p.xmlElement(&b, o.arrayRoot, x)
	default:
		p.xmlElement(&b, o.objectRoot, x)
	}
	return b.Bytes()
}

func (p *policy) xmlElement(b *bytes.Buffer, name string, v any) {
	o := p.opts
	if arr, ok := v.([]any); ok {
		if name == o.arrayRoot {
			b.WriteString("<" + name + ">")
			for _, it := range arr {
				p.xmlElement(b, o.arrayItem, it)
			}
			b.WriteString("</" + name + ">")
			return
		}
		for _, it := range arr {
			p.xmlElement(b, name, it)
		}
		return
	}
	b.WriteString("<" + name)
	obj, isObj := v.(*object)
	var keys []string
	if isObj {
		keys = obj.keys // document order, as Apigee writes them
		for _, k := range keys {
			if o.attrPrefix != "" && strings.HasPrefix(k, o.attrPrefix) {
				b.WriteString(" " + strings.TrimPrefix(k, o.attrPrefix) + `="`)
				_ = xml.EscapeText(b, []byte(scalarText(obj.vals[k], o.nullValue)))
				b.WriteByte('"')
			}
		}
	}
	if !isObj && v == nil && o.nullValue == "" {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	if isObj {
		for _, k := range keys {
			if o.attrPrefix != "" && strings.HasPrefix(k, o.attrPrefix) {
				continue
			}
			if k == o.textNodeName {
				_ = xml.EscapeText(b, []byte(scalarText(obj.vals[k], o.nullValue)))
				continue
			}
			p.xmlElement(b, k, obj.vals[k])
		}
	} else {
		_ = xml.EscapeText(b, []byte(scalarText(v, o.nullValue)))
	}
	b.WriteString("</" + name + ">")
}

// object is a JSON object that remembers its key order (encoding/json's
// maps do not), so elements come out in the order the payload had them.
type object struct {
	keys []string
	vals map[string]any
}

// decodeOrdered reads one JSON value: objects as *object, arrays as []any,
// numbers as json.Number. A repeated key keeps its first position and its
// last value, like encoding/json.
func decodeOrdered(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &object{vals: map[string]any{}}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string) // the decoder guarantees object keys are strings
				v, err := decodeOrdered(d)
				if err != nil {
					return nil, err
				}
				if _, seen := obj.vals[k]; !seen {
					obj.keys = append(obj.keys, k)
				}
				obj.vals[k] = v
			}
			_, err := d.Token() // '}'
			return obj, err
		case '[':
			arr := []any{}
			for d.More() {
				v, err := decodeOrdered(d)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := d.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %q", t)
	default:
		return tok, nil
	}
}

func scalarText(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
