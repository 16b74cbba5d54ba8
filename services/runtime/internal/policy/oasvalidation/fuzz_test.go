package oasvalidation

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// FuzzCompileSpec feeds arbitrary documents to the spec compiler, which
// runs inside the message processor at deployment: it must return a
// spec or an error, never panic or hang.
func FuzzCompileSpec(f *testing.F) {
	for _, name := range []string{"petstore.yaml", "petstore31.json"} {
		data, err := os.ReadFile("testdata/" + name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("openapi: 3.0.0\npaths: {}\n"))
	f.Add([]byte(`{"swagger": "2.0"}`))
	f.Add([]byte("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    $ref: 'other.yaml#/x'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		resolve := func(string) ([]byte, bool) { return data, true }
		s, err := compileSpec(context.Background(), "spec.yaml", data, resolve)
		if err == nil {
			require.NotNil(t, s)
		}
	})
}

// FuzzValidateRequest sends arbitrary requests through the policy: the
// answer is no fault or steps.oasvalidation.Failed with 400, never a
// panic or another error.
func FuzzValidateRequest(f *testing.F) {
	f.Add("GET", "/pets", "limit=5", "acme", "session=s", "", false)
	f.Add("POST", "/pets", "", "", "", `{"name": "rex", "age": 3}`, true)
	f.Add("POST", "/pets", "", "", "", `{"name": ["x"], "age": {}}`, true)
	f.Add("GET", "/pets/%zz", "limit=%", "", ";;=", "", false)
	f.Add("DELETE", "/pets/9999999999999999999999", "a=1&a=2", "x\x00", "", "", true)
	strict := "<Options><ValidateMessageBody>true</ValidateMessageBody><AllowUnspecifiedParameters><Header>false</Header><Query>false</Query><Cookie>false</Cookie></AllowUnspecifiedParameters></Options><Source>request</Source>"
	var policies []flow.Policy
	for _, spec := range []string{"petstore.yaml", "petstore31.json"} {
		res := "oas://" + spec
		for _, opts := range []string{strict, "<Source>request</Source>"} {
			p, err := compile(f, policyXML(res, opts), map[string]string{res: readSpec(f, spec)}, nil)
			require.NoError(f, err)
			policies = append(policies, p)
		}
	}
	f.Fuzz(func(t *testing.T, method, path, query, tenant, cookie, body string, json bool) {
		h := map[string]string{"X-Tenant": tenant, "Cookie": cookie}
		if json {
			h["Content-Type"] = "application/json"
		}
		for _, p := range policies {
			err := p.Execute(context.Background(), newContext(request{method: method, path: path, query: query, body: body, headers: h}))
			if err == nil {
				continue
			}
			var fault *flow.Fault
			require.True(t, errors.As(err, &fault), "%v", err)
			require.Equal(t, CodeFailed, fault.Code)
			require.Equal(t, http.StatusBadRequest, fault.StatusCode())
		}
	})
}
