package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Engine routes requests to the deployed proxies of every environment this
// message processor serves. Contracts are swapped in atomically: requests
// in flight finish on the routing table they started with.
type Engine struct {
	log   *zap.Logger
	proxy *httputil.ReverseProxy

	mu    sync.Mutex // serialises SetEnvironment
	envs  map[string]*Environment
	table atomic.Pointer[routeTable]
}

type routeEntry struct {
	env *Environment
	ep  *ProxyEndpoint
}

// routeTable maps a Host (without port) to its candidate endpoints, most
// specific base path first.
type routeTable struct {
	byHost map[string][]*routeEntry
}

// Options tunes the engine's upstream connections.
type Options struct {
	MaxIdleConnsPerHost int
	ConnectTimeout      time.Duration
	IOTimeout           time.Duration
}

// DefaultOptions are tuned for a pass-through gateway: many pooled,
// reused connections per target.
func DefaultOptions() Options {
	return Options{MaxIdleConnsPerHost: 512, ConnectTimeout: 3 * time.Second, IOTimeout: 120 * time.Second}
}

// New returns an engine with no environments (it answers 404 to everything).
func New(log *zap.Logger, opts Options) *Engine {
	e := &Engine{log: log, envs: map[string]*Environment{}}
	e.table.Store(&routeTable{byHost: map[string][]*routeEntry{}})
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          opts.MaxIdleConnsPerHost * 4,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opts.IOTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass bodies through as the backend sent them
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
	e.proxy = &httputil.ReverseProxy{
		Rewrite:      rewriteToTarget,
		Transport:    transport,
		BufferPool:   newBufferPool(32 << 10),
		ErrorHandler: e.targetError,
		ErrorLog:     zap.NewStdLog(log.Named("proxy")),
	}
	return e
}

// SetEnvironment installs (or replaces) a compiled environment.
func (e *Engine) SetEnvironment(env *Environment) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.envs[env.Name] = env
	table := &routeTable{byHost: map[string][]*routeEntry{}}
	for _, en := range e.envs {
		for _, host := range en.Hostnames {
			host = strings.ToLower(host)
			for _, p := range en.Proxies {
				for _, ep := range p.Endpoints {
					table.byHost[host] = append(table.byHost[host], &routeEntry{env: en, ep: ep})
				}
			}
		}
	}
	for _, entries := range table.byHost {
		sortEndpoints(entries)
	}
	e.table.Store(table)
}

// Environment returns the installed environment, or nil.
func (e *Engine) Environment(name string) *Environment {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.envs[name]
}

// Environments returns the installed environments sorted by name.
func (e *Engine) Environments() []*Environment {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Environment, 0, len(e.envs))
	for _, en := range e.envs {
		out = append(out, en)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type ctxKey struct{}

// call is the per-request state handed to the reverse proxy's Rewrite.
type call struct {
	target     *url.URL
	pathSuffix string
}

func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := hostOnly(r.Host)
	entry, suffix := e.table.Load().route(host, r.URL.Path)
	if entry == nil {
		notFound(host, r.URL.Path).Write(w)
		return
	}
	mc := newMessageContext(r, entry, suffix)
	ep := entry.ep

	// Proxy request path: PreFlow, the first matching conditional flow,
	// PostFlow, then the first matching RouteRule picks the target.
	mc.runFlow(ep.PreFlow)
	mc.runFlow(mc.firstMatching(ep.Flows))
	mc.runFlow(ep.PostFlow)
	var target *TargetEndpoint
	for _, rr := range ep.RouteRules {
		if rr.Condition == nil || rr.Condition.Eval(mc) {
			target = rr.Target
			break
		}
	}
	if target == nil {
		// A RouteRule without a target: no backend call, empty response.
		w.WriteHeader(http.StatusOK)
		return
	}
	mc.target = target
	mc.runFlow(target.PreFlow)
	mc.runFlow(mc.firstMatching(target.Flows))
	mc.runFlow(target.PostFlow)

	ctx := context.WithValue(r.Context(), ctxKey{}, &call{target: target.URL, pathSuffix: suffix})
	e.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// route finds the endpoint serving path on host: the longest base path that
// is the whole path or a prefix ending at a segment boundary.
func (t *routeTable) route(host, path string) (*routeEntry, string) {
	for _, entry := range t.byHost[host] {
		bp := entry.ep.BasePath
		if bp == "/" {
			return entry, path
		}
		if path == bp || (strings.HasPrefix(path, bp) && path[len(bp)] == '/') {
			return entry, path[len(bp):]
		}
	}
	return nil, ""
}

func rewriteToTarget(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(ctxKey{}).(*call)
	out := pr.Out
	out.URL.Scheme = c.target.Scheme
	out.URL.Host = c.target.Host
	out.URL.Path = joinTargetPath(c.target.Path, c.pathSuffix)
	out.URL.RawPath = ""
	switch {
	case c.target.RawQuery == "":
	case out.URL.RawQuery == "":
		out.URL.RawQuery = c.target.RawQuery
	default:
		out.URL.RawQuery = c.target.RawQuery + "&" + out.URL.RawQuery
	}
	out.Host = ""
	pr.SetXForwarded()
}

// joinTargetPath appends proxy.pathsuffix to the target URL's path, as the
// runtime does when building target.url.
func joinTargetPath(targetPath, suffix string) string {
	switch {
	case suffix == "" && targetPath == "":
		return "/"
	case suffix == "":
		return targetPath
	default:
		return strings.TrimSuffix(targetPath, "/") + suffix
	}
}

func (e *Engine) targetError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return // the client went away; nobody to answer
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		(&Fault{Status: http.StatusGatewayTimeout, FaultString: "Gateway Timeout", ErrorCode: CodeGatewayTimeout}).Write(w)
		return
	}
	e.log.Warn("target call failed", zap.String("url", r.URL.String()), zap.Error(err))
	(&Fault{Status: http.StatusServiceUnavailable, FaultString: "The Service is temporarily unavailable", ErrorCode: CodeServiceUnavailable}).Write(w)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.ToLower(h)
	}
	return strings.ToLower(strings.Trim(hostport, "[]"))
}

type bufferPool struct{ p sync.Pool }

func newBufferPool(size int) *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }
