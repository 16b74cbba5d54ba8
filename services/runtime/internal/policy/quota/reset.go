package quota

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// resetTarget is one <Quota> of a ResetQuota policy.
type resetTarget struct {
	name, ref string
	ids       []resetID
}

type resetID struct {
	name, ref       string
	allow, allowRef string
}

// resetPolicy is a compiled <ResetQuota>: it lowers the current count of
// a Quota policy of the same proxy by <Allow> (never below zero), letting
// that many more requests through until the window ends.
type resetPolicy struct {
	name    string
	targets []resetTarget
	// quotas are the bundle's Quota policies, compiled with the bundle.
	quotas map[string]*policy
}

// CompileReset compiles a <ResetQuota> policy.
func CompileReset(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("ResetQuota", "%v", err)
	}
	rp := &resetPolicy{name: cc.Policy.Name, quotas: map[string]*policy{}}
	qs := root.All("Quota")
	if len(qs) == 0 {
		return nil, flow.Invalid("ResetQuota/Quota", "a <Quota> naming the Quota policy is required")
	}
	for _, q := range qs {
		t := resetTarget{name: q.Attr("name"), ref: q.Attr("ref")}
		if t.name == "" && t.ref == "" {
			return nil, flow.Invalid("ResetQuota/Quota", "name or ref is required")
		}
		ids := q.All("Identifier")
		if len(ids) == 0 {
			return nil, flow.Invalid("ResetQuota/Quota/Identifier", "an <Identifier> is required (name=\"_default\" for a Quota without one)")
		}
		for _, id := range ids {
			a := id.Child("Allow")
			if a == nil {
				return nil, flow.Invalid("ResetQuota/Quota/Identifier/Allow", "an <Allow> count (value or ref) is required")
			}
			r := resetID{name: id.Attr("name"), ref: id.Attr("ref"), allow: a.Text, allowRef: a.Attr("ref")}
			if r.allow == "" && r.allowRef == "" {
				return nil, flow.Invalid("ResetQuota/Quota/Identifier/Allow", "an <Allow> count (value or ref) is required")
			}
			if r.allow != "" {
				if n, err := strconv.ParseInt(r.allow, 10, 64); err != nil || n < 0 {
					return nil, flow.Invalid("ResetQuota/Quota/Identifier/Allow", "invalid count %q", r.allow)
				}
			}
			t.ids = append(t.ids, r)
		}
		rp.targets = append(rp.targets, t)
	}
	if cc.Bundle != nil {
		for name, p := range cc.Bundle.Policies {
			if p.Type != "Quota" {
				continue
			}
			cfg, err := parseConfig(p.XML, name, stepLookup(cc))
			if err != nil {
				continue // the Quota policy's own compile reports it
			}
			st, err := storeFor(cc, cfg.mode)
			if err != nil {
				return nil, err
			}
			rp.quotas[name] = &policy{cfg: cfg, store: st, env: cc.Env, proxy: proxyName(cc)}
		}
	}
	return rp, nil
}

func (rp *resetPolicy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	for _, t := range rp.targets {
		name := t.name
		if v, ok := lookup(mc, t.ref); ok {
			name = v
		}
		q := rp.quotas[name]
		if q == nil {
			return flow.Errorf(http.StatusInternalServerError, CodeResetInvalidPolicy, "Invalid rate limit policy %s", name)
		}
		for _, id := range t.ids {
			ident := id.name
			if v, ok := lookup(mc, id.ref); ok {
				ident = v
			}
			if ident == "" {
				ident = DefaultIdentifier
			}
			allow := id.allow
			if v, ok := lookup(mc, id.allowRef); ok {
				allow = v
			}
			n, err := strconv.ParseInt(strings.TrimSpace(allow), 10, 64)
			if allow == "" || err != nil || n < 0 {
				return flow.Errorf(http.StatusInternalServerError, CodeResetAllowUnresolved, "Failed to resolve allow count reference %s for identifier %s in policy %s", id.allowRef, ident, rp.name)
			}
			s, err := q.cfg.resolve(mc)
			if err != nil {
				return err
			}
			s.identifier = ident
			key := q.key(s)
			w, err := q.cfg.window(ctx, q.store, key, s)
			if err != nil {
				return err
			}
			if err := q.store.Adjust(ctx, q.cfg.mode, key, w.slices, n, w.rowExpires); err != nil {
				return err
			}
		}
	}
	return nil
}
