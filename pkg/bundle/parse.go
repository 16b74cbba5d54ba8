package bundle

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Parse reads and validates a bundle zip. On any problem it returns nil and a
// *ValidationError (see the sentinel errors); it never returns a partially
// filled Bundle. Resource references must be satisfied by the bundle itself;
// use ParseWithOptions to accept environment-level resources.
func Parse(data []byte, kind Kind, lim Limits) (*Bundle, error) {
	return ParseWithOptions(data, kind, Options{Limits: lim})
}

// ParseWithOptions is Parse with options.
func ParseWithOptions(data []byte, kind Kind, opts Options) (*Bundle, error) {
	if kind.Root() == "" {
		return nil, verr(ErrInvalidBundle, "", "unknown bundle kind %d", int(kind))
	}
	entries, err := readArchive(data, kind, opts.Limits.withDefaults())
	if err != nil {
		return nil, err
	}
	p := &parser{kind: kind, root: kind.Root(), opts: opts, b: &Bundle{
		Kind:         kind,
		Policies:     map[string]*Policy{},
		Resources:    map[string][]byte{},
		PropertySets: map[string]map[string]string{},
	}}
	if err := p.parseFiles(entries); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p.b, nil
}

type parser struct {
	kind Kind
	root string
	opts Options
	b    *Bundle
}

func (p *parser) parseFiles(entries []*entry) error {
	// The manifest first, then every other file in name order.
	var manifests, others []*entry
	for _, e := range entries {
		if strings.Contains(strings.TrimPrefix(e.name, p.root+"/"), "/") {
			others = append(others, e)
		} else {
			manifests = append(manifests, e)
		}
	}
	switch len(manifests) {
	case 0:
		return verr(ErrInvalidBundle, p.root+"/", "missing manifest: expected one %s/<name>.xml with a <%s> root element", p.root, p.kind.manifestRoot())
	case 1:
	default:
		names := make([]string, len(manifests))
		for i, m := range manifests {
			names[i] = m.name
		}
		return verr(ErrInvalidBundle, p.root+"/", "more than one manifest at the top of the bundle: %s", strings.Join(names, ", "))
	}
	if err := p.parseManifest(manifests[0]); err != nil {
		return err
	}
	for _, e := range others {
		dir, file, _ := strings.Cut(strings.TrimPrefix(e.name, p.root+"/"), "/")
		var err error
		switch dir {
		case dirProxies:
			err = p.parseProxyEndpoint(e)
		case dirTargets:
			err = p.parseTargetEndpoint(e)
		case dirSharedFlows:
			err = p.parseSharedFlow(e)
		case dirPolicies:
			err = p.parsePolicy(e)
		case dirResources:
			typ, name, _ := strings.Cut(file, "/")
			p.b.Resources[typ+"://"+name] = e.data
			if typ == "properties" {
				err = p.parsePropertySet(e, name)
			}
		}
		if err != nil {
			return err
		}
	}
	sort.Slice(p.b.ProxyEndpoints, func(i, j int) bool { return p.b.ProxyEndpoints[i].Name < p.b.ProxyEndpoints[j].Name })
	sort.Slice(p.b.TargetEndpoints, func(i, j int) bool { return p.b.TargetEndpoints[i].Name < p.b.TargetEndpoints[j].Name })
	sort.Slice(p.b.SharedFlows, func(i, j int) bool { return p.b.SharedFlows[i].Name < p.b.SharedFlows[j].Name })
	return nil
}

// load normalizes and checks a file and verifies its root element.
func (p *parser) load(e *entry, wantRoot string) (*xmlInfo, error) {
	data, err := normalizeXML(e.data)
	if err != nil {
		return nil, verr(ErrMalformedXML, e.name, "%v", err)
	}
	e.data = data
	info, err := checkXML(e.name, data)
	if err != nil {
		return nil, err
	}
	if wantRoot != "" && info.root.Name.Local != wantRoot {
		return nil, verr(ErrInvalidBundle, e.name, "root element is <%s>, expected <%s>", info.root.Name.Local, wantRoot)
	}
	return info, nil
}

func (p *parser) parseManifest(e *entry) error {
	if _, err := p.load(e, p.kind.manifestRoot()); err != nil {
		return err
	}
	m := &p.b.Manifest
	if err := decodeInto(e.name, e.data, m); err != nil {
		return err
	}
	m.File = e.name
	var bps []string
	for _, v := range m.BasePaths {
		for _, bp := range strings.Split(v, ",") {
			if bp = strings.TrimSpace(bp); bp != "" {
				bps = append(bps, bp)
			}
		}
	}
	m.BasePaths = bps
	p.b.Name = m.Name
	if p.b.Name == "" {
		p.b.Name = strings.TrimSuffix(path.Base(e.name), ".xml")
	}
	return nil
}

func (p *parser) parseProxyEndpoint(e *entry) error {
	if _, err := p.load(e, "ProxyEndpoint"); err != nil {
		return err
	}
	pe := &ProxyEndpoint{}
	if err := decodeInto(e.name, e.data, pe); err != nil {
		return err
	}
	pe.File = e.name
	if pe.Name == "" {
		return verr(ErrInvalidBundle, e.name, "<ProxyEndpoint> has no name attribute")
	}
	if other := p.b.ProxyEndpoint(pe.Name); other != nil {
		return verr(ErrInvalidBundle, e.name, "duplicate ProxyEndpoint name %q (also defined in %s)", pe.Name, other.File)
	}
	hpc := &pe.HTTPProxyConnection
	if hpc.BasePath == "" {
		hpc.BasePath = "/"
	}
	if !strings.HasPrefix(hpc.BasePath, "/") {
		return verr(ErrInvalidBundle, e.name, "BasePath %q must start with \"/\"", hpc.BasePath)
	}
	if pcf := pe.PostClientFlow; pcf != nil && len(pcf.Request) > 0 {
		return verr(ErrInvalidBundle, e.name, "PostClientFlow may only have Response steps")
	}
	for _, rr := range pe.RouteRules {
		if rr.TargetEndpoint != "" && rr.URL != "" {
			return verr(ErrInvalidBundle, e.name, "RouteRule %q has both <TargetEndpoint> and <URL>; use one", rr.Name)
		}
		if rr.URL != "" {
			if err := checkTargetURL(rr.URL); err != nil {
				return verr(ErrInvalidBundle, e.name, "RouteRule %q: %v", rr.Name, err)
			}
		}
	}
	p.b.ProxyEndpoints = append(p.b.ProxyEndpoints, pe)
	return nil
}

func (p *parser) parseTargetEndpoint(e *entry) error {
	if _, err := p.load(e, "TargetEndpoint"); err != nil {
		return err
	}
	te := &TargetEndpoint{}
	if err := decodeInto(e.name, e.data, te); err != nil {
		return err
	}
	te.File = e.name
	if te.Name == "" {
		return verr(ErrInvalidBundle, e.name, "<TargetEndpoint> has no name attribute")
	}
	if other := p.b.TargetEndpoint(te.Name); other != nil {
		return verr(ErrInvalidBundle, e.name, "duplicate TargetEndpoint name %q (also defined in %s)", te.Name, other.File)
	}
	bad := func(format string, args ...any) error {
		return verr(ErrInvalidBundle, e.name, "TargetEndpoint %q: %s", te.Name, fmt.Sprintf(format, args...))
	}
	htc, ltc := te.HTTPTargetConnection, te.LocalTargetConnection
	switch {
	case htc != nil && ltc != nil:
		return bad("has both <HTTPTargetConnection> and <LocalTargetConnection>; use one")
	case htc == nil && ltc == nil:
		return bad("needs an <HTTPTargetConnection> or a <LocalTargetConnection>")
	case htc != nil:
		lb := htc.LoadBalancer
		switch {
		case htc.URL != "" && lb != nil:
			return bad("<HTTPTargetConnection> has both <URL> and <LoadBalancer>; use one")
		case htc.URL == "" && lb == nil:
			return bad("<HTTPTargetConnection> needs a <URL> or a <LoadBalancer>")
		case htc.URL != "":
			if err := checkTargetURL(htc.URL); err != nil {
				return bad("%v", err)
			}
		default:
			if len(lb.Servers) == 0 {
				return bad("<LoadBalancer> has no <Server>")
			}
			for _, s := range lb.Servers {
				if s.Name == "" {
					return bad("<LoadBalancer> has a <Server> without a name attribute")
				}
			}
		}
	default:
		switch {
		case ltc.Path != "" && (ltc.APIProxy != "" || ltc.ProxyEndpoint != ""):
			return bad("<LocalTargetConnection> has both <Path> and <APIProxy>/<ProxyEndpoint>; use one")
		case ltc.Path == "" && ltc.APIProxy == "":
			return bad("<LocalTargetConnection> needs an <APIProxy> or a <Path>")
		case ltc.Path != "" && !strings.HasPrefix(ltc.Path, "/"):
			return bad("<LocalTargetConnection> <Path> %q must start with \"/\"", ltc.Path)
		}
	}
	p.b.TargetEndpoints = append(p.b.TargetEndpoints, te)
	return nil
}

// checkTargetURL checks a literal target URL; URLs built from flow variables
// ("{...}") are only checked at run time.
func checkTargetURL(raw string) error {
	if strings.Contains(raw, "{") {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target URL %q is not an absolute http(s) URL", raw)
	}
	return nil
}

func (p *parser) parseSharedFlow(e *entry) error {
	if _, err := p.load(e, "SharedFlow"); err != nil {
		return err
	}
	sf := &SharedFlow{}
	if err := decodeInto(e.name, e.data, sf); err != nil {
		return err
	}
	sf.File = e.name
	if sf.Name == "" {
		return verr(ErrInvalidBundle, e.name, "<SharedFlow> has no name attribute")
	}
	if other := p.b.SharedFlow(sf.Name); other != nil {
		return verr(ErrInvalidBundle, e.name, "duplicate SharedFlow name %q (also defined in %s)", sf.Name, other.File)
	}
	p.b.SharedFlows = append(p.b.SharedFlows, sf)
	return nil
}

// parsePropertySet parses <root>/resources/properties/<set>.properties.
func (p *parser) parsePropertySet(e *entry, name string) error {
	if strings.Contains(name, "/") {
		return verr(ErrInvalidBundle, e.name, "property set files must be directly in %s/resources/properties/, not in a subfolder", p.root)
	}
	set, err := PropertySetName(name)
	if err != nil {
		return verr(ErrInvalidBundle, e.name, "%v", err)
	}
	props, err := ParseProperties(e.data)
	if err != nil {
		return verr(ErrInvalidBundle, e.name, "property set %s: %v", set, err)
	}
	p.b.PropertySets[set] = props
	return nil
}

// policyHeader is what every policy has in common.
type policyHeader struct {
	XMLName         xml.Name
	Name            string `xml:"name,attr"`
	Enabled         string `xml:"enabled,attr"`
	ContinueOnError string `xml:"continueOnError,attr"`
	Async           string `xml:"async,attr"`
	DisplayName     string `xml:"DisplayName"`
}

// structural are root elements that are never policies.
var structural = map[string]bool{
	"APIProxy": true, "SharedFlowBundle": true, "ProxyEndpoint": true, "TargetEndpoint": true, "SharedFlow": true,
}

func (p *parser) parsePolicy(e *entry) error {
	info, err := p.load(e, "")
	if err != nil {
		return err
	}
	typ := info.root.Name.Local
	if structural[typ] {
		return verr(ErrInvalidBundle, e.name, "<%s> is not a policy; it belongs in another folder", typ)
	}
	var h policyHeader
	if err := decodeInto(e.name, e.data, &h); err != nil {
		return err
	}
	if h.Name == "" {
		return verr(ErrInvalidBundle, e.name, "<%s> policy has no name attribute", typ)
	}
	if other, ok := p.b.Policies[h.Name]; ok {
		return verr(ErrInvalidBundle, e.name, "duplicate policy name %q (also defined in %s)", h.Name, other.File)
	}
	pol := &Policy{Type: typ, Name: h.Name, DisplayName: h.DisplayName, File: e.name, XML: e.data, ResourceURLs: info.refs}
	for _, a := range []struct {
		attr, val string
		dst       *bool
		def       bool
	}{
		{"enabled", h.Enabled, &pol.Enabled, true},
		{"continueOnError", h.ContinueOnError, &pol.ContinueOnError, false},
		{"async", h.Async, &pol.Async, false},
	} {
		*a.dst = a.def
		if a.val == "" {
			continue
		}
		v, err := strconv.ParseBool(a.val)
		if err != nil {
			return verr(ErrInvalidBundle, e.name, "attribute %s=%q is not true or false", a.attr, a.val)
		}
		*a.dst = v
	}
	p.b.Policies[h.Name] = pol
	return nil
}

// resourceURLRE is "<type>://<file>".
var resourceURLRE = regexp.MustCompile(`^([A-Za-z0-9_.-]+)://(.+)$`)

// validate checks the bundle as a whole and every reference inside it.
func (p *parser) validate() error {
	b := p.b
	switch p.kind {
	case KindProxy:
		if len(b.ProxyEndpoints) == 0 {
			return verr(ErrInvalidBundle, p.root+"/proxies/", "an API proxy needs at least one ProxyEndpoint")
		}
	case KindSharedFlow:
		if len(b.SharedFlows) == 0 {
			return verr(ErrInvalidBundle, p.root+"/sharedflows/", "a shared flow bundle needs at least one SharedFlow")
		}
	}
	for _, pe := range b.ProxyEndpoints {
		if err := p.checkSteps(pe.File, pe.FaultRules, pe.DefaultFaultRule, pe.PreFlow, pe.Flows, pe.PostFlow, pe.PostClientFlow); err != nil {
			return err
		}
		for _, rr := range pe.RouteRules {
			if rr.TargetEndpoint != "" && b.TargetEndpoint(rr.TargetEndpoint) == nil {
				return verr(ErrMissingReference, pe.File, "RouteRule %q references TargetEndpoint %q, which is not in %s/targets/", rr.Name, rr.TargetEndpoint, p.root)
			}
		}
	}
	for _, te := range b.TargetEndpoints {
		if err := p.checkSteps(te.File, te.FaultRules, te.DefaultFaultRule, te.PreFlow, te.Flows, te.PostFlow, nil); err != nil {
			return err
		}
	}
	for _, sf := range b.SharedFlows {
		for _, s := range sf.Steps {
			if err := p.checkStep(sf.File, "SharedFlow "+strconv.Quote(sf.Name), s); err != nil {
				return err
			}
		}
	}
	return p.checkResources()
}

func (p *parser) checkSteps(file string, frs []FaultRule, dfr *FaultRule, pre *Flow, flows []Flow, post, postClient *Flow) error {
	for _, fr := range frs {
		for _, s := range fr.Steps {
			if err := p.checkStep(file, "FaultRule "+strconv.Quote(fr.Name), s); err != nil {
				return err
			}
		}
	}
	if dfr != nil {
		for _, s := range dfr.Steps {
			if err := p.checkStep(file, "DefaultFaultRule", s); err != nil {
				return err
			}
		}
	}
	check := func(where string, f *Flow) error {
		if f == nil {
			return nil
		}
		for _, s := range f.Request {
			if err := p.checkStep(file, where+" Request", s); err != nil {
				return err
			}
		}
		for _, s := range f.Response {
			if err := p.checkStep(file, where+" Response", s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := check("PreFlow", pre); err != nil {
		return err
	}
	for i := range flows {
		if err := check("Flow "+strconv.Quote(flows[i].Name), &flows[i]); err != nil {
			return err
		}
	}
	if err := check("PostFlow", post); err != nil {
		return err
	}
	return check("PostClientFlow", postClient)
}

func (p *parser) checkStep(file, where string, s Step) error {
	if s.Name == "" {
		return verr(ErrInvalidBundle, file, "%s: <Step> without a <Name>", where)
	}
	if _, ok := p.b.Policies[s.Name]; !ok {
		return verr(ErrMissingReference, file, "%s: step references policy %q, which is not in %s/policies/", where, s.Name, p.root)
	}
	return nil
}

// checkResources verifies the resources policies reference.
func (p *parser) checkResources() error {
	names := make([]string, 0, len(p.b.Policies))
	for n := range p.b.Policies {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return p.b.Policies[names[i]].File < p.b.Policies[names[j]].File })
	for _, n := range names {
		pol := p.b.Policies[n]
		for _, ref := range pol.ResourceURLs {
			if strings.Contains(ref, "{") {
				continue // chosen at run time from a flow variable
			}
			m := resourceURLRE.FindStringSubmatch(ref)
			if m == nil {
				return verr(ErrInvalidBundle, pol.File, "%s policy %q: resource URL %q must look like <type>://<file> (e.g. jsc://script.js)", pol.Type, pol.Name, ref)
			}
			if _, ok := p.b.Resources[ref]; ok {
				continue
			}
			if p.opts.ResourceExists != nil && p.opts.ResourceExists(ref) {
				continue
			}
			return verr(ErrMissingReference, pol.File, "%s policy %q references resource %q, which is not in the bundle (expected %s/resources/%s/%s)", pol.Type, pol.Name, ref, p.root, m[1], m[2])
		}
	}
	return nil
}

// DecodeHTTPTargetConnection decodes one <HTTPTargetConnection> element
// (data holds it as its root, e.g. a ServiceCallout policy's), with the
// same model, defaults and value checks as a TargetEndpoint's, so that a
// policy and a target read their connections alike. file names the
// document in errors.
func DecodeHTTPTargetConnection(file string, data []byte) (*HTTPTargetConnection, error) {
	htc := &HTTPTargetConnection{}
	if err := decodeInto(file, data, htc); err != nil {
		return nil, err
	}
	return htc, nil
}
