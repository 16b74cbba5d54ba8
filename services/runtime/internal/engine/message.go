package engine

import (
	"net"
	"net/http"
	"strings"
)

// plainResolver resolves the flow variables a RouteRule condition may read
// on the pass-through path, without building a full message context.
type plainResolver struct {
	r      *http.Request
	entry  *routeEntry
	path   string // canonical request path (request.path)
	suffix string
}

// Lookup implements condition.Resolver.
func (m *plainResolver) Lookup(name string) (any, bool) {
	r := m.r
	switch name {
	case "request.verb":
		return r.Method, true
	case "request.path":
		return m.path, true
	case "request.uri":
		if r.URL.RawQuery != "" {
			return m.path + "?" + r.URL.RawQuery, true
		}
		return m.path, true
	case "request.querystring":
		return r.URL.RawQuery, true
	case "proxy.pathsuffix":
		return m.suffix, true
	case "proxy.basepath":
		return m.entry.ep.BasePath, true
	case "proxy.name":
		return m.entry.ep.Name, true
	case "apiproxy.name":
		return m.entry.ep.Proxy.Name, true
	case "apiproxy.revision":
		return m.entry.ep.Proxy.Revision, true
	case "environment.name":
		return m.entry.env.Name, true
	case "organization.name":
		return m.entry.env.Org, true
	case "client.ip":
		if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return h, true
		}
		return r.RemoteAddr, true
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
