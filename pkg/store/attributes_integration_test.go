//go:build integration

package store_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// attrOps is one entity kind's attribute functions.
type attrOps struct {
	kind    string
	list    func() ([]store.Attribute, error)
	get     func(name string) (*store.Attribute, error)
	replace func([]store.Attribute) ([]store.Attribute, error)
	set     func(store.Attribute) (*store.Attribute, error)
	del     func(name string) (*store.Attribute, error)
	entity  func() []store.Attribute // the attributes as the entity's own read shows them
}

func (e *env) attrKinds(t *testing.T) []attrOps {
	t.Helper()
	ctx, org, k := e.ctx, e.org, e.kms
	start := []store.Attribute{{Name: "access", Value: "public"}}
	_, err := k.CreateProduct(ctx, org, store.APIProduct{Name: "gold", Attributes: start})
	require.NoError(t, err)
	d, err := k.CreateDeveloper(ctx, org, store.Developer{Email: "ann@example.com", FirstName: "A", LastName: "L", UserName: "a", Attributes: start})
	require.NoError(t, err)
	_, err = k.CreateApp(ctx, org, d.DeveloperID, store.NewApp{Name: "app1", APIProducts: []string{"gold"}, Attributes: start})
	require.NoError(t, err)
	const dev, app, prod = "ann@example.com", "app1", "gold"
	return []attrOps{
		{
			kind: "developer",
			list: func() ([]store.Attribute, error) { return k.DeveloperAttributes(ctx, org, dev) },
			get:  func(n string) (*store.Attribute, error) { return k.DeveloperAttribute(ctx, org, dev, n) },
			replace: func(a []store.Attribute) ([]store.Attribute, error) {
				return k.ReplaceDeveloperAttributes(ctx, org, d.DeveloperID, a)
			},
			set: func(a store.Attribute) (*store.Attribute, error) { return k.SetDeveloperAttribute(ctx, org, dev, a) },
			del: func(n string) (*store.Attribute, error) { return k.DeleteDeveloperAttribute(ctx, org, dev, n) },
			entity: func() []store.Attribute {
				got, err := k.GetDeveloper(ctx, org, dev)
				require.NoError(t, err)
				return got.Attributes
			},
		},
		{
			kind: "app",
			list: func() ([]store.Attribute, error) { return k.AppAttributes(ctx, org, dev, app) },
			get:  func(n string) (*store.Attribute, error) { return k.AppAttribute(ctx, org, dev, app, n) },
			replace: func(a []store.Attribute) ([]store.Attribute, error) {
				return k.ReplaceAppAttributes(ctx, org, dev, app, a)
			},
			set: func(a store.Attribute) (*store.Attribute, error) { return k.SetAppAttribute(ctx, org, dev, app, a) },
			del: func(n string) (*store.Attribute, error) { return k.DeleteAppAttribute(ctx, org, dev, app, n) },
			entity: func() []store.Attribute {
				got, err := k.GetApp(ctx, org, dev, app)
				require.NoError(t, err)
				return got.Attributes
			},
		},
		{
			kind: "product",
			list: func() ([]store.Attribute, error) { return k.ProductAttributes(ctx, org, prod) },
			get:  func(n string) (*store.Attribute, error) { return k.ProductAttribute(ctx, org, prod, n) },
			replace: func(a []store.Attribute) ([]store.Attribute, error) {
				return k.ReplaceProductAttributes(ctx, org, prod, a)
			},
			set: func(a store.Attribute) (*store.Attribute, error) { return k.SetProductAttribute(ctx, org, prod, a) },
			del: func(n string) (*store.Attribute, error) { return k.DeleteProductAttribute(ctx, org, prod, n) },
			entity: func() []store.Attribute {
				got, err := k.GetProduct(ctx, org, prod)
				require.NoError(t, err)
				return got.Attributes
			},
		},
	}
}

func TestAttributes(t *testing.T) {
	e := setup(t)
	for _, k := range e.attrKinds(t) {
		t.Run(k.kind, func(t *testing.T) {
			got, err := k.list()
			require.NoError(t, err)
			require.Equal(t, []store.Attribute{{Name: "access", Value: "public"}}, got)

			_, err = k.set(store.Attribute{Name: "tier", Value: "1"})
			require.NoError(t, err)
			_, err = k.set(store.Attribute{Name: "access", Value: "private"})
			require.NoError(t, err)
			want := []store.Attribute{{Name: "access", Value: "private"}, {Name: "tier", Value: "1"}}
			got, err = k.list()
			require.NoError(t, err)
			require.Equal(t, want, got, "updates keep their place, additions go last")
			require.Equal(t, want, k.entity())

			at, err := k.get("tier")
			require.NoError(t, err)
			require.Equal(t, "1", at.Value)
			_, err = k.get("nope")
			require.ErrorIs(t, err, store.ErrNotFound)

			at, err = k.del("access")
			require.NoError(t, err)
			require.Equal(t, "private", at.Value)
			_, err = k.del("access")
			require.ErrorIs(t, err, store.ErrNotFound)
			require.Equal(t, []store.Attribute{{Name: "tier", Value: "1"}}, k.entity())

			_, err = k.replace([]store.Attribute{{Name: "x", Value: "1"}, {Name: "x", Value: "2"}})
			require.ErrorIs(t, err, store.ErrInvalid)
			var many []store.Attribute
			for i := range store.MaxAttributes + 1 {
				many = append(many, store.Attribute{Name: fmt.Sprintf("n%02d", i)})
			}
			_, err = k.replace(many)
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Equal(t, []store.Attribute{{Name: "tier", Value: "1"}}, k.entity(), "refused writes change nothing")
			got, err = k.replace(many[:store.MaxAttributes])
			require.NoError(t, err)
			require.Len(t, got, store.MaxAttributes)
			_, err = k.set(store.Attribute{Name: "extra"})
			require.ErrorIs(t, err, store.ErrInvalid)
			_, err = k.set(store.Attribute{Name: "n00", Value: "v"})
			require.NoError(t, err)

			got, err = k.replace(nil)
			require.NoError(t, err)
			require.Empty(t, got)
			require.Empty(t, k.entity())
		})
	}

	_, err := e.kms.DeveloperAttributes(e.ctx, e.org, "nobody@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.kms.SetAppAttribute(e.ctx, e.org, "ann@example.com", "nope", store.Attribute{Name: "a"})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.kms.DeleteProductAttribute(e.ctx, e.org, "nope", "a")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// Concurrent single-attribute updates are read-modify-writes guarded by
// the row's revision: none is lost.
func TestConcurrentAttributeUpdatesAreNotLost(t *testing.T) {
	e := setup(t)
	for _, k := range e.attrKinds(t) {
		t.Run(k.kind, func(t *testing.T) {
			const writers = 6
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := k.set(store.Attribute{Name: fmt.Sprintf("w%d", i), Value: "v"})
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			var names []string
			for _, at := range k.entity() {
				names = append(names, at.Name)
			}
			sort.Strings(names)
			require.Equal(t, []string{"access", "w0", "w1", "w2", "w3", "w4", "w5"}, names)
		})
	}
}
