// Package quota implements the Quota policy.
package quota

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <Quota> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("Quota", "policy type Quota is not implemented yet")
}

// CompileReset compiles a <ResetQuota> policy.
func CompileReset(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("ResetQuota", "policy type ResetQuota is not implemented yet")
}
