package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Engine routes requests to the deployed proxies of every environment this
// message processor serves. Contracts are swapped in atomically: requests
// in flight finish on the routing table they started with.
type Engine struct {
	log       *zap.Logger
	opts      Options
	transport *http.Transport
	client    *http.Client
	proxy     *httputil.ReverseProxy
	buffers   *bufferPool

	data atomic.Pointer[rtdata.Store]

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

// Options tunes the engine's upstream connections and its request limits.
type Options struct {
	MaxIdleConnsPerHost int
	ConnectTimeout      time.Duration
	// IOTimeout is the default io.timeout.millis: the longest the target
	// may stay silent (response headers, each read of its payload, each
	// write of the request payload).
	IOTimeout time.Duration
	// Request limits (0 = Apigee's default, negative = none): the request
	// line, the request headers' total size and their number.
	MaxRequestLine, MaxRequestHeaders, MaxHeaderCount int
	// ContractKeyPath is the org's contract encryption key file, which
	// opens the keystores' sealed private keys (see keystores.go).
	ContractKeyPath string
	// GoogleTokens mints the tokens <Authentication> sends (googleauth.go);
	// nil makes revisions that use it fail to deploy.
	GoogleTokens GoogleTokens
	// Observer, when set, is told about every API call when it ends
	// (transaction.go): analytics records are built there.
	Observer Observer
	// DebugSink, when set, receives the transactions debug sessions
	// capture (debug.go); without it sessions are ignored.
	DebugSink DebugSink
}

// DefaultIOTimeout is Apigee's default I/O timeout: 55 seconds
// (docs.apigee.com/how-to-guides/configuring-io-timeout-message-processors).
const DefaultIOTimeout = 55 * time.Second

// DefaultOptions are tuned for a pass-through gateway: many pooled,
// reused connections per target; Apigee's timeouts and limits.
func DefaultOptions() Options {
	return Options{MaxIdleConnsPerHost: 512, ConnectTimeout: 3 * time.Second, IOTimeout: DefaultIOTimeout,
		MaxRequestLine: DefaultMaxRequestLine, MaxRequestHeaders: DefaultMaxRequestHeaders, MaxHeaderCount: DefaultMaxHeaderCount}
}

// SetRuntimeData gives policies compiled from now on the organization's
// runtime data store.
func (e *Engine) SetRuntimeData(d *rtdata.Store) { e.data.Store(d) }

// New returns an engine with no environments (it answers 404 to everything).
func New(log *zap.Logger, opts Options) *Engine {
	e := &Engine{log: log, opts: opts, envs: map[string]*Environment{}, buffers: newBufferPool(32 << 10)}
	e.table.Store(&routeTable{byHost: map[string][]*routeEntry{}})
	e.transport = newTransport(opts)
	e.client = &http.Client{Transport: e.transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	e.proxy = &httputil.ReverseProxy{ErrorLog: zap.NewStdLog(log.Named("proxy"))}
	return e
}

// SetEnvironment installs (or replaces) a compiled environment.
func (e *Engine) SetEnvironment(env *Environment) {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.envs[env.Name]
	e.envs[env.Name] = env
	// Pass-through routes get their reverse proxies before the table that
	// makes them reachable is published.
	for _, p := range env.Proxies {
		for _, ep := range p.Endpoints {
			if !ep.plain {
				continue
			}
			for _, rr := range ep.RouteRules {
				if rr.Target != nil && rr.pass == nil {
					rr.pass = e.passProxy(ep, rr.Target)
				}
			}
		}
	}
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
	if old != nil && old != env {
		old.release(env)
	}
}

// Close stops the background work (health monitors) of every environment.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, env := range e.envs {
		env.release(nil)
	}
	e.transport.CloseIdleConnections()
}

// release stops the health monitors of proxies that next does not reuse.
func (env *Environment) release(next *Environment) {
	keep := map[*Proxy]bool{}
	if next != nil {
		for _, p := range next.Proxies {
			keep[p] = true
		}
	}
	for _, p := range env.Proxies {
		if !keep[p] {
			p.close()
		}
	}
}

func (p *Proxy) close() {
	for _, ep := range p.Endpoints {
		for _, rr := range ep.RouteRules {
			if rr.Target != nil && rr.Target.conn != nil && rr.Target.conn.lb != nil {
				rr.Target.conn.lb.close()
			}
		}
	}
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

func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	if e.opts.Observer != nil {
		start = time.Now() // client_received_start: the head is parsed
	}
	if f := e.checkLimits(r); f != nil {
		f.Write(w)
		return
	}
	p, bad := canonicalPath(r.URL.EscapedPath())
	if bad != "" {
		invalidPath(r, bad).Write(w)
		return
	}
	host := hostOnly(r.Host)
	entry, suffix := e.table.Load().route(host, p.vars)
	if entry == nil {
		notFound(host, p.vars).Write(w)
		return
	}
	if p.wire != r.URL.EscapedPath() {
		// Dot segments were resolved: from here on the request is the one
		// routed, for the target as for the variables.
		r.URL.RawPath = p.wire
		r.URL.Path = unescapeOr(p.wire)
	}
	// A debug session needs the steps, so it turns the fast path off.
	if entry.ep.plain && entry.env.noHooks() && !entry.env.debugging(entry.ep.info) {
		e.passThrough(w, r, entry, p, suffix, start)
		return
	}
	e.execute(w, r, entry, p, suffix, start)
}

// passThrough serves an endpoint that runs no policy: the first matching
// RouteRule picks the target and the request streams through that rule's
// reverse proxy, never buffered.
func (e *Engine) passThrough(w http.ResponseWriter, r *http.Request, entry *routeEntry, p reqPath, suffix string, start time.Time) {
	var rule *RouteRule
	var res *plainResolver
	for _, rr := range entry.ep.RouteRules {
		if rr.Condition == nil {
			rule = rr
			break
		}
		if res == nil {
			res = &plainResolver{r: r, entry: entry, path: p.vars, suffix: suffix}
		}
		if rr.Condition.Eval(res) {
			rule = rr
			break
		}
	}
	if obs := e.opts.Observer; obs != nil {
		e.observePass(obs, w, r, entry, rule, suffix, start)
		return
	}
	if rule == nil || rule.Target == nil {
		// A RouteRule without a target: no backend call, empty response.
		w.WriteHeader(http.StatusOK)
		return
	}
	rule.pass.ServeHTTP(w, r)
}

// observePass is passThrough with the call watched for the Observer. The
// reverse proxy forwards at once and streams both ways, so the target's
// timestamps are the client's: it was sent the request as it arrived and
// its response went out as it came in.
func (e *Engine) observePass(obs Observer, w http.ResponseWriter, r *http.Request, entry *routeEntry, rule *RouteRule, suffix string, start time.Time) {
	tx := &Transaction{Proxy: entry.ep.info, PathSuffix: suffix}
	tb := tx.observeRequest(r, start)
	pw := &passWriter{ResponseWriter: w, tx: tx}
	if rule == nil || rule.Target == nil {
		pw.WriteHeader(http.StatusOK)
		tx.ClientSentEnd = time.Now()
	} else {
		t := rule.Target
		tx.TargetName, tx.TargetURL = t.Name, joinTargetURL(t.URL, suffix)
		tx.TargetSentStart = time.Now()
		rule.pass.ServeHTTP(pw, r)
		tx.ClientSentEnd = time.Now()
		if tx.Fault == nil {
			tx.TargetStatus = tx.StatusCode
			tx.TargetReceivedStart, tx.TargetReceivedEnd = tx.ClientSentStart, tx.ClientSentEnd
			if t.conn != nil && !t.conn.isSuccess(tx.StatusCode) {
				tx.Fault = &flow.Fault{Code: CodeErrorResponseCode, Name: "ErrorResponseCode", Status: tx.StatusCode,
					Message: "Received " + strconv.Itoa(tx.StatusCode) + " Response from target"}
				tx.FaultState, tx.TargetFault = flow.TargetResponse, true
			}
		}
	}
	tx.requestDone(tb)
	obs.ObserveTransaction(tx)
}

// joinTargetURL is target.url of a pass-through call: the target URL with
// the path suffix appended.
func joinTargetURL(u *url.URL, suffix string) string {
	if u == nil {
		return ""
	}
	c := *u
	c.Path = joinTargetPath(u.Path, suffix)
	c.RawPath = ""
	return c.String()
}

// passProxy builds the reverse proxy of a pass-through route: the target
// URL and base path are fixed, so the proxy needs no per-request state.
func (e *Engine) passProxy(ep *ProxyEndpoint, t *TargetEndpoint) *httputil.ReverseProxy {
	target, bp := t.URL, ep.BasePath
	var rt http.RoundTripper
	io := e.opts.IOTimeout
	if t.conn != nil {
		rt, io = t.conn.rt, t.conn.ioTimeout
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// ServeHTTP left the canonical path in the request.
			rewriteToTarget(pr, target, suffixOf(pr.In.URL.EscapedPath(), bp))
		},
		Transport:    e.roundTripper(rt, io),
		BufferPool:   e.buffers,
		ErrorHandler: e.targetError,
		ErrorLog:     e.proxy.ErrorLog,
	}
}

func (env *Environment) noHooks() bool {
	return env.hooks == [4]*hook{}
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

// rewriteToTarget points the outgoing request at the target: its URL's
// path plus the escaped, dot-free path suffix (encoded slashes stay
// encoded), and its query before the client's.
func rewriteToTarget(pr *httputil.ProxyRequest, target *url.URL, wireSuffix string) {
	out := pr.Out
	out.URL.Scheme = target.Scheme
	out.URL.Host = target.Host
	out.URL.Path, out.URL.RawPath = targetPath(target, wireSuffix)
	switch {
	case target.RawQuery == "":
	case out.URL.RawQuery == "":
		out.URL.RawQuery = target.RawQuery
	default:
		out.URL.RawQuery = target.RawQuery + "&" + out.URL.RawQuery
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
	f := e.targetFault(r.URL.String(), err)
	if pw, ok := w.(*passWriter); ok {
		pw.tx.Fault, pw.tx.FaultState, pw.tx.TargetFault = f, flow.TargetRequest, true
	}
	f.Write(w)
}

// targetFault is the fault for a failed target call: 504 on timeouts, 503
// otherwise, with the runtime's error codes.
func (e *Engine) targetFault(u string, err error) *flow.Fault {
	var ce *clientBodyError
	if errors.As(err, &ce) {
		return &flow.Fault{Status: http.StatusBadRequest, Message: "Bad request payload: " + ce.err.Error(), Code: CodeClientError}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &flow.Fault{Status: http.StatusGatewayTimeout, Message: "Gateway Timeout", Code: CodeGatewayTimeout}
	}
	if errors.Is(err, errNoActiveTargets) {
		return &flow.Fault{Status: http.StatusServiceUnavailable, Message: "The Service is temporarily unavailable", Code: CodeNoActiveTargets}
	}
	e.log.Warn("target call failed", zap.String("url", u), zap.Error(err))
	return &flow.Fault{Status: http.StatusServiceUnavailable, Message: "The Service is temporarily unavailable", Code: CodeServiceUnavailable}
}

func hostOnly(hostport string) string {
	if strings.IndexByte(hostport, ':') >= 0 {
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			return lower(h)
		}
	}
	return lower(strings.Trim(hostport, "[]"))
}

// lower is strings.ToLower without the allocation for the usual
// already-lower-case host.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

type bufferPool struct{ p sync.Pool }

func newBufferPool(size int) *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }
