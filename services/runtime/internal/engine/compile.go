// Package engine turns runtime contracts into a request router and runs
// proxy flows: the message processor's data path.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

// Flow hook points, as the Apigee API names them.
const (
	PreProxyFlowHook   = "PreProxyFlowHook"
	PreTargetFlowHook  = "PreTargetFlowHook"
	PostTargetFlowHook = "PostTargetFlowHook"
	PostProxyFlowHook  = "PostProxyFlowHook"
)

// HookPoints lists the flow hook points in execution order.
var HookPoints = [...]string{PreProxyFlowHook, PreTargetFlowHook, PostTargetFlowHook, PostProxyFlowHook}

const (
	hookPreProxy = iota
	hookPreTarget
	hookPostTarget
	hookPostProxy
)

// Environment is a compiled contract: what one environment serves.
type Environment struct {
	Org, Name, Version string
	Hostnames          []string
	Proxies            []*Proxy
	SharedFlows        map[string]*SharedFlow
	Status             []DeploymentStatus

	hooks     [4]*hook
	debug     []*debugSession // nil without an active session
	envDigest [32]byte
	servers   *serverSet
}

type hook struct {
	point           string
	flow            *SharedFlow
	continueOnError bool
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
	envDigest      [32]byte
	// serviceAccount is the deployment's: a redeploy with another one
	// recompiles (its targets send that account's tokens).
	serviceAccount string
}

// SharedFlow is one compiled shared flow revision; FlowCallout and flow
// hooks run its "default" flow.
type SharedFlow struct {
	Name, Revision string
	Flows          map[string]flow.Steps
	// propSets are the property sets the shared flow's policies see when
	// its bundle has sets of its own (over the environment's); nil means
	// the caller's.
	propSets flow.PropertySets
}

// Run implements flow.Runner.
func (s *SharedFlow) Run(ctx context.Context, mc *flow.MessageContext) error {
	depth, leave := mc.Enter()
	defer leave()
	if depth > maxCalloutDepth {
		return flow.Errorf(http.StatusInternalServerError, "flow.SharedFlowRecursion", "Shared flow %s called recursively more than %d levels deep", s.Name, maxCalloutDepth)
	}
	if s.propSets != nil {
		defer withPropertySets(mc, s.propSets)()
	}
	return s.Flows["default"].Run(ctx, mc)
}

const maxCalloutDepth = 16

// ProxyEndpoint is a compiled <ProxyEndpoint>.
type ProxyEndpoint struct {
	Proxy            *Proxy
	Name             string
	BasePath         string
	PreFlow          *Flow
	Flows            []*Flow
	PostFlow         *Flow
	PostClientFlow   *Flow
	FaultRules       []*FaultRule
	DefaultFaultRule *FaultRule
	RouteRules       []*RouteRule
	info             *flow.Proxy
	// plain is true when the endpoint runs no policy at all, so requests
	// can take the streaming pass-through path.
	plain bool
}

// Flow is a compiled flow; Condition is nil when unconditional.
type Flow struct {
	Name      string
	Condition *condition.Condition
	Request   flow.Steps
	Response  flow.Steps
}

// FaultRule is a compiled <FaultRule> or <DefaultFaultRule>.
type FaultRule struct {
	Name          string
	Condition     *condition.Condition
	Steps         flow.Steps
	AlwaysEnforce bool
}

// RouteRule picks the target; Target nil means no backend.
type RouteRule struct {
	Name      string
	Condition *condition.Condition
	Target    *TargetEndpoint
	// pass is the reverse proxy of a pass-through endpoint's route.
	pass *httputil.ReverseProxy
}

// TargetEndpoint is a compiled <TargetEndpoint>.
type TargetEndpoint struct {
	Name string
	// URL is the static target URL; urlTemplate is set instead when the
	// URL holds flow variables.
	URL              *url.URL
	urlTemplate      *template.Template
	PreFlow          *Flow
	Flows            []*Flow
	PostFlow         *Flow
	FaultRules       []*FaultRule
	DefaultFaultRule *FaultRule
	conn             *targetConn
	local            *bundle.LocalTargetConnection
	// plain is true when the target runs no policy and has a static URL.
	plain bool
}

// CompileError names where in a bundle compilation failed.
type CompileError struct {
	Kind, Name, Revision, File, Element, Reason string
}

func (e *CompileError) Error() string {
	loc := e.File
	if e.Element != "" {
		loc += " " + e.Element
	}
	kind := e.Kind
	if kind == "" {
		kind = "apiproxy"
	}
	return fmt.Sprintf("%s %s revision %s: %s: %s", kind, e.Name, e.Revision, loc, e.Reason)
}

// Compile builds an Environment from a contract with default options (for
// tools and tests); the message processor uses Engine.Compile.
func Compile(c *contract.Contract, prev *Environment) *Environment {
	return newCompiler(nil, zap.NewNop(), DefaultOptions()).compile(c, prev)
}

// Compile builds an Environment from a contract. A revision that fails to
// compile is left out and reported as ERROR; the others still serve.
// Revisions whose bundle (and the environment's shared flows and target
// servers) are unchanged since prev are reused, not recompiled.
func (e *Engine) Compile(c *contract.Contract, prev *Environment) *Environment {
	return newCompiler(e, e.log, e.opts).compile(c, prev)
}

type envCompiler struct {
	eng    *Engine
	log    *zap.Logger
	opts   Options
	client *http.Client
	env    *Environment
	deps   map[string]contract.Deployment
	state  map[string]int // shared flow compile state: 1 in progress, 2 done
	errs   map[string]error
	// keystores by name, for target TLS, their private keys opened;
	// keyErrs holds why an alias's sealed key did not open (keyID).
	keystores map[string]contract.Keystore
	keyErrs   map[string]error
	// data is the runtime data store policies read (nil without Cassandra).
	data *rtdata.Store
	// envSets are the environment's property sets.
	envSets map[string]map[string]string
	// envRes are the environment's resource files by resource URL
	// (resources.go).
	envRes map[string][]byte
}

func newCompiler(e *Engine, log *zap.Logger, opts Options) *envCompiler {
	client := &http.Client{Transport: newTransport(opts)}
	var data *rtdata.Store
	if e != nil {
		client = e.client
		data = e.data.Load()
	}
	return &envCompiler{eng: e, log: log, opts: opts, client: client, data: data}
}

func (ec *envCompiler) compile(c *contract.Contract, prev *Environment) *Environment {
	env := &Environment{Org: c.Organization, Name: c.Environment, Version: c.Version, Hostnames: c.Hostnames, SharedFlows: map[string]*SharedFlow{}}
	ec.env = env
	c = ec.openKeys(c)
	env.envDigest = envDigest(c)
	env.servers = newServerSet(c.TargetServers)
	env.debug = compileDebugSessions(c, prev)
	ec.envSets = envPropertySets(c, ec.log)
	ec.envRes = envResources(c)
	ec.keystores = map[string]contract.Keystore{}
	for _, ks := range c.Keystores {
		ec.keystores[ks.Name] = ks
	}

	ec.deps = map[string]contract.Deployment{}
	ec.state = map[string]int{}
	ec.errs = map[string]error{}
	for _, d := range c.SharedFlows {
		ec.deps[d.Name] = d
	}
	names := make([]string, 0, len(c.SharedFlows))
	for _, d := range c.SharedFlows {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		d := ec.deps[n]
		_, err := ec.sharedFlow(n)
		st := DeploymentStatus{Name: d.Name, Kind: "sharedflow", Revision: d.Revision, State: "READY"}
		if err != nil {
			st.State, st.Errors = "ERROR", []string{err.Error()}
		}
		env.Status = append(env.Status, st)
	}
	for i, point := range HookPoints {
		name := c.FlowHooks[point]
		if name == "" {
			continue
		}
		sf, ok := env.SharedFlows[name]
		if !ok {
			ec.log.Warn("flow hook references a shared flow that is not deployed", zap.String("org", c.Organization),
				zap.String("env", c.Environment), zap.String("flowhook", point), zap.String("sharedflow", name))
			continue
		}
		coe := true
		if v, ok := c.FlowHookContinueOnError[point]; ok {
			coe = v
		}
		env.hooks[i] = &hook{point: point, flow: sf, continueOnError: coe}
	}

	reuse := map[string]*Proxy{}
	if prev != nil {
		for _, p := range prev.Proxies {
			reuse[p.Name+"\x00"+p.Revision] = p
		}
	}
	for _, d := range c.APIProxies {
		digest := sha256.Sum256(d.Bundle)
		st := DeploymentStatus{Name: d.Name, Kind: "apiproxy", Revision: d.Revision, State: "READY"}
		if p, ok := reuse[d.Name+"\x00"+d.Revision]; ok && p.digest == digest && p.envDigest == env.envDigest && p.serviceAccount == d.ServiceAccount {
			env.Proxies = append(env.Proxies, p)
			env.Status = append(env.Status, st)
			continue
		}
		p, err := ec.compileProxy(d, digest)
		if err != nil {
			st.State, st.Errors = "ERROR", []string{err.Error()}
		} else {
			env.Proxies = append(env.Proxies, p)
		}
		env.Status = append(env.Status, st)
	}
	return env
}

// envDigest covers what compiled proxies depend on besides their own
// bundle: the shared flows they call, the target servers they use and the
// keystores their TLS targets trust or present.
func envDigest(c *contract.Contract) [32]byte {
	h := sha256.New()
	for _, d := range c.SharedFlows {
		s := sha256.Sum256(d.Bundle)
		fmt.Fprintf(h, "sf %s %s %x\n", d.Name, d.Revision, s)
	}
	for _, ts := range c.TargetServers {
		// JSON, not %+v: the SSLInfo pointer must contribute its contents,
		// not its address, or every contract would look changed.
		data, _ := json.Marshal(ts)
		fmt.Fprintf(h, "ts %s\n", data)
	}
	// Target TLS configurations are built from the keystores at compile
	// time, so a changed truststore or client key must recompile.
	for _, ks := range c.Keystores {
		fmt.Fprintf(h, "ks %s\n", ks.Name)
		for _, a := range ks.Aliases {
			fmt.Fprintf(h, "ka %s %x %x\n", a.Name, sha256.Sum256([]byte(a.CertPEM)), sha256.Sum256([]byte(a.KeyPEM)))
		}
	}
	// Environment resource files: property sets and jsc/xsl/oas resources
	// are resolved at compile time (and checked against the bundles'
	// references).
	for _, rf := range c.ResourceFiles {
		fmt.Fprintf(h, "rf %s %s %x\n", rf.Type, rf.Name, sha256.Sum256(rf.Content))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// sharedFlow compiles a deployed shared flow on first use, so shared flows
// calling other shared flows compile in dependency order; a cycle is an
// error.
func (ec *envCompiler) sharedFlow(name string) (*SharedFlow, error) {
	switch ec.state[name] {
	case 1:
		return nil, fmt.Errorf("shared flow %s calls itself through FlowCallout", name)
	case 2:
		if err := ec.errs[name]; err != nil {
			return nil, err
		}
		return ec.env.SharedFlows[name], nil
	}
	d, ok := ec.deps[name]
	if !ok {
		return nil, fmt.Errorf("shared flow %s is not deployed to environment %s", name, ec.env.Name)
	}
	ec.state[name] = 1
	sf, err := ec.compileSharedFlow(d)
	ec.state[name] = 2
	if err != nil {
		ec.errs[name] = err
		return nil, err
	}
	ec.env.SharedFlows[name] = sf
	return sf, nil
}

func (ec *envCompiler) compileSharedFlow(d contract.Deployment) (*SharedFlow, error) {
	b, err := bundle.ParseWithOptions(d.Bundle, bundle.KindSharedFlow, ec.parseOptions())
	if err != nil {
		return nil, fmt.Errorf("sharedflow %s revision %s: %w", d.Name, d.Revision, err)
	}
	c := ec.bundleCompiler(b, "sharedflow", d)
	sf := &SharedFlow{Name: d.Name, Revision: d.Revision, Flows: map[string]flow.Steps{}}
	if len(b.PropertySets) > 0 {
		sf.propSets = c.propSets
	}
	for _, f := range b.SharedFlows {
		steps, err := c.steps(f.File, "SharedFlow "+f.Name, f.Steps)
		if err != nil {
			return nil, err
		}
		sf.Flows[f.Name] = steps
	}
	if _, ok := sf.Flows["default"]; !ok {
		// A bundle whose only shared flow has another name still runs it.
		if len(b.SharedFlows) == 1 {
			sf.Flows["default"] = sf.Flows[b.SharedFlows[0].Name]
		} else {
			return nil, &CompileError{Kind: "sharedflow", Name: d.Name, Revision: d.Revision, File: "sharedflowbundle/sharedflows/", Reason: "a shared flow bundle needs a SharedFlow named \"default\""}
		}
	}
	return sf, nil
}

func (ec *envCompiler) bundleCompiler(b *bundle.Bundle, kind string, d contract.Deployment) *compiler {
	return &compiler{
		ec: ec, bundle: b, policies: map[string]flow.Policy{}, serviceAccount: d.ServiceAccount,
		propSets: flow.MergePropertySets(b.PropertySets, ec.envSets),
		errf: func(file, element, reason string) error {
			return &CompileError{Kind: kind, Name: d.Name, Revision: d.Revision, File: file, Element: element, Reason: reason}
		},
	}
}

func (ec *envCompiler) compileProxy(d contract.Deployment, digest [32]byte) (*Proxy, error) {
	b, err := bundle.ParseWithOptions(d.Bundle, bundle.KindProxy, ec.parseOptions())
	if err != nil {
		return nil, fmt.Errorf("apiproxy %s revision %s: %w", d.Name, d.Revision, err)
	}
	p := &Proxy{Name: d.Name, Revision: d.Revision, digest: digest, envDigest: ec.env.envDigest, serviceAccount: d.ServiceAccount}
	c := ec.bundleCompiler(b, "apiproxy", d)
	if err := c.checkResponseCache(); err != nil {
		return nil, err
	}
	targets := map[string]*TargetEndpoint{}
	for _, te := range b.TargetEndpoints {
		t, err := c.target(te)
		if err != nil {
			return nil, err
		}
		targets[te.Name] = t
	}
	for _, pe := range b.ProxyEndpoints {
		file := pe.File
		ep := &ProxyEndpoint{Proxy: p, Name: pe.Name, BasePath: normalizeBasePath(pe.HTTPProxyConnection.BasePath)}
		ep.info = &flow.Proxy{Org: ec.env.Org, Env: ec.env.Name, Name: p.Name, Revision: p.Revision, Endpoint: ep.Name, BasePath: ep.BasePath,
			PropertySets: c.propSets}
		if ep.PreFlow, err = c.flow(file, "PreFlow", pe.PreFlow); err != nil {
			return nil, err
		}
		if ep.Flows, err = c.flows(file, pe.Flows); err != nil {
			return nil, err
		}
		if ep.PostFlow, err = c.flow(file, "PostFlow", pe.PostFlow); err != nil {
			return nil, err
		}
		if ep.PostClientFlow, err = c.flow(file, "PostClientFlow", pe.PostClientFlow); err != nil {
			return nil, err
		}
		if ep.FaultRules, ep.DefaultFaultRule, err = c.faultRules(file, pe.FaultRules, pe.DefaultFaultRule); err != nil {
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
					return nil, c.errf(file, "RouteRule "+rr.Name, fmt.Sprintf("TargetEndpoint %q does not exist", rr.TargetEndpoint))
				}
				r.Target = t
			case strings.TrimSpace(rr.URL) != "":
				t := &TargetEndpoint{Name: rr.Name}
				if err := c.targetURL(t, file, "RouteRule "+rr.Name+"/URL", rr.URL); err != nil {
					return nil, err
				}
				t.conn = ec.defaultConn()
				t.plain = t.URL != nil
				r.Target = t
			}
			ep.RouteRules = append(ep.RouteRules, r)
		}
		ep.plain = emptyFlow(ep.PreFlow) && emptyFlow(ep.PostFlow) && emptyFlow(ep.PostClientFlow) &&
			len(ep.FaultRules) == 0 && ep.DefaultFaultRule == nil
		for _, f := range ep.Flows {
			ep.plain = ep.plain && emptyFlow(f)
		}
		for _, rr := range ep.RouteRules {
			if rr.Target != nil && !rr.Target.plain {
				ep.plain = false
			}
		}
		p.Endpoints = append(p.Endpoints, ep)
	}
	return p, nil
}

func emptyFlow(f *Flow) bool { return f == nil || (f.Request.Empty() && f.Response.Empty()) }

type compiler struct {
	ec       *envCompiler
	bundle   *bundle.Bundle
	policies map[string]flow.Policy
	errf     func(file, element, reason string) error
	// propSets are the property sets the bundle sees (its own over the
	// environment's).
	propSets flow.PropertySets
	// serviceAccount is the deployment's identity, whose Google tokens
	// <Authentication> sends.
	serviceAccount string
}

func (c *compiler) target(te *bundle.TargetEndpoint) (*TargetEndpoint, error) {
	t := &TargetEndpoint{Name: te.Name}
	file := te.File
	if el, reason := checkTargetElements(te); el != "" {
		return nil, c.errf(file, el, reason)
	}
	var err error
	switch {
	case te.LocalTargetConnection != nil:
		t.local = te.LocalTargetConnection
	case te.HTTPTargetConnection.LoadBalancer != nil:
		if t.conn, err = c.ec.loadBalancedConn(te.HTTPTargetConnection, c.bundle); err != nil {
			return nil, c.errf(file, "HTTPTargetConnection/LoadBalancer", err.Error())
		}
		if p := strings.TrimSpace(te.HTTPTargetConnection.Path); p != "" {
			if err := c.checkPropertySets(file, "HTTPTargetConnection/Path", p); err != nil {
				return nil, err
			}
			if t.urlTemplate, err = template.Compile(p); err != nil {
				return nil, c.errf(file, "HTTPTargetConnection/Path", err.Error())
			}
		}
	default:
		if err := c.targetURL(t, file, "HTTPTargetConnection/URL", te.HTTPTargetConnection.URL); err != nil {
			return nil, err
		}
		if t.conn, err = c.ec.targetConn(te.HTTPTargetConnection, c.bundle); err != nil {
			return nil, c.errf(file, "HTTPTargetConnection", err.Error())
		}
	}
	if htc := te.HTTPTargetConnection; htc != nil && htc.Authentication != nil && t.conn != nil {
		if t.conn.auth, err = c.ec.compileGoogleAuth(htc.Authentication, c.serviceAccount, "HTTPTargetConnection/Authentication"); err != nil {
			return nil, c.invalid(file, err)
		}
	}
	if t.PreFlow, err = c.flow(file, "PreFlow", te.PreFlow); err != nil {
		return nil, err
	}
	if t.Flows, err = c.flows(file, te.Flows); err != nil {
		return nil, err
	}
	if t.PostFlow, err = c.flow(file, "PostFlow", te.PostFlow); err != nil {
		return nil, err
	}
	if t.FaultRules, t.DefaultFaultRule, err = c.faultRules(file, te.FaultRules, te.DefaultFaultRule); err != nil {
		return nil, err
	}
	t.plain = t.URL != nil && t.local == nil && t.conn != nil && t.conn.simple() && emptyFlow(t.PreFlow) && emptyFlow(t.PostFlow) &&
		len(t.FaultRules) == 0 && t.DefaultFaultRule == nil
	for _, f := range t.Flows {
		t.plain = t.plain && emptyFlow(f)
	}
	return t, nil
}

func (c *compiler) targetURL(t *TargetEndpoint, file, element, raw string) error {
	raw = strings.TrimSpace(raw)
	if err := c.checkPropertySets(file, element, raw); err != nil {
		return err
	}
	if strings.Contains(raw, "{") {
		tpl, err := template.Compile(raw)
		if err != nil {
			return c.errf(file, element, err.Error())
		}
		if !tpl.Static() {
			t.urlTemplate = tpl
			return nil
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.errf(file, element, fmt.Sprintf("%q is not an http(s) URL", raw))
	}
	t.URL = u
	return nil
}

func (c *compiler) faultRules(file string, frs []bundle.FaultRule, dfr *bundle.FaultRule) ([]*FaultRule, *FaultRule, error) {
	var out []*FaultRule
	for _, fr := range frs {
		r, err := c.faultRule(file, "FaultRule "+fr.Name, &fr)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	if dfr == nil {
		return out, nil, nil
	}
	d, err := c.faultRule(file, "DefaultFaultRule", dfr)
	return out, d, err
}

func (c *compiler) faultRule(file, element string, fr *bundle.FaultRule) (*FaultRule, error) {
	cond, err := c.condition(file, element+"/Condition", fr.Condition)
	if err != nil {
		return nil, err
	}
	steps, err := c.steps(file, element, fr.Steps)
	if err != nil {
		return nil, err
	}
	return &FaultRule{Name: fr.Name, Condition: cond, Steps: steps, AlwaysEnforce: fr.AlwaysEnforce}, nil
}

func (c *compiler) condition(file, element, src string) (*condition.Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	cond, err := condition.Parse(src)
	if err != nil {
		return nil, c.errf(file, element, err.Error())
	}
	if err := c.checkPropertySets(file, element, src); err != nil {
		return nil, err
	}
	return cond, nil
}

func (c *compiler) flows(file string, fs []bundle.Flow) ([]*Flow, error) {
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

func (c *compiler) flow(file, element string, f *bundle.Flow) (*Flow, error) {
	if f == nil {
		return nil, nil
	}
	cond, err := c.condition(file, element+"/Condition", f.Condition)
	if err != nil {
		return nil, err
	}
	name := f.Name
	if name == "" {
		name = element
	}
	out := &Flow{Name: name, Condition: cond}
	if out.Request, err = c.steps(file, element+"/Request", f.Request); err != nil {
		return nil, err
	}
	if out.Response, err = c.steps(file, element+"/Response", f.Response); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *compiler) steps(file, element string, steps []bundle.Step) (flow.Steps, error) {
	out := make(flow.Steps, 0, len(steps))
	for _, s := range steps {
		pol, ok := c.bundle.Policies[s.Name]
		if !ok {
			return nil, c.errf(file, element+"/Step", fmt.Sprintf("policy %q does not exist", s.Name))
		}
		cond, err := c.condition(file, element+"/Step "+s.Name+"/Condition", s.Condition)
		if err != nil {
			return nil, err
		}
		compiled, err := c.policy(pol)
		if err != nil {
			return nil, err
		}
		out = append(out, &flow.Step{
			Name: pol.Name, Type: pol.Type, Namespace: policy.Namespace(pol.Type), Condition: cond, Policy: compiled,
			Enabled: pol.Enabled, ContinueOnError: pol.ContinueOnError,
		})
	}
	return out, nil
}

// policy compiles a policy once per bundle, however many steps use it.
func (c *compiler) policy(pol *bundle.Policy) (flow.Policy, error) {
	if p, ok := c.policies[pol.Name]; ok {
		return p, nil
	}
	if err := c.checkPolicyPropertySets(pol); err != nil {
		return nil, err
	}
	cc := &flow.CompileContext{
		Bundle: c.bundle, Policy: pol, Org: c.ec.env.Org, Env: c.ec.env.Name, HTTPClient: c.ec.client,
		Log:           c.ec.log.With(zap.String("org", c.ec.env.Org), zap.String("env", c.ec.env.Name), zap.String("policy", pol.Name)),
		SharedFlow:    c.sharedFlowRunner,
		TargetServers: c.ec.env.servers.byName,
		Data:          c.ec.data,
		Resources:     c.resource,
		HTTPTarget:    c.httpTarget,
	}
	p, err := policy.Compile(cc)
	if err != nil {
		var ip *flow.InvalidPolicyError
		if errors.As(err, &ip) {
			el := ip.Element
			if el == "" {
				el = pol.Type
			}
			return nil, c.errf(pol.File, el, ip.Reason)
		}
		return nil, c.errf(pol.File, pol.Type, err.Error())
	}
	c.policies[pol.Name] = p
	return p, nil
}

// invalid turns an *flow.InvalidPolicyError from a helper shared with
// policies into the file's CompileError.
func (c *compiler) invalid(file string, err error) error {
	var ip *flow.InvalidPolicyError
	if errors.As(err, &ip) {
		return c.errf(file, ip.Element, ip.Reason)
	}
	return c.errf(file, "", err.Error())
}

// httpTarget compiles a policy's <HTTPTargetConnection> (ServiceCallout)
// with a TargetEndpoint's rules: SSLInfo over the environment's
// keystores, the same Properties, Authentication with the deployment's
// service account. A LoadBalancer (and its Path and HealthMonitor) is not
// supported there, and nothing unknown is ignored.
func (c *compiler) httpTarget(htc *bundle.HTTPTargetConnection, element string) (*flow.HTTPTarget, error) {
	switch {
	case len(htc.Unknown) > 0:
		n := htc.Unknown[0].XMLName.Local
		return nil, flow.Invalid(element+"/"+n, "element <%s> is not allowed in <HTTPTargetConnection> (allowed: URL, SSLInfo, Properties, Authentication)", n)
	case htc.LoadBalancer != nil:
		return nil, flow.Invalid(element+"/LoadBalancer", "load-balanced ServiceCallouts are not supported by this runtime; use a <URL>")
	case htc.HealthMonitor != nil:
		return nil, flow.Invalid(element+"/HealthMonitor", "<HealthMonitor> needs a <LoadBalancer>, which ServiceCallout does not support here")
	case htc.Path != "":
		return nil, flow.Invalid(element+"/Path", "<Path> is only used with a <LoadBalancer>; put the path in the <URL>")
	case htc.SSLInfo != nil && len(htc.SSLInfo.Unknown) > 0:
		n := htc.SSLInfo.Unknown[0].XMLName.Local
		return nil, flow.Invalid(element+"/SSLInfo/"+n, "element <%s> is not supported by this runtime here", n)
	}
	conn, err := c.ec.targetConn(htc, c.bundle)
	if err != nil {
		return nil, flow.Invalid(element, "%v", err)
	}
	rt := conn.rt
	if rt == nil {
		rt = c.ec.client.Transport
	}
	out := &flow.HTTPTarget{
		Client: &http.Client{Transport: &timeoutRT{rt: rt, d: conn.ioTimeout},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	if conn.success != nil {
		out.Success = conn.success.has
	}
	if htc.Authentication != nil {
		auth, err := c.ec.compileGoogleAuth(htc.Authentication, c.serviceAccount, element+"/Authentication")
		if err != nil {
			return nil, err
		}
		out.Authorize = func(ctx context.Context, mc *flow.MessageContext, req *http.Request) error {
			return auth.authorize(ctx, mc, req, req.URL.String())
		}
	}
	return out, nil
}

func (c *compiler) sharedFlowRunner(name string) (flow.Runner, bool) {
	sf, err := c.ec.sharedFlow(name)
	if err != nil {
		return nil, false
	}
	return sf, true
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
