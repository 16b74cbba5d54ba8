// Package oauthv2 implements the OAuthV2 policy.
package oauthv2

import "github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"

// Compile compiles a <OAuthV2> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("OAuthV2", "policy type OAuthV2 is not implemented yet")
}

// CompileGetInfo compiles a <GetOAuthV2Info> policy.
func CompileGetInfo(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("GetOAuthV2Info", "policy type GetOAuthV2Info is not implemented yet")
}

// CompileSetInfo compiles a <SetOAuthV2Info> policy.
func CompileSetInfo(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("SetOAuthV2Info", "policy type SetOAuthV2Info is not implemented yet")
}

// CompileDeleteInfo compiles a <DeleteOAuthV2Info> policy.
func CompileDeleteInfo(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("DeleteOAuthV2Info", "policy type DeleteOAuthV2Info is not implemented yet")
}

// CompileRevoke compiles a <RevokeOAuthV2> policy.
func CompileRevoke(cc *flow.CompileContext) (flow.Policy, error) {
	return nil, flow.Invalid("RevokeOAuthV2", "policy type RevokeOAuthV2 is not implemented yet")
}
