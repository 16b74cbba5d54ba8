// Package raisefault implements the RaiseFault policy: it raises a fault
// whose response is built by <FaultResponse> (Set/Add/Remove/Copy/
// AssignVariable, like AssignMessage) or, without one, Apigee's default
// "Raising fault" error.
package raisefault

import (
	"context"
	"net/http"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/assignmessage"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// CodeRaiseFault is the error code of every raised fault.
const CodeRaiseFault = "steps.raisefault.RaiseFault"

type policy struct {
	name string
	ops  *assignmessage.Ops
}

// Compile compiles a <RaiseFault> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("RaiseFault", "%v", err)
	}
	p := &policy{name: cc.Policy.Name}
	if fr := root.Child("FaultResponse"); fr != nil {
		// IgnoreUnresolvedVariables sits on the policy, not the response.
		if ign := root.Child("IgnoreUnresolvedVariables"); ign != nil {
			fr.Children = append(fr.Children, ign)
		}
		if p.ops, err = assignmessage.CompileOps(fr, "RaiseFault/FaultResponse"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	f := &flow.Fault{Code: CodeRaiseFault, Name: "RaiseFault", Status: http.StatusInternalServerError,
		Message: "Raising fault. Fault name : " + p.name, Policy: p.name}
	if p.ops == nil {
		return f
	}
	resp := message.NewResponse()
	resp.StatusCode = http.StatusInternalServerError
	resp.Reason = "Server Error"
	if err := p.ops.Apply(mc, resp); err != nil {
		return err
	}
	f.Status = resp.StatusCode
	f.Response = resp
	return f
}
