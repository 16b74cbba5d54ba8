package oasvalidation

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

func readSpec(tb testing.TB, name string) string {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(tb, err)
	return string(data)
}

// compile compiles a policy over bundle resources; env, when not nil, are
// environment resources behind them (as the engine resolves).
func compile(tb testing.TB, policyXML string, resources, env map[string]string) (flow.Policy, error) {
	tb.Helper()
	b := &bundle.Bundle{Resources: map[string][]byte{}}
	for k, v := range resources {
		b.Resources[k] = []byte(v)
	}
	cc := &flow.CompileContext{Bundle: b, Policy: &bundle.Policy{Type: "OASValidation", Name: "OAS-1", XML: []byte(policyXML)}}
	if env != nil {
		cc.Resources = func(url string) ([]byte, bool) {
			if d, ok := b.Resources[url]; ok {
				return d, true
			}
			d, ok := env[url]
			return []byte(d), ok
		}
	}
	return Compile(cc)
}

func policyXML(resource, extra string) string {
	return `<OASValidation name="OAS-1"><DisplayName>OAS 1</DisplayName><Properties/><OASResource>` + resource + `</OASResource>` + extra + `</OASValidation>`
}

func TestCompileErrors(t *testing.T) {
	pet := readSpec(t, "petstore.yaml")
	cases := []struct {
		name, xml string
		res       map[string]string
		want      []string
	}{
		{"empty resource", policyXML("", ""), nil, []string{"OASValidation/OASResource", "BadResourceURL", "OAS-1", "is empty"}},
		{"wrong resource type", policyXML("jsc://spec.yaml", ""), map[string]string{"jsc://spec.yaml": pet}, []string{"BadResourceURL", "must be of type oas"}},
		{"wrong extension", policyXML("oas://spec.txt", ""), map[string]string{"oas://spec.txt": pet}, []string{"BadResourceURL", "must name a .json, .yaml or .yml file"}},
		{"flow variable", policyXML("oas://{spec}.yaml", ""), nil, []string{"BadResourceURL", "flow variable"}},
		{"missing resource", policyXML("oas://nope.yaml", ""), nil, []string{"ResourceDoesNotExist", "OAS-1", "oas://nope.yaml", "resources/oas/nope.yaml", "environment resource file of type oas"}},
		{"not OpenAPI", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "name: not a spec\n"}, []string{"ResourceCompileFailed", "OAS-1", "oas://s.yaml", "no openapi field"}},
		{"Swagger 2.0", policyXML("oas://s.json", ""), map[string]string{"oas://s.json": `{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}`}, []string{"ResourceCompileFailed", "Swagger (OpenAPI 2.0)"}},
		{"OpenAPI 4", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "openapi: 4.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n"}, []string{"ResourceCompileFailed", `OpenAPI version "4.0.0" is not supported`}},
		{"version not a string", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "openapi: 3\npaths: {}\n"}, []string{"ResourceCompileFailed", "must be a version string"}},
		{"malformed YAML", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "openapi: 3.0.0\n  paths: [\n"}, []string{"ResourceCompileFailed", "not a JSON or YAML document"}},
		{"malformed JSON", policyXML("oas://s.json", ""), map[string]string{"oas://s.json": `{"openapi": "3.0.0", "paths": `}, []string{"ResourceCompileFailed", "not a JSON or YAML document"}},
		{"invalid document", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a/{id}:\n    get:\n      responses: {'200': {description: ok}}\n"},
			[]string{"ResourceCompileFailed", "invalid OpenAPI document", "missing: [id]"}},
		{"dangling $ref", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {$ref: '#/components/responses/Nope'}}\n"},
			[]string{"ResourceCompileFailed"}},
		{"remote $ref", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {$ref: 'https://example.com/r.yaml#/Ok'}}\n"},
			[]string{"ResourceCompileFailed", "only references to other oas resources"}},
		{"missing $ref file", policyXML("oas://s.yaml", ""), map[string]string{"oas://s.yaml": "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {$ref: 'common.yaml#/Ok'}}\n"},
			[]string{"ResourceCompileFailed", "resource oas://common.yaml does not exist"}},
		{"bad ValidateMessageBody", policyXML("oas://p.yaml", "<Options><ValidateMessageBody>yes</ValidateMessageBody></Options>"), map[string]string{"oas://p.yaml": pet},
			[]string{"OASValidation/Options/ValidateMessageBody", "must be true or false"}},
		{"bad Header", policyXML("oas://p.yaml", "<Options><AllowUnspecifiedParameters><Header>no</Header></AllowUnspecifiedParameters></Options>"), map[string]string{"oas://p.yaml": pet},
			[]string{"OASValidation/Options/AllowUnspecifiedParameters/Header"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, tc.xml, tc.res, nil)
			var ip *flow.InvalidPolicyError
			require.True(t, errors.As(err, &ip), "want a deployment error, got %v", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestCompileResolution(t *testing.T) {
	pet := readSpec(t, "petstore.yaml")
	split := map[string]string{
		"oas://main.yaml":   "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {$ref: 'common.yaml#/components/responses/Ok'}}\n",
		"oas://common.yaml": "components:\n  responses:\n    Ok: {description: ok}\n",
	}
	cases := []struct {
		name     string
		resource string
		bundle   map[string]string
		env      map[string]string
		wantErr  string
	}{
		{name: "bundle", resource: "oas://p.yaml", bundle: map[string]string{"oas://p.yaml": pet}},
		{name: "environment", resource: "oas://p.yaml", env: map[string]string{"oas://p.yaml": pet}},
		{name: "bundle shadows environment", resource: "oas://p.yaml", bundle: map[string]string{"oas://p.yaml": pet}, env: map[string]string{"oas://p.yaml": "not: openapi"}},
		{name: "environment not consulted without a resolver", resource: "oas://p.yaml", wantErr: "ResourceDoesNotExist"},
		{name: "$ref to another oas resource", resource: "oas://main.yaml", bundle: split},
		{name: "$ref to an environment resource", resource: "oas://main.yaml", bundle: map[string]string{"oas://main.yaml": split["oas://main.yaml"]}, env: map[string]string{"oas://common.yaml": split["oas://common.yaml"]}},
		{name: "3.1 JSON", resource: "oas://p.json", bundle: map[string]string{"oas://p.json": readSpec(t, "petstore31.json")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, policyXML(tc.resource, ""), tc.bundle, tc.env)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

// request builds a flow's request: path is the proxy path suffix.
type request struct {
	method, path, query, body string
	headers                   map[string]string
}

func newContext(rq request) *flow.MessageContext {
	req := message.NewRequest()
	req.Method = rq.method
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	req.Path = "/petstore" + rq.path
	req.Query = message.ParseQuery(rq.query)
	for k, v := range rq.headers {
		req.Header.Set(k, v)
	}
	if rq.body != "" {
		req.SetContent([]byte(rq.body))
	}
	mc := flow.New(&flow.Proxy{Name: "p", BasePath: "/petstore"}, req, "127.0.0.1:1", nil)
	mc.PathSuffix = rq.path
	return mc
}

var tenant = map[string]string{"X-Tenant": "acme"}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestValidateRequest(t *testing.T) {
	strict := "<Options><ValidateMessageBody>true</ValidateMessageBody><AllowUnspecifiedParameters><Header>false</Header><Query>false</Query><Cookie>false</Cookie></AllowUnspecifiedParameters></Options>"
	body := "<Options><ValidateMessageBody>true</ValidateMessageBody></Options>"
	json := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name    string
		options string
		rq      request
		// want is "" for success, else substrings of the faultstring.
		want []string
	}{
		{name: "valid GET", rq: request{path: "/pets", query: "limit=5", headers: tenant}},
		{name: "valid path parameter", rq: request{path: "/pets/42"}},
		{name: "empty path suffix", rq: request{path: ""}, want: []string{"No API path found that matches request '/'."}},
		{name: "unknown path", rq: request{path: "/dogs"}, want: []string{"No API path found that matches request '/dogs'."}},
		{name: "spec base path is not part of the path", rq: request{path: "/v1/pets", headers: tenant}, want: []string{"No API path found that matches request '/v1/pets'."}},
		{name: "method not allowed", rq: request{method: "PUT", path: "/pets/13"}, want: []string{"PUT operation not allowed on path '/pets/13'."}},
		{name: "path parameter of the wrong type", rq: request{path: "/pets/abc"}, want: []string{`parameter "id" in path`, "invalid integer"}},
		{name: "query parameter over its maximum", rq: request{path: "/pets", query: "limit=11", headers: tenant}, want: []string{`parameter "limit" in query`}},
		{name: "query parameter of the wrong type", rq: request{path: "/pets", query: "limit=many", headers: tenant}, want: []string{`parameter "limit" in query`, "invalid integer"}},
		{name: "required header missing", rq: request{path: "/pets"}, want: []string{`parameter "X-Tenant" in header`, "value is required but missing"}},
		{name: "header not in its enum", rq: request{path: "/pets", headers: map[string]string{"X-Tenant": "initech"}}, want: []string{`parameter "X-Tenant" in header`}},
		{name: "required body missing without body validation", rq: request{method: "POST", path: "/pets", headers: json}, want: []string{"A request body is required but none found."}},
		{name: "bad body passes without body validation", rq: request{method: "POST", path: "/pets", headers: json, body: `{"name": 1}`}},
		{name: "bad body fails with body validation", options: body, rq: request{method: "POST", path: "/pets", headers: json, body: `{"name": "x", "age": 3}`}, want: []string{"request body has an error", "/name"}},
		{name: "missing property", options: body, rq: request{method: "POST", path: "/pets", headers: json, body: `{"name": "rex"}`}, want: []string{"request body has an error", "age"}},
		{name: "malformed JSON body", options: body, rq: request{method: "POST", path: "/pets", headers: json, body: `{"name": "rex"`}, want: []string{"request body has an error"}},
		{name: "valid body", options: body, rq: request{method: "POST", path: "/pets", headers: json, body: `{"name": "rex", "age": 3}`}},
		{name: "vendor JSON is JSON", options: body, rq: request{method: "POST", path: "/pets", headers: map[string]string{"Content-Type": "application/vnd.pet+json"}, body: `{"name": 1}`}, want: []string{"request body has an error"}},
		{name: "non-JSON body passes unchecked", options: body, rq: request{method: "POST", path: "/pets", headers: map[string]string{"Content-Type": "text/plain"}, body: "rex"}},
		{name: "non-JSON required body still required", options: body, rq: request{method: "POST", path: "/pets", headers: map[string]string{"Content-Type": "text/plain"}}, want: []string{"A request body is required but none found."}},
		{name: "unspecified parameters allowed by default", rq: request{path: "/pets", query: "extra=1", headers: with(tenant, "X-Extra", "1", "Cookie", "other=1")}},
		{name: "unspecified query refused", options: strict, rq: request{path: "/pets", query: "limit=2&extra=1", headers: tenant}, want: []string{"Query parameter 'extra' is not defined for GET /pets"}},
		{name: "unspecified header refused", options: strict, rq: request{path: "/pets", headers: with(tenant, "X-Extra", "1")}, want: []string{"Header parameter 'X-Extra' is not defined for GET /pets"}},
		{name: "transport headers are not parameters", options: strict, rq: request{path: "/pets", headers: with(tenant, "User-Agent", "curl", "Accept", "*/*", "X-Forwarded-For", "10.0.0.1")}},
		{name: "security scheme header is declared", options: strict, rq: request{method: "POST", path: "/pets", headers: with(json, "X-Api-Key", "k"), body: `{"name": "rex", "age": 3}`}},
		{name: "unspecified cookie refused", options: strict, rq: request{path: "/pets", headers: with(tenant, "Cookie", "session=s; other=1")}, want: []string{"Cookie parameter 'other' is not defined for GET /pets"}},
		{name: "declared cookie accepted", options: strict, rq: request{path: "/pets", headers: with(tenant, "Cookie", "session=s")}},
		{name: "only the refused kind is checked", options: "<Options><AllowUnspecifiedParameters><Query>false</Query></AllowUnspecifiedParameters></Options>", rq: request{path: "/pets", headers: with(tenant, "X-Extra", "1")}},
	}
	for _, spec := range []struct{ file, res string }{{"petstore.yaml", "oas://petstore.yaml"}, {"petstore31.json", "oas://petstore31.json"}} {
		src := readSpec(t, spec.file)
		for _, tc := range cases {
			t.Run(spec.file+"/"+tc.name, func(t *testing.T) {
				p, err := compile(t, policyXML(spec.res, tc.options+"<Source>request</Source>"), map[string]string{spec.res: src}, nil)
				require.NoError(t, err)
				err = p.Execute(context.Background(), newContext(tc.rq))
				if len(tc.want) == 0 {
					require.NoError(t, err)
					return
				}
				var f *flow.Fault
				require.True(t, errors.As(err, &f), "want a fault, got %v", err)
				require.Equal(t, CodeFailed, f.Code)
				require.Equal(t, http.StatusBadRequest, f.StatusCode())
				require.True(t, strings.HasPrefix(f.Message, `OASValidation OAS-1 with resource "`+spec.res+`": failed with reason: "[ERROR - `), f.Message)
				require.True(t, strings.HasSuffix(f.Message, `: []]"`), f.Message)
				require.NotContains(t, f.Message, "\n")
				for _, w := range tc.want {
					require.Contains(t, f.Message, w)
				}
			})
		}
	}
}

func TestValidateResponse(t *testing.T) {
	body := "<Options><ValidateMessageBody>true</ValidateMessageBody></Options>"
	cases := []struct {
		name, options, source string
		rq                    request
		status                int
		headers               map[string]string
		content               string
		want                  []string
	}{
		{name: "valid response", options: body, rq: request{path: "/pets/1"}, status: 200, headers: map[string]string{"Content-Type": "application/json"}, content: `{"name": "rex", "age": 3}`},
		{name: "message is the response in the response flow", source: "message", options: body, rq: request{path: "/pets/1"}, status: 200, headers: map[string]string{"Content-Type": "application/json"}, content: `{"name": "rex"}`, want: []string{"response body doesn't match schema", "age"}},
		{name: "bad body passes without body validation", rq: request{path: "/pets/1"}, status: 200, headers: map[string]string{"Content-Type": "application/json"}, content: `{"name": 1}`},
		{name: "bad body", options: body, rq: request{path: "/pets/1"}, status: 200, headers: map[string]string{"Content-Type": "application/json"}, content: `{"name": "rex", "age": -1}`, want: []string{"response body doesn't match schema"}},
		{name: "undeclared status", rq: request{path: "/pets/1"}, status: 500, want: []string{"status is not supported"}},
		{name: "declared status without content", rq: request{path: "/pets/1"}, status: 404},
		{name: "required response header missing", rq: request{path: "/pets", headers: tenant}, status: 200, headers: map[string]string{"Content-Type": "application/json"}, content: `[]`, want: []string{"X-Total"}},
		{name: "response header of the wrong type", rq: request{path: "/pets", headers: tenant}, status: 200, headers: map[string]string{"Content-Type": "application/json", "X-Total": "many"}, content: `[]`, want: []string{"X-Total"}},
		{name: "valid list", options: body, rq: request{path: "/pets", headers: tenant}, status: 200, headers: map[string]string{"Content-Type": "application/json", "X-Total": "1"}, content: `[{"name": "rex", "age": 1}]`},
		{name: "request path unknown to the spec", rq: request{path: "/cats"}, status: 200, want: []string{"No API path found that matches request '/cats'."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			source := tc.source
			if source == "" {
				source = "response"
			}
			p, err := compile(t, policyXML("oas://p.yaml", tc.options+"<Source>"+source+"</Source>"), map[string]string{"oas://p.yaml": readSpec(t, "petstore.yaml")}, nil)
			require.NoError(t, err)
			mc := newContext(tc.rq)
			mc.State = flow.ProxyResponse
			resp := message.NewResponse()
			resp.StatusCode = tc.status
			for k, v := range tc.headers {
				resp.Header.Set(k, v)
			}
			resp.SetContent([]byte(tc.content))
			mc.Response = resp
			err = p.Execute(context.Background(), mc)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			var f *flow.Fault
			require.True(t, errors.As(err, &f), "want a fault, got %v", err)
			require.Equal(t, CodeFailed, f.Code)
			require.Equal(t, http.StatusInternalServerError, f.StatusCode())
			for _, w := range tc.want {
				require.Contains(t, f.Message, w)
			}
		})
	}
}

func TestSourceErrors(t *testing.T) {
	cases := []struct {
		name, source string
		vars         map[string]any
		wantCode     string
	}{
		{"response not there yet", "response", nil, CodeSourceMessageNotAvailable},
		{"unknown variable", "calloutResponse", nil, CodeSourceMessageNotAvailable},
		{"not a message", "myvar", map[string]any{"myvar": "a string"}, CodeNotMessageVariable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := compile(t, policyXML("oas://p.yaml", "<Source>"+tc.source+"</Source>"), map[string]string{"oas://p.yaml": readSpec(t, "petstore.yaml")}, nil)
			require.NoError(t, err)
			mc := newContext(request{path: "/pets/1"})
			for k, v := range tc.vars {
				mc.SetVar(k, v)
			}
			err = p.Execute(context.Background(), mc)
			var f *flow.Fault
			require.True(t, errors.As(err, &f), "want a fault, got %v", err)
			require.Equal(t, tc.wantCode, f.Code)
			require.Equal(t, http.StatusInternalServerError, f.StatusCode())
			require.Contains(t, f.Message, tc.source)
		})
	}
}

// A request message in a variable (a ServiceCallout request) is validated
// by its own path: it has no proxy base path.
func TestCustomRequestVariable(t *testing.T) {
	p, err := compile(t, policyXML("oas://p.yaml", "<Source>calloutRequest</Source>"), map[string]string{"oas://p.yaml": readSpec(t, "petstore.yaml")}, nil)
	require.NoError(t, err)
	mc := newContext(request{path: "/whatever"})
	callout := message.NewRequest()
	callout.Method = http.MethodDelete
	callout.Path = "/pets/7"
	mc.SetMessage("calloutRequest", callout)
	require.NoError(t, p.Execute(context.Background(), mc))
	callout.Path = "/pets/seven"
	require.ErrorContains(t, p.Execute(context.Background(), mc), `parameter "id" in path`)
}

// Validation leaves the message as it was: no defaults filled in, the body
// still readable.
func TestMessageUnchanged(t *testing.T) {
	p, err := compile(t, policyXML("oas://p.yaml", "<Options><ValidateMessageBody>true</ValidateMessageBody></Options>"), map[string]string{"oas://p.yaml": readSpec(t, "petstore.yaml")}, nil)
	require.NoError(t, err)
	mc := newContext(request{method: "POST", path: "/pets", headers: map[string]string{"Content-Type": "application/json"}, body: `{"name": "rex", "age": 3}`})
	require.NoError(t, p.Execute(context.Background(), mc))
	require.Equal(t, `{"name": "rex", "age": 3}`, mc.Request.ContentString())
	require.Equal(t, []string{"Content-Type"}, mc.Request.HeaderNames())
}

func TestErrorReason(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"one line", `parameter "id" in path has an error: value x: an invalid integer`, `parameter "id" in path has an error: value x: an invalid integer`},
		{"several lines", "request body has an error:\n  first\n\n  second", "request body has an error:; first; second"},
		{"JSON Schema 2020-12 at the root", "parameter \"limit\" in query has an error: jsonschema validation failed with 'https://example.com/schema.json#'\n- at '': maximum: got 11, want 10",
			`parameter "limit" in query has an error: maximum: got 11, want 10`},
		{"JSON Schema 2020-12 nested", "request body has an error: doesn't match schema #/components/schemas/Pet: jsonschema validation failed with 'https://example.com/schema.json#'\n- at '/name': minLength: got 1, want 2\n- at '/age': minimum: got -3, want 0",
			"request body has an error: doesn't match schema #/components/schemas/Pet: at '/name': minLength: got 1, want 2; at '/age': minimum: got -3, want 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, errorReason(errors.New(tc.in)))
		})
	}
}

// The policy is compiled once and run by concurrent requests; -race
// checks that validation shares nothing mutable (the validator compiles
// patterns and JSON Schema 2020-12 validators lazily).
func TestConcurrentExecute(t *testing.T) {
	for _, spec := range []string{"petstore.yaml", "petstore31.json"} {
		res := "oas://" + spec
		p, err := compile(t, policyXML(res, "<Options><ValidateMessageBody>true</ValidateMessageBody></Options><Source>request</Source>"), map[string]string{res: readSpec(t, spec)}, nil)
		require.NoError(t, err)
		rqs := []request{
			{path: "/pets", query: "limit=3", headers: tenant},
			{path: "/pets", query: "limit=30", headers: tenant},
			{method: "POST", path: "/pets", headers: map[string]string{"Content-Type": "application/json"}, body: `{"name": "rex", "age": 3}`},
			{method: "POST", path: "/pets", headers: map[string]string{"Content-Type": "application/json"}, body: `{"name": "r", "age": -3}`},
		}
		errs := make(chan error, 64)
		for i := range 64 {
			go func() { errs <- p.Execute(context.Background(), newContext(rqs[i%len(rqs)])) }()
		}
		failed := 0
		for range 64 {
			if <-errs != nil {
				failed++
			}
		}
		require.Equal(t, 32, failed, spec)
	}
}
