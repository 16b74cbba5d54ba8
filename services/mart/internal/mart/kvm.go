package mart

import (
	"net/http"
	"regexp"

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

func envScope(r *http.Request) (store.Scope, error) {
	env := r.PathValue("env")
	if !envNameRE.MatchString(env) {
		return store.Scope{}, invalid("Invalid environment name %q.", env)
	}
	return store.EnvScope(env), nil
}

func proxyScope(r *http.Request) (store.Scope, error) {
	api := r.PathValue("api")
	if !proxyNameRE.MatchString(api) {
		return store.Scope{}, invalid("Invalid API proxy name %q.", api)
	}
	return store.ProxyScope(api), nil
}

// listMaps: GET …/keyvaluemaps → a JSON array of names.
func (a *API) listMaps(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		names, err := a.kvm.ListMaps(r.Context(), a.org, sc)
		if err != nil {
			return err
		}
		return ok(w, names)
	}
}

// createMap: POST …/keyvaluemaps {name, encrypted, maskedValues}. Maps are
// always stored encrypted; `encrypted: false` is accepted for older
// clients and reported back as true, as Apigee X and hybrid do.
func (a *API) createMap(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
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
}

func (a *API) getMap(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		m, err := a.kvm.GetMap(r.Context(), a.org, sc, r.PathValue("map"))
		if err != nil {
			return err
		}
		return ok(w, kvmOut(m))
	}
}

// updateMap: PUT changes maskedValues (the only mutable property).
func (a *API) updateMap(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		var in mapIn
		if err := a.decode(w, r, &in); err != nil {
			return err
		}
		name := r.PathValue("map")
		if in.Name != "" && in.Name != name {
			return invalid("Key value map name cannot be changed (from %s to %s).", name, in.Name)
		}
		m, err := a.kvm.SetMaskedValues(r.Context(), a.org, sc, name, in.MaskedValues)
		if err != nil {
			return err
		}
		return ok(w, kvmOut(m))
	}
}

func (a *API) deleteMap(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		m, err := a.kvm.DeleteMap(r.Context(), a.org, sc, r.PathValue("map"))
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
func (a *API) listEntries(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
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
}

// createEntry: POST …/entries {"name","value"} (as apigeecli sends it).
func (a *API) createEntry(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		var in entryIn
		if err := a.decode(w, r, &in); err != nil {
			return err
		}
		if in.Name == nil {
			return invalid("Entry name is required.")
		}
		if err := checkName("Entry", *in.Name); err != nil {
			return err
		}
		if in.Value == nil {
			return invalid("Entry value is required.")
		}
		e, err := a.kvm.CreateEntry(r.Context(), a.org, sc, r.PathValue("map"), *in.Name, *in.Value)
		if err != nil {
			return err
		}
		return created(w, entryOut{Name: e.Name, Value: e.Value})
	}
}

func (a *API) getEntry(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		m, err := a.kvm.GetMap(r.Context(), a.org, sc, r.PathValue("map"))
		if err != nil {
			return err
		}
		e, err := a.kvm.GetEntry(r.Context(), a.org, sc, m.Name, r.PathValue("entry"))
		if err != nil {
			return err
		}
		return ok(w, masked(m, *e))
	}
}

// updateEntry: PUT …/entries/{entry} {"value"} changes an existing entry.
func (a *API) updateEntry(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		var in entryIn
		if err := a.decode(w, r, &in); err != nil {
			return err
		}
		name := r.PathValue("entry")
		if in.Name != nil && *in.Name != "" && *in.Name != name {
			return invalid("Entry name cannot be changed (from %s to %s).", name, *in.Name)
		}
		if in.Value == nil {
			return invalid("Entry value is required.")
		}
		e, err := a.kvm.UpdateEntry(r.Context(), a.org, sc, r.PathValue("map"), name, *in.Value)
		if err != nil {
			return err
		}
		return ok(w, entryOut{Name: e.Name, Value: e.Value})
	}
}

func (a *API) deleteEntry(scope scopeFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sc, err := scope(r)
		if err != nil {
			return err
		}
		m, err := a.kvm.GetMap(r.Context(), a.org, sc, r.PathValue("map"))
		if err != nil {
			return err
		}
		e, err := a.kvm.DeleteEntry(r.Context(), a.org, sc, m.Name, r.PathValue("entry"))
		if err != nil {
			return err
		}
		return ok(w, masked(m, *e))
	}
}
