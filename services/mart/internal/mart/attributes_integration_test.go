//go:build integration

package mart_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"
	"google.golang.org/api/googleapi"
)

func attr(name, value string) *apigee.GoogleCloudApigeeV1Attribute {
	return &apigee.GoogleCloudApigeeV1Attribute{Name: name, Value: value}
}

func attrNames(list []*apigee.GoogleCloudApigeeV1Attribute) []string {
	out := []string{}
	for _, a := range list {
		out = append(out, a.Name+"="+a.Value)
	}
	return out
}

func apiMessage(t *testing.T, err error) string {
	t.Helper()
	var gerr *googleapi.Error
	require.True(t, errors.As(err, &gerr), "want a googleapi.Error, got %v", err)
	return gerr.Message
}

// attributeOps is one entity kind's attributes through the Go client.
type attributeOps struct {
	name    string // the entity's resource name
	list    func() (*apigee.GoogleCloudApigeeV1Attributes, error)
	replace func(attrs ...*apigee.GoogleCloudApigeeV1Attribute) (*apigee.GoogleCloudApigeeV1Attributes, error)
	get     func(name string) (*apigee.GoogleCloudApigeeV1Attribute, error)
	update  func(name, value string) (*apigee.GoogleCloudApigeeV1Attribute, error)
	delete  func(name string) (*apigee.GoogleCloudApigeeV1Attribute, error)
}

// The attributes sub-resources of developers, apps and API products, driven
// by Google's Go client: list, replace all, get, update or add one, delete.
func TestGoClientAttributes(t *testing.T) {
	m := startMART(t, true)
	ctx := m.ctx
	orgs := m.api.Organizations

	_, err := orgs.Apiproducts.Create(m.parent(), &apigee.GoogleCloudApigeeV1ApiProduct{
		Name: "gold", Attributes: []*apigee.GoogleCloudApigeeV1Attribute{attr("access", "public")},
	}).Context(ctx).Do()
	require.NoError(t, err)
	_, err = orgs.Developers.Create(m.parent(), &apigee.GoogleCloudApigeeV1Developer{
		Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", UserName: "ann",
		Attributes: []*apigee.GoogleCloudApigeeV1Attribute{attr("access", "public")},
	}).Context(ctx).Do()
	require.NoError(t, err)
	dev := m.parent() + "/developers/ann@example.com"
	_, err = orgs.Developers.Apps.Create(dev, &apigee.GoogleCloudApigeeV1DeveloperApp{
		Name: "app1", ApiProducts: []string{"gold"},
		Attributes: []*apigee.GoogleCloudApigeeV1Attribute{attr("access", "public")},
	}).Context(ctx).Do()
	require.NoError(t, err)
	app := dev + "/apps/app1"
	prod := m.parent() + "/apiproducts/gold"

	devs, apps, prods := orgs.Developers, orgs.Developers.Apps, orgs.Apiproducts
	kinds := []attributeOps{
		{
			name: dev,
			list: func() (*apigee.GoogleCloudApigeeV1Attributes, error) {
				return devs.Attributes_.List(dev).Context(ctx).Do()
			},
			replace: func(a ...*apigee.GoogleCloudApigeeV1Attribute) (*apigee.GoogleCloudApigeeV1Attributes, error) {
				return devs.Attributes(dev, &apigee.GoogleCloudApigeeV1Attributes{Attribute: a}).Context(ctx).Do()
			},
			get: func(n string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return devs.Attributes_.Get(dev + "/attributes/" + n).Context(ctx).Do()
			},
			update: func(n, v string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return devs.Attributes_.UpdateDeveloperAttribute(dev+"/attributes/"+n, attr(n, v)).Context(ctx).Do()
			},
			delete: func(n string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return devs.Attributes_.Delete(dev + "/attributes/" + n).Context(ctx).Do()
			},
		},
		{
			name: app,
			list: func() (*apigee.GoogleCloudApigeeV1Attributes, error) {
				return apps.Attributes_.List(app).Context(ctx).Do()
			},
			replace: func(a ...*apigee.GoogleCloudApigeeV1Attribute) (*apigee.GoogleCloudApigeeV1Attributes, error) {
				return apps.Attributes(app, &apigee.GoogleCloudApigeeV1Attributes{Attribute: a}).Context(ctx).Do()
			},
			get: func(n string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return apps.Attributes_.Get(app + "/attributes/" + n).Context(ctx).Do()
			},
			update: func(n, v string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return apps.Attributes_.UpdateDeveloperAppAttribute(app+"/attributes/"+n, attr(n, v)).Context(ctx).Do()
			},
			delete: func(n string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return apps.Attributes_.Delete(app + "/attributes/" + n).Context(ctx).Do()
			},
		},
		{
			name: prod,
			list: func() (*apigee.GoogleCloudApigeeV1Attributes, error) {
				return prods.Attributes_.List(prod).Context(ctx).Do()
			},
			replace: func(a ...*apigee.GoogleCloudApigeeV1Attribute) (*apigee.GoogleCloudApigeeV1Attributes, error) {
				return prods.Attributes(prod, &apigee.GoogleCloudApigeeV1Attributes{Attribute: a}).Context(ctx).Do()
			},
			get: func(n string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return prods.Attributes_.Get(prod + "/attributes/" + n).Context(ctx).Do()
			},
			update: func(n, v string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return prods.Attributes_.UpdateApiProductAttribute(prod+"/attributes/"+n, attr(n, v)).Context(ctx).Do()
			},
			delete: func(n string) (*apigee.GoogleCloudApigeeV1Attribute, error) {
				return prods.Attributes_.Delete(prod + "/attributes/" + n).Context(ctx).Do()
			},
		},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			got, err := k.list()
			require.NoError(t, err)
			require.Equal(t, []string{"access=public"}, attrNames(got.Attribute))

			one, err := k.get("access")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, one.HTTPStatusCode)
			require.Equal(t, "public", one.Value)

			// Update in place keeps the order; a new name is appended.
			one, err = k.update("tier", "gold")
			require.NoError(t, err)
			require.Equal(t, "tier", one.Name)
			_, err = k.update("access", "private")
			require.NoError(t, err)
			got, err = k.list()
			require.NoError(t, err)
			require.Equal(t, []string{"access=private", "tier=gold"}, attrNames(got.Attribute))

			// Replace all.
			got, err = k.replace(attr("a", "1"), attr("b", "2"))
			require.NoError(t, err)
			require.Equal(t, []string{"a=1", "b=2"}, attrNames(got.Attribute))
			_, err = k.get("tier")
			require.Equal(t, http.StatusNotFound, apiCode(t, err))
			require.Contains(t, apiMessage(t, err), "Attribute tier does not exist")

			// Delete returns what it removed; a second delete is a 404.
			one, err = k.delete("a")
			require.NoError(t, err)
			require.Equal(t, "1", one.Value)
			_, err = k.delete("a")
			require.Equal(t, http.StatusNotFound, apiCode(t, err))
			got, err = k.list()
			require.NoError(t, err)
			require.Equal(t, []string{"b=2"}, attrNames(got.Attribute))

			// Duplicates and more than 18 attributes are refused, and
			// nothing changes.
			_, err = k.replace(attr("x", "1"), attr("x", "2"))
			require.Equal(t, http.StatusBadRequest, apiCode(t, err))
			require.Contains(t, apiMessage(t, err), `"x"`)
			var many []*apigee.GoogleCloudApigeeV1Attribute
			for i := range 19 {
				many = append(many, attr(fmt.Sprintf("n%d", i), "v"))
			}
			_, err = k.replace(many...)
			require.Equal(t, http.StatusBadRequest, apiCode(t, err))
			_, err = k.replace(many[:18]...)
			require.NoError(t, err)
			_, err = k.update("one-too-many", "v")
			require.Equal(t, http.StatusBadRequest, apiCode(t, err))
			_, err = k.update("n0", "changed") // updating an existing one stays within the limit
			require.NoError(t, err)

			// An empty replace clears them; the list is then empty.
			got, err = k.replace()
			require.NoError(t, err)
			require.Empty(t, got.Attribute)
			got, err = k.list()
			require.NoError(t, err)
			require.Empty(t, got.Attribute)
		})
	}

	// The entity itself shows what the sub-resource wrote.
	_, err = devs.Attributes_.UpdateDeveloperAttribute(dev+"/attributes/tier", attr("tier", "2")).Context(ctx).Do()
	require.NoError(t, err)
	d, err := devs.Get(dev).Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, []string{"tier=2"}, attrNames(d.Attributes))

	// Unknown parents are 404 too.
	_, err = devs.Attributes_.List(m.parent() + "/developers/nobody@example.com").Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))
	_, err = apps.Attributes_.Get(dev + "/apps/nope/attributes/x").Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))
	_, err = prods.Attributes_.Delete(m.parent() + "/apiproducts/nope/attributes/x").Context(ctx).Do()
	require.Equal(t, http.StatusNotFound, apiCode(t, err))
}

// The raw shapes: a list is {"attribute": […]}, one attribute
// {"name","value"}; a body name that differs from the path's is a 400.
func TestAttributesRawShapes(t *testing.T) {
	m := startMART(t, true)
	m.call("POST", m.orgPath("/apiproducts"), map[string]any{"name": "p1"}, http.StatusCreated, nil)
	var list map[string][]map[string]string
	m.call("POST", m.orgPath("/apiproducts/p1/attributes"), map[string]any{"attribute": []map[string]string{{"name": "k", "value": "v"}}}, http.StatusOK, &list)
	require.Equal(t, map[string][]map[string]string{"attribute": {{"name": "k", "value": "v"}}}, list)
	var one map[string]string
	m.call("POST", m.orgPath("/apiproducts/p1/attributes/k"), map[string]string{"value": "w"}, http.StatusOK, &one)
	require.Equal(t, map[string]string{"name": "k", "value": "w"}, one)
	m.call("POST", m.orgPath("/apiproducts/p1/attributes/k"), map[string]string{"name": "other", "value": "w"}, http.StatusBadRequest, nil)
	m.call("DELETE", m.orgPath("/apiproducts/p1/attributes/k"), nil, http.StatusOK, &one)
	require.Equal(t, map[string]string{"name": "k", "value": "w"}, one)
	var empty map[string]any
	m.call("GET", m.orgPath("/apiproducts/p1/attributes"), nil, http.StatusOK, &empty)
	require.Empty(t, empty)
	var errBody map[string]map[string]any
	m.call("GET", m.orgPath("/apiproducts/p1/attributes/k"), nil, http.StatusNotFound, &errBody)
	require.Equal(t, "NOT_FOUND", errBody["error"]["status"])
	require.Equal(t, "Attribute k does not exist for API product p1.", errBody["error"]["message"])
}
