package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The cache policies are registered, and their <ns>.<policy>.failed
// variables use Apigee's namespaces.
func TestCachePolicyNamespaces(t *testing.T) {
	for typ, ns := range map[string]string{
		"PopulateCache": "populatecache", "LookupCache": "lookupcache", "InvalidateCache": "invalidatecache", "ResponseCache": "responsecache",
	} {
		require.Contains(t, Supported(), typ)
		require.Equal(t, ns, Namespace(typ), typ)
	}
}
