// Package cors implements the CORS policy.
package cors

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <CORS> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("CORS", "policy type CORS is not implemented yet")
}
