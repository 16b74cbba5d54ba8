package mart

import (
	"context"
	"net/http"
	"regexp"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// MaskedValue replaces entry values of maps created with maskedValues.
// Otherwise entries read back in plaintext, as Apigee X and hybrid return
// them (they are still stored encrypted: hybrid has no unencrypted maps).
const MaskedValue = "*****"

type scopeFunc func(*http.Request) (store.Scope, error)

var (
	envNameRE   = regexp.MustCompile(`^[.a-zA-Z0-9_\-]{1,255}$`)
	proxyNameRE = regexp.MustCompile(`^[a-zA-Z0-9._\-$%]{1,255}$`)
)

func orgScope(*http.Request) (store.Scope, error) { return store.OrgScope(), nil }

func envScope(r *http.Request) (store.Scope, error) {
	env := r.PathValue("env")
	if !envNameRE.MatchString(env) {
		return store.Scope{}, apierr.InvalidArgument("Invalid environment name %q.", env)
	}
	return store.EnvScope(env), nil
}

func proxyScope(r *http.Request) (store.Scope, error) {
	api := r.PathValue("api")
	if !proxyNameRE.MatchString(api) {
		return store.Scope{}, apierr.InvalidArgument("Invalid API proxy name %q.", api)
	}
	return store.ProxyScope(api), nil
}

// kvmRoutes registers the key value map API under prefix (the org, an
// environment or an API proxy); scope reads the path's scope, and every
// handler runs only once it has.
func (a *API) kvmRoutes(prefix string, scope scopeFunc) {
	maps := prefix + "/keyvaluemaps"
	m := maps + "/{map}"
	e := m + "/entries/{entry}"
	for _, rt := range []struct {
		pattern string
		h       scopedFunc
	}{
		{"GET " + maps, a.listMaps},
		{"POST " + maps, a.createMap},
		{"GET " + m, a.mapOp(a.kvm.GetMap)},
		{"PUT " + m, a.updateMap},
		{"DELETE " + m, a.mapOp(a.kvm.DeleteMap)},
		{"GET " + m + "/entries", a.listEntries},
		{"POST " + m + "/entries", a.createEntry},
		{"GET " + e, a.entryOp(a.kvm.GetEntry)},
		{"PUT " + e, a.updateEntry},
		{"DELETE " + e, a.entryOp(a.kvm.DeleteEntry)},
	} {
		a.handle(rt.pattern, func(w http.ResponseWriter, r *http.Request) error {
			sc, err := scope(r)
			if err != nil {
				return err
			}
			return rt.h(w, r, sc)
		})
	}
}

// scopedFunc is a KVM handler, given the scope its path names.
type scopedFunc func(w http.ResponseWriter, r *http.Request, sc store.Scope) error

// listMaps: GET …/keyvaluemaps → a JSON array of names.
func (a *API) listMaps(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
	names, err := a.kvm.ListMaps(r.Context(), a.org, sc)
	if err != nil {
		return err
	}
	return ok(w, names)
}

// createMap: POST …/keyvaluemaps {name, encrypted, maskedValues}. Maps are
// always stored encrypted; `encrypted: false` is accepted for older
// clients and reported back as true, as Apigee X and hybrid do.
func (a *API) createMap(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
	var in mapIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := checkName("Key value map", in.Name); err != nil {
		return err
	}
	m, err := a.kvm.CreateMap(r.Context(), a.org, sc, in.Name, in.MaskedValues)
	if err != nil {
		return err
	}
	return created(w, kvmOut(m))
}

// updateMap: PUT changes maskedValues (the only mutable property).
func (a *API) updateMap(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
	var in mapIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("map")
	if in.Name != "" && in.Name != name {
		return apierr.InvalidArgument("Key value map name cannot be changed (from %s to %s).", name, in.Name)
	}
	m, err := a.kvm.SetMaskedValues(r.Context(), a.org, sc, name, in.MaskedValues)
	if err != nil {
		return err
	}
	return ok(w, kvmOut(m))
}

// mapOp serves GET and DELETE …/keyvaluemaps/{map}: op reads or removes
// the map, which the response describes.
func (a *API) mapOp(op func(ctx context.Context, org string, sc store.Scope, name string) (*store.KeyValueMap, error)) scopedFunc {
	return func(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
		m, err := op(r.Context(), a.org, sc, r.PathValue("map"))
		if err != nil {
			return err
		}
		return ok(w, kvmOut(m))
	}
}

func masked(m *store.KeyValueMap, e store.KeyValueEntry) entryOut {
	if m.MaskedValues {
		return entryOut{Name: e.Name, Value: MaskedValue}
	}
	return entryOut{Name: e.Name, Value: e.Value}
}

// listEntries: GET …/entries?pageSize&pageToken → {keyValueEntries,
// nextPageToken}; the token is the next page's first entry name.
func (a *API) listEntries(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
	size, err := intParam(r, "pageSize", 100, 1000)
	if err != nil {
		return err
	}
	m, err := a.kvm.GetMap(r.Context(), a.org, sc, r.PathValue("map"))
	if err != nil {
		return err
	}
	entries, next, err := a.kvm.ListEntries(r.Context(), a.org, sc, m.Name, r.URL.Query().Get("pageToken"), size)
	if err != nil {
		return err
	}
	out := make([]entryOut, 0, len(entries))
	for _, e := range entries {
		out = append(out, masked(m, e))
	}
	resp := map[string]any{"keyValueEntries": out}
	if next != "" {
		resp["nextPageToken"] = next
	}
	return ok(w, resp)
}

// createEntry: POST …/entries {"name","value"} (as apigeecli sends it).
func (a *API) createEntry(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
	var in entryIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return apierr.InvalidArgument("Entry name is required.")
	}
	if err := checkName("Entry", *in.Name); err != nil {
		return err
	}
	if in.Value == nil {
		return apierr.InvalidArgument("Entry value is required.")
	}
	e, err := a.kvm.CreateEntry(r.Context(), a.org, sc, r.PathValue("map"), *in.Name, *in.Value)
	if err != nil {
		return err
	}
	return created(w, entryOut{Name: e.Name, Value: e.Value})
}

// updateEntry: PUT …/entries/{entry} {"value"} changes an existing entry.
func (a *API) updateEntry(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
	var in entryIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("entry")
	if in.Name != nil && *in.Name != "" && *in.Name != name {
		return apierr.InvalidArgument("Entry name cannot be changed (from %s to %s).", name, *in.Name)
	}
	if in.Value == nil {
		return apierr.InvalidArgument("Entry value is required.")
	}
	e, err := a.kvm.UpdateEntry(r.Context(), a.org, sc, r.PathValue("map"), name, *in.Value)
	if err != nil {
		return err
	}
	return ok(w, entryOut{Name: e.Name, Value: e.Value})
}

// entryOp serves GET and DELETE …/entries/{entry}: once the map is found,
// op reads or removes the entry, which the response shows (masked if the
// map masks its values).
func (a *API) entryOp(op func(ctx context.Context, org string, sc store.Scope, mapName, name string) (*store.KeyValueEntry, error)) scopedFunc {
	return func(w http.ResponseWriter, r *http.Request, sc store.Scope) error {
		m, err := a.kvm.GetMap(r.Context(), a.org, sc, r.PathValue("map"))
		if err != nil {
			return err
		}
		e, err := op(r.Context(), a.org, sc, m.Name, r.PathValue("entry"))
		if err != nil {
			return err
		}
		return ok(w, masked(m, *e))
	}
}
