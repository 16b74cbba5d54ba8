package analyticsv1

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		rec  *ApiRecord
		want map[string]any
	}{
		{"empty", &ApiRecord{}, map[string]any{}},
		{"fields keep Apigee's names", &ApiRecord{Organization: "o", Apiproxy: "p", ResponseStatusCode: 200, IsError: true,
			ClientReceivedStartTimestamp: 1715752630190},
			map[string]any{"organization": "o", "apiproxy": "p", "response_status_code": 200.0, "is_error": true,
				"client_received_start_timestamp": 1715752630190.0}},
		{"escapes and invalid UTF-8", &ApiRecord{Useragent: "a\"b\\c\n\x01\xff<é>"},
			map[string]any{"useragent": "a\"b\\c\n\x01\ufffd<é>"}},
		{"custom dimensions are top-level dc_ keys", &ApiRecord{CustomDimensions: map[string]*Dimension{
			"dc_s": {Value: &Dimension_StringValue{StringValue: "x"}},
			"dc_i": {Value: &Dimension_IntValue{IntValue: -3}},
			"dc_f": {Value: &Dimension_DoubleValue{DoubleValue: 1.5}},
			"dc_b": {Value: &Dimension_BoolValue{BoolValue: true}},
		}}, map[string]any{"dc_s": "x", "dc_i": -3.0, "dc_f": 1.5, "dc_b": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := AppendJSON(nil, tt.rec)
			var got map[string]any
			require.NoError(t, json.Unmarshal(out, &got), "%s", out)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFieldNames(t *testing.T) {
	names := FieldNames()
	require.Contains(t, names, "client_sent_end_timestamp")
	require.Contains(t, names, "gateway_flow_id")
	require.NotContains(t, names, "custom_dimensions")
}

func BenchmarkAppendJSON(b *testing.B) {
	r := &ApiRecord{Organization: "org", Environment: "test", Apiproxy: "hello", ApiproxyRevision: "1", RequestUri: "/hello/x?y=1",
		RequestPath: "/hello/x", RequestVerb: "GET", ClientIp: "127.0.0.1", Useragent: "Go-http-client/1.1", ResponseStatusCode: 200,
		ClientReceivedStartTimestamp: 1715752630190, ClientSentEndTimestamp: 1715752630199, GatewayFlowId: "0b4a6f5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], r)
	}
}
