package apiproduct

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

func TestMatchResource(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/", true},
		{"/", "", true},
		{"/", "/a", false},
		{"/**", "/", true},
		{"/**", "", true},
		{"/**", "/a/b/c", true},
		{"/*", "/a", true},
		{"/*", "/a/", true},
		{"/*", "/a/b", false},
		{"/*", "/", false},
		{"/a/**", "/a/b", true},
		{"/a/**", "/a/b/c", true},
		{"/a/**", "/a", false},
		{"/a/**", "/ab/c", false},
		{"/a/*", "/a/b", true},
		{"/a/*", "/a/b/c", false},
		{"/a/*", "/a", false},
		{"/a/*/c", "/a/b/c", true},
		{"/a/*/c", "/a/b/d", false},
		{"/a/**/d", "/a/b/c/d", true},
		{"/a/**/d", "/a/d", false},
		{"/a", "/a", true},
		{"/a", "/a/", true},
		{"/a", "/a/b", false},
		{"/a", "/A", false},
		{"", "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			require.Equal(t, tt.want, MatchResource(tt.pattern, tt.path))
		})
	}
}

func TestAllows(t *testing.T) {
	plain := &store.APIProduct{Name: "plain", Environments: []string{"test"}, Proxies: []string{"p1"}, APIResources: []string{"/a/*"}}
	ops := &store.APIProduct{Name: "ops", APIResources: []string{"/ignored"}, Proxies: []string{"other"},
		OperationGroup: &store.OperationGroup{OperationConfigType: "proxy", OperationConfigs: []store.OperationConfig{{
			APISource:  "p1",
			Operations: []store.Operation{{Resource: "/items/*", Methods: []string{"GET"}}, {Resource: "/any"}},
			Quota:      &store.OperationQuota{Limit: "5", Interval: "1", TimeUnit: "minute"},
		}}}}
	tests := []struct {
		name string
		p    *store.APIProduct
		c    Call
		want bool
	}{
		{"plain ok", plain, Call{Env: "test", Proxy: "p1", PathSuffix: "/a/b", Verb: "GET"}, true},
		{"plain wrong env", plain, Call{Env: "prod", Proxy: "p1", PathSuffix: "/a/b"}, false},
		{"plain wrong proxy", plain, Call{Env: "test", Proxy: "p2", PathSuffix: "/a/b"}, false},
		{"plain wrong path", plain, Call{Env: "test", Proxy: "p1", PathSuffix: "/a/b/c"}, false},
		{"no restrictions", &store.APIProduct{Name: "all"}, Call{Env: "x", Proxy: "y", PathSuffix: "/z"}, true},
		{"ops GET", ops, Call{Env: "test", Proxy: "p1", PathSuffix: "/items/1", Verb: "get"}, true},
		{"ops POST refused", ops, Call{Env: "test", Proxy: "p1", PathSuffix: "/items/1", Verb: "POST"}, false},
		{"ops any method", ops, Call{Env: "test", Proxy: "p1", PathSuffix: "/any", Verb: "DELETE"}, true},
		{"ops other proxy", ops, Call{Env: "test", Proxy: "other", PathSuffix: "/ignored", Verb: "GET"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Allows(tt.p, tt.c) != nil)
		})
	}
	m := Allows(ops, Call{Env: "test", Proxy: "p1", PathSuffix: "/items/1", Verb: "GET"})
	l, i, u := m.Quota()
	require.Equal(t, []string{"5", "1", "minute"}, []string{l, i, u})
	require.Equal(t, "/items/*", m.Operation.Resource)
}

func TestFirstAllowed(t *testing.T) {
	a := &store.APIProduct{Name: "a", APIResources: []string{"/a"}, Quota: "1"}
	b := &store.APIProduct{Name: "b", APIResources: []string{"/**"}, Quota: "2"}
	cred := &store.Credential{APIProducts: []store.ProductRef{
		{APIProduct: "gone", Status: store.StatusApproved},
		{APIProduct: "a", Status: store.StatusRevoked},
		{APIProduct: "b", Status: store.StatusApproved},
	}}
	m := FirstAllowed(cred, []*store.APIProduct{a, b}, Call{PathSuffix: "/a"})
	require.NotNil(t, m)
	require.Equal(t, "b", m.Product.Name)
	cred.APIProducts[2].Status = store.StatusPending
	require.Nil(t, FirstAllowed(cred, []*store.APIProduct{a, b}, Call{PathSuffix: "/a"}))
}
