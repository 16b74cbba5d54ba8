// Package assertcondition implements the AssertCondition policy: it
// evaluates a condition and raises a fault when it is false.
package assertcondition

import (
	"context"
	"net/http"

	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// CodeAssertionFailed is raised when the condition is false.
const CodeAssertionFailed = "steps.assertcondition.AssertionFailed"

type policy struct {
	name string
	cond *condition.Condition
}

// Compile compiles an <AssertCondition>; the condition is parsed here.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("AssertCondition", "%v", err)
	}
	src := root.ChildText("Condition")
	if src == "" {
		return nil, flow.Invalid("AssertCondition/Condition", "AssertCondition needs a <Condition>")
	}
	c, err := condition.Parse(src)
	if err != nil {
		return nil, flow.Invalid("AssertCondition/Condition", "%v", err)
	}
	return &policy{name: cc.Policy.Name, cond: c}, nil
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	if p.cond.Eval(mc) {
		return nil
	}
	return flow.Errorf(http.StatusInternalServerError, CodeAssertionFailed, "Assertion %s failed: %s", p.name, p.cond.Source())
}
