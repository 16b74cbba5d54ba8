package store

import (
	"context"
	"fmt"
)

// MaxAttributes is Apigee's custom attribute limit per entity ("The custom
// attribute limit is 18", organizations.developers.attributes).
const MaxAttributes = 18

// CheckAttributes validates a whole attribute list: at most MaxAttributes,
// names non-empty and unique. Violations are ErrInvalid.
func CheckAttributes(attrs []Attribute) error {
	if len(attrs) > MaxAttributes {
		return errorf(ErrInvalid, "At most %d custom attributes are allowed, got %d.", MaxAttributes, len(attrs))
	}
	seen := make(map[string]bool, len(attrs))
	for _, at := range attrs {
		if at.Name == "" {
			return errorf(ErrInvalid, "Attribute names must not be empty.")
		}
		if seen[at.Name] {
			return errorf(ErrInvalid, "Attribute %q appears more than once.", at.Name)
		}
		seen[at.Name] = true
	}
	return nil
}

func attributeNotFound(name, kind, owner string) error {
	return errorf(ErrNotFound, "Attribute %s does not exist for %s %s.", name, kind, owner)
}

// findAttribute returns the index of the named attribute, or -1.
func findAttribute(attrs []Attribute, name string) int {
	for i, at := range attrs {
		if at.Name == name {
			return i
		}
	}
	return -1
}

// setAttribute updates the named attribute in place or appends it.
func setAttribute(attrs []Attribute, at Attribute) ([]Attribute, error) {
	if at.Name == "" {
		return nil, errorf(ErrInvalid, "Attribute names must not be empty.")
	}
	out := append([]Attribute(nil), attrs...)
	if i := findAttribute(out, at.Name); i >= 0 {
		out[i].Value = at.Value
		return out, nil
	}
	out = append(out, at)
	if err := CheckAttributes(out); err != nil {
		return nil, err
	}
	return out, nil
}

// removeAttribute drops the named attribute and returns it.
func removeAttribute(attrs []Attribute, name, kind, owner string) ([]Attribute, Attribute, error) {
	i := findAttribute(attrs, name)
	if i < 0 {
		return nil, Attribute{}, attributeNotFound(name, kind, owner)
	}
	removed := attrs[i]
	return append(attrs[:i:i], attrs[i+1:]...), removed, nil
}

func getAttribute(attrs []Attribute, name, kind, owner string) (*Attribute, error) {
	if i := findAttribute(attrs, name); i >= 0 {
		at := attrs[i]
		return &at, nil
	}
	return nil, attributeNotFound(name, kind, owner)
}

// Developer attributes.

// DeveloperAttributes lists a developer's attributes in their order.
func (k *KMS) DeveloperAttributes(ctx context.Context, org, devRef string) ([]Attribute, error) {
	r, err := k.resolveDeveloper(ctx, org, devRef)
	if err != nil {
		return nil, err
	}
	return r.dev.Attributes, nil
}

// DeveloperAttribute reads one developer attribute; unknown: ErrNotFound.
func (k *KMS) DeveloperAttribute(ctx context.Context, org, devRef, name string) (*Attribute, error) {
	r, err := k.resolveDeveloper(ctx, org, devRef)
	if err != nil {
		return nil, err
	}
	return getAttribute(r.dev.Attributes, name, "developer", r.dev.Email)
}

// ReplaceDeveloperAttributes replaces all of a developer's attributes.
func (k *KMS) ReplaceDeveloperAttributes(ctx context.Context, org, devRef string, attrs []Attribute) ([]Attribute, error) {
	if err := CheckAttributes(attrs); err != nil {
		return nil, err
	}
	d, err := k.updateDeveloper(ctx, org, devRef, func(d *Developer) error { d.Attributes = attrs; return nil })
	if err != nil {
		return nil, err
	}
	return d.Attributes, nil
}

// SetDeveloperAttribute updates one developer attribute, or adds it.
func (k *KMS) SetDeveloperAttribute(ctx context.Context, org, devRef string, at Attribute) (*Attribute, error) {
	_, err := k.updateDeveloper(ctx, org, devRef, func(d *Developer) error {
		var err error
		d.Attributes, err = setAttribute(d.Attributes, at)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &at, nil
}

// DeleteDeveloperAttribute removes one developer attribute and returns it.
func (k *KMS) DeleteDeveloperAttribute(ctx context.Context, org, devRef, name string) (*Attribute, error) {
	var removed Attribute
	_, err := k.updateDeveloper(ctx, org, devRef, func(d *Developer) error {
		var err error
		d.Attributes, removed, err = removeAttribute(d.Attributes, name, "developer", d.Email)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &removed, nil
}

// App attributes.

// AppAttributes lists a developer app's attributes in their order.
func (k *KMS) AppAttributes(ctx context.Context, org, devRef, app string) ([]Attribute, error) {
	_, r, err := k.appFor(ctx, org, developerRef(devRef), app)
	if err != nil {
		return nil, err
	}
	return r.app.Attributes, nil
}

// AppAttribute reads one app attribute; unknown: ErrNotFound.
func (k *KMS) AppAttribute(ctx context.Context, org, devRef, app, name string) (*Attribute, error) {
	_, r, err := k.appFor(ctx, org, developerRef(devRef), app)
	if err != nil {
		return nil, err
	}
	return getAttribute(r.app.Attributes, name, "app", app)
}

// ReplaceAppAttributes replaces all of an app's attributes.
func (k *KMS) ReplaceAppAttributes(ctx context.Context, org, devRef, app string, attrs []Attribute) ([]Attribute, error) {
	if err := CheckAttributes(attrs); err != nil {
		return nil, err
	}
	a, err := k.updateApp(ctx, org, developerRef(devRef), app, func(a *App) error { a.Attributes = attrs; return nil })
	if err != nil {
		return nil, err
	}
	return a.Attributes, nil
}

// SetAppAttribute updates one app attribute, or adds it.
func (k *KMS) SetAppAttribute(ctx context.Context, org, devRef, app string, at Attribute) (*Attribute, error) {
	_, err := k.updateApp(ctx, org, developerRef(devRef), app, func(a *App) error {
		var err error
		a.Attributes, err = setAttribute(a.Attributes, at)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &at, nil
}

// DeleteAppAttribute removes one app attribute and returns it.
func (k *KMS) DeleteAppAttribute(ctx context.Context, org, devRef, app, name string) (*Attribute, error) {
	var removed Attribute
	_, err := k.updateApp(ctx, org, developerRef(devRef), app, func(a *App) error {
		var err error
		a.Attributes, removed, err = removeAttribute(a.Attributes, name, "app", app)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &removed, nil
}

// API product attributes.

// updateProductAttributes is a read-modify-write of a product's attributes,
// guarded by its revision.
func (k *KMS) updateProductAttributes(ctx context.Context, org, name string, mutate func([]Attribute) ([]Attribute, error)) ([]Attribute, error) {
	for range casRetries {
		r, err := k.productRow(ctx, org, name)
		if err != nil {
			return nil, err
		}
		attrs, err := mutate(append([]Attribute(nil), r.p.Attributes...))
		if err != nil {
			return nil, err
		}
		enc, err := encodeJSON(attrs)
		if err != nil {
			return nil, err
		}
		applied, err := casApplied(ctx, k.session.Query(fmt.Sprintf(
			`UPDATE %s.api_products SET attributes = ?, last_modified_at = ?, revision = ? WHERE name = ? IF revision = ?`, kmsKS(org)),
			enc, max(k.now(), r.p.LastModifiedAt), r.revision+1, name, r.revision))
		if err != nil {
			return nil, fmt.Errorf("store: update API product %s: %w", name, err)
		}
		if applied {
			return attrs, nil
		}
	}
	return nil, errorf(ErrConflict, "API product %s is being modified concurrently; try again.", name)
}

// ProductAttributes lists an API product's attributes in their order.
func (k *KMS) ProductAttributes(ctx context.Context, org, product string) ([]Attribute, error) {
	r, err := k.productRow(ctx, org, product)
	if err != nil {
		return nil, err
	}
	return r.p.Attributes, nil
}

// ProductAttribute reads one API product attribute; unknown: ErrNotFound.
func (k *KMS) ProductAttribute(ctx context.Context, org, product, name string) (*Attribute, error) {
	r, err := k.productRow(ctx, org, product)
	if err != nil {
		return nil, err
	}
	return getAttribute(r.p.Attributes, name, "API product", product)
}

// ReplaceProductAttributes replaces all of an API product's attributes.
func (k *KMS) ReplaceProductAttributes(ctx context.Context, org, product string, attrs []Attribute) ([]Attribute, error) {
	if err := CheckAttributes(attrs); err != nil {
		return nil, err
	}
	return k.updateProductAttributes(ctx, org, product, func([]Attribute) ([]Attribute, error) { return attrs, nil })
}

// SetProductAttribute updates one API product attribute, or adds it.
func (k *KMS) SetProductAttribute(ctx context.Context, org, product string, at Attribute) (*Attribute, error) {
	if _, err := k.updateProductAttributes(ctx, org, product, func(cur []Attribute) ([]Attribute, error) {
		return setAttribute(cur, at)
	}); err != nil {
		return nil, err
	}
	return &at, nil
}

// DeleteProductAttribute removes one API product attribute and returns it.
func (k *KMS) DeleteProductAttribute(ctx context.Context, org, product, name string) (*Attribute, error) {
	var removed Attribute
	if _, err := k.updateProductAttributes(ctx, org, product, func(cur []Attribute) ([]Attribute, error) {
		out, at, err := removeAttribute(cur, name, "API product", product)
		removed = at
		return out, err
	}); err != nil {
		return nil, err
	}
	return &removed, nil
}
