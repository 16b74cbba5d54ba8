// Package engine turns runtime contracts into a request router and runs
// proxy flows: the message processor's data path.
package engine

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// Environment is a compiled contract: what one environment serves.
type Environment struct {
	Org, Name, Version string
	Hostnames          []string
	Proxies            []*Proxy
	Status             []DeploymentStatus
}

// DeploymentStatus is a revision's state as this runtime sees it.
type DeploymentStatus struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Revision string   `json:"revision"`
	State    string   `json:"state"` // READY or ERROR
	Errors   []string `json:"errors,omitempty"`
}

// Proxy is one compiled API proxy revision.
type Proxy struct {
	Name, Revision string
	Endpoints      []*ProxyEndpoint
	digest         [32]byte
}

// ProxyEndpoint is a compiled <ProxyEndpoint>.
type ProxyEndpoint struct {
	Proxy      *Proxy
	Name       string
	BasePath   string
	PreFlow    *Flow
	Flows      []*Flow
	PostFlow   *Flow
	RouteRules []*RouteRule
}

// Flow is a compiled flow; Condition is nil when unconditional.
type Flow struct {
	Name      string
	Condition *condition.Condition
	Request   []*Step
	Response  []*Step
}

// Step is a compiled <Step>.
type Step struct {
	Name      string
	Condition *condition.Condition
}

// RouteRule picks the target; Target nil (and URL empty) means no backend.
type RouteRule struct {
	Name      string
	Condition *condition.Condition
	Target    *TargetEndpoint
}

// TargetEndpoint is a compiled <TargetEndpoint>.
type TargetEndpoint struct {
	Name     string
	URL      *url.URL
	PreFlow  *Flow
	Flows    []*Flow
	PostFlow *Flow
}

// CompileError names where in a bundle compilation failed.
type CompileError struct {
	Proxy, Revision, File, Element, Reason string
}

func (e *CompileError) Error() string {
	loc := e.File
	if e.Element != "" {
		loc += " " + e.Element
	}
	return fmt.Sprintf("apiproxy %s revision %s: %s: %s", e.Proxy, e.Revision, loc, e.Reason)
}

// Compile builds an Environment from a contract. A revision that fails to
// compile is left out and reported as ERROR; the others still serve.
// Revisions whose bundle is unchanged since prev are reused, not recompiled.
func Compile(c *contract.Contract, prev *Environment) *Environment {
	env := &Environment{Org: c.Organization, Name: c.Environment, Version: c.Version, Hostnames: c.Hostnames}
	reuse := map[string]*Proxy{}
	if prev != nil {
		for _, p := range prev.Proxies {
			reuse[p.Name+"\x00"+p.Revision] = p
		}
	}
	for _, d := range c.APIProxies {
		digest := sha256.Sum256(d.Bundle)
		if p, ok := reuse[d.Name+"\x00"+d.Revision]; ok && p.digest == digest {
			env.Proxies = append(env.Proxies, p)
			env.Status = append(env.Status, DeploymentStatus{Name: d.Name, Kind: "apiproxy", Revision: d.Revision, State: "READY"})
			continue
		}
		p, err := compileProxy(d, digest)
		st := DeploymentStatus{Name: d.Name, Kind: "apiproxy", Revision: d.Revision, State: "READY"}
		if err != nil {
			st.State, st.Errors = "ERROR", []string{err.Error()}
		} else {
			env.Proxies = append(env.Proxies, p)
		}
		env.Status = append(env.Status, st)
	}
	for _, d := range c.SharedFlows {
		st := DeploymentStatus{Name: d.Name, Kind: "sharedflow", Revision: d.Revision, State: "READY"}
		if _, err := bundle.Parse(d.Bundle, bundle.KindSharedFlow, bundle.DefaultLimits()); err != nil {
			st.State, st.Errors = "ERROR", []string{fmt.Sprintf("sharedflow %s revision %s: %v", d.Name, d.Revision, err)}
		}
		env.Status = append(env.Status, st)
	}
	return env
}

func compileProxy(d contract.Deployment, digest [32]byte) (*Proxy, error) {
	b, err := bundle.Parse(d.Bundle, bundle.KindProxy, bundle.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("apiproxy %s revision %s: %w", d.Name, d.Revision, err)
	}
	p := &Proxy{Name: d.Name, Revision: d.Revision, digest: digest}
	cerr := func(file, element, reason string) error {
		return &CompileError{Proxy: d.Name, Revision: d.Revision, File: file, Element: element, Reason: reason}
	}
	c := compiler{bundle: b, errf: cerr}
	targets := map[string]*TargetEndpoint{}
	for _, te := range b.TargetEndpoints {
		t := &TargetEndpoint{Name: te.Name}
		file := te.File
		if te.HTTPTargetConnection == nil || strings.TrimSpace(te.HTTPTargetConnection.URL) == "" {
			if te.LocalTargetConnection != nil {
				return nil, cerr(file, "LocalTargetConnection", "local target connections are not supported yet")
			}
			return nil, cerr(file, "HTTPTargetConnection", "a <URL> is required")
		}
		if te.HTTPTargetConnection.LoadBalancer != nil {
			return nil, cerr(file, "HTTPTargetConnection/LoadBalancer", "load-balanced targets are not supported yet")
		}
		u, err := url.Parse(strings.TrimSpace(te.HTTPTargetConnection.URL))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, cerr(file, "HTTPTargetConnection/URL", fmt.Sprintf("%q is not an http(s) URL", te.HTTPTargetConnection.URL))
		}
		t.URL = u
		if t.PreFlow, err = c.flow(file, "PreFlow", te.PreFlow); err != nil {
			return nil, err
		}
		if t.Flows, err = c.flows(file, te.Flows); err != nil {
			return nil, err
		}
		if t.PostFlow, err = c.flow(file, "PostFlow", te.PostFlow); err != nil {
			return nil, err
		}
		targets[te.Name] = t
	}
	for _, pe := range b.ProxyEndpoints {
		file := pe.File
		ep := &ProxyEndpoint{Proxy: p, Name: pe.Name, BasePath: normalizeBasePath(pe.HTTPProxyConnection.BasePath)}
		var err error
		if ep.PreFlow, err = c.flow(file, "PreFlow", pe.PreFlow); err != nil {
			return nil, err
		}
		if ep.Flows, err = c.flows(file, pe.Flows); err != nil {
			return nil, err
		}
		if ep.PostFlow, err = c.flow(file, "PostFlow", pe.PostFlow); err != nil {
			return nil, err
		}
		for _, rr := range pe.RouteRules {
			r := &RouteRule{Name: rr.Name}
			if r.Condition, err = c.condition(file, "RouteRule "+rr.Name+"/Condition", rr.Condition); err != nil {
				return nil, err
			}
			switch {
			case rr.TargetEndpoint != "":
				t, ok := targets[rr.TargetEndpoint]
				if !ok {
					return nil, cerr(file, "RouteRule "+rr.Name, fmt.Sprintf("TargetEndpoint %q does not exist", rr.TargetEndpoint))
				}
				r.Target = t
			case strings.TrimSpace(rr.URL) != "":
				u, perr := url.Parse(strings.TrimSpace(rr.URL))
				if perr != nil || u.Host == "" {
					return nil, cerr(file, "RouteRule "+rr.Name+"/URL", fmt.Sprintf("%q is not an http(s) URL", rr.URL))
				}
				r.Target = &TargetEndpoint{Name: rr.Name, URL: u}
			}
			ep.RouteRules = append(ep.RouteRules, r)
		}
		p.Endpoints = append(p.Endpoints, ep)
	}
	return p, nil
}

type compiler struct {
	bundle *bundle.Bundle
	errf   func(file, element, reason string) error
}

func (c compiler) condition(file, element, src string) (*condition.Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	cond, err := condition.Parse(src)
	if err != nil {
		return nil, c.errf(file, element, err.Error())
	}
	return cond, nil
}

func (c compiler) flows(file string, fs []bundle.Flow) ([]*Flow, error) {
	out := make([]*Flow, 0, len(fs))
	for i := range fs {
		f, err := c.flow(file, "Flow "+fs[i].Name, &fs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (c compiler) flow(file, element string, f *bundle.Flow) (*Flow, error) {
	if f == nil {
		return nil, nil
	}
	cond, err := c.condition(file, element+"/Condition", f.Condition)
	if err != nil {
		return nil, err
	}
	out := &Flow{Name: f.Name, Condition: cond}
	if out.Request, err = c.steps(file, element+"/Request", f.Request); err != nil {
		return nil, err
	}
	if out.Response, err = c.steps(file, element+"/Response", f.Response); err != nil {
		return nil, err
	}
	return out, nil
}

func (c compiler) steps(file, element string, steps []bundle.Step) ([]*Step, error) {
	out := make([]*Step, 0, len(steps))
	for _, s := range steps {
		pol, ok := c.bundle.Policies[s.Name]
		if !ok {
			return nil, c.errf(file, element+"/Step", fmt.Sprintf("policy %q does not exist", s.Name))
		}
		// Policy execution arrives with the proxy execution engine; until
		// then a bundle that needs one fails its deployment loudly rather
		// than serving traffic that skips it.
		return nil, c.errf(pol.File, pol.Type, fmt.Sprintf("policy type %s (%s) is not supported by this runtime yet", pol.Type, s.Name))
	}
	return out, nil
}

func normalizeBasePath(bp string) string {
	bp = strings.TrimSpace(bp)
	if bp == "" {
		return "/"
	}
	if !strings.HasPrefix(bp, "/") {
		bp = "/" + bp
	}
	if len(bp) > 1 {
		bp = strings.TrimSuffix(bp, "/")
	}
	return bp
}

// sortEndpoints orders endpoints longest base path first, so the most
// specific base path wins, as in Apigee.
func sortEndpoints(eps []*routeEntry) {
	sort.SliceStable(eps, func(i, j int) bool { return len(eps[i].ep.BasePath) > len(eps[j].ep.BasePath) })
}
