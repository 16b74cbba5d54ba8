package threatprotection

import (
	"context"
	"regexp"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/jsonpath"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// CodeThreatDetected is RegularExpressionProtection's error code.
const CodeThreatDetected = "steps.regexprotection.ThreatDetected"

type regexCheck struct {
	kind, name string
	patterns   []*regexp.Regexp
	jpath      *jsonpath.Path // Jayway's dialect, as Apigee evaluates it
	xpath      *xpath.Expr
}

type regexPolicy struct {
	name, source string
	ignore       bool
	checks       []regexCheck
}

// CompileRegex compiles a <RegularExpressionProtection> policy. Patterns
// are Java regular expressions; those using features Go's RE2 engine lacks
// (look-around, back references) fail the deployment with the reason.
func CompileRegex(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("RegularExpressionProtection", "%v", err)
	}
	p := &regexPolicy{name: cc.Policy.Name, source: root.ChildText("Source")}
	if p.source == "" {
		p.source = "message"
	}
	if p.ignore, err = root.Bool("IgnoreUnresolvedVariables", false); err != nil {
		return nil, flow.Invalid("RegularExpressionProtection/IgnoreUnresolvedVariables", "%v", err)
	}
	compile := func(el *xmltree.Element, path string) ([]*regexp.Regexp, error) {
		var out []*regexp.Regexp
		for _, pe := range el.All("Pattern") {
			re, err := regexp.Compile(pe.Text)
			if err != nil {
				return nil, flow.Invalid(path+"/Pattern", "pattern %q cannot be compiled (RE2 syntax, no look-around or back references): %v", pe.Text, err)
			}
			out = append(out, re)
		}
		return out, nil
	}
	for _, c := range root.Children {
		path := "RegularExpressionProtection/" + c.Name
		switch c.Name {
		case "URIPath", "QueryParam", "Header", "FormParam", "Variable":
			pats, err := compile(c, path)
			if err != nil {
				return nil, err
			}
			p.checks = append(p.checks, regexCheck{kind: c.Name, name: c.Attr("name"), patterns: pats})
		case "JSONPayload":
			for _, j := range c.All("JSONPath") {
				x, err := jsonpath.Compile(j.ChildText("Expression"))
				if err != nil {
					return nil, flow.Invalid(path+"/JSONPath/Expression", "%v", err)
				}
				pats, err := compile(j, path+"/JSONPath")
				if err != nil {
					return nil, err
				}
				p.checks = append(p.checks, regexCheck{kind: "JSONPayload", jpath: x, patterns: pats})
			}
		case "XMLPayload":
			ns := map[string]string{}
			for _, n := range c.Child("Namespaces").All("Namespace") {
				ns[n.Attr("prefix")] = n.Text
			}
			for _, x := range c.All("XPath") {
				expr, err := xpath.CompileWithNS(x.ChildText("Expression"), ns)
				if err != nil {
					return nil, flow.Invalid(path+"/XPath/Expression", "%v", err)
				}
				pats, err := compile(x, path+"/XPath")
				if err != nil {
					return nil, err
				}
				p.checks = append(p.checks, regexCheck{kind: "XMLPayload", xpath: expr, patterns: pats})
			}
		}
	}
	return p, nil
}

func (p *regexPolicy) Execute(_ context.Context, mc *flow.MessageContext) error {
	m := mc.Message(p.source)
	if m == nil {
		if p.ignore {
			return nil
		}
		return fault("steps.regexprotection.SourceMessageNotAvailable", "%s message is not available for RegularExpressionProtection: %s", p.source, p.name)
	}
	for _, c := range p.checks {
		var inputs []string
		switch c.kind {
		case "URIPath":
			inputs = []string{m.Path}
			if m == mc.Request {
				inputs = []string{mc.PathSuffix}
			}
		case "QueryParam":
			inputs = m.Query.Values(c.name)
		case "Header":
			inputs = m.Header.Values(c.name)
		case "FormParam":
			inputs = m.FormParams().Values(c.name)
		case "Variable":
			if s, ok := mc.GetString(c.name); ok {
				inputs = []string{s}
			}
		case "JSONPayload":
			// Each value the path finds is checked (every element of an
			// indefinite path's list), printed as Apigee prints a JSONPath
			// result: a string as it is, anything else as JSON.
			if doc, err := jsonpath.Decode([]byte(m.ContentString())); err == nil {
				vals, _ := c.jpath.Values(doc) // a path that fails finds nothing to check
				for _, v := range vals {
					inputs = append(inputs, jsonpath.String(v))
				}
			}
		case "XMLPayload":
			if doc, err := xmlquery.Parse(strings.NewReader(m.ContentString())); err == nil {
				if it, ok := c.xpath.Evaluate(xmlquery.CreateXPathNavigator(doc)).(*xpath.NodeIterator); ok {
					for it.MoveNext() {
						inputs = append(inputs, it.Current().Value())
					}
				}
			}
		}
		for _, in := range inputs {
			for _, re := range c.patterns {
				if re.MatchString(in) {
					return fault(CodeThreatDetected, "Regular Expression Threat Detected in %s: regex: %s input: %s", p.name, re.String(), in)
				}
			}
		}
	}
	return nil
}
