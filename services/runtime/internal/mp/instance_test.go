package mp

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

func TestOnThisInstance(t *testing.T) {
	full := func(instances ...string) *contract.Contract {
		return &contract.Contract{Organization: "o", Environment: "e", Version: "20261205.010203.004",
			Hostnames: []string{"api.example.com"}, Instances: instances,
			APIProxies:  []contract.Deployment{{Name: "p", Revision: "1"}},
			SharedFlows: []contract.Deployment{{Name: "sf", Revision: "1"}},
			FlowHooks:   map[string]string{"PreProxyFlowHook": "sf"}}
	}
	tests := []struct {
		name      string
		contract  *contract.Contract
		instance  string
		wantServe bool
	}{
		{"no attachments: every instance runs it", full(), "region-b", true},
		{"attached to this instance", full("region-a", "region-b"), "region-b", true},
		{"attached elsewhere only", full("region-a"), "region-b", false},
		{"instance not configured: serves what it is given", full("region-a"), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := onThisInstance(tt.contract, tt.instance, zap.NewNop())
			if tt.wantServe {
				require.Same(t, tt.contract, got)
				return
			}
			require.Equal(t, tt.contract.Version, got.Version, "the version is held: readiness and status stay current")
			require.Empty(t, got.Hostnames)
			require.Empty(t, got.APIProxies)
			require.Empty(t, got.SharedFlows)
			require.Empty(t, got.FlowHooks)
			require.NotEmpty(t, tt.contract.APIProxies, "the stored contract is not changed")
		})
	}
}
