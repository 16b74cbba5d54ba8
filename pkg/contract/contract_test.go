package contract

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNextVersion(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 30, 1, 123_000_000, time.UTC)
	tests := []struct {
		name, prev, want string
	}{
		{"first", "", "20261122.093001.123"},
		{"later", "20261122.093001.100", "20261122.093001.123"},
		{"same millisecond", "20261122.093001.123", "20261122.093001.124"},
		{"clock behind", "20261122.093005.000", "20261122.093005.001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextVersion(at, tt.prev)
			require.Equal(t, tt.want, got)
			require.True(t, ValidVersion(got))
		})
	}
}

func TestUnmarshalRejectsIncompleteContracts(t *testing.T) {
	tests := map[string]string{
		"not json":    `{`,
		"no org":      `{"environment":"test","version":"20261122.093001.123"}`,
		"bad version": `{"organization":"o","environment":"test","version":"1"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Unmarshal([]byte(body))
			require.Error(t, err)
		})
	}
	c, err := Unmarshal([]byte(`{"organization":"o","environment":"test","version":"20261122.093001.123"}`))
	require.NoError(t, err)
	require.Equal(t, "test", c.Environment)
}

func TestEnvironmentConfigRoundTrips(t *testing.T) {
	c := &Contract{Organization: "o", Environment: "test", Version: "20261122.093001.123",
		FlowHooks: map[string]string{"PreProxyFlowHook": "sf"}, FlowHookContinueOnError: map[string]bool{"PreProxyFlowHook": false},
		TargetServers: []TargetServer{{Name: "ts", Host: "h", Port: 443, IsEnabled: true, Protocol: "HTTP",
			SSLInfo: &SSLInfo{Enabled: true, Truststore: "ref://t", CommonName: &CommonName{Value: "h", WildcardMatch: true}}}},
		Keystores:     []Keystore{{Name: "t", Aliases: []KeystoreAlias{{Name: "ca", CertPEM: "pem"}}}},
		ResourceFiles: []ResourceFile{{Type: "properties", Name: "env.properties", Content: []byte("log-level=debug\n")}},
	}
	data, err := Marshal(c)
	require.NoError(t, err)
	require.Contains(t, string(data), `"sSLInfo":{"enabled":true,"trustStore":"ref://t","commonName":{"value":"h","wildcardMatch":true}}`)
	back, err := Unmarshal(data)
	require.NoError(t, err)
	require.Equal(t, c, back)
	// Contracts written before these fields existed still load.
	old, err := Unmarshal([]byte(`{"organization":"o","environment":"test","version":"20261122.093001.123","flowHooks":{"PostProxyFlowHook":"x"},"targetServers":[{"name":"a","host":"h","port":1,"isEnabled":true}]}`))
	require.NoError(t, err)
	require.Equal(t, "x", old.FlowHooks["PostProxyFlowHook"])
	require.Nil(t, old.TargetServers[0].SSLInfo)
}

func TestSortOrdersResourceFiles(t *testing.T) {
	c := &Contract{ResourceFiles: []ResourceFile{{Type: "properties", Name: "b.properties"}, {Type: "jsc", Name: "z.js"}, {Type: "properties", Name: "a.properties"}}}
	c.Sort()
	require.Equal(t, []ResourceFile{{Type: "jsc", Name: "z.js"}, {Type: "properties", Name: "a.properties"}, {Type: "properties", Name: "b.properties"}}, c.ResourceFiles)
}
