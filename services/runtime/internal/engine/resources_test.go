package engine

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

func oasSpec(path string) string {
	return "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  " + path + ":\n    post:\n      responses:\n        '200': {description: ok}\n"
}

func xslText(text string) string {
	return `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:output method="text"/>` +
		`<xsl:template match="/">` + text + `</xsl:template></xsl:stylesheet>`
}

// TestEnvironmentResourceChangeRecompiles: a new contract whose only
// change is an environment resource file (jsc, xsl, oas) recompiles the
// proxies and changes what they do; an unchanged one reuses them; a
// removed one fails the deployment naming the resource.
func TestEnvironmentResourceChangeRecompiles(t *testing.T) {
	cases := []struct {
		name string
		// policy runs in the response PreFlow of a proxy without target,
		// for a POST /r of <a/> as text/xml.
		policy   string
		url      string
		v1, v2   string
		want1    string // body after v1
		want2    string // body after v2, or "status:<code>"
		errOnDel string
	}{
		{
			name:   "jsc",
			policy: `<Javascript name="P"><ResourceURL>jsc://v.js</ResourceURL></Javascript>`,
			url:    "jsc://v.js", v1: `context.setVariable("response.content", "one")`, v2: `context.setVariable("response.content", "two")`,
			want1: "one", want2: "two", errOnDel: `references resource "jsc://v.js", which is not in the bundle`,
		},
		{
			name:   "xsl",
			policy: `<XSL name="P"><Source>request</Source><OutputVariable>response.content</OutputVariable><ResourceURL>xsl://v.xsl</ResourceURL></XSL>`,
			url:    "xsl://v.xsl", v1: xslText("one"), v2: xslText("two"),
			want1: "one", want2: "two", errOnDel: `references resource "xsl://v.xsl", which is not in the bundle`,
		},
		{
			name:   "oas",
			policy: `<OASValidation name="P"><Source>request</Source><OASResource>oas://v.yaml</OASResource></OASValidation>`,
			url:    "oas://v.yaml", v1: oasSpec("/r"), v2: oasSpec("/s"),
			want1: "", want2: "status:400", errOnDel: "ResourceDoesNotExist: OASValidation P: resource oas://v.yaml does not exist",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := bundletest.Proxy("res", "/res", "http://127.0.0.1:1")
			step := "Response"
			if strings.HasPrefix(tc.policy, "<OASValidation") {
				step = "Request"
			}
			files["apiproxy/proxies/default.xml"] = `<ProxyEndpoint name="default">
  <PreFlow><` + step + `><Step><Name>P</Name></Step></` + step + `></PreFlow>
  <HTTPProxyConnection><BasePath>/res</BasePath></HTTPProxyConnection>
  <RouteRule name="none"/>
</ProxyEndpoint>`
			files["apiproxy/policies/P.xml"] = tc.policy
			typ, name, _ := strings.Cut(tc.url, "://")
			mk := func(version, content string) *contract.Contract {
				c := &contract.Contract{Organization: "org", Environment: "test", Version: version, Hostnames: []string{"api.test"},
					APIProxies: []contract.Deployment{deployment(t, "res", "1", files)}}
				if content != "" {
					c.ResourceFiles = []contract.ResourceFile{{Type: typ, Name: name, Content: []byte(content)}}
				}
				return c
			}
			e := New(zaptest.NewLogger(t), DefaultOptions())
			t.Cleanup(e.Close)
			post := func() (int, string) {
				req := httptest.NewRequest(http.MethodPost, "/res/r", strings.NewReader("<a/>"))
				req.Host = "api.test"
				req.Header.Set("Content-Type", "text/xml")
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				return rec.Code, rec.Body.String()
			}
			check := func(want string) {
				t.Helper()
				code, body := post()
				if status, ok := strings.CutPrefix(want, "status:"); ok {
					require.Equal(t, status, strconv.Itoa(code), body)
					return
				}
				require.Equal(t, http.StatusOK, code, body)
				require.Equal(t, want, body)
			}

			env1 := e.Compile(mk("20261122.100000.000", tc.v1), nil)
			require.Equal(t, "READY", env1.Status[0].State, env1.Status[0].Errors)
			e.SetEnvironment(env1)
			check(tc.want1)

			env2 := e.Compile(mk("20261122.100001.000", tc.v2), env1)
			require.Equal(t, "READY", env2.Status[0].State, env2.Status[0].Errors)
			require.NotSame(t, env1.Proxies[0], env2.Proxies[0])
			e.SetEnvironment(env2)
			check(tc.want2)

			env3 := e.Compile(mk("20261122.100002.000", tc.v2), env2)
			require.Same(t, env2.Proxies[0], env3.Proxies[0])

			env4 := e.Compile(mk("20261122.100003.000", ""), env3)
			require.Equal(t, "ERROR", env4.Status[0].State)
			require.Contains(t, env4.Status[0].Errors[0], tc.errOnDel)
		})
	}
}

// TestResourceResolutionOrder: the proxy revision's resource shadows the
// environment's of the same URL; the environment fills in what the
// bundle lacks.
func TestResourceResolutionOrder(t *testing.T) {
	cases := []struct {
		name          string
		bundle, env   map[string]string
		url, want     string
		wantFound     bool
		wantFileLabel string
	}{
		{name: "bundle only", bundle: map[string]string{"jsc://a.js": "b"}, url: "jsc://a.js", want: "b", wantFound: true, wantFileLabel: "apiproxy/resources/jsc/a.js"},
		{name: "environment only", env: map[string]string{"jsc://a.js": "e"}, url: "jsc://a.js", want: "e", wantFound: true, wantFileLabel: "environment test resource file jsc/a.js"},
		{name: "bundle first", bundle: map[string]string{"oas://s.yaml": "b"}, env: map[string]string{"oas://s.yaml": "e"}, url: "oas://s.yaml", want: "b", wantFound: true, wantFileLabel: "apiproxy/resources/oas/s.yaml"},
		{name: "types do not mix", env: map[string]string{"jsc://t.xsl": "e"}, url: "xsl://t.xsl"},
		{name: "neither", url: "xsl://t.xsl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &contract.Contract{Environment: "test"}
			for u, content := range tc.env {
				typ, name, _ := strings.Cut(u, "://")
				c.ResourceFiles = append(c.ResourceFiles, contract.ResourceFile{Type: typ, Name: name, Content: []byte(content)})
			}
			ec := &envCompiler{env: &Environment{Name: "test"}, envRes: envResources(c)}
			files := bundletest.Proxy("p", "/p", "http://127.0.0.1:1")
			for u, content := range tc.bundle {
				typ, name, _ := strings.Cut(u, "://")
				files["apiproxy/resources/"+typ+"/"+name] = content
			}
			b, err := bundle.ParseWithOptions(bundletest.Zip(t, files), bundle.KindProxy, ec.parseOptions())
			require.NoError(t, err)
			comp := &compiler{ec: ec, bundle: b}
			data, ok := comp.resource(tc.url)
			require.Equal(t, tc.wantFound, ok)
			require.Equal(t, tc.want, string(data))
			if ok {
				require.Equal(t, tc.wantFileLabel, comp.resourceFile(tc.url))
			}
			// The bundle parser accepts what the environment provides, and
			// oas:// always (OASValidation reports a missing spec itself).
			opts := ec.parseOptions()
			for u := range tc.env {
				require.True(t, opts.ResourceExists(u))
			}
			require.True(t, opts.ResourceExists("oas://anything.yaml"))
			require.False(t, opts.ResourceExists("jsc://nowhere.js"))
		})
	}
}
