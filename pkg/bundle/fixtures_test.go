package bundle_test

import (
	"maps"
	"testing"

	"github.com/hybrid-emulator/hybrid/pkg/bundle/bundletest"
)

// realistic is an API proxy with what real bundles use: conditional flows,
// fault rules, a PostClientFlow, two targets (load-balanced TLS and a local
// proxy chain), JavaScript/XSL/OAS resources and some OS litter.
func realistic() map[string]string {
	return map[string]string{
		"apiproxy/": "",
		"apiproxy/orders.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<APIProxy revision="7" name="orders">
    <Basepaths>/v1/orders</Basepaths>
    <ConfigurationVersion majorVersion="4" minorVersion="0"/>
    <Description>Orders API</Description>
    <DisplayName>Orders</DisplayName>
    <Policies>
        <Policy>VA-Key</Policy>
        <Policy>JS-Enrich</Policy>
    </Policies>
    <ProxyEndpoints>
        <ProxyEndpoint>default</ProxyEndpoint>
    </ProxyEndpoints>
    <Resources>
        <Resource>jsc://enrich.js</Resource>
    </Resources>
    <TargetEndpoints>
        <TargetEndpoint>backend</TargetEndpoint>
        <TargetEndpoint>chain</TargetEndpoint>
    </TargetEndpoints>
</APIProxy>`,
		// Elements in unusual order and padded with white space on purpose.
		"apiproxy/proxies/default.xml": `<ProxyEndpoint name="default">
    <HTTPProxyConnection>
        <VirtualHost>secure</VirtualHost>
        <Properties>
            <Property name="request.streaming.enabled"> true </Property>
        </Properties>
        <BasePath>
            /v1/orders
        </BasePath>
    </HTTPProxyConnection>
    <Description>Orders proxy</Description>
    <FaultRules>
        <FaultRule name="invalid-key">
            <Step>
                <Name>RF-InvalidKey</Name>
            </Step>
            <Condition>(fault.name = "InvalidApiKey")</Condition>
        </FaultRule>
    </FaultRules>
    <DefaultFaultRule name="all">
        <AlwaysEnforce>true</AlwaysEnforce>
        <Step><Name>AM-Error</Name></Step>
    </DefaultFaultRule>
    <PreFlow name="PreFlow">
        <Request>
            <Step>
                <Condition>request.verb != "OPTIONS"</Condition>
                <Name> VA-Key </Name>
            </Step>
            <Step><Name>OAS-Validate</Name></Step>
        </Request>
        <Response/>
    </PreFlow>
    <Flows>
        <Flow name="get-order">
            <Description>one order</Description>
            <Request>
                <Step><Name>JS-Enrich</Name></Step>
            </Request>
            <Response>
                <Step><Name>XSL-Transform</Name><Condition>response.header.content-type ~~ ".*xml"</Condition></Step>
            </Response>
            <Condition>
                (proxy.pathsuffix MatchesPath "/*") and (request.verb = "GET")
            </Condition>
        </Flow>
        <Flow name="unknown">
            <Request><Step><Name>RF-NotFound</Name></Step></Request>
        </Flow>
    </Flows>
    <PostFlow name="PostFlow"><Request/><Response/></PostFlow>
    <PostClientFlow><Response><Step><Name>ML-Log</Name></Step></Response></PostClientFlow>
    <RouteRule name="chain">
        <Condition>request.header.x-chain = "true"</Condition>
        <TargetEndpoint>chain</TargetEndpoint>
    </RouteRule>
    <RouteRule name="noroute">
        <Condition>request.verb = "OPTIONS"</Condition>
    </RouteRule>
    <RouteRule name="default">
        <TargetEndpoint>backend</TargetEndpoint>
    </RouteRule>
</ProxyEndpoint>`,
		"apiproxy/targets/backend.xml": `<TargetEndpoint name="backend">
    <PreFlow name="PreFlow">
        <Request><Step><Name>AM-TargetHeaders</Name></Step></Request>
    </PreFlow>
    <HTTPTargetConnection>
        <Properties>
            <Property name="io.timeout.millis">5000</Property>
            <Property name="success.codes">1xx,2xx,3xx,404</Property>
        </Properties>
        <SSLInfo>
            <Enabled>true</Enabled>
            <Enforce>true</Enforce>
            <ClientAuthEnabled>true</ClientAuthEnabled>
            <KeyStore>ref://client-keystore</KeyStore>
            <KeyAlias>client</KeyAlias>
            <TrustStore>ref://backend-truststore</TrustStore>
            <IgnoreValidationErrors>false</IgnoreValidationErrors>
            <Protocols><Protocol>TLSv1.2</Protocol><Protocol>TLSv1.3</Protocol></Protocols>
            <Ciphers><Cipher>TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</Cipher></Ciphers>
            <CommonName wildcardMatch="true">*.example.com</CommonName>
        </SSLInfo>
        <LoadBalancer>
            <Algorithm>Weighted</Algorithm>
            <Server name="orders-1"><Weight>2</Weight></Server>
            <Server name="orders-2"/>
            <Server name="orders-dr"><IsFallback>true</IsFallback><IsEnabled>false</IsEnabled></Server>
            <MaxFailures>5</MaxFailures>
            <ServerUnhealthyResponse>
                <ResponseCode>502</ResponseCode>
                <ResponseCode>503</ResponseCode>
            </ServerUnhealthyResponse>
        </LoadBalancer>
        <Path>/orders</Path>
        <HealthMonitor>
            <IsEnabled>true</IsEnabled>
            <IntervalInSec>5</IntervalInSec>
            <HTTPMonitor>
                <Request>
                    <ConnectTimeoutInSec>10</ConnectTimeoutInSec>
                    <SocketReadTimeoutInSec>30</SocketReadTimeoutInSec>
                    <Port>443</Port>
                    <Verb>GET</Verb>
                    <Path>/healthz</Path>
                    <Header name="Authorization">Basic Zm9vOmJhcg==</Header>
                </Request>
                <SuccessResponse>
                    <ResponseCode>200</ResponseCode>
                </SuccessResponse>
            </HTTPMonitor>
        </HealthMonitor>
    </HTTPTargetConnection>
</TargetEndpoint>`,
		"apiproxy/targets/chain.xml": `<TargetEndpoint name="chain">
    <LocalTargetConnection>
        <APIProxy>inventory</APIProxy>
        <ProxyEndpoint>default</ProxyEndpoint>
    </LocalTargetConnection>
</TargetEndpoint>`,
		"apiproxy/policies/VA-Key.xml": `<VerifyAPIKey async="false" continueOnError="false" enabled="true" name="VA-Key">
    <DisplayName>Verify API Key</DisplayName>
    <APIKey ref="request.header.x-apikey"/>
</VerifyAPIKey>`,
		"apiproxy/policies/OAS-Validate.xml": `<OASValidation name="OAS-Validate" continueOnError="true">
    <OASResource>oas://orders.yaml</OASResource>
</OASValidation>`,
		"apiproxy/policies/JS-Enrich.xml": `<Javascript name="JS-Enrich" timeLimit="200">
    <IncludeURL>jsc://lib.js</IncludeURL>
    <ResourceURL>jsc://enrich.js</ResourceURL>
</Javascript>`,
		"apiproxy/policies/XSL-Transform.xml": `<XSL name="XSL-Transform" enabled="false">
    <ResourceURL>xsl://transform.xsl</ResourceURL>
</XSL>`,
		"apiproxy/policies/RF-InvalidKey.xml": `<RaiseFault name="RF-InvalidKey"><FaultResponse><Set><StatusCode>401</StatusCode></Set></FaultResponse></RaiseFault>`,
		"apiproxy/policies/RF-NotFound.xml":   `<RaiseFault name="RF-NotFound"><FaultResponse><Set><StatusCode>404</StatusCode></Set></FaultResponse></RaiseFault>`,
		// A payload that mentions <ResourceURL> is not a resource reference.
		"apiproxy/policies/AM-Error.xml":               `<AssignMessage name="AM-Error"><Set><Payload contentType="text/xml"><ResourceURL>not-a-reference</ResourceURL></Payload></Set></AssignMessage>`,
		"apiproxy/policies/AM-TargetHeaders.xml":       `<AssignMessage name="AM-TargetHeaders"><Set><Headers><Header name="x-from">orders</Header></Headers></Set></AssignMessage>`,
		"apiproxy/policies/ML-Log.xml":                 `<MessageLogging name="ML-Log"><CloudLogging><LogName>orders</LogName><Message>{request.uri}</Message></CloudLogging></MessageLogging>`,
		"apiproxy/resources/jsc/enrich.js":             `context.setVariable("enriched", "true");`,
		"apiproxy/resources/jsc/lib.js":                `function helper() { return 1; }`,
		"apiproxy/resources/xsl/transform.xsl":         `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`,
		"apiproxy/resources/oas/orders.yaml":           "openapi: 3.0.0\n",
		"apiproxy/resources/properties/app.properties": "color=blue\n",
		// Ignored: OS litter and folders that are not runtime configuration.
		"__MACOSX/apiproxy/._orders.xml":  "\x00\x05\x16\x07",
		"apiproxy/.DS_Store":              "\x00\x00\x00\x01Bud1",
		"apiproxy/policies/.DS_Store":     "junk",
		"apiproxy/manifests/manifest.xml": `<Manifest name="manifest"/>`,
		"apiproxy/README.md":              "# orders",
	}
}

// proxyFiles is a copy of the minimal bundletest proxy "hello" with extra
// files set (an empty value deletes the file).
func proxyFiles(extra ...string) map[string]string {
	return withFiles(bundletest.Proxy("hello", "/hello", "http://127.0.0.1:8080"), extra...)
}

func withFiles(base map[string]string, kv ...string) map[string]string {
	files := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" && kv[i][len(kv[i])-1] != '/' {
			delete(files, kv[i])
			continue
		}
		files[kv[i]] = kv[i+1]
	}
	return files
}

func zipOf(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	return bundletest.Zip(tb, files)
}
