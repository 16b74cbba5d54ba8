package spikearrest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ name, xml, element, reason string }{
		{"no rate", `<SpikeArrest name="S"/>`, "SpikeArrest/Rate", "is required"},
		{"empty rate", `<SpikeArrest name="S"><Rate/></SpikeArrest>`, "SpikeArrest/Rate", "value or a ref"},
		{"bad rate", `<SpikeArrest name="S"><Rate>30s</Rate></SpikeArrest>`, "SpikeArrest/Rate", "Invalid spike arrest rate 30s."},
		{"fraction", `<SpikeArrest name="S"><Rate>30.1ps</Rate></SpikeArrest>`, "SpikeArrest/Rate", "Invalid spike arrest rate 30.1ps."},
		{"bad effective", `<SpikeArrest name="S"><Rate>1ps</Rate><UseEffectiveCount>maybe</UseEffectiveCount></SpikeArrest>`, "SpikeArrest/UseEffectiveCount", "true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &bundle.Policy{Type: "SpikeArrest", Name: "S", XML: []byte(tc.xml)}
			_, err := Compile(&flow.CompileContext{Policy: p, Org: "o", Env: "e"})
			var ip *flow.InvalidPolicyError
			require.True(t, errors.As(err, &ip), "%v", err)
			require.Equal(t, tc.element, ip.Element)
			require.Contains(t, ip.Reason, tc.reason)
		})
	}
}
