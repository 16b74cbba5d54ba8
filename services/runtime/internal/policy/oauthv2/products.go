package oauthv2

import (
	"context"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/apiproduct"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// matchProduct returns the first of the token's API products that is still
// approved on the app's credential and allows this call (environment,
// proxy, path and verb); nil when none does.
func (p *policy) matchProduct(_ context.Context, mc *flow.MessageContext, info *store.KeyInfo, tokenProducts []string) (*store.APIProduct, error) {
	onToken := make(map[string]bool, len(tokenProducts))
	for _, n := range tokenProducts {
		onToken[n] = true
	}
	cred := *info.Credential
	cred.APIProducts = nil
	for _, ref := range info.Credential.APIProducts {
		if onToken[ref.APIProduct] {
			cred.APIProducts = append(cred.APIProducts, ref)
		}
	}
	call := apiproduct.Call{Env: p.env, PathSuffix: mc.PathSuffix}
	if mc.Proxy != nil {
		call.Proxy = mc.Proxy.Name
		if mc.Proxy.Env != "" {
			call.Env = mc.Proxy.Env
		}
	}
	if mc.Request != nil {
		call.Verb = mc.Request.Method
	}
	m := apiproduct.FirstAllowed(&cred, info.Products, call)
	if m == nil {
		return nil, nil
	}
	return m.Product, nil
}
