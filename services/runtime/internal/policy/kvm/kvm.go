// Package kvm implements the KeyValueMapOperations policy.
package kvm

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <KeyValueMapOperations> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("KeyValueMapOperations", "policy type KeyValueMapOperations is not implemented yet")
}
