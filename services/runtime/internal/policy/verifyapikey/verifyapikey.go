// Package verifyapikey implements the VerifyAPIKey policy.
package verifyapikey

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <VerifyAPIKey> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("VerifyAPIKey", "policy type VerifyAPIKey is not implemented yet")
}
