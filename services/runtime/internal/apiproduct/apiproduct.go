// Package apiproduct decides whether an API product lets a call through, as
// VerifyAPIKey and OAuthV2 VerifyAccessToken do in Apigee: the product must
// be approved on the credential, allow the environment, and allow the proxy
// and path — through its API resources and proxies, or, when it has an
// operation group, through an operation config of the proxy whose
// operation matches the path suffix and the verb.
//
// Resource patterns (apiResources and operation resources) are matched
// against proxy.pathsuffix:
//
//	/        only "/" (the base path itself)
//	/**      everything
//	/*       one path segment: /a, not /a/b
//	/a/**    anything below /a: /a/b, /a/b/c (not /a)
//	/a/*     one segment below /a: /a/b (not /a/b/c, not /a)
//	/a/*/c   a wildcard segment in the middle
//	/a       exactly /a
//
// A trailing slash on the path or the pattern is ignored ("/a/" is "/a").
package apiproduct

import (
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Call is what a request is calling.
type Call struct {
	Env        string // environment.name
	Proxy      string // apiproxy.name
	PathSuffix string // proxy.pathsuffix
	Verb       string // request.verb
}

// Match is a product that allows a call, with the operation that matched
// when the product has an operation group.
type Match struct {
	Product *store.APIProduct
	// Config and Operation are set when the product's operation group
	// matched.
	Config    *store.OperationConfig
	Operation *store.Operation
}

// Quota is the quota that applies to the call: the matched operation
// config's when it has one, else the product's.
func (m *Match) Quota() (limit, interval, timeUnit string) {
	if m.Config != nil {
		if q := m.Config.Quota; q != nil {
			return q.Limit, q.Interval, q.TimeUnit
		}
		return "", "", ""
	}
	return m.Product.Quota, m.Product.QuotaInterval, m.Product.QuotaTimeUnit
}

// FirstAllowed returns the first of the credential's API products (in the
// credential's order) that is approved on the credential and allows the
// call; nil when none does. products are the products' definitions (as
// store.KeyInfo.Products holds them); a product the credential names but
// that no longer exists allows nothing.
func FirstAllowed(cred *store.Credential, products []*store.APIProduct, c Call) *Match {
	byName := make(map[string]*store.APIProduct, len(products))
	for _, p := range products {
		byName[p.Name] = p
	}
	for _, ref := range cred.APIProducts {
		if ref.Status != store.StatusApproved {
			continue
		}
		p := byName[ref.APIProduct]
		if p == nil {
			continue
		}
		if m := Allows(p, c); m != nil {
			return m
		}
	}
	return nil
}

// Allows reports whether product p allows the call (ignoring approval on
// any credential); nil when it does not.
func Allows(p *store.APIProduct, c Call) *Match {
	if len(p.Environments) > 0 && !contains(p.Environments, c.Env) {
		return nil
	}
	if g := p.OperationGroup; g != nil && len(g.OperationConfigs) > 0 {
		if g.OperationConfigType != "" && !strings.EqualFold(g.OperationConfigType, "proxy") {
			return nil
		}
		for i := range g.OperationConfigs {
			oc := &g.OperationConfigs[i]
			if oc.APISource != c.Proxy {
				continue
			}
			for j := range oc.Operations {
				op := &oc.Operations[j]
				if MatchResource(op.Resource, c.PathSuffix) && methodAllowed(op.Methods, c.Verb) {
					return &Match{Product: p, Config: oc, Operation: op}
				}
			}
		}
		return nil
	}
	if len(p.Proxies) > 0 && !contains(p.Proxies, c.Proxy) {
		return nil
	}
	if !AnyResource(p.APIResources, c.PathSuffix) {
		return nil
	}
	return &Match{Product: p}
}

// AnyResource reports whether path matches one of patterns; no patterns
// allow every path.
func AnyResource(patterns []string, path string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, pat := range patterns {
		if MatchResource(pat, path) {
			return true
		}
	}
	return false
}

// MatchResource matches a path suffix against one resource pattern (see
// the package comment).
func MatchResource(pattern, path string) bool {
	pattern = strings.TrimSpace(pattern)
	if pattern == "" {
		return false
	}
	if pattern == "/**" {
		return true
	}
	pat := segments(pattern)
	got := segments(path)
	return matchSegments(pat, got)
}

// segments splits "/a/b/" into [a b]; "/" and "" are no segments.
func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func matchSegments(pat, got []string) bool {
	for i, s := range pat {
		switch s {
		case "**":
			rest := pat[i+1:]
			// One or more segments, then the rest of the pattern.
			for k := 1; k <= len(got); k++ {
				if matchSegments(rest, got[k:]) {
					return true
				}
			}
			return false
		case "*":
			if len(got) == 0 || got[0] == "" {
				return false
			}
		default:
			if len(got) == 0 || got[0] != s {
				return false
			}
		}
		got = got[1:]
	}
	return len(got) == 0
}

func methodAllowed(methods []string, verb string) bool {
	if len(methods) == 0 {
		return true
	}
	for _, m := range methods {
		if strings.EqualFold(m, verb) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
