package cache

import (
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Scope is the <Scope> enumeration: which prefix a key gets when
// <CacheKey> has no <Prefix>.
type Scope int

// Scopes, with Apigee's prefixes (org, env, API proxy, deployed revision,
// endpoint, each followed by "__").
const (
	// Exclusive (the default): org__env__proxy__revision__endpoint__, the
	// endpoint being the ProxyEndpoint or TargetEndpoint the policy runs
	// in.
	Exclusive Scope = iota
	// Global: org__env__, shared by every proxy of the environment.
	Global
	// Application: org__env__proxy__.
	Application
	// Proxy: org__env__proxy__revision__proxyEndpoint__.
	Proxy
	// Target: org__env__proxy__revision__targetEndpoint__.
	Target
)

var scopeNames = map[string]Scope{"Exclusive": Exclusive, "Global": Global, "Application": Application, "Proxy": Proxy, "Target": Target}

// KeyContext is what a scope prefix is made of.
type KeyContext struct {
	Org, Env, APIProxy, Revision  string
	ProxyEndpoint, TargetEndpoint string
	// OnTarget: the policy runs in a TargetEndpoint flow (Exclusive then
	// uses the target's name).
	OnTarget bool
}

// ScopePrefix is the prefix Apigee prepends for a scope.
func ScopePrefix(s Scope, k KeyContext) string {
	sep := rtdata.KeySeparator
	switch s {
	case Global:
		return k.Org + sep + k.Env + sep
	case Application:
		return k.Org + sep + k.Env + sep + k.APIProxy + sep
	}
	endpoint := k.ProxyEndpoint
	if s == Target || s == Exclusive && k.OnTarget {
		endpoint = k.TargetEndpoint
	}
	return k.Org + sep + k.Env + sep + k.APIProxy + sep + k.Revision + sep + endpoint + sep
}

// Key composes a cache key as Apigee does: the <Prefix> and the fragments
// joined with "__", or, without a prefix, the scope prefix followed by the
// fragments joined with "__".
func Key(prefix, scopePrefix string, fragments []string) string {
	if prefix != "" {
		if len(fragments) == 0 {
			return prefix
		}
		return prefix + rtdata.KeySeparator + strings.Join(fragments, rtdata.KeySeparator)
	}
	return scopePrefix + strings.Join(fragments, rtdata.KeySeparator)
}

// fragment is a <KeyFragment>: a literal, or a ref with the literal as
// fallback.
type fragment struct{ ref, lit string }

// keySpec is a compiled <CacheKey> with <Scope> (and, for InvalidateCache,
// <CacheContext>).
type keySpec struct {
	prefix    string
	fragments []fragment
	scope     Scope
	// context overrides (InvalidateCache <CacheContext>).
	apiProxy, proxyEndpoint, targetEndpoint string
}

// contextOf is the key context of the running request.
func contextOf(mc *flow.MessageContext) KeyContext {
	p := mc.Proxy
	return KeyContext{Org: p.Org, Env: p.Env, APIProxy: p.Name, Revision: p.Revision, ProxyEndpoint: p.Endpoint,
		TargetEndpoint: mc.TargetName, OnTarget: mc.State == flow.TargetRequest || mc.State == flow.TargetResponse}
}

// build is the request's cache key. A ref fragment whose variable is unset
// falls back to its literal text and, without one, is left out.
func (k *keySpec) build(mc *flow.MessageContext) string {
	parts := make([]string, 0, len(k.fragments))
	for _, f := range k.fragments {
		if f.ref != "" {
			if v, ok := mc.GetString(f.ref); ok {
				parts = append(parts, v)
				continue
			}
		}
		if f.lit != "" {
			parts = append(parts, f.lit)
		}
	}
	if k.prefix != "" {
		return Key(k.prefix, "", parts)
	}
	kc := contextOf(mc)
	if k.apiProxy != "" {
		kc.APIProxy = k.apiProxy
	}
	if k.proxyEndpoint != "" {
		kc.ProxyEndpoint, kc.OnTarget = k.proxyEndpoint, false
	}
	if k.targetEndpoint != "" {
		kc.TargetEndpoint, kc.OnTarget = k.targetEndpoint, true
	}
	return Key("", ScopePrefix(k.scope, kc), parts)
}
