package bundle_test

import (
	"encoding/xml"
	"errors"
	"io/fs"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

func TestParseMinimalProxy(t *testing.T) {
	b, err := bundle.Parse(zipOf(t, proxyFiles()), bundle.KindProxy, bundle.Limits{})
	require.NoError(t, err)

	require.Equal(t, bundle.KindProxy, b.Kind)
	require.Equal(t, "hello", b.Name)
	require.Equal(t, "apiproxy/hello.xml", b.Manifest.File)
	require.Equal(t, "1", b.Manifest.Revision)
	require.Equal(t, []string{"/hello"}, b.Manifest.BasePaths)
	require.Equal(t, []string{"default"}, b.Manifest.ProxyEndpoints)

	require.Len(t, b.ProxyEndpoints, 1)
	pe := b.ProxyEndpoints[0]
	require.Equal(t, "default", pe.Name)
	require.Equal(t, "apiproxy/proxies/default.xml", pe.File)
	require.Equal(t, "/hello", pe.HTTPProxyConnection.BasePath)
	require.NotNil(t, pe.PreFlow)
	require.NotNil(t, pe.PostFlow)
	require.Empty(t, pe.PreFlow.Request)
	require.Equal(t, []bundle.RouteRule{{Name: "default", TargetEndpoint: "default"}}, pe.RouteRules)

	require.Len(t, b.TargetEndpoints, 1)
	require.Equal(t, "http://127.0.0.1:8080", b.TargetEndpoints[0].HTTPTargetConnection.URL)
	require.Empty(t, b.Policies)
	require.Empty(t, b.Resources)

	require.Equal(t, bundle.Summary{
		Name:        "hello",
		BasePaths:   []string{"/hello"},
		Proxies:     []string{"default"},
		Targets:     []string{"default"},
		Policies:    []string{},
		Resources:   []string{},
		SharedFlows: []string{},
	}, b.Summary())
}

func TestParseRealisticProxy(t *testing.T) {
	b, err := bundle.Parse(zipOf(t, realistic()), bundle.KindProxy, bundle.Limits{})
	require.NoError(t, err)

	require.Equal(t, "orders", b.Name)
	require.Equal(t, "Orders", b.Manifest.DisplayName)
	require.Equal(t, "Orders API", b.Manifest.Description)
	require.Equal(t, "7", b.Manifest.Revision)
	require.Equal(t, []string{"backend", "chain"}, b.Manifest.TargetEndpoints)

	require.Equal(t, bundle.Summary{
		Name:        "orders",
		BasePaths:   []string{"/v1/orders"},
		Proxies:     []string{"default"},
		Targets:     []string{"backend", "chain"},
		Policies:    []string{"AM-Error", "AM-TargetHeaders", "JS-Enrich", "ML-Log", "OAS-Validate", "RF-InvalidKey", "RF-NotFound", "VA-Key", "XSL-Transform"},
		Resources:   []string{"jsc://enrich.js", "jsc://lib.js", "oas://orders.yaml", "properties://app.properties", "xsl://transform.xsl"},
		SharedFlows: []string{},
	}, b.Summary())

	pe := b.ProxyEndpoint("default")
	require.NotNil(t, pe)
	require.Equal(t, "Orders proxy", pe.Description)
	require.Equal(t, bundle.HTTPProxyConnection{
		BasePath:     "/v1/orders",
		VirtualHosts: []string{"secure"},
		Properties:   bundle.Properties{"request.streaming.enabled": "true"},
	}, pe.HTTPProxyConnection)
	require.Equal(t, []bundle.FaultRule{{
		Name:      "invalid-key",
		Condition: `(fault.name = "InvalidApiKey")`,
		Steps:     []bundle.Step{{Name: "RF-InvalidKey"}},
	}}, pe.FaultRules)
	require.Equal(t, &bundle.FaultRule{Name: "all", AlwaysEnforce: true, Steps: []bundle.Step{{Name: "AM-Error"}}}, pe.DefaultFaultRule)
	require.Equal(t, []bundle.Step{
		{Name: "VA-Key", Condition: `request.verb != "OPTIONS"`},
		{Name: "OAS-Validate"},
	}, pe.PreFlow.Request)
	require.Equal(t, []bundle.Flow{
		{
			Name:        "get-order",
			Description: "one order",
			Condition:   `(proxy.pathsuffix MatchesPath "/*") and (request.verb = "GET")`,
			Request:     []bundle.Step{{Name: "JS-Enrich"}},
			Response:    []bundle.Step{{Name: "XSL-Transform", Condition: `response.header.content-type ~~ ".*xml"`}},
		},
		{Name: "unknown", Request: []bundle.Step{{Name: "RF-NotFound"}}},
	}, pe.Flows)
	require.Equal(t, []bundle.Step{{Name: "ML-Log"}}, pe.PostClientFlow.Response)
	require.Equal(t, []bundle.RouteRule{
		{Name: "chain", Condition: `request.header.x-chain = "true"`, TargetEndpoint: "chain"},
		{Name: "noroute", Condition: `request.verb = "OPTIONS"`},
		{Name: "default", TargetEndpoint: "backend"},
	}, pe.RouteRules)

	backend := b.TargetEndpoint("backend")
	require.NotNil(t, backend)
	require.Equal(t, "apiproxy/targets/backend.xml", backend.File)
	require.Equal(t, []bundle.Step{{Name: "AM-TargetHeaders"}}, backend.PreFlow.Request)
	htc := backend.HTTPTargetConnection
	require.NotNil(t, htc)
	require.Empty(t, htc.URL)
	require.Equal(t, "/orders", htc.Path)
	require.Equal(t, bundle.Properties{"io.timeout.millis": "5000", "success.codes": "1xx,2xx,3xx,404"}, htc.Properties)
	require.Equal(t, &bundle.LoadBalancer{
		Algorithm: "Weighted",
		Servers: []bundle.LBServer{
			{Name: "orders-1", Weight: 2, IsEnabled: true},
			{Name: "orders-2", Weight: 1, IsEnabled: true},
			{Name: "orders-dr", Weight: 1, IsFallback: true, IsEnabled: false},
		},
		MaxFailures:             5,
		RetryEnabled:            true,
		ServerUnhealthyResponse: &bundle.ServerUnhealthyResponse{ResponseCodes: []int{502, 503}},
	}, htc.LoadBalancer)
	require.Equal(t, &bundle.SSLInfo{
		Enabled:           true,
		Enforce:           true,
		ClientAuthEnabled: true,
		KeyStore:          "ref://client-keystore",
		KeyAlias:          "client",
		TrustStore:        "ref://backend-truststore",
		Protocols:         []string{"TLSv1.2", "TLSv1.3"},
		Ciphers:           []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		CommonName:        &bundle.CommonName{Value: "*.example.com", WildcardMatch: true},
	}, htc.SSLInfo)
	require.Equal(t, &bundle.HealthMonitor{
		IsEnabled:     true,
		IntervalInSec: 5,
		HTTPMonitor: &bundle.HTTPMonitor{
			Request: bundle.HTTPMonitorRequest{
				ConnectTimeoutInSec: 10, SocketReadTimeoutInSec: 30, Port: 443, Verb: "GET", Path: "/healthz",
				Headers: []bundle.Header{{Name: "Authorization", Value: "Basic Zm9vOmJhcg=="}},
			},
			SuccessResponse: bundle.HTTPMonitorResponse{ResponseCodes: []int{200}},
		},
	}, htc.HealthMonitor)

	chain := b.TargetEndpoint("chain")
	require.Nil(t, chain.HTTPTargetConnection)
	require.Equal(t, &bundle.LocalTargetConnection{APIProxy: "inventory", ProxyEndpoint: "default"}, chain.LocalTargetConnection)

	va := b.Policies["VA-Key"]
	require.Equal(t, "VerifyAPIKey", va.Type)
	require.Equal(t, "Verify API Key", va.DisplayName)
	require.Equal(t, "apiproxy/policies/VA-Key.xml", va.File)
	require.True(t, va.Enabled)
	require.False(t, va.ContinueOnError)
	require.Contains(t, string(va.XML), `<APIKey ref="request.header.x-apikey"/>`)

	require.True(t, b.Policies["OAS-Validate"].ContinueOnError)
	require.False(t, b.Policies["XSL-Transform"].Enabled)
	js := b.Policies["JS-Enrich"]
	require.Equal(t, "Javascript", js.Type)
	require.Equal(t, []string{"jsc://lib.js", "jsc://enrich.js"}, js.ResourceURLs)
	require.Empty(t, b.Policies["AM-Error"].ResourceURLs)
	require.Equal(t, `context.setVariable("enriched", "true");`, string(b.Resources["jsc://enrich.js"]))
}

func TestParseSharedFlow(t *testing.T) {
	files := withFiles(bundletest.SharedFlow("security"),
		"sharedflowbundle/sharedflows/extra.xml", `<SharedFlow name="extra">
            <Step><Name>JS-Check</Name><Condition>request.verb = "POST"</Condition></Step>
        </SharedFlow>`,
		"sharedflowbundle/policies/JS-Check.xml", `<Javascript name="JS-Check"><ResourceURL>jsc://check.js</ResourceURL></Javascript>`,
		"sharedflowbundle/resources/jsc/check.js", `// ok`,
	)
	b, err := bundle.Parse(zipOf(t, files), bundle.KindSharedFlow, bundle.Limits{})
	require.NoError(t, err)
	require.Equal(t, bundle.KindSharedFlow, b.Kind)
	require.Equal(t, "security", b.Name)
	require.Empty(t, b.ProxyEndpoints)
	require.Len(t, b.SharedFlows, 2)
	require.Equal(t, "default", b.SharedFlows[0].Name)
	require.Equal(t, &bundle.SharedFlow{
		Name:  "extra",
		File:  "sharedflowbundle/sharedflows/extra.xml",
		Steps: []bundle.Step{{Name: "JS-Check", Condition: `request.verb = "POST"`}},
	}, withoutXMLName(b.SharedFlow("extra")))
	require.Equal(t, bundle.Summary{
		Name:        "security",
		BasePaths:   []string{},
		Proxies:     []string{},
		Targets:     []string{},
		Policies:    []string{"AM-MarkSharedFlow", "JS-Check"},
		Resources:   []string{"jsc://check.js"},
		SharedFlows: []string{"default", "extra"},
	}, b.Summary())
}

func withoutXMLName(sf *bundle.SharedFlow) *bundle.SharedFlow {
	c := *sf
	c.XMLName.Local = ""
	return &c
}

func TestParseOptionsExternalResources(t *testing.T) {
	files := proxyFiles("apiproxy/policies/JS-1.xml", `<Javascript name="JS-1"><ResourceURL>jsc://env.js</ResourceURL></Javascript>`)
	data := zipOf(t, files)

	_, err := bundle.Parse(data, bundle.KindProxy, bundle.Limits{})
	require.ErrorIs(t, err, bundle.ErrMissingReference)

	var asked []string
	b, err := bundle.ParseWithOptions(data, bundle.KindProxy, bundle.Options{ResourceExists: func(u string) bool {
		asked = append(asked, u)
		return u == "jsc://env.js"
	}})
	require.NoError(t, err)
	require.Equal(t, []string{"jsc://env.js"}, asked)
	require.Contains(t, b.Policies, "JS-1")
}

func TestParseLenientInputs(t *testing.T) {
	t.Run("ISO-8859-1 policy is normalized to UTF-8", func(t *testing.T) {
		latin1 := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<AssignMessage name=\"AM-1\"><DisplayName>Caf\xe9</DisplayName></AssignMessage>"
		b, err := bundle.Parse(zipOf(t, proxyFiles("apiproxy/policies/AM-1.xml", latin1)), bundle.KindProxy, bundle.Limits{})
		require.NoError(t, err)
		require.Equal(t, "Café", b.Policies["AM-1"].DisplayName)
		require.Contains(t, string(b.Policies["AM-1"].XML), `encoding="UTF-8"`)
		require.Contains(t, string(b.Policies["AM-1"].XML), "Café")
	})
	t.Run("UTF-8 byte order mark", func(t *testing.T) {
		b, err := bundle.Parse(zipOf(t, proxyFiles("apiproxy/policies/AM-1.xml", "\xef\xbb\xbf<AssignMessage name=\"AM-1\"/>")), bundle.KindProxy, bundle.Limits{})
		require.NoError(t, err)
		require.Equal(t, `<AssignMessage name="AM-1"/>`, string(b.Policies["AM-1"].XML))
	})
	t.Run("UTF-16 with byte order mark", func(t *testing.T) {
		doc := `<?xml version="1.0" encoding="UTF-16"?><AssignMessage name="AM-ü"/>`
		u := []byte{0xFF, 0xFE}
		for _, r := range doc {
			u = append(u, byte(r), byte(r>>8))
		}
		b, err := bundle.Parse(zipOf(t, proxyFiles("apiproxy/policies/AM-1.xml", string(u))), bundle.KindProxy, bundle.Limits{})
		require.NoError(t, err)
		require.Contains(t, b.Policies, "AM-ü")
	})
	t.Run("manifest without name attribute uses the file name", func(t *testing.T) {
		b, err := bundle.Parse(zipOf(t, proxyFiles("apiproxy/hello.xml", `<APIProxy><Basepaths>/a,/b</Basepaths></APIProxy>`)), bundle.KindProxy, bundle.Limits{})
		require.NoError(t, err)
		require.Equal(t, "hello", b.Name)
		require.Equal(t, []string{"/a", "/b"}, b.Manifest.BasePaths)
	})
	t.Run("missing BasePath means /", func(t *testing.T) {
		b, err := bundle.Parse(zipOf(t, proxyFiles("apiproxy/proxies/default.xml", `<ProxyEndpoint name="default"/>`)), bundle.KindProxy, bundle.Limits{})
		require.NoError(t, err)
		require.Equal(t, "/", b.ProxyEndpoints[0].HTTPProxyConnection.BasePath)
		require.Equal(t, []string{"/"}, b.Summary().BasePaths)
	})
	t.Run("target URL built from variables", func(t *testing.T) {
		files := proxyFiles("apiproxy/targets/default.xml", `<TargetEndpoint name="default"><HTTPTargetConnection><URL>https://{backend.host}/v1</URL></HTTPTargetConnection></TargetEndpoint>`)
		_, err := bundle.Parse(zipOf(t, files), bundle.KindProxy, bundle.Limits{})
		require.NoError(t, err)
	})
	t.Run("resource URL from a variable is not checked", func(t *testing.T) {
		files := proxyFiles("apiproxy/policies/JS-1.xml", `<Javascript name="JS-1"><ResourceURL>jsc://{script}</ResourceURL></Javascript>`)
		_, err := bundle.Parse(zipOf(t, files), bundle.KindProxy, bundle.Limits{})
		require.NoError(t, err)
	})
}

// proxyEntries is the minimal proxy as raw entries plus extra ones.
func proxyEntries(extra ...bundletest.Entry) []bundletest.Entry {
	return bundletest.Entries(proxyFiles(), extra...)
}

func incompressible(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	return b
}

func TestParseRejects(t *testing.T) {
	policy := func(name string) string { return `<AssignMessage name="` + name + `"/>` }
	withStep := func(step string) string {
		return `<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>` + step + `</Name></Step></Request></PreFlow>
            <HTTPProxyConnection><BasePath>/hello</BasePath></HTTPProxyConnection>
            <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule></ProxyEndpoint>`
	}
	target := func(conn string) string { return `<TargetEndpoint name="default">` + conn + `</TargetEndpoint>` }
	zeros := make([]byte, 20<<20)

	tests := []struct {
		name   string
		data   func(tb testing.TB) []byte
		kind   bundle.Kind
		limits bundle.Limits
		want   error
		file   string // ValidationError.File
		msg    string // substring of the message
	}{
		// Archive level.
		{name: "empty input", data: bytesOf(nil), want: bundle.ErrNotZip, msg: "empty"},
		{name: "not a zip", data: bytesOf([]byte("this is not a zip archive at all")), want: bundle.ErrNotZip, msg: "not a zip"},
		{name: "truncated zip", data: func(tb testing.TB) []byte { z := zipOf(tb, proxyFiles()); return z[:len(z)-30] }, want: bundle.ErrNotZip},
		{name: "archive over the size limit", data: files(proxyFiles()), limits: bundle.Limits{MaxArchiveBytes: 100}, want: bundle.ErrTooLarge, msg: "limit is 100 bytes"},
		{name: "too many files", data: files(proxyFiles("apiproxy/policies/A.xml", policy("A"), "apiproxy/policies/B.xml", policy("B"), "apiproxy/policies/C.xml", policy("C"))), limits: bundle.Limits{MaxFiles: 5}, want: bundle.ErrTooLarge, msg: "6 entries; the limit is 5"},
		{name: "empty archive", data: files(map[string]string{}), want: bundle.ErrInvalidBundle, msg: "no files"},
		{name: "zip bomb", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/big.js", Data: zeros})...), want: bundle.ErrZipBomb, file: "apiproxy/resources/jsc/big.js"},
		{name: "archive-wide ratio", data: raw(proxyEntries(
			bundletest.Entry{Name: "apiproxy/resources/jsc/a.js", Data: zeros[:900<<10]},
			bundletest.Entry{Name: "apiproxy/resources/jsc/b.js", Data: zeros[:900<<10]})...), want: bundle.ErrZipBomb, msg: "archive expands"},
		{name: "header understates the size", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/lie.js", Data: zeros[:5<<20], Declared: 100})...), want: bundle.ErrZipBomb, file: "apiproxy/resources/jsc/lie.js", msg: "more than the 100 bytes its header declares"},
		{name: "header overstates the size", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/lie.js", Data: []byte("tiny"), Declared: 1000})...), want: bundle.ErrNotZip, file: "apiproxy/resources/jsc/lie.js", msg: "corrupt"},
		{name: "file over the per-file limit", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/java/x.jar", Data: incompressible(2 << 20)})...), limits: bundle.Limits{MaxFileBytes: 1 << 20}, want: bundle.ErrTooLarge, file: "apiproxy/resources/java/x.jar", msg: "limit per file is 1048576"},
		{name: "total over the uncompressed limit", data: raw(proxyEntries(
			bundletest.Entry{Name: "apiproxy/resources/java/a.jar", Data: incompressible(700 << 10)},
			bundletest.Entry{Name: "apiproxy/resources/java/b.jar", Data: incompressible(700 << 10)})...), limits: bundle.Limits{MaxUncompressedBytes: 1 << 20}, want: bundle.ErrTooLarge, msg: "more than 1048576 bytes uncompressed"},
		{name: "zip slip", data: raw(proxyEntries(bundletest.Entry{Name: "../evil", Data: []byte("x")})...), want: bundle.ErrZipSlip, file: "../evil", msg: `".."`},
		{name: "zip slip inside root", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/../../evil.sh", Data: []byte("x")})...), want: bundle.ErrZipSlip, file: "apiproxy/../../evil.sh"},
		{name: "absolute path", data: raw(proxyEntries(bundletest.Entry{Name: "/etc/cron.d/evil", Data: []byte("x")})...), want: bundle.ErrZipSlip, file: "/etc/cron.d/evil", msg: "absolute"},
		{name: "backslash", data: raw(proxyEntries(bundletest.Entry{Name: `apiproxy\..\evil`, Data: []byte("x")})...), want: bundle.ErrZipSlip, file: `apiproxy\..\evil`, msg: "backslash"},
		{name: "drive letter", data: raw(proxyEntries(bundletest.Entry{Name: "C:/Windows/evil.dll", Data: []byte("x")})...), want: bundle.ErrZipSlip, file: "C:/Windows/evil.dll", msg: "drive letter"},
		{name: "NUL byte", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/x\x00.xml", Data: []byte("x")})...), want: bundle.ErrZipSlip, file: `apiproxy/x\x00.xml`, msg: "NUL"},
		{name: "non-canonical name", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy//policies/x.xml", Data: []byte("x")})...), want: bundle.ErrZipSlip, file: "apiproxy//policies/x.xml", msg: "canonical"},
		{name: "symlink", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/link.js", Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink | 0o777})...), want: bundle.ErrZipSlip, file: "apiproxy/resources/jsc/link.js", msg: "symbolic link"},
		{name: "duplicate entry", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/hello.xml", Data: []byte("<APIProxy/>")})...), want: bundle.ErrInvalidBundle, file: "apiproxy/hello.xml", msg: "more than once"},
		{name: "entries differing only in case", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/Hello.xml", Data: []byte("<APIProxy/>")})...), want: bundle.ErrInvalidBundle, file: "apiproxy/Hello.xml", msg: "differs only in case from apiproxy/hello.xml"},
		{name: "folders differing only in case", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/Proxies/", Mode: fs.ModeDir | 0o755}, bundletest.Entry{Name: "apiproxy/proxies/", Mode: fs.ModeDir | 0o755})...), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/", msg: "differs only in case from apiproxy/Proxies"},
		{name: "name segment over 255 bytes", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/" + strings.Repeat("n", 256) + ".js", Data: []byte("1")})...), want: bundle.ErrZipSlip, file: "apiproxy/resources/jsc/" + strings.Repeat("n", 256) + ".js", msg: "segment of 259 bytes; the limit is 255"},
		{name: "name segment of 255 bytes", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/" + strings.Repeat("n", 252) + ".js", Data: []byte("1")}, bundletest.Entry{Name: "../x"})...), want: bundle.ErrZipSlip, file: "../x"},
		{name: "deeply nested folders", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/" + strings.Repeat("d/", 29) + "x.js", Data: []byte("1")})...), want: bundle.ErrZipSlip, file: "apiproxy/resources/jsc/" + strings.Repeat("d/", 29) + "x.js", msg: "nested 33 levels deep; the limit is 32"},
		{name: "nested 32 levels", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/" + strings.Repeat("d/", 28) + "x.js", Data: []byte("1")}, bundletest.Entry{Name: "../x"})...), want: bundle.ErrZipSlip, file: "../x"},
		{name: "name not UTF-8", data: raw(proxyEntries(bundletest.Entry{Name: "apiproxy/resources/jsc/caf\xe9.js", Data: []byte("1")})...), want: bundle.ErrZipSlip, file: `apiproxy/resources/jsc/caf\xe9.js`, msg: "not valid UTF-8"},

		// Layout.
		{name: "file outside the root", data: files(proxyFiles("README.md", "hi")), want: bundle.ErrInvalidBundle, file: "README.md", msg: "outside apiproxy/"},
		{name: "root nested in a folder", data: files(map[string]string{"hello/apiproxy/hello.xml": "<APIProxy/>"}), want: bundle.ErrInvalidBundle, file: "hello/apiproxy/hello.xml", msg: "must be at the top of the archive"},
		{name: "shared flow imported as proxy", data: files(bundletest.SharedFlow("sf")), want: bundle.ErrInvalidBundle, file: "sharedflowbundle/policies/AM-MarkSharedFlow.xml", msg: "this is a shared flow bundle (sharedflowbundle/), not an API proxy bundle (apiproxy/)"},
		{name: "proxy imported as shared flow", data: files(proxyFiles()), kind: bundle.KindSharedFlow, want: bundle.ErrInvalidBundle, file: "apiproxy/hello.xml", msg: "this is an API proxy bundle (apiproxy/), not a shared flow bundle (sharedflowbundle/)"},
		{name: "missing manifest", data: files(proxyFiles("apiproxy/hello.xml", "")), want: bundle.ErrInvalidBundle, file: "apiproxy/", msg: "missing manifest"},
		{name: "two manifests", data: files(proxyFiles("apiproxy/other.xml", "<APIProxy/>")), want: bundle.ErrInvalidBundle, file: "apiproxy/", msg: "apiproxy/hello.xml, apiproxy/other.xml"},
		{name: "non-XML file in policies", data: files(proxyFiles("apiproxy/policies/notes.txt", "x")), want: bundle.ErrInvalidBundle, file: "apiproxy/policies/notes.txt", msg: "only contain *.xml"},
		{name: "nested folder in proxies", data: files(proxyFiles("apiproxy/proxies/old/default.xml", "x")), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/old/default.xml"},
		{name: "resource without a type folder", data: files(proxyFiles("apiproxy/resources/x.js", "x")), want: bundle.ErrInvalidBundle, file: "apiproxy/resources/x.js", msg: "resources/<type>/"},
		{name: "sharedflows in a proxy", data: files(proxyFiles("apiproxy/sharedflows/default.xml", "<SharedFlow name=\"default\"/>")), want: bundle.ErrInvalidBundle, file: "apiproxy/sharedflows/default.xml"},
		{name: "proxies in a shared flow", data: files(withFiles(bundletest.SharedFlow("sf"), "sharedflowbundle/proxies/default.xml", "<ProxyEndpoint/>")), kind: bundle.KindSharedFlow, want: bundle.ErrInvalidBundle, file: "sharedflowbundle/proxies/default.xml"},
		{name: "no proxy endpoint", data: files(proxyFiles("apiproxy/proxies/default.xml", "", "apiproxy/targets/default.xml", "")), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/", msg: "at least one ProxyEndpoint"},
		{name: "no shared flow", data: files(withFiles(bundletest.SharedFlow("sf"), "sharedflowbundle/sharedflows/default.xml", "")), kind: bundle.KindSharedFlow, want: bundle.ErrInvalidBundle, file: "sharedflowbundle/sharedflows/", msg: "at least one SharedFlow"},

		// XML.
		{name: "malformed policy", data: files(proxyFiles("apiproxy/policies/AM-1.xml", "<AssignMessage name=\"AM-1\">\n  <Set>\n</AssignMessage>")), want: bundle.ErrMalformedXML, file: "apiproxy/policies/AM-1.xml", msg: "line 3"},
		{name: "malformed manifest", data: files(proxyFiles("apiproxy/hello.xml", "<APIProxy name=hello>")), want: bundle.ErrMalformedXML, file: "apiproxy/hello.xml", msg: "line 1"},
		{name: "empty XML file", data: files(proxyFiles("apiproxy/policies/AM-1.xml", " ")), want: bundle.ErrMalformedXML, file: "apiproxy/policies/AM-1.xml", msg: "no root element"},
		{name: "two root elements", data: files(proxyFiles("apiproxy/policies/AM-1.xml", policy("AM-1")+policy("AM-2"))), want: bundle.ErrMalformedXML, file: "apiproxy/policies/AM-1.xml", msg: "more than one root"},
		{name: "DOCTYPE", data: files(proxyFiles("apiproxy/policies/AM-1.xml", `<!DOCTYPE x [<!ENTITY a "b">]>`+policy("AM-1"))), want: bundle.ErrMalformedXML, file: "apiproxy/policies/AM-1.xml", msg: "DOCTYPE"},
		{name: "unknown entity", data: files(proxyFiles("apiproxy/policies/AM-1.xml", `<AssignMessage name="AM-1">&nbsp;</AssignMessage>`)), want: bundle.ErrMalformedXML, file: "apiproxy/policies/AM-1.xml"},
		{name: "unsupported encoding", data: files(proxyFiles("apiproxy/policies/AM-1.xml", `<?xml version="1.0" encoding="EBCDIC"?>`+policy("AM-1"))), want: bundle.ErrMalformedXML, file: "apiproxy/policies/AM-1.xml", msg: "unsupported encoding"},
		{name: "deep nesting", data: files(proxyFiles("apiproxy/policies/AM-1.xml", strings.Repeat("<a>", 1000))), want: bundle.ErrMalformedXML, file: "apiproxy/policies/AM-1.xml", msg: "nested more than"},
		{name: "wrong root in proxies", data: files(proxyFiles("apiproxy/proxies/default.xml", `<TargetEndpoint name="default"/>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/default.xml", msg: "root element is <TargetEndpoint>, expected <ProxyEndpoint>"},
		{name: "wrong manifest root", data: files(proxyFiles("apiproxy/hello.xml", `<SharedFlowBundle name="hello"/>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/hello.xml", msg: "expected <APIProxy>"},
		{name: "endpoint in policies", data: files(proxyFiles("apiproxy/policies/x.xml", `<ProxyEndpoint name="x"/>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/policies/x.xml", msg: "not a policy"},

		// Structure.
		{name: "policy without name", data: files(proxyFiles("apiproxy/policies/AM-1.xml", `<AssignMessage/>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/policies/AM-1.xml", msg: "no name attribute"},
		{name: "bad enabled attribute", data: files(proxyFiles("apiproxy/policies/AM-1.xml", `<AssignMessage name="AM-1" enabled="maybe"/>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/policies/AM-1.xml", msg: `enabled="maybe"`},
		{name: "duplicate policy name", data: files(proxyFiles("apiproxy/policies/A.xml", policy("AM-1"), "apiproxy/policies/B.xml", policy("AM-1"))), want: bundle.ErrInvalidBundle, file: "apiproxy/policies/B.xml", msg: `duplicate policy name "AM-1" (also defined in apiproxy/policies/A.xml)`},
		{name: "duplicate proxy endpoint", data: files(proxyFiles("apiproxy/proxies/other.xml", `<ProxyEndpoint name="default"/>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/other.xml", msg: `duplicate ProxyEndpoint name "default"`},
		{name: "duplicate target endpoint", data: files(proxyFiles("apiproxy/targets/other.xml", target(`<HTTPTargetConnection><URL>http://x</URL></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/other.xml", msg: `duplicate TargetEndpoint name "default"`},
		{name: "endpoint without name", data: files(proxyFiles("apiproxy/proxies/default.xml", `<ProxyEndpoint/>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/default.xml", msg: "no name attribute"},
		{name: "relative BasePath", data: files(proxyFiles("apiproxy/proxies/default.xml", `<ProxyEndpoint name="default"><HTTPProxyConnection><BasePath>hello</BasePath></HTTPProxyConnection></ProxyEndpoint>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/default.xml", msg: `must start with "/"`},
		{name: "request steps in PostClientFlow", data: files(proxyFiles("apiproxy/policies/AM-1.xml", policy("AM-1"), "apiproxy/proxies/default.xml", `<ProxyEndpoint name="default"><PostClientFlow><Request><Step><Name>AM-1</Name></Step></Request></PostClientFlow></ProxyEndpoint>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/default.xml", msg: "PostClientFlow"},
		{name: "step without name", data: files(proxyFiles("apiproxy/proxies/default.xml", withStep(" "))), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/default.xml", msg: "without a <Name>"},
		{name: "bad integer", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><LoadBalancer><Server name="a"><Weight>heavy</Weight></Server></LoadBalancer></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: `line 1: <Weight> value "heavy" must be a number`},
		{name: "bad boolean", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><URL>https://x</URL><SSLInfo><Enabled>yes</Enabled></SSLInfo></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: `<Enabled> value "yes" must be true or false`},
		{name: "bad boolean attribute", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><URL>https://x</URL><SSLInfo>
            <CommonName wildcardMatch="sometimes">x</CommonName></SSLInfo></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: `line 2: attribute wildcardMatch="sometimes" of <CommonName> must be true or false`},
		{name: "property without name", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><URL>https://x</URL><Properties><Property>1</Property></Properties></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: "<Property> in <Properties> has no name"},
		{name: "target without connection", data: files(proxyFiles("apiproxy/targets/default.xml", target(""))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: "needs an <HTTPTargetConnection> or a <LocalTargetConnection>"},
		{name: "target with URL and LoadBalancer", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><URL>https://x</URL><LoadBalancer><Server name="a"/></LoadBalancer></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: "both <URL> and <LoadBalancer>"},
		{name: "target with relative URL", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><URL>example.com/x</URL></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: "not an absolute http(s) URL"},
		{name: "LoadBalancer without servers", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><LoadBalancer/></HTTPTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: "no <Server>"},
		{name: "LocalTargetConnection with Path and APIProxy", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<LocalTargetConnection><APIProxy>a</APIProxy><Path>/a</Path></LocalTargetConnection>`))), want: bundle.ErrInvalidBundle, file: "apiproxy/targets/default.xml", msg: "both <Path>"},
		{name: "RouteRule with URL and TargetEndpoint", data: files(proxyFiles("apiproxy/proxies/default.xml", `<ProxyEndpoint name="default"><RouteRule name="r"><TargetEndpoint>default</TargetEndpoint><URL>http://x</URL></RouteRule></ProxyEndpoint>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/proxies/default.xml", msg: `RouteRule "r" has both`},

		// References.
		{name: "missing policy", data: files(proxyFiles("apiproxy/proxies/default.xml", withStep("AM-Missing"))), want: bundle.ErrMissingReference, file: "apiproxy/proxies/default.xml", msg: `PreFlow Request: step references policy "AM-Missing", which is not in apiproxy/policies/`},
		{name: "policy file removed", data: files(proxyFiles("apiproxy/proxies/default.xml", withStep("AM-1"))), want: bundle.ErrMissingReference, file: "apiproxy/proxies/default.xml", msg: `"AM-1"`},
		{name: "missing policy in a fault rule", data: files(proxyFiles("apiproxy/targets/default.xml", target(`<HTTPTargetConnection><URL>http://x</URL></HTTPTargetConnection><FaultRules><FaultRule name="f"><Step><Name>RF-1</Name></Step></FaultRule></FaultRules>`))), want: bundle.ErrMissingReference, file: "apiproxy/targets/default.xml", msg: `FaultRule "f": step references policy "RF-1"`},
		{name: "missing policy in a shared flow", data: files(withFiles(bundletest.SharedFlow("sf"), "sharedflowbundle/policies/AM-MarkSharedFlow.xml", "")), kind: bundle.KindSharedFlow, want: bundle.ErrMissingReference, file: "sharedflowbundle/sharedflows/default.xml", msg: `"AM-MarkSharedFlow"`},
		{name: "missing target endpoint", data: files(proxyFiles("apiproxy/targets/default.xml", "")), want: bundle.ErrMissingReference, file: "apiproxy/proxies/default.xml", msg: `RouteRule "default" references TargetEndpoint "default", which is not in apiproxy/targets/`},
		{name: "missing JavaScript resource", data: files(proxyFiles("apiproxy/policies/JS-1.xml", `<Javascript name="JS-1"><ResourceURL>jsc://missing.js</ResourceURL></Javascript>`)), want: bundle.ErrMissingReference, file: "apiproxy/policies/JS-1.xml", msg: `Javascript policy "JS-1" references resource "jsc://missing.js", which is not in the bundle (expected apiproxy/resources/jsc/missing.js)`},
		{name: "missing include", data: files(proxyFiles("apiproxy/policies/JS-1.xml", `<Javascript name="JS-1"><IncludeURL>jsc://lib.js</IncludeURL><Source>1</Source></Javascript>`)), want: bundle.ErrMissingReference, file: "apiproxy/policies/JS-1.xml", msg: `"jsc://lib.js"`},
		{name: "missing XSL", data: files(proxyFiles("apiproxy/policies/XSL-1.xml", `<XSL name="XSL-1"><ResourceURL>xsl://t.xsl</ResourceURL></XSL>`)), want: bundle.ErrMissingReference, file: "apiproxy/policies/XSL-1.xml", msg: `"xsl://t.xsl"`},
		{name: "missing jar", data: files(proxyFiles("apiproxy/policies/JC-1.xml", `<JavaCallout name="JC-1"><ClassName>a.B</ClassName><ResourceURL>java://b.jar</ResourceURL></JavaCallout>`)), want: bundle.ErrMissingReference, file: "apiproxy/policies/JC-1.xml", msg: `"java://b.jar"`},
		{name: "missing OAS", data: files(proxyFiles("apiproxy/policies/OAS-1.xml", `<OASValidation name="OAS-1"><OASResource>oas://spec.yaml</OASResource></OASValidation>`)), want: bundle.ErrMissingReference, file: "apiproxy/policies/OAS-1.xml", msg: `"oas://spec.yaml"`},
		{name: "resource in the wrong folder", data: files(proxyFiles("apiproxy/policies/JS-1.xml", `<Javascript name="JS-1"><ResourceURL>jsc://a.js</ResourceURL></Javascript>`, "apiproxy/resources/js/a.js", "1")), want: bundle.ErrMissingReference, file: "apiproxy/policies/JS-1.xml", msg: "expected apiproxy/resources/jsc/a.js"},
		{name: "resource URL without a type", data: files(proxyFiles("apiproxy/policies/JS-1.xml", `<Javascript name="JS-1"><ResourceURL>a.js</ResourceURL></Javascript>`)), want: bundle.ErrInvalidBundle, file: "apiproxy/policies/JS-1.xml", msg: "<type>://<file>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := bundle.Parse(tc.data(t), tc.kind, tc.limits)
			require.Error(t, err)
			t.Log(err)
			require.Nil(t, b, "nothing may be returned with an error")
			require.ErrorIs(t, err, tc.want)
			var ve *bundle.ValidationError
			require.True(t, errors.As(err, &ve), "error %T is not a *ValidationError", err)
			require.Equal(t, tc.file, ve.File, "error: %v", err)
			if tc.file != "" {
				require.True(t, strings.HasPrefix(err.Error(), tc.file+": "), "message %q does not start with the file", err.Error())
			}
			require.Contains(t, err.Error(), tc.msg)
			for _, s := range []error{bundle.ErrNotZip, bundle.ErrTooLarge, bundle.ErrZipBomb, bundle.ErrZipSlip, bundle.ErrMalformedXML, bundle.ErrMissingReference, bundle.ErrInvalidBundle} {
				if s != tc.want {
					require.NotErrorIs(t, err, s)
				}
			}
		})
	}
}

func bytesOf(b []byte) func(testing.TB) []byte { return func(testing.TB) []byte { return b } }

func files(f map[string]string) func(testing.TB) []byte {
	return func(tb testing.TB) []byte { return zipOf(tb, f) }
}

func raw(entries ...bundletest.Entry) func(testing.TB) []byte {
	return func(tb testing.TB) []byte { return bundletest.RawZip(tb, entries...) }
}

func TestValidationErrorFormat(t *testing.T) {
	e := &bundle.ValidationError{File: "apiproxy/x.xml", Problem: "bad", Err: bundle.ErrInvalidBundle}
	require.Equal(t, "apiproxy/x.xml: invalid bundle: bad", e.Error(), "the class of problem is named")
	require.Equal(t, "apiproxy/x.xml: invalid bundle: x", (&bundle.ValidationError{File: "apiproxy/x.xml", Problem: "invalid bundle: x", Err: bundle.ErrInvalidBundle}).Error(), "not twice")
	require.Equal(t, bundle.ErrInvalidBundle, errors.Unwrap(e))
	require.Equal(t, "bad", (&bundle.ValidationError{Problem: "bad"}).Error())
}

func TestParseUnknownKind(t *testing.T) {
	_, err := bundle.Parse(zipOf(t, proxyFiles()), bundle.Kind(7), bundle.Limits{})
	require.ErrorIs(t, err, bundle.ErrInvalidBundle)
}

func TestDefaultLimits(t *testing.T) {
	require.Equal(t, bundle.Limits{
		MaxArchiveBytes:      15 << 20,
		MaxUncompressedBytes: 64 << 20,
		MaxFiles:             2000,
		MaxFileBytes:         10 << 20,
		MaxCompressionRatio:  200,
	}, bundle.DefaultLimits())
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name  string
		files map[string]string
	}{
		{"minimal", proxyFiles()},
		{"realistic", realistic()},
	} {
		data := zipOf(b, bc.files)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bundle.Parse(data, bundle.KindProxy, bundle.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestModelMarshalRoundTrip(t *testing.T) {
	b, err := bundle.Parse(zipOf(t, realistic()), bundle.KindProxy, bundle.Limits{})
	require.NoError(t, err)

	pe := b.ProxyEndpoint("default")
	out, err := xml.Marshal(pe)
	require.NoError(t, err)
	var pe2 bundle.ProxyEndpoint
	require.NoError(t, xml.Unmarshal(out, &pe2))
	pe2.File = pe.File
	require.Equal(t, *pe, pe2)

	te := b.TargetEndpoint("backend")
	out, err = xml.Marshal(te)
	require.NoError(t, err)
	require.Contains(t, string(out), `<Property name="io.timeout.millis">5000</Property><Property name="success.codes">`)
	var te2 bundle.TargetEndpoint
	require.NoError(t, xml.Unmarshal(out, &te2))
	te2.File = te.File
	require.Equal(t, *te, te2)
}
