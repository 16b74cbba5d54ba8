package xsl

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

const upper = `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text"/><xsl:param name="p" select="'default'"/>
<xsl:template match="/"><xsl:value-of select="concat(translate(*, 'abc', 'ABC'), ':', $p)"/></xsl:template>
</xsl:stylesheet>`

func compile(tb testing.TB, policyXML string, resources map[string]string) (flow.Policy, error) {
	tb.Helper()
	b := &bundle.Bundle{Resources: map[string][]byte{}}
	for k, v := range resources {
		b.Resources[k] = []byte(v)
	}
	return Compile(&flow.CompileContext{Bundle: b, Policy: &bundle.Policy{Type: "XSL", Name: "XSL-1", XML: []byte(policyXML)}})
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, xml, want string
		res             map[string]string
	}{
		{"empty resource URL", `<XSL name="XSL-1"><ResourceURL></ResourceURL></XSL>`, "XSL/ResourceURL: Resource Url cannot be empty in XSL XSL-1", nil},
		{"wrong resource type", `<XSL name="XSL-1"><ResourceURL>jsc://a.js</ResourceURL></XSL>`, "XSL/ResourceURL: XSL XSL-1: Resource type must be xsl. Context jsc://a.js", nil},
		{"missing resource", `<XSL name="XSL-1"><ResourceURL>xsl://a.xsl</ResourceURL></XSL>`, "resource xsl://a.xsl is neither in the bundle nor an environment resource file", nil},
		{"unsupported stylesheet", `<XSL name="XSL-1"><ResourceURL>xsl://a.xsl</ResourceURL></XSL>`, "XSL/ResourceURL: xsl://a.xsl: line 1: <xsl:template>: match: invalid pattern",
			map[string]string{"xsl://a.xsl": `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="ancestor::a"/></xsl:stylesheet>`}},
		{"parameter without name", `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL><Parameters><Parameter value="1"/></Parameters></XSL>`, "<Parameter> needs a name attribute", map[string]string{"xsl://u.xsl": upper}},
		{"parameter with ref and value", `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL><Parameters><Parameter name="p" ref="a" value="b"/></Parameters></XSL>`, "parameter p has both ref and value", map[string]string{"xsl://u.xsl": upper}},
		{"parameter without value", `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL><Parameters><Parameter name="p"/></Parameters></XSL>`, "parameter p needs a ref or a value attribute", map[string]string{"xsl://u.xsl": upper}},
		{"bad ignoreUnresolvedVariables", `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL><Parameters ignoreUnresolvedVariables="maybe"/></XSL>`, "XSL/Parameters", map[string]string{"xsl://u.xsl": upper}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compile(t, tc.xml, tc.res)
			var ip *flow.InvalidPolicyError
			require.True(t, errors.As(err, &ip), "%v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestExecute(t *testing.T) {
	res := map[string]string{"xsl://u.xsl": upper}
	newCtx := func(ct, body string) *flow.MessageContext {
		req := message.NewRequest()
		req.Header.Set("Content-Type", ct)
		req.SetContent([]byte(body))
		return flow.New(&flow.Proxy{Name: "p"}, req, "127.0.0.1:1", nil)
	}
	cases := []struct {
		name, policy, ct, body string
		vars                   map[string]any
		wantContent, wantVar   string
		wantCode               string
	}{
		{name: "replaces the source content", policy: `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL></XSL>`, ct: "text/xml", body: "<a>abcd</a>", wantContent: "ABCd:default"},
		{name: "output variable keeps the source", policy: `<XSL name="XSL-1"><Source>request</Source><OutputVariable>out</OutputVariable><ResourceURL>xsl://u.xsl</ResourceURL><Parameters><Parameter name="p" value="lit"/></Parameters></XSL>`, ct: "application/xml", body: "<a>cab</a>", wantContent: "<a>cab</a>", wantVar: "CAB:lit"},
		{name: "parameter from a variable", policy: `<XSL name="XSL-1"><OutputVariable>out</OutputVariable><ResourceURL>xsl://u.xsl</ResourceURL><Parameters><Parameter name="p" ref="my.var"/></Parameters></XSL>`, ct: "text/xml", body: "<a/>", vars: map[string]any{"my.var": "fromvar"}, wantVar: ":fromvar", wantContent: "<a/>"},
		{name: "ignored unresolved parameter keeps the default", policy: `<XSL name="XSL-1"><OutputVariable>out</OutputVariable><ResourceURL>xsl://u.xsl</ResourceURL><Parameters ignoreUnresolvedVariables="true"><Parameter name="p" ref="nope"/></Parameters></XSL>`, ct: "text/xml", body: "<a/>", wantVar: ":default", wantContent: "<a/>"},
		{name: "a string variable as the source", policy: `<XSL name="XSL-1"><Source>doc</Source><ResourceURL>xsl://u.xsl</ResourceURL></XSL>`, ct: "text/plain", body: "x", vars: map[string]any{"doc": "<a>bb</a>"}, wantContent: "x"},
		{name: "not XML: left alone", policy: `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL></XSL>`, ct: "application/json", body: `{"a":1}`, wantContent: `{"a":1}`},
		{name: "unresolved parameter", policy: `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL><Parameters><Parameter name="p" ref="nope"/></Parameters></XSL>`, ct: "text/xml", body: "<a/>", wantCode: CodeVariableResolutionFailed},
		{name: "malformed", policy: `<XSL name="XSL-1"><ResourceURL>xsl://u.xsl</ResourceURL></XSL>`, ct: "text/xml", body: "<a>", wantCode: CodeEvaluationFailed},
		{name: "no source", policy: `<XSL name="XSL-1"><Source>calloutResponse</Source><ResourceURL>xsl://u.xsl</ResourceURL></XSL>`, ct: "text/xml", body: "<a/>", wantCode: CodeSourceNotAvailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := compile(t, tc.policy, res)
			require.NoError(t, err)
			mc := newCtx(tc.ct, tc.body)
			for k, v := range tc.vars {
				require.NoError(t, mc.Set(k, v))
			}
			err = p.Execute(context.Background(), mc)
			if tc.wantCode != "" {
				var f *flow.Fault
				require.True(t, errors.As(err, &f), "%v", err)
				require.Equal(t, tc.wantCode, f.Code)
				require.Equal(t, 500, f.StatusCode())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantContent, mc.Request.ContentString())
			if tc.wantVar != "" {
				v, _ := mc.GetString("out")
				require.Equal(t, tc.wantVar, v)
			}
			if tc.name == "a string variable as the source" {
				v, _ := mc.GetString("doc")
				require.Equal(t, "BB:default", v)
			}
		})
	}
}
