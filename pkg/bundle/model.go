package bundle

import (
	"bytes"
	"encoding/xml"
	"sort"
	"strings"
)

// Kind tells which kind of bundle an archive holds.
type Kind int

const (
	// KindProxy is an API proxy bundle: root folder "apiproxy/".
	KindProxy Kind = iota
	// KindSharedFlow is a shared flow bundle: root folder "sharedflowbundle/".
	KindSharedFlow
)

// Root returns the bundle's root folder name ("apiproxy" or
// "sharedflowbundle"), or "" for an unknown kind.
func (k Kind) Root() string {
	switch k {
	case KindProxy:
		return "apiproxy"
	case KindSharedFlow:
		return "sharedflowbundle"
	}
	return ""
}

// manifestRoot is the root element of the kind's manifest.
func (k Kind) manifestRoot() string {
	if k == KindSharedFlow {
		return "SharedFlowBundle"
	}
	return "APIProxy"
}

// article names the kind with an indefinite article, for messages.
func (k Kind) article() string {
	if k == KindProxy {
		return "an API proxy bundle"
	}
	return "a shared flow bundle"
}

func (k Kind) String() string {
	switch k {
	case KindProxy:
		return "API proxy"
	case KindSharedFlow:
		return "shared flow"
	}
	return "unknown bundle kind"
}

// Bundle is a parsed and validated proxy or shared flow bundle. All slices are
// sorted by name; every cross reference inside the bundle has been checked.
type Bundle struct {
	Kind Kind
	// Name is the manifest's name attribute, or the manifest file's base
	// name when the attribute is absent.
	Name     string
	Manifest Manifest
	// ProxyEndpoints and TargetEndpoints are empty for shared flows.
	ProxyEndpoints  []*ProxyEndpoint
	TargetEndpoints []*TargetEndpoint
	// SharedFlows is empty for API proxies.
	SharedFlows []*SharedFlow
	// Policies by their name attribute.
	Policies map[string]*Policy
	// Resources by resource URL: <root>/resources/jsc/a.js is "jsc://a.js",
	// <root>/resources/java/lib/x.jar is "java://lib/x.jar".
	Resources map[string][]byte
	// PropertySets are the parsed <root>/resources/properties/*.properties
	// files by set name (the file name without ".properties"): key →
	// value. The files themselves stay in Resources too
	// ("properties://myProps.properties").
	PropertySets map[string]map[string]string
}

// ProxyEndpoint returns the proxy endpoint with the given name, or nil.
func (b *Bundle) ProxyEndpoint(name string) *ProxyEndpoint {
	for _, e := range b.ProxyEndpoints {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// TargetEndpoint returns the target endpoint with the given name, or nil.
func (b *Bundle) TargetEndpoint(name string) *TargetEndpoint {
	for _, e := range b.TargetEndpoints {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// SharedFlow returns the shared flow with the given name, or nil.
func (b *Bundle) SharedFlow(name string) *SharedFlow {
	for _, f := range b.SharedFlows {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Summary lists what a bundle contains, in the shape of Apigee's
// ApiProxyRevision / SharedFlowRevision (the JSON tags are theirs).
type Summary struct {
	Name string `json:"name"`
	// BasePaths of the proxy endpoints ("/" when an endpoint declares none).
	BasePaths   []string `json:"basepaths,omitempty"`
	Proxies     []string `json:"proxies,omitempty"`
	Targets     []string `json:"targets,omitempty"`
	Policies    []string `json:"policies,omitempty"`
	Resources   []string `json:"resources,omitempty"`
	SharedFlows []string `json:"sharedFlows,omitempty"`
}

// Summary returns the sorted, de-duplicated names of everything in the
// bundle. Slices are never nil.
func (b *Bundle) Summary() Summary {
	s := Summary{
		Name:        b.Name,
		BasePaths:   []string{},
		Proxies:     []string{},
		Targets:     []string{},
		Policies:    []string{},
		Resources:   []string{},
		SharedFlows: []string{},
	}
	for _, e := range b.ProxyEndpoints {
		s.Proxies = append(s.Proxies, e.Name)
		s.BasePaths = append(s.BasePaths, e.HTTPProxyConnection.BasePath)
	}
	for _, e := range b.TargetEndpoints {
		s.Targets = append(s.Targets, e.Name)
	}
	for _, f := range b.SharedFlows {
		s.SharedFlows = append(s.SharedFlows, f.Name)
	}
	for n := range b.Policies {
		s.Policies = append(s.Policies, n)
	}
	for r := range b.Resources {
		s.Resources = append(s.Resources, r)
	}
	for _, l := range []*[]string{&s.BasePaths, &s.Proxies, &s.Targets, &s.Policies, &s.Resources, &s.SharedFlows} {
		*l = sortedUnique(*l)
	}
	return s
}

func sortedUnique(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	for i, v := range in {
		if i == 0 || v != in[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Manifest is the top-level <APIProxy> or <SharedFlowBundle> file. Its lists
// are kept as declared; Apigee regenerates them, so they are not validated
// against the bundle's content (use the Bundle's own fields instead).
type Manifest struct {
	// File is the manifest's path in the archive.
	File        string `xml:"-"`
	Name        string `xml:"name,attr"`
	Revision    string `xml:"revision,attr"`
	DisplayName string `xml:"DisplayName"`
	Description string `xml:"Description"`
	// BasePaths from <Basepaths> (comma-separated values are split).
	BasePaths       []string `xml:"Basepaths"`
	Policies        []string `xml:"Policies>Policy"`
	ProxyEndpoints  []string `xml:"ProxyEndpoints>ProxyEndpoint"`
	TargetEndpoints []string `xml:"TargetEndpoints>TargetEndpoint"`
	Resources       []string `xml:"Resources>Resource"`
	SharedFlows     []string `xml:"SharedFlows>SharedFlow"`
	TargetServers   []string `xml:"TargetServers>TargetServer"`
	Spec            string   `xml:"Spec"`
}

// Step is one <Step> of a flow or fault rule.
type Step struct {
	Name      string `xml:"Name"`
	Condition string `xml:"Condition,omitempty"`
}

// Flow is a PreFlow, conditional Flow, PostFlow or PostClientFlow.
type Flow struct {
	Name        string `xml:"name,attr,omitempty"`
	Description string `xml:"Description,omitempty"`
	Condition   string `xml:"Condition,omitempty"`
	Request     []Step `xml:"Request>Step"`
	Response    []Step `xml:"Response>Step"`
}

// FaultRule is a <FaultRule> or the <DefaultFaultRule>.
type FaultRule struct {
	Name      string `xml:"name,attr,omitempty"`
	Condition string `xml:"Condition,omitempty"`
	Steps     []Step `xml:"Step"`
	// AlwaysEnforce is only meaningful on a DefaultFaultRule.
	AlwaysEnforce bool `xml:"AlwaysEnforce,omitempty"`
}

// Properties is a <Properties><Property name="x">v</Property></Properties>
// list. Names and values are trimmed; a repeated name keeps the last value.
type Properties map[string]string

// UnmarshalXML implements xml.Unmarshaler.
func (p *Properties) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		Property []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		} `xml:"Property"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	if *p == nil {
		*p = Properties{}
	}
	for _, pr := range raw.Property {
		name := strings.TrimSpace(pr.Name)
		if name == "" {
			return errorf("<Property> in <%s> has no name attribute", start.Name.Local)
		}
		(*p)[name] = strings.TrimSpace(pr.Value)
	}
	return nil
}

// MarshalXML implements xml.Marshaler (properties sorted by name).
func (p Properties) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	type prop struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	}
	v := struct {
		Property []prop `xml:"Property"`
	}{}
	for _, n := range names {
		v.Property = append(v.Property, prop{n, p[n]})
	}
	return e.EncodeElement(v, start)
}

// HTTPProxyConnection is a proxy endpoint's <HTTPProxyConnection>.
type HTTPProxyConnection struct {
	// BasePath is "/" when the bundle declares none.
	BasePath     string     `xml:"BasePath"`
	VirtualHosts []string   `xml:"VirtualHost"`
	Properties   Properties `xml:"Properties,omitempty"`
}

// RouteRule picks the target of a proxy endpoint. With neither
// TargetEndpoint nor URL it is a "null route" (no target request).
type RouteRule struct {
	Name           string `xml:"name,attr,omitempty"`
	Condition      string `xml:"Condition,omitempty"`
	TargetEndpoint string `xml:"TargetEndpoint,omitempty"`
	URL            string `xml:"URL,omitempty"`
}

// ProxyEndpoint is a <root>/proxies/*.xml file.
type ProxyEndpoint struct {
	XMLName xml.Name `xml:"ProxyEndpoint"`
	Name    string   `xml:"name,attr"`
	// File is the endpoint's path in the archive.
	File                string              `xml:"-"`
	Description         string              `xml:"Description,omitempty"`
	FaultRules          []FaultRule         `xml:"FaultRules>FaultRule"`
	DefaultFaultRule    *FaultRule          `xml:"DefaultFaultRule"`
	PreFlow             *Flow               `xml:"PreFlow"`
	Flows               []Flow              `xml:"Flows>Flow"`
	PostFlow            *Flow               `xml:"PostFlow"`
	PostClientFlow      *Flow               `xml:"PostClientFlow"`
	HTTPProxyConnection HTTPProxyConnection `xml:"HTTPProxyConnection"`
	RouteRules          []RouteRule         `xml:"RouteRule"`
}

// TargetEndpoint is a <root>/targets/*.xml file. Exactly one of
// HTTPTargetConnection and LocalTargetConnection is set.
type TargetEndpoint struct {
	XMLName xml.Name `xml:"TargetEndpoint"`
	Name    string   `xml:"name,attr"`
	// File is the endpoint's path in the archive.
	File                  string                 `xml:"-"`
	Description           string                 `xml:"Description,omitempty"`
	FaultRules            []FaultRule            `xml:"FaultRules>FaultRule"`
	DefaultFaultRule      *FaultRule             `xml:"DefaultFaultRule"`
	PreFlow               *Flow                  `xml:"PreFlow"`
	Flows                 []Flow                 `xml:"Flows>Flow"`
	PostFlow              *Flow                  `xml:"PostFlow"`
	HTTPTargetConnection  *HTTPTargetConnection  `xml:"HTTPTargetConnection"`
	LocalTargetConnection *LocalTargetConnection `xml:"LocalTargetConnection"`
	// Unknown are child elements this model does not have.
	Unknown []UnknownElement `xml:",any" json:"-"`
}

// UnknownElement is a child element a model type does not know. Decoding
// keeps its name, so that the runtime can refuse a deployment naming it
// rather than ignore what it would not run (a <ScriptTarget>, an
// <Authentication> typo, an element of a newer Apigee release).
type UnknownElement struct {
	XMLName xml.Name
}

// UnknownNames returns the names of unknown elements, for messages.
func UnknownNames(els []UnknownElement) []string {
	out := make([]string, len(els))
	for i, e := range els {
		out[i] = e.XMLName.Local
	}
	return out
}

// HTTPTargetConnection is a target endpoint's <HTTPTargetConnection>:
// either URL or LoadBalancer (with the optional Path) is set.
type HTTPTargetConnection struct {
	URL           string         `xml:"URL,omitempty"`
	LoadBalancer  *LoadBalancer  `xml:"LoadBalancer"`
	Path          string         `xml:"Path,omitempty"`
	SSLInfo       *SSLInfo       `xml:"SSLInfo"`
	Properties    Properties     `xml:"Properties,omitempty"`
	HealthMonitor *HealthMonitor `xml:"HealthMonitor"`
	// Authentication asks the runtime to send a Google access or ID
	// token of the deployment's service account with every request.
	Authentication *Authentication `xml:"Authentication"`
	// Unknown are child elements this model does not have.
	Unknown []UnknownElement `xml:",any" json:"-"`
}

// Authentication is Apigee's <Authentication> of an HTTPTargetConnection
// (TargetEndpoint or ServiceCallout): exactly one of GoogleAccessToken and
// GoogleIDToken is expected.
type Authentication struct {
	// HeaderName is the header the token goes in (default Authorization).
	HeaderName        string             `xml:"HeaderName,omitempty"`
	GoogleAccessToken *GoogleAccessToken `xml:"GoogleAccessToken"`
	GoogleIDToken     *GoogleIDToken     `xml:"GoogleIDToken"`
	Unknown           []UnknownElement   `xml:",any" json:"-"`
}

// GoogleAccessToken asks for an OAuth 2.0 access token with Scopes.
type GoogleAccessToken struct {
	Scopes []string `xml:"Scopes>Scope"`
	// LifetimeInSeconds is the token's lifetime (default 3600); Ref names
	// a variable that overrides the literal.
	LifetimeInSeconds *RefValue        `xml:"LifetimeInSeconds"`
	Unknown           []UnknownElement `xml:",any" json:"-"`
}

// GoogleIDToken asks for an OpenID Connect ID token for Audience.
type GoogleIDToken struct {
	Audience     *Audience        `xml:"Audience"`
	IncludeEmail bool             `xml:"IncludeEmail,omitempty"`
	Unknown      []UnknownElement `xml:",any" json:"-"`
}

// Audience is <Audience ref="var" useTargetUrl="true">literal</Audience>.
type Audience struct {
	Value        string `xml:",chardata"`
	Ref          string `xml:"ref,attr,omitempty"`
	UseTargetURL bool   `xml:"useTargetUrl,attr,omitempty"`
}

// RefValue is an element whose text is a literal and whose ref attribute
// names a variable that, when set, overrides it.
type RefValue struct {
	Value string `xml:",chardata"`
	Ref   string `xml:"ref,attr,omitempty"`
}

// LoadBalancer spreads target requests over named TargetServers.
type LoadBalancer struct {
	// Algorithm defaults to "RoundRobin" (others: "Weighted", "LeastConnections").
	Algorithm string     `xml:"Algorithm"`
	Servers   []LBServer `xml:"Server"`
	// MaxFailures is the number of failures after which a server is taken
	// out of rotation; 0 (the default) never takes servers out.
	MaxFailures int `xml:"MaxFailures"`
	// RetryEnabled defaults to true.
	RetryEnabled            bool                     `xml:"RetryEnabled"`
	ServerUnhealthyResponse *ServerUnhealthyResponse `xml:"ServerUnhealthyResponse"`
	Unknown                 []UnknownElement         `xml:",any" json:"-"`
}

// UnmarshalXML implements xml.Unmarshaler to apply Apigee's defaults.
func (lb *LoadBalancer) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain LoadBalancer
	v := plain{RetryEnabled: true}
	if err := d.DecodeElement(&v, &start); err != nil {
		return err
	}
	if strings.TrimSpace(v.Algorithm) == "" {
		v.Algorithm = "RoundRobin"
	}
	*lb = LoadBalancer(v)
	return nil
}

// LBServer is one <Server name="target-server"> of a LoadBalancer.
type LBServer struct {
	Name string `xml:"name,attr"`
	// Weight defaults to 1.
	Weight     int  `xml:"Weight"`
	IsFallback bool `xml:"IsFallback"`
	// IsEnabled defaults to true.
	IsEnabled bool             `xml:"IsEnabled"`
	Unknown   []UnknownElement `xml:",any" json:"-"`
}

// UnmarshalXML implements xml.Unmarshaler to apply Apigee's defaults.
func (s *LBServer) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain LBServer
	v := plain{Weight: 1, IsEnabled: true}
	if err := d.DecodeElement(&v, &start); err != nil {
		return err
	}
	*s = LBServer(v)
	return nil
}

// ServerUnhealthyResponse lists response codes that count as server failures.
type ServerUnhealthyResponse struct {
	ResponseCodes []int `xml:"ResponseCode"`
}

// SSLInfo is the TLS configuration of a target connection. KeyStore,
// TrustStore and KeyAlias may be references ("ref://name").
type SSLInfo struct {
	Enabled                bool        `xml:"Enabled"`
	Enforce                bool        `xml:"Enforce"`
	ClientAuthEnabled      bool        `xml:"ClientAuthEnabled"`
	KeyStore               string      `xml:"KeyStore,omitempty"`
	KeyAlias               string      `xml:"KeyAlias,omitempty"`
	TrustStore             string      `xml:"TrustStore,omitempty"`
	IgnoreValidationErrors bool        `xml:"IgnoreValidationErrors"`
	Protocols              []string    `xml:"Protocols>Protocol"`
	Ciphers                []string    `xml:"Ciphers>Cipher"`
	CommonName             *CommonName `xml:"CommonName"`
	// Unknown are child elements this model does not have.
	Unknown []UnknownElement `xml:",any" json:"-"`
}

// CommonName is the expected certificate common name of a TLS target.
type CommonName struct {
	Value         string `xml:",chardata"`
	WildcardMatch bool   `xml:"wildcardMatch,attr,omitempty"`
}

// HealthMonitor probes load-balanced target servers.
type HealthMonitor struct {
	IsEnabled     bool             `xml:"IsEnabled"`
	IntervalInSec int              `xml:"IntervalInSec"`
	HTTPMonitor   *HTTPMonitor     `xml:"HTTPMonitor"`
	TCPMonitor    *TCPMonitor      `xml:"TCPMonitor"`
	Unknown       []UnknownElement `xml:",any" json:"-"`
}

// HTTPMonitor is a health check that sends an HTTP request.
type HTTPMonitor struct {
	Request         HTTPMonitorRequest  `xml:"Request"`
	SuccessResponse HTTPMonitorResponse `xml:"SuccessResponse"`
}

// HTTPMonitorRequest is the request an HTTPMonitor sends.
type HTTPMonitorRequest struct {
	IsSSL                      bool     `xml:"IsSSL"`
	ConnectTimeoutInSec        int      `xml:"ConnectTimeoutInSec"`
	SocketReadTimeoutInSec     int      `xml:"SocketReadTimeoutInSec"`
	Port                       int      `xml:"Port"`
	Verb                       string   `xml:"Verb"`
	Path                       string   `xml:"Path"`
	Headers                    []Header `xml:"Header"`
	IncludeHealthCheckIDHeader bool     `xml:"IncludeHealthCheckIdHeader"`
}

// HTTPMonitorResponse is what an HTTPMonitor accepts as healthy.
type HTTPMonitorResponse struct {
	ResponseCodes []int    `xml:"ResponseCode"`
	Headers       []Header `xml:"Header"`
}

// TCPMonitor is a health check that opens a TCP connection.
type TCPMonitor struct {
	ConnectTimeoutInSec int `xml:"ConnectTimeoutInSec"`
	Port                int `xml:"Port"`
}

// Header is a <Header name="n">value</Header>.
type Header struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

// LocalTargetConnection chains to another proxy in the same environment:
// either APIProxy (with an optional ProxyEndpoint) or Path is set.
type LocalTargetConnection struct {
	APIProxy      string           `xml:"APIProxy,omitempty"`
	ProxyEndpoint string           `xml:"ProxyEndpoint,omitempty"`
	Path          string           `xml:"Path,omitempty"`
	Unknown       []UnknownElement `xml:",any" json:"-"`
}

// SharedFlow is a sharedflowbundle/sharedflows/*.xml file.
type SharedFlow struct {
	XMLName xml.Name `xml:"SharedFlow"`
	Name    string   `xml:"name,attr"`
	// File is the shared flow's path in the archive.
	File        string `xml:"-"`
	Description string `xml:"Description,omitempty"`
	Steps       []Step `xml:"Step"`
}

// Policy is a <root>/policies/*.xml file. Only the attributes common to all
// policies are decoded; policy compilers unmarshal XML into their own types.
type Policy struct {
	// Type is the root element's name, e.g. "AssignMessage", "Javascript".
	Type        string
	Name        string
	DisplayName string
	// Enabled defaults to true; ContinueOnError and Async to false.
	Enabled         bool
	ContinueOnError bool
	Async           bool
	// File is the policy's path in the archive.
	File string
	// XML is the policy file, normalized to UTF-8 without a byte order mark.
	XML []byte
	// ResourceURLs lists the resources the policy references through
	// <ResourceURL>, <IncludeURL> or <OASResource> (in document order).
	ResourceURLs []string
}

// UsesGoogleAuthentication reports whether a target endpoint or a policy
// (ServiceCallout, AssignMessage, ExternalCallout) has an <Authentication>
// with a <GoogleAccessToken> or <GoogleIDToken>: such a revision needs a
// service account identity when it is deployed.
func (b *Bundle) UsesGoogleAuthentication() bool {
	for _, te := range b.TargetEndpoints {
		if htc := te.HTTPTargetConnection; htc != nil && htc.Authentication != nil {
			return true
		}
	}
	for _, p := range b.Policies {
		if hasGoogleAuthentication(p.XML) {
			return true
		}
	}
	return false
}

// hasGoogleAuthentication scans a policy for a GoogleAccessToken or
// GoogleIDToken element inside an Authentication element.
func hasGoogleAuthentication(doc []byte) bool {
	if !bytes.Contains(doc, []byte("Authentication")) {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []string
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if n := t.Name.Local; (n == "GoogleAccessToken" || n == "GoogleIDToken") && len(stack) > 0 && stack[len(stack)-1] == "Authentication" {
				return true
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}
