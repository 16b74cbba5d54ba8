package flow

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPropertySets(t *testing.T) {
	env := map[string]map[string]string{"cfg": {"level": "debug", "only.env": "x"}, "envset": {"k": "e"}}
	proxy := map[string]map[string]string{"cfg": {"level": "info"}, "my.cfg": {"a.b": "dotted"}, "my": {"x": "short"}}
	ps := MergePropertySets(proxy, env)
	tests := []struct {
		ref  string
		want string
		ok   bool
	}{
		{"cfg.level", "info", true},    // the proxy set wins
		{"cfg.only.env", "", false},    // ... as a whole: no fallback per key
		{"envset.k", "e", true},        // environment set
		{"my.cfg.a.b", "dotted", true}, // dotted set name
		{"my.x", "short", true},        // shortest set name first
		{"nosuch.k", "", false},
		{"cfg", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := ps.Lookup(tt.ref)
		require.Equal(t, tt.ok, ok, tt.ref)
		require.Equal(t, tt.want, got, tt.ref)
	}
	require.Nil(t, MergePropertySets(nil, nil))
	var none PropertySets
	_, ok := none.Lookup("a.b")
	require.False(t, ok)

	for ref, want := range map[string]string{"cfg.x": "", "cfg": "", "my.cfg.zz": "", "nosuch.k": "nosuch", "nosuch": "nosuch"} {
		ok, set := ps.Resolves(ref)
		require.Equal(t, want == "", ok, ref)
		require.Equal(t, want, set, ref)
	}
	// The inputs are not modified.
	require.Equal(t, "debug", env["cfg"]["level"])
}

func TestPropertySetVariables(t *testing.T) {
	mc := New(&Proxy{PropertySets: PropertySets{"s": {"k": "v"}}}, nil, "127.0.0.1:1", nil)
	v, ok := mc.GetString("propertyset.s.k")
	require.True(t, ok)
	require.Equal(t, "v", v)
	_, ok = mc.Lookup("propertyset.s.missing")
	require.False(t, ok)
	var ro *ErrReadOnly
	require.ErrorAs(t, mc.Set("propertyset.s.k", "w"), &ro)
}
