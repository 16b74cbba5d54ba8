package flow

import "strings"

// PropertySets are the property sets a proxy revision sees, by set name:
// its own (<root>/resources/properties/<set>.properties) and the
// environment's resource files of type properties, where a proxy-scoped set
// shadows an environment-scoped set of the same name as a whole. They are
// read as propertyset.<set>.<key> and are read-only.
type PropertySets map[string]map[string]string

// MergePropertySets returns the sets a bundle sees: env's, replaced by
// bundle's of the same name. Neither input is modified.
func MergePropertySets(bundle, env map[string]map[string]string) PropertySets {
	if len(bundle) == 0 && len(env) == 0 {
		return nil
	}
	out := make(PropertySets, len(bundle)+len(env))
	for n, s := range env {
		out[n] = s
	}
	for n, s := range bundle {
		out[n] = s
	}
	return out
}

// Lookup resolves "<set>.<key>" (the part after "propertyset."). Set names
// may contain dots ("myconfig.my_key.properties" is the set
// "myconfig.my_key"), so every split is tried, shortest set name first.
func (ps PropertySets) Lookup(ref string) (string, bool) {
	if len(ps) == 0 {
		return "", false
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] != '.' {
			continue
		}
		if set, ok := ps[ref[:i]]; ok {
			if v, ok := set[ref[i+1:]]; ok {
				return v, true
			}
		}
	}
	return "", false
}

// Resolves reports whether ref ("<set>.<key>", or just "<set>") names an
// existing set, and if not, the set name it most likely means (up to the
// first dot).
func (ps PropertySets) Resolves(ref string) (bool, string) {
	if _, ok := ps[ref]; ok {
		return true, ""
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] == '.' {
			if _, ok := ps[ref[:i]]; ok {
				return true, ""
			}
		}
	}
	set, _, _ := strings.Cut(ref, ".")
	return false, set
}
