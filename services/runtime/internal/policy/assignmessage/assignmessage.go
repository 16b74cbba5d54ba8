// Package assignmessage implements the AssignMessage policy: Copy, Remove,
// Add and Set on a message (in the order they appear in the policy),
// AssignVariable, AssignTo (including new request/response objects) and
// payload templates. RaiseFault's FaultResponse reuses Ops.
package assignmessage

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

// Error codes (Apigee's AssignMessage runtime errors).
const (
	CodeUnresolvedVariable = "entities.UnresolvedVariable"
	CodeSetVariableFailed  = "steps.assignmessage.SetVariableFailed"
	CodeInvalidStatusCode  = "steps.assignmessage.InvalidStatusCode"
	CodeVariableNotMessage = "steps.assignmessage.VariableOfNonMsgType"
)

type policy struct {
	name      string
	assignTo  string
	createNew bool
	msgType   message.Kind
	hasType   bool
	ops       *Ops
}

// Compile compiles an <AssignMessage> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("AssignMessage", "%v", err)
	}
	p := &policy{name: cc.Policy.Name}
	// Apigee's AssignMessage <Authentication> puts a Google token on the
	// message it builds; this runtime sends tokens only from an
	// HTTPTargetConnection, so the element must not deploy as if it worked.
	if root.Child("Authentication") != nil {
		return nil, flow.Invalid("AssignMessage/Authentication", "<Authentication> in AssignMessage is not supported by this runtime; put it in the <HTTPTargetConnection> of the ServiceCallout or TargetEndpoint that sends the message")
	}
	if at := root.Child("AssignTo"); at != nil {
		p.assignTo = at.Text
		if p.createNew, err = at.BoolAttr("createNew", false); err != nil {
			return nil, flow.Invalid("AssignMessage/AssignTo", "%v", err)
		}
		switch t := at.Attr("type"); t {
		case "", "request":
			p.msgType = message.Request
			p.hasType = t != ""
		case "response":
			p.msgType, p.hasType = message.Response, true
		default:
			return nil, flow.Invalid("AssignMessage/AssignTo", "type must be request or response, not %q", t)
		}
	}
	if p.ops, err = CompileOps(root, "AssignMessage"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	target, err := p.target(mc)
	if err != nil {
		return err
	}
	return p.ops.Apply(mc, target)
}

// target finds or creates the message AssignTo names; without AssignTo it
// is the flow's current message.
func (p *policy) target(mc *flow.MessageContext) (*message.Message, error) {
	name := p.assignTo
	if name == "" {
		if mc.InError || mc.State.IsResponse() {
			return mc.EnsureResponse(), nil
		}
		return mc.Request, nil
	}
	newMsg := func() *message.Message {
		kind := p.msgType
		if !p.hasType && name == "response" {
			kind = message.Response
		}
		if kind == message.Response {
			return message.NewResponse()
		}
		m := message.NewRequest()
		if mc.Request != nil {
			m.Host = mc.Request.Host
		}
		return m
	}
	if p.createNew {
		m := newMsg()
		mc.SetMessage(name, m)
		return m, nil
	}
	if name == "response" {
		return mc.EnsureResponse(), nil
	}
	if m := mc.Message(name); m != nil {
		return m, nil
	}
	if v, ok := mc.Lookup(name); ok && v != nil {
		if _, isMsg := v.(*message.Message); !isMsg {
			return nil, flow.Errorf(http.StatusInternalServerError, CodeVariableNotMessage, "Variable %s does not resolve to a Message", name)
		}
	}
	m := newMsg()
	mc.SetMessage(name, m)
	return m, nil
}

// Ops are the message operations of AssignMessage (and RaiseFault's
// FaultResponse), in document order, plus AssignVariable.
type Ops struct {
	ops         []op
	vars        []assignVar
	ignoreUnres bool
}

type op func(mc *flow.MessageContext, m *message.Message, ignore bool) error

type assignVar struct {
	name     string
	value    string
	hasValue bool
	ref      string
	tmpl     *template.Template
	tmplRef  string
}

// CompileOps compiles Copy/Remove/Add/Set/AssignVariable children of el.
func CompileOps(el *xmltree.Element, root string) (*Ops, error) {
	o := &Ops{}
	var err error
	if o.ignoreUnres, err = el.Bool("IgnoreUnresolvedVariables", false); err != nil {
		return nil, flow.Invalid(root+"/IgnoreUnresolvedVariables", "%v", err)
	}
	for _, c := range el.Children {
		path := root + "/" + c.Name
		var f op
		switch c.Name {
		case "Copy":
			f, err = compileCopy(c, path)
		case "Remove":
			f, err = compileRemove(c, path)
		case "Add":
			f, err = compileSetAdd(c, path, true)
		case "Set":
			f, err = compileSetAdd(c, path, false)
		case "AssignVariable":
			var av assignVar
			av, err = compileAssignVariable(c, path)
			o.vars = append(o.vars, av)
			continue
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		o.ops = append(o.ops, f)
	}
	return o, nil
}

// Apply runs the operations on m, then the variable assignments.
func (o *Ops) Apply(mc *flow.MessageContext, m *message.Message) error {
	for _, f := range o.ops {
		if err := f(mc, m, o.ignoreUnres); err != nil {
			return err
		}
	}
	for _, av := range o.vars {
		if err := av.apply(mc, o.ignoreUnres); err != nil {
			return err
		}
	}
	return nil
}

func compileAssignVariable(c *xmltree.Element, path string) (assignVar, error) {
	av := assignVar{name: c.ChildText("Name")}
	if av.name == "" {
		return av, flow.Invalid(path+"/Name", "AssignVariable needs a <Name>")
	}
	if v := c.Child("Value"); v != nil {
		av.value, av.hasValue = v.Text, true
	}
	av.ref = c.ChildText("Ref")
	if t := c.Child("Template"); t != nil {
		if ref := t.Attr("ref"); ref != "" {
			// The template text itself comes from a variable at run time.
			av.tmplRef = ref
			return av, nil
		}
		tpl, err := template.Compile(t.Text)
		if err != nil {
			return av, flow.Invalid(path+"/Template", "%v", err)
		}
		av.tmpl = tpl
	}
	return av, nil
}

func (av assignVar) apply(mc *flow.MessageContext, ignore bool) error {
	var val any
	set := false
	switch {
	case av.tmplRef != "":
		src, _ := mc.GetString(av.tmplRef)
		tpl, err := template.Compile(src)
		if err != nil {
			return flow.Errorf(http.StatusInternalServerError, CodeSetVariableFailed, "Invalid template in %s: %v", av.tmplRef, err)
		}
		val, set = tpl.String(mc), true
	case av.tmpl != nil:
		s, missing := av.tmpl.Execute(mc)
		if missing != "" && !ignore {
			return unresolved(missing)
		}
		val, set = s, true
	}
	if !set && av.ref != "" {
		if v, ok := mc.Lookup(av.ref); ok && v != nil {
			val, set = v, true
		}
	}
	if !set && av.hasValue {
		val, set = av.value, true
	}
	if !set {
		if av.ref != "" && !ignore {
			return unresolved(av.ref)
		}
		return nil
	}
	if err := mc.Set(av.name, val); err != nil {
		return flow.Errorf(http.StatusInternalServerError, CodeSetVariableFailed, "Failed to set variable %s: %v", av.name, err)
	}
	return nil
}

func unresolved(name string) error {
	return flow.Errorf(http.StatusInternalServerError, CodeUnresolvedVariable, "Unresolved variable : %s", name)
}

func render(mc *flow.MessageContext, t *template.Template, ignore bool) (string, error) {
	s, missing := t.Execute(mc)
	if missing != "" && !ignore {
		return "", unresolved(missing)
	}
	return s, nil
}

type named struct {
	name string
	tmpl *template.Template
	// empty is true for <Header name="x"/>: in Copy it means "copy this
	// one"; in Set/Add an empty value.
	empty bool
}

func compileNamed(parent *xmltree.Element, list, item, path string) ([]named, bool, error) {
	l := parent.Child(list)
	if l == nil {
		return nil, false, nil
	}
	var out []named
	for _, c := range l.All(item) {
		n := c.Attr("name")
		if n == "" {
			return nil, true, flow.Invalid(path+"/"+list+"/"+item, "<%s> needs a name attribute", item)
		}
		tpl, err := template.Compile(c.Text)
		if err != nil {
			return nil, true, flow.Invalid(path+"/"+list+"/"+item, "%v", err)
		}
		out = append(out, named{name: n, tmpl: tpl, empty: c.Text == ""})
	}
	return out, true, nil
}

func compileSetAdd(el *xmltree.Element, path string, add bool) (op, error) {
	headers, _, err := compileNamed(el, "Headers", "Header", path)
	if err != nil {
		return nil, err
	}
	qps, _, err := compileNamed(el, "QueryParams", "QueryParam", path)
	if err != nil {
		return nil, err
	}
	fps, _, err := compileNamed(el, "FormParams", "FormParam", path)
	if err != nil {
		return nil, err
	}
	var payload *template.Template
	var contentType *template.Template
	if p := el.Child("Payload"); p != nil && !add {
		src := p.Text
		if len(p.Children) > 0 {
			src = strings.TrimSpace(p.Inner)
		}
		pre, suf := p.Attr("variablePrefix"), p.Attr("variableSuffix")
		switch {
		case pre == "" && suf == "":
			payload, err = template.Compile(src)
		case len(pre) == 1 && len(suf) == 1:
			payload, err = template.CompileDelims(src, pre[0], suf[0])
		default:
			return nil, flow.Invalid(path+"/Payload", "variablePrefix and variableSuffix must be single characters")
		}
		if err != nil {
			return nil, flow.Invalid(path+"/Payload", "%v", err)
		}
		if ct := p.Attr("contentType"); ct != "" {
			if contentType, err = template.Compile(ct); err != nil {
				return nil, flow.Invalid(path+"/Payload", "%v", err)
			}
		}
	}
	var scalars []func(mc *flow.MessageContext, m *message.Message, ignore bool) error
	if !add {
		for _, s := range []string{"Path", "StatusCode", "ReasonPhrase", "Verb", "Version"} {
			c := el.Child(s)
			if c == nil {
				continue
			}
			tpl, err := template.Compile(c.Text)
			if err != nil {
				return nil, flow.Invalid(path+"/"+s, "%v", err)
			}
			field := s
			scalars = append(scalars, func(mc *flow.MessageContext, m *message.Message, ignore bool) error {
				v, err := render(mc, tpl, ignore)
				if err != nil {
					return err
				}
				switch field {
				case "Path":
					m.Path = v
				case "StatusCode":
					if err := m.Set("status.code", v); err != nil {
						return flow.Errorf(http.StatusInternalServerError, CodeInvalidStatusCode, "Invalid status code %s", v)
					}
				case "ReasonPhrase":
					m.Reason = v
				case "Verb":
					m.Method = strings.ToUpper(v)
				case "Version":
					m.Version = v
				}
				return nil
			})
		}
	}
	return func(mc *flow.MessageContext, m *message.Message, ignore bool) error {
		for _, h := range headers {
			v, err := render(mc, h.tmpl, ignore)
			if err != nil {
				return err
			}
			if add {
				m.Header.Add(h.name, v)
			} else {
				m.Header.Set(h.name, v)
			}
		}
		for _, q := range qps {
			v, err := render(mc, q.tmpl, ignore)
			if err != nil {
				return err
			}
			if add {
				m.Query = m.Query.Add(q.name, v)
			} else {
				m.Query = m.Query.Set(q.name, v)
			}
		}
		if len(fps) > 0 {
			p := append(message.Params(nil), m.FormParams()...)
			for _, f := range fps {
				v, err := render(mc, f.tmpl, ignore)
				if err != nil {
					return err
				}
				if add {
					p = p.Add(f.name, v)
				} else {
					p = p.Set(f.name, v)
				}
			}
			m.SetFormParams(p)
		}
		for _, s := range scalars {
			if err := s(mc, m, ignore); err != nil {
				return err
			}
		}
		if payload != nil {
			v, err := render(mc, payload, ignore)
			if err != nil {
				return err
			}
			m.SetContent([]byte(v))
			if contentType != nil {
				ct, err := render(mc, contentType, ignore)
				if err != nil {
					return err
				}
				m.Header.Set("Content-Type", ct)
			}
		}
		return nil
	}, nil
}

func compileRemove(el *xmltree.Element, path string) (op, error) {
	headers, hasH, err := compileNamed(el, "Headers", "Header", path)
	if err != nil {
		return nil, err
	}
	qps, hasQ, err := compileNamed(el, "QueryParams", "QueryParam", path)
	if err != nil {
		return nil, err
	}
	fps, hasF, err := compileNamed(el, "FormParams", "FormParam", path)
	if err != nil {
		return nil, err
	}
	payload, err := el.Bool("Payload", false)
	if err != nil {
		return nil, flow.Invalid(path+"/Payload", "%v", err)
	}
	return func(mc *flow.MessageContext, m *message.Message, _ bool) error {
		switch {
		case hasH && len(headers) == 0:
			for k := range m.Header {
				delete(m.Header, k)
			}
		default:
			for _, h := range headers {
				m.Header.Del(h.name)
			}
		}
		switch {
		case hasQ && len(qps) == 0:
			m.Query = nil
		default:
			for _, q := range qps {
				m.Query = m.Query.Del(q.name)
			}
		}
		if hasF {
			p := append(message.Params(nil), m.FormParams()...)
			if len(fps) == 0 {
				p = nil
			}
			for _, f := range fps {
				p = p.Del(f.name)
			}
			m.SetFormParams(p)
		}
		if payload {
			m.SetContent(nil)
		}
		return nil
	}, nil
}

func compileCopy(el *xmltree.Element, path string) (op, error) {
	source := el.Attr("source")
	headers, hasH, err := compileNamed(el, "Headers", "Header", path)
	if err != nil {
		return nil, err
	}
	qps, hasQ, err := compileNamed(el, "QueryParams", "QueryParam", path)
	if err != nil {
		return nil, err
	}
	fps, hasF, err := compileNamed(el, "FormParams", "FormParam", path)
	if err != nil {
		return nil, err
	}
	flags := map[string]bool{}
	for _, f := range []string{"Payload", "Path", "StatusCode", "ReasonPhrase", "Verb", "Version"} {
		v, err := el.Bool(f, false)
		if err != nil {
			return nil, flow.Invalid(path+"/"+f, "%v", err)
		}
		flags[f] = v
	}
	return func(mc *flow.MessageContext, m *message.Message, _ bool) error {
		src := mc.Message("message")
		if source != "" {
			src = mc.Message(source)
		}
		if src == nil {
			return flow.Errorf(http.StatusInternalServerError, CodeVariableNotMessage, "Variable %s does not resolve to a Message", source)
		}
		if src == m {
			return nil
		}
		if hasH {
			if len(headers) == 0 {
				for k, v := range src.Header {
					m.Header[k] = append([]string(nil), v...)
				}
			}
			for _, h := range headers {
				if v := src.Header.Values(h.name); len(v) > 0 {
					m.Header[http.CanonicalHeaderKey(h.name)] = append([]string(nil), v...)
				}
			}
		}
		if hasQ {
			if len(qps) == 0 {
				m.Query = append(message.Params(nil), src.Query...)
			}
			for _, q := range qps {
				for _, v := range src.Query.Values(q.name) {
					m.Query = m.Query.Set(q.name, v)
				}
			}
		}
		if hasF {
			sp := src.FormParams()
			p := append(message.Params(nil), m.FormParams()...)
			if len(fps) == 0 {
				p = append(message.Params(nil), sp...)
			}
			for _, f := range fps {
				for _, v := range sp.Values(f.name) {
					p = p.Set(f.name, v)
				}
			}
			m.SetFormParams(p)
		}
		if flags["Payload"] {
			b, err := src.Content()
			if err != nil {
				return fmt.Errorf("copying payload: %w", err)
			}
			m.SetContent(append([]byte(nil), b...))
			if ct := src.Header.Get("Content-Type"); ct != "" && m.Header.Get("Content-Type") == "" {
				m.Header.Set("Content-Type", ct)
			}
		}
		if flags["Path"] {
			m.Path = src.Path
		}
		if flags["Verb"] {
			m.Method = src.Method
		}
		if flags["StatusCode"] && src.StatusCode != 0 {
			m.StatusCode = src.StatusCode
		}
		if flags["ReasonPhrase"] {
			m.Reason = src.Reason
		}
		if flags["Version"] {
			m.Version = src.Version
		}
		return nil
	}, nil
}
