package mart

import (
	"net/http"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// listProducts: GET …/apiproducts?expand&count&startKey&attributename&attributevalue.
// Without expand each product is just {"name"}.
func (a *API) listProducts(w http.ResponseWriter, r *http.Request) error {
	expand, err := boolParam(r, "expand")
	if err != nil {
		return err
	}
	count, err := intParam(r, "count", 1000, 1000)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	products, err := a.kms.ListProducts(r.Context(), a.org, store.Page{StartKey: q.Get("startKey"), Count: count})
	if err != nil {
		return err
	}
	attrName, attrValue := q.Get("attributename"), q.Get("attributevalue")
	out := make([]productOut, 0, len(products))
	for _, p := range products {
		if attrName != "" && !hasAttribute(p.Attributes, attrName, attrValue) {
			continue
		}
		if expand {
			out = append(out, prodOut(p))
		} else {
			out = append(out, productOut{Name: p.Name})
		}
	}
	return ok(w, map[string]any{"apiProduct": out})
}

func hasAttribute(attrs []store.Attribute, name, value string) bool {
	for _, at := range attrs {
		if at.Name == name && (value == "" || at.Value == value) {
			return true
		}
	}
	return false
}

func (a *API) createProduct(w http.ResponseWriter, r *http.Request) error {
	var in productIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	p, err := in.toStore()
	if err != nil {
		return err
	}
	out, err := a.kms.CreateProduct(r.Context(), a.org, p)
	if err != nil {
		return err
	}
	return created(w, prodOut(out))
}

func (a *API) getProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := a.kms.GetProduct(r.Context(), a.org, r.PathValue("product"))
	if err != nil {
		return err
	}
	return ok(w, prodOut(p))
}

// updateProduct: PUT replaces everything but the name.
func (a *API) updateProduct(w http.ResponseWriter, r *http.Request) error {
	var in productIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("product")
	if in.Name == "" {
		in.Name = name
	}
	if in.Name != name {
		return apierr.InvalidArgument("API product name cannot be changed (from %s to %s).", name, in.Name)
	}
	p, err := in.toStore()
	if err != nil {
		return err
	}
	out, err := a.kms.UpdateProduct(r.Context(), a.org, name, p)
	if err != nil {
		return err
	}
	return ok(w, prodOut(out))
}

func (a *API) deleteProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := a.kms.DeleteProduct(r.Context(), a.org, r.PathValue("product"))
	if err != nil {
		return err
	}
	return ok(w, prodOut(p))
}
