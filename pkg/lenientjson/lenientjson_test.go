package lenientjson

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnmarshal(t *testing.T) {
	pem := "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"
	for _, tc := range []struct {
		name, body string
		want       map[string]any
		err        string
	}{
		{"strict JSON", `{"name":"k","value":"v"}`, map[string]any{"name": "k", "value": "v"}, ""},
		// The exact bytes `apigeecli kvms entries create --value "$(cat key.pem)"` sends.
		{"raw newlines in a string", "{\"name\":\"pem\",\"value\":\"" + pem + "\"}", map[string]any{"name": "pem", "value": pem}, ""},
		{"raw tab and CR", "{\"v\":\"a\tb\r\nc\"}", map[string]any{"v": "a\tb\r\nc"}, ""},
		{"other control bytes", "{\"v\":\"a\x01b\"}", map[string]any{"v": "a\x01b"}, ""},
		{"escaped quote before a newline", "{\"v\":\"say \\\"hi\\\"\nbye\"}", map[string]any{"v": "say \"hi\"\nbye"}, ""},
		{"newlines between tokens stay whitespace", "{\n\"v\":\n\"x\"\n}", map[string]any{"v": "x"}, ""},
		{"still not JSON", "{\"v\":\"a\nb\"", nil, "unexpected end of JSON input"},
		{"control byte outside a string", "{\"v\":1\x01}", nil, "invalid character"},
		{"trailing garbage", `{"v":1} x`, nil, "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]any
			err := Unmarshal([]byte(tc.body), &got)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// Whatever encoding/json accepts decodes identically; whatever Unmarshal
// accepts re-encodes to JSON that encoding/json accepts.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, "{\"a\":\"b\nc\"}", `["\"",1,null]`, "\"\\\n\"", `{"a":{"b":[1,2,{"c":"\u0001"}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var strict, lenient any
		strictErr := json.Unmarshal(data, &strict)
		lenientErr := Unmarshal(data, &lenient)
		if strictErr == nil {
			require.NoError(t, lenientErr)
			require.Equal(t, strict, lenient)
			return
		}
		if lenientErr == nil {
			out, err := json.Marshal(lenient)
			require.NoError(t, err)
			require.True(t, json.Valid(out))
		}
	})
}
