// Package xsl implements the XSL (XSLTransform) policy on the package
// xslt processor: the stylesheet resource is compiled once per contract,
// so a stylesheet the processor cannot run fails the deployment naming the
// policy file, the resource, the line and the instruction.
//
// As in Apigee: <Source> (default message) must name a message or a
// string variable; a message is transformed only when its Content-Type is
// XML (otherwise the policy does nothing); without <OutputVariable> the
// output replaces the source's content; <Parameters> bind top-level
// xsl:param values from variables (ref) or literals (value).
package xsl

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/xslt"
)

// Apigee's XSL error codes.
const (
	CodeSourceNotAvailable       = "steps.xsl.XSLSourceMessageNotAvailable"
	CodeEvaluationFailed         = "steps.xsl.XSLEvaluationFailed"
	CodeVariableResolutionFailed = "steps.xsl.XSLVariableResolutionFailed"
)

type parameter struct {
	name, ref, value string
}

type policy struct {
	name     string
	source   string
	output   string
	resource string
	sheet    *xslt.Stylesheet
	params   []parameter
	ignore   bool
}

// Compile compiles an <XSL> policy and its stylesheet.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("XSL", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, source: root.ChildText("Source"), output: root.ChildText("OutputVariable")}
	if p.source == "" {
		p.source = "message"
	}
	p.resource = root.ChildText("ResourceURL")
	switch {
	case p.resource == "":
		// Apigee's XSLEmptyResourceUrl.
		return nil, flow.Invalid("XSL/ResourceURL", "Resource Url cannot be empty in XSL %s", p.name)
	case !strings.HasPrefix(p.resource, "xsl://"):
		// Apigee's XSLInvalidResourceType.
		return nil, flow.Invalid("XSL/ResourceURL", "XSL %s: Resource type must be xsl. Context %s", p.name, p.resource)
	}
	// The proxy revision's stylesheet, else the environment's (Apigee's
	// resource resolution order).
	src, ok := cc.Resource(p.resource)
	if !ok {
		return nil, flow.Invalid("XSL/ResourceURL", "resource %s is neither in the bundle nor an environment resource file", p.resource)
	}
	if p.sheet, err = xslt.Compile(src, xslt.Options{}); err != nil {
		return nil, flow.Invalid("XSL/ResourceURL", "%s: %v", p.resource, err)
	}
	params := root.Child("Parameters")
	if p.ignore, err = params.BoolAttr("ignoreUnresolvedVariables", false); err != nil {
		return nil, flow.Invalid("XSL/Parameters", "%v", err)
	}
	for _, pe := range params.All("Parameter") {
		pr := parameter{name: pe.Attr("name"), ref: pe.Attr("ref"), value: pe.Attr("value")}
		switch {
		case pr.name == "":
			return nil, flow.Invalid("XSL/Parameters/Parameter", "<Parameter> needs a name attribute")
		case pr.ref != "" && pe.HasAttr("value"):
			return nil, flow.Invalid("XSL/Parameters/Parameter", "parameter %s has both ref and value; use one", pr.name)
		case pr.ref == "" && !pe.HasAttr("value"):
			return nil, flow.Invalid("XSL/Parameters/Parameter", "parameter %s needs a ref or a value attribute", pr.name)
		}
		p.params = append(p.params, pr)
	}
	return p, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	var input []byte
	msg := mc.Message(p.source)
	if msg != nil {
		ct, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if !strings.Contains(ct, "xml") {
			// Apigee transforms XML messages only.
			return nil
		}
		b, err := msg.Content()
		if err != nil {
			return p.failed(err.Error())
		}
		input = b
	} else if s, ok := mc.GetString(p.source); ok {
		input = []byte(s)
	} else {
		return flow.Errorf(http.StatusInternalServerError, CodeSourceNotAvailable, "%s message is not available for XSL: %s", p.source, p.name)
	}
	params := make(map[string]string, len(p.params))
	for _, pr := range p.params {
		if pr.ref == "" {
			params[pr.name] = pr.value
			continue
		}
		v, ok := mc.GetString(pr.ref)
		if !ok {
			if p.ignore {
				// The stylesheet's default for the parameter applies.
				continue
			}
			return flow.Errorf(http.StatusInternalServerError, CodeVariableResolutionFailed, "Failed to resolve variable %s", pr.ref)
		}
		params[pr.name] = v
	}
	res, err := p.sheet.Transform(ctx, input, params)
	if err != nil {
		reason := err.Error()
		var ie *xslt.InternalError
		if errors.As(err, &ie) && mc.Log != nil {
			mc.Log.Error("XSLT processor failure", zap.String("policy", p.name), zap.String("resource", p.resource), zap.Error(err), zap.ByteString("stack", ie.Stack))
		}
		if errors.Is(err, xslt.ErrMalformed) {
			reason = "the " + p.source + " content is not well-formed XML: " + strings.TrimPrefix(reason, xslt.ErrMalformed.Error()+": ")
		}
		return p.failed(reason)
	}
	if mc.Log != nil {
		for _, m := range res.Messages {
			mc.Log.Debug("xsl:message", zap.String("policy", p.name), zap.String("message", m))
		}
	}
	return p.store(mc, msg, res.Output)
}

func (p *policy) failed(reason string) error {
	return flow.Errorf(http.StatusInternalServerError, CodeEvaluationFailed, "Evaluation of XSL %s failed with reason: \"%s\"", p.name, reason)
}

// store writes the output: into the OutputVariable (a message's content if
// it names a message), or else over the source.
func (p *policy) store(mc *flow.MessageContext, src *message.Message, out []byte) error {
	target := p.output
	if target == "" {
		if src != nil {
			src.SetContent(out)
			return nil
		}
		target = p.source
	}
	if m := mc.Message(target); m != nil {
		m.SetContent(out)
		return nil
	}
	if err := mc.Set(target, string(out)); err != nil {
		return p.failed("cannot set output variable " + target + ": " + err.Error())
	}
	return nil
}
