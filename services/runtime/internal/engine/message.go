package engine

import (
	"net"
	"net/http"
	"strings"
)

// messageContext is one request's flow state; it resolves flow variables
// for conditions.
type messageContext struct {
	req        *http.Request
	env        *Environment
	ep         *ProxyEndpoint
	pathSuffix string
	target     *TargetEndpoint
	flowName   string
}

func newMessageContext(r *http.Request, entry *routeEntry, suffix string) *messageContext {
	return &messageContext{req: r, env: entry.env, ep: entry.ep, pathSuffix: suffix}
}

// runFlow executes a flow's request steps. Steps arrive with policy
// support; compile refuses bundles that have any, so there is nothing to
// run yet beyond recording where the request went.
func (m *messageContext) runFlow(f *Flow) {
	if f == nil {
		return
	}
	m.flowName = f.Name
}

func (m *messageContext) firstMatching(flows []*Flow) *Flow {
	for _, f := range flows {
		if f.Condition == nil || f.Condition.Eval(m) {
			return f
		}
	}
	return nil
}

// Lookup resolves the flow variables the runtime knows so far.
func (m *messageContext) Lookup(name string) (any, bool) {
	r := m.req
	switch name {
	case "request.verb":
		return r.Method, true
	case "request.path":
		return r.URL.Path, true
	case "request.uri":
		return r.URL.RequestURI(), true
	case "request.querystring":
		return r.URL.RawQuery, true
	case "proxy.pathsuffix":
		return m.pathSuffix, true
	case "proxy.basepath":
		return m.ep.BasePath, true
	case "proxy.name":
		return m.ep.Name, true
	case "apiproxy.name":
		return m.ep.Proxy.Name, true
	case "apiproxy.revision":
		return m.ep.Proxy.Revision, true
	case "environment.name":
		return m.env.Name, true
	case "organization.name":
		return m.env.Org, true
	case "current.flow.name":
		return m.flowName, true
	case "client.ip":
		if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return h, true
		}
		return r.RemoteAddr, true
	case "target.name":
		if m.target != nil {
			return m.target.Name, true
		}
		return nil, false
	}
	if h, ok := strings.CutPrefix(name, "request.header."); ok {
		if v := r.Header.Values(h); len(v) > 0 {
			return v[0], true
		}
		return nil, false
	}
	if q, ok := strings.CutPrefix(name, "request.queryparam."); ok {
		if v, ok := r.URL.Query()[q]; ok && len(v) > 0 {
			return v[0], true
		}
		return nil, false
	}
	return nil, false
}
