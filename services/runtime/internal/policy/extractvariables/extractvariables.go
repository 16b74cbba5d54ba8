// Package extractvariables implements the ExtractVariables policy: pattern
// extraction from URIPath, QueryParam, Header, FormParam and Variable, and
// JSONPath / XPath (with namespaces) extraction from payloads.
package extractvariables

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/jsonpath"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// Error codes of ExtractVariables.
const (
	CodeSourceNotAvailable = "steps.extractvariables.SourceMessageNotAvailable"
	CodeSetVariableFailed  = "steps.extractvariables.SetVariableFailed"
	CodeImmutableVariable  = "steps.extractvariables.ImmutableVariable"
	CodeExecutionFailed    = "steps.extractvariables.ExecutionFailed"
	CodeUnableToCast       = "steps.extractvariables.UnableToCast"
)

type pattern struct {
	re    *regexp.Regexp
	names []string
}

// extractor pulls named values from one source string.
type extractor struct {
	kind     string // URIPath, QueryParam, Header, FormParam, Variable
	name     string
	index    int // 1-based value index for repeated headers/params; 0 = first
	patterns []pattern
}

type jsonVar struct {
	name, typ string
	path      *jsonpath.Path // Jayway's dialect, as Apigee evaluates it
}

type xmlVar struct {
	name, typ string
	expr      *xpath.Expr
}

type policy struct {
	name        string
	source      string
	clear       bool
	prefix      string
	ignore      bool
	extractors  []extractor
	jsonVars    []jsonVar
	xmlVars     []xmlVar
	stopPayload bool
}

// Compile compiles an <ExtractVariables> policy; patterns, JSONPaths and
// XPaths are compiled here, so a bad one fails the deployment.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("ExtractVariables", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, source: "message", prefix: root.ChildText("VariablePrefix")}
	if s := root.Child("Source"); s != nil && s.Text != "" {
		p.source = s.Text
		if p.clear, err = s.BoolAttr("clearPayload", false); err != nil {
			return nil, flow.Invalid("ExtractVariables/Source", "%v", err)
		}
	}
	if p.ignore, err = root.Bool("IgnoreUnresolvedVariables", false); err != nil {
		return nil, flow.Invalid("ExtractVariables/IgnoreUnresolvedVariables", "%v", err)
	}
	for _, c := range root.Children {
		switch c.Name {
		case "URIPath", "QueryParam", "Header", "FormParam", "Variable":
			ex := extractor{kind: c.Name, name: c.Attr("name")}
			if c.Name != "URIPath" && ex.name == "" {
				return nil, flow.Invalid("ExtractVariables/"+c.Name, "<%s> needs a name attribute", c.Name)
			}
			if n, err := strconv.Atoi(c.Attr("index")); err == nil {
				ex.index = n
			}
			pats := c.All("Pattern")
			if len(pats) == 0 {
				return nil, flow.Invalid("ExtractVariables/"+c.Name, "<%s> needs at least one <Pattern>", c.Name)
			}
			for _, pe := range pats {
				ic, err := pe.BoolAttr("ignoreCase", false)
				if err != nil {
					return nil, flow.Invalid("ExtractVariables/"+c.Name+"/Pattern", "%v", err)
				}
				pt, err := compilePattern(pe.Text, ic, c.Name == "URIPath")
				if err != nil {
					return nil, flow.Invalid("ExtractVariables/"+c.Name+"/Pattern", "%v", err)
				}
				ex.patterns = append(ex.patterns, pt)
			}
			p.extractors = append(p.extractors, ex)
		case "JSONPayload":
			for _, v := range c.All("Variable") {
				x, err := jsonpath.Compile(v.ChildText("JSONPath"))
				if err != nil {
					// "invalid JSONPath "$.": Path must not end with a '.' or '..'"
					return nil, flow.Invalid("ExtractVariables/JSONPayload/Variable/JSONPath", "%v", err)
				}
				p.jsonVars = append(p.jsonVars, jsonVar{name: v.Attr("name"), typ: v.Attr("type"), path: x})
			}
		case "XMLPayload":
			if p.stopPayload, err = c.BoolAttr("stopPayloadProcessing", false); err != nil {
				return nil, flow.Invalid("ExtractVariables/XMLPayload", "%v", err)
			}
			ns := map[string]string{}
			for _, n := range c.Child("Namespaces").All("Namespace") {
				ns[n.Attr("prefix")] = n.Text
			}
			for _, v := range c.All("Variable") {
				src := v.ChildText("XPath")
				expr, err := xpath.CompileWithNS(src, ns)
				if err != nil {
					return nil, flow.Invalid("ExtractVariables/XMLPayload/Variable/XPath", "invalid XPath %q: %v", src, err)
				}
				p.xmlVars = append(p.xmlVars, xmlVar{name: v.Attr("name"), typ: v.Attr("type"), expr: expr})
			}
		}
	}
	return p, nil
}

// compilePattern turns "Bearer {token}" into a whole-value regex with one
// group per variable. In URI paths a variable is one path segment, "*"
// one segment and "**" any number of segments.
func compilePattern(src string, ignoreCase, uri bool) (pattern, error) {
	var b strings.Builder
	if ignoreCase {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	var names []string
	for i := 0; i < len(src); {
		switch {
		case src[i] == '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return pattern{}, fmt.Errorf("unclosed { in pattern %q", src)
			}
			name := src[i+1 : i+end]
			if name == "" {
				return pattern{}, fmt.Errorf("empty {} in pattern %q", src)
			}
			names = append(names, name)
			if uri {
				b.WriteString("([^/]*)")
			} else {
				b.WriteString("(.*?)")
			}
			i += end + 1
		case uri && strings.HasPrefix(src[i:], "**"):
			b.WriteString(".*")
			i += 2
		case uri && src[i] == '*':
			b.WriteString("[^/]*")
			i++
		default:
			b.WriteString(regexp.QuoteMeta(src[i : i+1]))
			i++
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return pattern{}, err
	}
	return pattern{re: re, names: names}, nil
}

func (p *policy) varName(n string) string {
	if p.prefix == "" {
		return n
	}
	return p.prefix + "." + n
}

func (p *policy) set(mc *flow.MessageContext, name string, v any) error {
	full := p.varName(name)
	if err := mc.Set(full, v); err != nil {
		if _, ro := err.(*flow.ErrReadOnly); ro {
			return flow.Errorf(http.StatusInternalServerError, CodeImmutableVariable, "Variable %s is read only", full)
		}
		return flow.Errorf(http.StatusInternalServerError, CodeSetVariableFailed, "Failed to set variable %s: %v", full, err)
	}
	return nil
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	var msg *message.Message
	needMsg := len(p.jsonVars) > 0 || len(p.xmlVars) > 0
	for _, ex := range p.extractors {
		if ex.kind != "Variable" {
			needMsg = true
		}
	}
	if needMsg {
		msg = mc.Message(p.source)
		if msg == nil && (len(p.jsonVars) > 0 || len(p.xmlVars) > 0) {
			// A string variable as the payload source (e.g. the XML
			// profile AccessEntity.<name> stores), as Apigee allows.
			if v, ok := mc.Lookup(p.source); ok {
				if s, isString := v.(string); isString {
					msg = message.NewRequest()
					msg.SetContent([]byte(s))
				}
			}
		}
		if msg == nil {
			if p.ignore {
				return nil
			}
			return flow.Errorf(http.StatusInternalServerError, CodeSourceNotAvailable, "%s message is not available for ExtractVariable: %s", p.source, p.name)
		}
	}
	for _, ex := range p.extractors {
		for _, val := range p.sourceValues(mc, msg, ex) {
			matched, err := p.match(mc, ex, val)
			if err != nil {
				return err
			}
			if matched {
				break
			}
		}
	}
	if len(p.jsonVars) > 0 {
		if err := p.extractJSON(mc, msg); err != nil {
			return err
		}
	}
	if len(p.xmlVars) > 0 {
		if err := p.extractXML(mc, msg); err != nil {
			return err
		}
	}
	if p.clear && msg != nil {
		msg.SetContent(nil)
	}
	return nil
}

func (p *policy) sourceValues(mc *flow.MessageContext, msg *message.Message, ex extractor) []string {
	var vals []string
	switch ex.kind {
	case "URIPath":
		return []string{mc.PathSuffix}
	case "QueryParam":
		vals = msg.Query.Values(ex.name)
	case "Header":
		vals = msg.HeaderValues(ex.name)
		if len(vals) > 1 && ex.index == 0 {
			vals = []string{strings.Join(msg.Header.Values(ex.name), ", ")}
		}
	case "FormParam":
		vals = msg.FormParams().Values(ex.name)
	case "Variable":
		if s, ok := mc.GetString(ex.name); ok {
			return []string{s}
		}
		return nil
	}
	if ex.index > 0 {
		if ex.index <= len(vals) {
			return vals[ex.index-1 : ex.index]
		}
		return nil
	}
	if len(vals) > 0 {
		return vals[:1]
	}
	return nil
}

func (p *policy) match(mc *flow.MessageContext, ex extractor, val string) (bool, error) {
	for _, pt := range ex.patterns {
		m := pt.re.FindStringSubmatch(val)
		if m == nil {
			continue
		}
		for i, n := range pt.names {
			if err := p.set(mc, n, m[i+1]); err != nil {
				return true, err
			}
		}
		return true, nil
	}
	return false, nil
}

func (p *policy) extractJSON(mc *flow.MessageContext, msg *message.Message) error {
	b, err := msg.Content()
	if err != nil || len(b) == 0 {
		if p.ignore {
			return nil
		}
		return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Failed to execute the ExtractVariables: %s", p.name)
	}
	doc, err := jsonpath.Decode(b)
	if err != nil {
		return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Failed to execute the ExtractVariables: %s. Reason: invalid JSON payload", p.name)
	}
	for _, v := range p.jsonVars {
		res, err := v.path.Eval(doc)
		switch {
		case errors.Is(err, jsonpath.ErrNotFound):
			// A definite path that finds nothing leaves the variable unset.
			continue
		case err != nil:
			// Jayway threw while evaluating (an aggregation over no
			// numbers, a function it does not have).
			if p.ignore {
				continue
			}
			return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Failed to execute the ExtractVariables: %s. Reason: %v", p.name, err)
		}
		var out any
		if v.path.Definite() {
			// The value itself: a string as it is, anything else as
			// json-smart prints it, then the type attribute applies.
			if out, err = cast(jsonpath.String(res), v.typ); err != nil {
				return flow.Errorf(http.StatusInternalServerError, CodeUnableToCast, "Unable to cast value of %s to %s", v.name, v.typ)
			}
		} else {
			// An indefinite path (wildcard, deep scan, filter, slice, list)
			// gives a list, printed as JSON even with one element or none:
			// ["a"], [].
			out = jsonpath.String(res)
		}
		if err := p.set(mc, v.name, out); err != nil {
			return err
		}
	}
	return nil
}

func (p *policy) extractXML(mc *flow.MessageContext, msg *message.Message) error {
	b, err := msg.Content()
	if err != nil || len(b) == 0 {
		if p.ignore {
			return nil
		}
		return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Failed to execute the ExtractVariables: %s", p.name)
	}
	doc, err := xmlquery.Parse(strings.NewReader(string(b)))
	if err != nil {
		return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Failed to execute the ExtractVariables: %s. Reason: invalid XML payload", p.name)
	}
	for _, v := range p.xmlVars {
		res := v.expr.Evaluate(xmlquery.CreateXPathNavigator(doc))
		var s string
		found := true
		switch r := res.(type) {
		case *xpath.NodeIterator:
			if v.typ == "nodeset" {
				var parts []string
				for r.MoveNext() {
					parts = append(parts, r.Current().(*xmlquery.NodeNavigator).Current().OutputXML(true))
				}
				s, found = strings.Join(parts, ""), len(parts) > 0
			} else if r.MoveNext() {
				s = r.Current().Value()
			} else {
				found = false
			}
		case float64:
			s = strconv.FormatFloat(r, 'f', -1, 64)
		case bool:
			s = strconv.FormatBool(r)
		case string:
			s = r
		default:
			s = fmt.Sprint(r)
		}
		if !found {
			continue
		}
		out, err := cast(s, v.typ)
		if err != nil {
			return flow.Errorf(http.StatusInternalServerError, CodeUnableToCast, "Unable to cast value of %s to %s", v.name, v.typ)
		}
		if err := p.set(mc, v.name, out); err != nil {
			return err
		}
	}
	return nil
}

// cast applies a Variable's type attribute.
func cast(s, typ string) (any, error) {
	switch typ {
	case "", "string", "nodeset":
		return s, nil
	case "boolean":
		return strconv.ParseBool(s)
	case "integer", "long":
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err
	case "float", "double":
		return strconv.ParseFloat(s, 64)
	}
	return s, nil
}
