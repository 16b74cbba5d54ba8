package extractvariables

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func compile(tb testing.TB, xml string) (flow.Policy, error) {
	tb.Helper()
	return Compile(&flow.CompileContext{Bundle: &bundle.Bundle{}, Policy: &bundle.Policy{Type: "ExtractVariables", Name: "EV", XML: []byte(xml)}})
}

func jsonRequest(tb testing.TB, body string) *flow.MessageContext {
	tb.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://api.test/p", strings.NewReader(body))
	require.NoError(tb, err)
	r.Header.Set("Content-Type", "application/json")
	return flow.New(&flow.Proxy{Name: "p"}, message.FromRequest(r), "127.0.0.1:1", nil)
}

func jsonPolicy(vars ...string) string {
	var b strings.Builder
	b.WriteString(`<ExtractVariables name="EV"><Source>request</Source><JSONPayload>`)
	b.WriteString(strings.Join(vars, ""))
	b.WriteString(`</JSONPayload></ExtractVariables>`)
	return b.String()
}

func jsonVariable(name, typ, path string) string {
	if typ != "" {
		typ = ` type="` + typ + `"`
	}
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return `<Variable name="` + name + `"` + typ + `><JSONPath>` + esc.Replace(path) + `</JSONPath></Variable>`
}

// TestJSONPayloadResults: JSONPath is Jayway's (internal/jsonpath), and the
// variable gets its result as Apigee prints it: a definite path's value
// (a string as it is, the type attribute applied), an indefinite path's
// list as JSON even when it has one element or none; a definite path that
// finds nothing leaves the variable unset.
func TestJSONPayloadResults(t *testing.T) {
	const body = `{"store":{"book":[{"title":"A","price":8.95,"tags":["x"]},{"title":"B","price":12,"isbn":"i/1"}],"open":true,"none":null,"one":1.0}}`
	tests := []struct {
		path, typ string
		want      any // nil: not set
	}{
		{"$.store.book[0].title", "", "A"},
		{"$.store.book[1].price", "", "12"},
		{"$.store.book[1].price", "integer", int64(12)},
		{"$.store.book[0].price", "double", 8.95},
		{"$.store.open", "boolean", true},
		{"$.store.none", "", "null"},
		{"$.store.one", "", "1.0"},                           // a Double prints as Java does
		{"$.store.book[1].isbn", "", "i/1"},                  // a string is bare, so unescaped
		{"$.store.book[0].tags", "", `["x"]`},                // a definite path to an array
		{"$.store.book[*].isbn", "", `["i\/1"]`},             // one match, still a list; json-smart escapes "/"
		{"$.store.book[?(@.price < 10)].title", "", `["A"]`}, // a filter is indefinite
		{"$..title", "", `["A","B"]`},
		{"$.store.book[0]['title','price']", "", `{"title":"A","price":8.95}`},
		{"$.store.book[?(@.price > 100)].title", "", "[]"},
		{"$.store.book.length()", "integer", int64(2)},
		{"$.store.missing", "", nil},
		{"$.store.book[5].title", "", nil},
		{"store.book[1].title", "", "B"}, // Jayway puts "$." before a bare path
	}
	for _, tt := range tests {
		t.Run(tt.path+"/"+tt.typ, func(t *testing.T) {
			p, err := compile(t, jsonPolicy(jsonVariable("v", tt.typ, tt.path)))
			require.NoError(t, err)
			mc := jsonRequest(t, body)
			require.NoError(t, p.Execute(context.Background(), mc))
			v, ok := mc.Lookup("v")
			if tt.want == nil {
				require.False(t, ok, "set to %v", v)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.want, v)
		})
	}
}

func TestJSONPayloadErrors(t *testing.T) {
	// Paths Jayway refuses fail the deployment, naming the element.
	for _, bad := range []string{"$.", "$['a,b']", "$.a b", ""} {
		_, err := compile(t, jsonPolicy(jsonVariable("v", "", bad)))
		require.ErrorContains(t, err, "ExtractVariables/JSONPayload/Variable/JSONPath", "%q", bad)
		require.ErrorContains(t, err, "invalid JSONPath", "%q", bad)
	}
	// Paths Jayway accepts deploy.
	for _, good := range []string{"$.[0]", "$[0]", `$["a"]['b']`, "$..a[?(@.b =~ /x.*/i && @.c in ['d'])]", "$.a[-1:]", "$.a.keys()"} {
		_, err := compile(t, jsonPolicy(jsonVariable("v", "", good)))
		require.NoError(t, err, good)
	}

	// Jayway throwing while it evaluates fails the policy, unless
	// unresolved variables are ignored.
	p, err := compile(t, jsonPolicy(jsonVariable("v", "", "$.a.sum()")))
	require.NoError(t, err)
	err = p.Execute(context.Background(), jsonRequest(t, `{"a":[]}`))
	require.ErrorContains(t, err, "empty array")
	var fe *flow.Fault
	require.ErrorAs(t, err, &fe)
	require.Equal(t, CodeExecutionFailed, fe.Code)

	p, err = compile(t, strings.Replace(jsonPolicy(jsonVariable("v", "", "$.a.sum()")), "</ExtractVariables>", "<IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables></ExtractVariables>", 1))
	require.NoError(t, err)
	mc := jsonRequest(t, `{"a":[]}`)
	require.NoError(t, p.Execute(context.Background(), mc))
	_, ok := mc.Lookup("v")
	require.False(t, ok)

	p, err = compile(t, jsonPolicy(jsonVariable("v", "integer", "$.a")))
	require.NoError(t, err)
	err = p.Execute(context.Background(), jsonRequest(t, `{"a":"x"}`))
	require.ErrorAs(t, err, &fe)
	require.Equal(t, CodeUnableToCast, fe.Code)

	err = p.Execute(context.Background(), jsonRequest(t, `{"a":`))
	require.ErrorAs(t, err, &fe)
	require.Equal(t, CodeExecutionFailed, fe.Code)
}
