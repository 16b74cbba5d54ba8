// Package accessentity implements the AccessEntity policy.
package accessentity

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <AccessEntity> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("AccessEntity", "policy type AccessEntity is not implemented yet")
}
