package kvm

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

func TestKey(t *testing.T) {
	require.Equal(t, "a", Key([]string{"a"}))
	require.Equal(t, "a__b__c", Key([]string{"a", "b", "c"}))
}

func TestPick(t *testing.T) {
	cases := []struct {
		stored string
		index  int
		want   string
		ok     bool
	}{
		{"x,y,z", 0, "x,y,z", true},
		{"x,y,z", 1, "x", true},
		{"x,y,z", 3, "z", true},
		{"x,y,z", 4, "", false},
		{"single", 1, "single", true},
	}
	for _, c := range cases {
		got, ok := Pick(c.stored, c.index)
		require.Equal(t, c.ok, ok, "%q[%d]", c.stored, c.index)
		require.Equal(t, c.want, got, "%q[%d]", c.stored, c.index)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ name, xml, want string }{
		{"index zero", `<KeyValueMapOperations name="K" mapIdentifier="m"><Get assignTo="v" index="0"><Key><Parameter>k</Parameter></Key></Get></KeyValueMapOperations>`,
			"KeyValueMapOperations/Get: InvalidIndex: Invalid index 0 in KeyValueMapStepDefinition K."},
		{"negative index", `<KeyValueMapOperations name="K"><Get assignTo="v" index="-2"><Key><Parameter>k</Parameter></Key></Get></KeyValueMapOperations>`, "Invalid index -2"},
		{"get without key", `<KeyValueMapOperations name="K"><Get assignTo="v"/></KeyValueMapOperations>`, "KeyValueMapOperations/Get/Key: KeyIsMissing"},
		{"get without assignTo", `<KeyValueMapOperations name="K"><Get><Key><Parameter>k</Parameter></Key></Get></KeyValueMapOperations>`, "assignTo is required"},
		{"put without value", `<KeyValueMapOperations name="K"><Put><Key><Parameter>k</Parameter></Key></Put></KeyValueMapOperations>`, "KeyValueMapOperations/Put: ValueIsMissing"},
		{"bad override", `<KeyValueMapOperations name="K"><Put override="maybe"><Key><Parameter>k</Parameter></Key><Value>v</Value></Put></KeyValueMapOperations>`, "KeyValueMapOperations/Put"},
		{"entry without key", `<KeyValueMapOperations name="K"><InitialEntries><Entry><Value>v</Value></Entry></InitialEntries><Delete><Key><Parameter>k</Parameter></Key></Delete></KeyValueMapOperations>`, "InitialEntries/Entry/Key: KeyIsMissing"},
		{"entry without value", `<KeyValueMapOperations name="K"><InitialEntries><Entry><Key><Parameter>k</Parameter></Key></Entry></InitialEntries><Delete><Key><Parameter>k</Parameter></Key></Delete></KeyValueMapOperations>`, "InitialEntries/Entry: ValueIsMissing"},
		{"scope", `<KeyValueMapOperations name="K"><Scope>policy</Scope><Delete><Key><Parameter>k</Parameter></Key></Delete></KeyValueMapOperations>`, `scope "policy" is not one of`},
		{"expiry", `<KeyValueMapOperations name="K"><ExpiryTimeInSecs>soon</ExpiryTimeInSecs><Delete><Key><Parameter>k</Parameter></Key></Delete></KeyValueMapOperations>`, "KeyValueMapOperations/ExpiryTimeInSecs"},
		{"no operation", `<KeyValueMapOperations name="K"/>`, "at least one of <Get>, <Put> or <Delete>"},
		{"empty MapName", `<KeyValueMapOperations name="K"><MapName/><Delete><Key><Parameter>k</Parameter></Key></Delete></KeyValueMapOperations>`, "KeyValueMapOperations/MapName"},
		{"no data store", `<KeyValueMapOperations name="K"><Delete><Key><Parameter>k</Parameter></Key></Delete></KeyValueMapOperations>`, "needs the runtime data store"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(&flow.CompileContext{Bundle: &bundle.Bundle{Name: "p"}, Env: "test",
				Policy: &bundle.Policy{Type: "KeyValueMapOperations", Name: "K", XML: []byte(c.xml)}})
			require.ErrorContains(t, err, c.want)
		})
	}
}
