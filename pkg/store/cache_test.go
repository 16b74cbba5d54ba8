package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		prefix []byte
		end    []byte
		ok     bool
	}{
		{[]byte("k__"), []byte("k_`"), true},
		{[]byte("a"), []byte("b"), true},
		{[]byte{'a', 0xFF}, []byte("b"), true},
		{[]byte{0x7F}, []byte{0x80}, true},
		{[]byte{0xFF, 0xFF}, nil, false},
	}
	for _, tt := range tests {
		end, ok := prefixEnd(tt.prefix)
		require.Equal(t, tt.ok, ok, "%q", tt.prefix)
		require.Equal(t, tt.end, end, "%q", tt.prefix)
	}
	// The bound is exclusive and above every extension of the prefix.
	p := []byte("org__env__k__")
	end, _ := prefixEnd(p)
	for _, k := range []string{"org__env__k__", "org__env__k__a", "org__env__k__\xff\xff"} {
		require.Less(t, k, string(end))
		require.GreaterOrEqual(t, k, string(p))
	}
	require.GreaterOrEqual(t, "org__env__k_a", string(end), "a sibling is outside the range")
}
