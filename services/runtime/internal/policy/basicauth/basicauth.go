// Package basicauth implements the BasicAuthentication policy.
package basicauth

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <BasicAuthentication> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("BasicAuthentication", "policy type BasicAuthentication is not implemented yet")
}
