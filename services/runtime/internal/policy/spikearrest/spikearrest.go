// Package spikearrest implements the SpikeArrest policy.
package spikearrest

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <SpikeArrest> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("SpikeArrest", "policy type SpikeArrest is not implemented yet")
}
