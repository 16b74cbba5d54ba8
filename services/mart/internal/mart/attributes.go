package mart

import (
	"net/http"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// The attributes sub-resources of developers, developer apps and API
// products (google.cloud.apigee.v1 …attributes.list/get/delete,
// update…Attribute, and the entity's own `attributes` method that replaces
// the whole list). Every answer is 200; a list is {"attribute": […]}, one
// attribute {"name", "value"}.

// attributesOut is GoogleCloudApigeeV1Attributes; like Google's APIs it
// leaves out an empty list.
type attributesOut struct {
	Attribute []store.Attribute `json:"attribute,omitempty"`
}

type attributesIn struct {
	Attribute []store.Attribute `json:"attribute"`
}

type attributeIn struct {
	Name  *string `json:"name"`
	Value string  `json:"value"`
}

// attributeStore is one entity kind's attribute operations, bound to the
// request's path.
type attributeStore struct {
	list    func(r *http.Request) ([]store.Attribute, error)
	get     func(r *http.Request, name string) (*store.Attribute, error)
	replace func(r *http.Request, attrs []store.Attribute) ([]store.Attribute, error)
	set     func(r *http.Request, at store.Attribute) (*store.Attribute, error)
	delete  func(r *http.Request, name string) (*store.Attribute, error)
}

// listAttributes: GET …/attributes → {"attribute": […]}.
func (a *API) listAttributes(s attributeStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		attrs, err := s.list(r)
		if err != nil {
			return err
		}
		return ok(w, attributesOut{Attribute: attrs})
	}
}

// replaceAttributes: POST …/attributes {"attribute": […]} replaces the
// whole list and returns it.
func (a *API) replaceAttributes(s attributeStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in attributesIn
		if err := a.decode(w, r, &in); err != nil {
			return err
		}
		if err := checkAttributes(in.Attribute); err != nil {
			return err
		}
		attrs, err := s.replace(r, in.Attribute)
		if err != nil {
			return err
		}
		return ok(w, attributesOut{Attribute: attrs})
	}
}

// getAttribute: GET …/attributes/{attribute}.
func (a *API) getAttribute(s attributeStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		at, err := s.get(r, r.PathValue("attribute"))
		if err != nil {
			return err
		}
		return ok(w, at)
	}
}

// setAttribute: POST …/attributes/{attribute} {"value"} updates the
// attribute, or adds it; the name is the path's.
func (a *API) setAttribute(s attributeStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in attributeIn
		if err := a.decode(w, r, &in); err != nil {
			return err
		}
		name := r.PathValue("attribute")
		if in.Name != nil && *in.Name != "" && *in.Name != name {
			return apierr.InvalidArgument("Attribute name in the body (%s) does not match the one in the path (%s).", *in.Name, name)
		}
		at, err := s.set(r, store.Attribute{Name: name, Value: in.Value})
		if err != nil {
			return err
		}
		return ok(w, at)
	}
}

// deleteAttribute: DELETE …/attributes/{attribute} returns what it removed.
func (a *API) deleteAttribute(s attributeStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		at, err := s.delete(r, r.PathValue("attribute"))
		if err != nil {
			return err
		}
		return ok(w, at)
	}
}

func (a *API) developerAttributes() attributeStore {
	dev := func(r *http.Request) string { return r.PathValue("developer") }
	return attributeStore{
		list: func(r *http.Request) ([]store.Attribute, error) {
			return a.kms.DeveloperAttributes(r.Context(), a.org, dev(r))
		},
		get: func(r *http.Request, name string) (*store.Attribute, error) {
			return a.kms.DeveloperAttribute(r.Context(), a.org, dev(r), name)
		},
		replace: func(r *http.Request, attrs []store.Attribute) ([]store.Attribute, error) {
			return a.kms.ReplaceDeveloperAttributes(r.Context(), a.org, dev(r), attrs)
		},
		set: func(r *http.Request, at store.Attribute) (*store.Attribute, error) {
			return a.kms.SetDeveloperAttribute(r.Context(), a.org, dev(r), at)
		},
		delete: func(r *http.Request, name string) (*store.Attribute, error) {
			return a.kms.DeleteDeveloperAttribute(r.Context(), a.org, dev(r), name)
		},
	}
}

func (a *API) appAttributes() attributeStore {
	ref := func(r *http.Request) (string, string) { return r.PathValue("developer"), r.PathValue("app") }
	return attributeStore{
		list: func(r *http.Request) ([]store.Attribute, error) {
			d, app := ref(r)
			return a.kms.AppAttributes(r.Context(), a.org, d, app)
		},
		get: func(r *http.Request, name string) (*store.Attribute, error) {
			d, app := ref(r)
			return a.kms.AppAttribute(r.Context(), a.org, d, app, name)
		},
		replace: func(r *http.Request, attrs []store.Attribute) ([]store.Attribute, error) {
			d, app := ref(r)
			return a.kms.ReplaceAppAttributes(r.Context(), a.org, d, app, attrs)
		},
		set: func(r *http.Request, at store.Attribute) (*store.Attribute, error) {
			d, app := ref(r)
			return a.kms.SetAppAttribute(r.Context(), a.org, d, app, at)
		},
		delete: func(r *http.Request, name string) (*store.Attribute, error) {
			d, app := ref(r)
			return a.kms.DeleteAppAttribute(r.Context(), a.org, d, app, name)
		},
	}
}

func (a *API) productAttributes() attributeStore {
	prod := func(r *http.Request) string { return r.PathValue("product") }
	return attributeStore{
		list: func(r *http.Request) ([]store.Attribute, error) {
			return a.kms.ProductAttributes(r.Context(), a.org, prod(r))
		},
		get: func(r *http.Request, name string) (*store.Attribute, error) {
			return a.kms.ProductAttribute(r.Context(), a.org, prod(r), name)
		},
		replace: func(r *http.Request, attrs []store.Attribute) ([]store.Attribute, error) {
			return a.kms.ReplaceProductAttributes(r.Context(), a.org, prod(r), attrs)
		},
		set: func(r *http.Request, at store.Attribute) (*store.Attribute, error) {
			return a.kms.SetProductAttribute(r.Context(), a.org, prod(r), at)
		},
		delete: func(r *http.Request, name string) (*store.Attribute, error) {
			return a.kms.DeleteProductAttribute(r.Context(), a.org, prod(r), name)
		},
	}
}
