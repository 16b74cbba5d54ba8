// Package flowcallout implements the FlowCallout policy: it runs a shared
// flow deployed to the same environment in the caller's message context,
// after setting its <Parameters> as flow variables.
package flowcallout

import (
	"context"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

type param struct {
	name, value, ref string
}

type policy struct {
	flow   flow.Runner
	params []param
}

// Compile compiles a <FlowCallout>. The shared flow must be deployed to
// the environment; otherwise the proxy fails to deploy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("FlowCallout", "%v", err)
	}
	name := root.ChildText("SharedFlowBundle")
	if name == "" {
		return nil, flow.Invalid("FlowCallout/SharedFlowBundle", "FlowCallout needs a <SharedFlowBundle>")
	}
	r, ok := cc.SharedFlow(name)
	if !ok {
		return nil, flow.Invalid("FlowCallout/SharedFlowBundle", "shared flow %s is not deployed to environment %s (or failed to deploy)", name, cc.Env)
	}
	p := &policy{flow: r}
	for _, pe := range root.Child("Parameters").All("Parameter") {
		n := pe.Attr("name")
		if n == "" {
			return nil, flow.Invalid("FlowCallout/Parameters/Parameter", "<Parameter> needs a name attribute")
		}
		v := pe.Text
		if pe.HasAttr("value") {
			v = pe.Attr("value")
		}
		p.params = append(p.params, param{name: n, value: v, ref: pe.Attr("ref")})
	}
	return p, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	for _, pa := range p.params {
		v := any(pa.value)
		if pa.ref != "" {
			if rv, ok := mc.Lookup(pa.ref); ok {
				v = rv
			}
		}
		if err := mc.Set(pa.name, v); err != nil {
			mc.SetVar(pa.name, v)
		}
	}
	return p.flow.Run(ctx, mc)
}
