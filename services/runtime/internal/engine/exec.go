package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// execution is one request through the full flow model.
type execution struct {
	e      *Engine
	env    *Environment
	ep     *ProxyEndpoint
	mc     *flow.MessageContext
	flow   *Flow // the conditional proxy flow chosen on the request path
	target *TargetEndpoint
	tflow  *Flow // the conditional target flow
	resp   *http.Response
	// local marks a LocalTargetConnection call (no PostClientFlow there).
	local bool
	// wireSuffix is proxy.pathsuffix as sent (escaped, dot-free): the
	// target URL is built from it so encoded slashes stay encoded.
	wireSuffix string
	// tx is the call as the Observer will see it (nil without one).
	tx *Transaction
	// streamed records that write streamed the response payload.
	streamed bool
}

// execute runs a request through Apigee's execution order:
//
//	PreProxyFlowHook → ProxyEndpoint PreFlow → first matching Flow → PostFlow
//	→ RouteRules → PreTargetFlowHook → TargetEndpoint PreFlow → Flow → PostFlow
//	→ target → TargetEndpoint response PreFlow → Flow → PostFlow
//	→ PostTargetFlowHook → ProxyEndpoint response PreFlow → Flow → PostFlow
//	→ PostProxyFlowHook → response sent → PostClientFlow.
//
// A fault on the way jumps to the fault rules (see handleFault) and then
// straight to the response.
func (e *Engine) execute(w http.ResponseWriter, r *http.Request, entry *routeEntry, p reqPath, suffix string, start time.Time) {
	var tx *Transaction
	var tb *timedBody
	if e.opts.Observer != nil {
		tx = &Transaction{Proxy: entry.ep.info, PathSuffix: suffix}
		tb = tx.observeRequest(r, start) // before the message takes the body
	}
	x := e.newExecution(r, entry, p, suffix)
	x.tx = tx
	var tr *trace
	if entry.env.debug != nil && e.opts.DebugSink != nil {
		if tr = e.matchDebug(entry.env, x.mc); tr != nil {
			x.mc.Debug = tr
		}
	}
	ctx := r.Context()
	if err := x.run(ctx); err != nil {
		x.handleFault(ctx, err)
	}
	if tr != nil {
		tr.responding(x.mc)
	}
	cut := x.write(w)
	if tx != nil {
		tx.ClientSentEnd = time.Now()
	}
	x.postClient(ctx)
	if tr != nil {
		if err := tr.send(e.opts.DebugSink, x.mc); err != nil {
			x.mc.Log.Warn("debug session capture not sent", zap.Error(err))
		}
	}
	if tx != nil {
		x.finish(tb)
		e.opts.Observer.ObserveTransaction(tx)
	}
	if cut && r.Context().Value(http.ServerContextKey) != nil {
		// The target failed after the response began: the client must
		// not take the truncated payload for a complete one.
		panic(http.ErrAbortHandler)
	}
}

// finish completes the Transaction once the call is over.
func (x *execution) finish(tb *timedBody) {
	t := x.tx
	t.MC = x.mc
	t.TargetName, t.TargetURL = x.mc.TargetName, x.mc.TargetURL
	if !t.TargetReceivedStart.IsZero() && t.TargetReceivedEnd.IsZero() {
		// A streamed target payload ended when the client's did; one a
		// policy read had ended before the response went out.
		t.TargetReceivedEnd = t.ClientSentStart
		if x.streamed {
			t.TargetReceivedEnd = t.ClientSentEnd
		}
	}
	t.requestDone(tb)
}

// stamp sets an analytics timestamp when the call is observed.
func (x *execution) stamp(t *time.Time) {
	if x.tx != nil {
		*t = time.Now()
	}
}

// targetAnswered notes the target's status for the Observer.
func (x *execution) targetAnswered(code int) {
	if x.tx != nil {
		x.tx.TargetReceivedStart = time.Now()
		x.tx.TargetStatus = code
	}
}

func (e *Engine) newExecution(r *http.Request, entry *routeEntry, p reqPath, suffix string) *execution {
	req := message.FromRequest(r)
	req.Path = p.vars
	mc := flow.New(entry.ep.info, req, r.RemoteAddr, e.log)
	mc.PathSuffix = suffix
	return &execution{e: e, env: entry.env, ep: entry.ep, mc: mc, wireSuffix: suffixOf(p.wire, entry.ep.BasePath)}
}

func (x *execution) run(ctx context.Context) error {
	mc, ep := x.mc, x.ep
	if err := x.proxyRequest(ctx); err != nil {
		return err
	}
	mc.State = flow.ProxyResponse
	mc.EnsureResponse()
	if err := x.response(ctx, ep.PreFlow); err != nil {
		return err
	}
	if err := x.response(ctx, x.flow); err != nil {
		return err
	}
	if err := x.response(ctx, ep.PostFlow); err != nil {
		return err
	}
	return x.hook(ctx, hookPostProxy)
}

// proxyRequest runs the proxy request flow, the route rules and the
// target. A policy that answers the request itself (mc.EndRequestFlow, the
// CORS preflight) ends it early: execution goes on at the ProxyEndpoint
// response PreFlow, as Apigee does.
func (x *execution) proxyRequest(ctx context.Context) error {
	mc, ep := x.mc, x.ep
	mc.State = flow.ProxyRequest
	if err := x.hook(ctx, hookPreProxy); err != nil || mc.EndRequestFlow {
		return err
	}
	if err := x.request(ctx, ep.PreFlow); err != nil || mc.EndRequestFlow {
		return err
	}
	x.flow = firstMatching(mc, ep.Flows)
	if err := x.request(ctx, x.flow); err != nil || mc.EndRequestFlow {
		return err
	}
	if err := x.request(ctx, ep.PostFlow); err != nil || mc.EndRequestFlow {
		return err
	}
	for _, rr := range ep.RouteRules {
		if rr.Condition == nil || rr.Condition.Eval(mc) {
			x.target = rr.Target
			break
		}
	}
	if t := x.target; t != nil {
		return x.runTarget(ctx, t)
	}
	return nil
}

func (x *execution) runTarget(ctx context.Context, t *TargetEndpoint) error {
	mc := x.mc
	mc.State = flow.TargetRequest
	mc.TargetName = t.Name
	switch {
	case t.URL != nil:
		mc.TargetURL = t.URL.String()
	case t.urlTemplate != nil && t.conn != nil && t.conn.lb == nil:
		mc.TargetURL = t.urlTemplate.String(mc)
	}
	if err := x.hook(ctx, hookPreTarget); err != nil || mc.EndRequestFlow {
		return err
	}
	if err := x.request(ctx, t.PreFlow); err != nil || mc.EndRequestFlow {
		return err
	}
	x.tflow = firstMatching(mc, t.Flows)
	if err := x.request(ctx, x.tflow); err != nil || mc.EndRequestFlow {
		return err
	}
	if err := x.request(ctx, t.PostFlow); err != nil || mc.EndRequestFlow {
		return err
	}
	resp, err := x.callTarget(ctx, t)
	if err != nil {
		return err
	}
	mc.State = flow.TargetResponse
	mc.Response = resp
	if t.conn != nil && !t.conn.isSuccess(resp.StatusCode) {
		// The target's error response goes back to the client as it is,
		// unless a fault rule changes it; the response flows are skipped.
		return &flow.Fault{Code: CodeErrorResponseCode, Name: "ErrorResponseCode", Status: resp.StatusCode,
			Message: "Received " + strconv.Itoa(resp.StatusCode) + " Response from target", Response: resp}
	}
	if err := x.response(ctx, t.PreFlow); err != nil {
		return err
	}
	if err := x.response(ctx, x.tflow); err != nil {
		return err
	}
	if err := x.response(ctx, t.PostFlow); err != nil {
		return err
	}
	return x.hook(ctx, hookPostTarget)
}

func (x *execution) request(ctx context.Context, f *Flow) error {
	if f == nil || len(f.Request) == 0 {
		return nil
	}
	x.mc.FlowName = f.Name
	return f.Request.Run(ctx, x.mc)
}

func (x *execution) response(ctx context.Context, f *Flow) error {
	if f == nil || len(f.Response) == 0 {
		return nil
	}
	x.mc.FlowName = f.Name
	return f.Response.Run(ctx, x.mc)
}

// hook runs the shared flow attached to a flow hook point. With the hook's
// continueOnError (Apigee's default) a failure there does not stop the
// proxy.
func (x *execution) hook(ctx context.Context, point int) error {
	h := x.env.hooks[point]
	if h == nil || x.local {
		return nil
	}
	err := h.flow.Run(ctx, x.mc)
	if err != nil && h.continueOnError {
		x.mc.Log.Debug("flow hook failed; continuing", zap.String("flowhook", h.point), zap.Error(err))
		return nil
	}
	return err
}

func firstMatching(mc *flow.MessageContext, flows []*Flow) *Flow {
	for _, f := range flows {
		if f.Condition == nil || f.Condition.Eval(mc) {
			return f
		}
	}
	return nil
}

// handleFault runs the error flow. A fault raised on the target side runs
// the TargetEndpoint's fault rules (top to bottom, first match), then the
// ProxyEndpoint's; a fault on the proxy side runs only the ProxyEndpoint's
// (bottom to top, first match — i.e. the last matching rule in the file),
// as Apigee documents. Each endpoint's DefaultFaultRule runs when none of
// its FaultRules did, or always with <AlwaysEnforce>true, unless a fault
// rule raised a new fault.
func (x *execution) handleFault(ctx context.Context, err error) {
	mc := x.mc
	f, ok := err.(*flow.Fault)
	switch {
	case isIOTimeout(err) || x.targetStalled():
		// A policy read the target's payload and the target stalled.
		f = x.e.targetFault("", errIOTimeout)
	case !ok:
		f = &flow.Fault{Code: "messaging.runtime.UnknownError", Status: http.StatusInternalServerError, Message: err.Error()}
	}
	targetSide := mc.State == flow.TargetRequest || mc.State == flow.TargetResponse
	if t := x.tx; t != nil && t.Fault == nil {
		t.Fault, t.FaultState, t.TargetFault = f, mc.State, targetSide && f.Policy == ""
	}
	mc.InError = true
	mc.Fault = f
	if mc.Response != nil && mc.Response != f.Response {
		mc.Response.Close()
	}
	mc.Response = f.DefaultResponse()
	if targetSide && x.target != nil {
		runFaultRules(ctx, mc, x.target.FaultRules, false, x.target.DefaultFaultRule)
	}
	runFaultRules(ctx, mc, x.ep.FaultRules, true, x.ep.DefaultFaultRule)
}

// targetStalled reports whether the target's payload broke off because
// the target was silent for longer than io.timeout.millis.
func (x *execution) targetStalled() bool {
	if x.resp == nil {
		return false
	}
	b, ok := x.resp.Body.(*watchedResponseBody)
	return ok && b.w.fired.Load()
}

func runFaultRules(ctx context.Context, mc *flow.MessageContext, rules []*FaultRule, bottomUp bool, def *FaultRule) {
	executed, raised := false, false
	n := len(rules)
	for i := 0; i < n; i++ {
		r := rules[i]
		if bottomUp {
			r = rules[n-1-i]
		}
		if r.Condition == nil || r.Condition.Eval(mc) {
			mc.FlowName = r.Name
			raised = r.Steps.RunFaultRule(ctx, mc)
			executed = true
			break
		}
	}
	if def != nil && !raised && (!executed || def.AlwaysEnforce) {
		if def.Condition == nil || def.Condition.Eval(mc) {
			mc.FlowName = def.Name
			def.Steps.RunFaultRule(ctx, mc)
		}
	}
}

// callTarget sends the request to the target and wraps its response; the
// response body stays a stream until a policy reads it.
func (x *execution) callTarget(ctx context.Context, t *TargetEndpoint) (*message.Message, error) {
	if t.local != nil {
		return x.callLocal(ctx, t)
	}
	mc := x.mc
	conn := t.conn
	if conn.lb != nil {
		return x.callBalanced(ctx, t)
	}
	u, err := url.Parse(mc.TargetURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &flow.Fault{Code: CodeBadTargetURL, Status: http.StatusInternalServerError, Message: fmt.Sprintf("Invalid target URL %q", mc.TargetURL)}
	}
	out, err := x.outgoing(ctx, u)
	if err != nil {
		return nil, err
	}
	if conn.auth != nil {
		if err := conn.auth.authorize(ctx, mc, out, mc.TargetURL); err != nil {
			return nil, err
		}
	}
	if x.tx != nil {
		x.stamp(&x.tx.TargetSentStart)
	}
	resp, err := x.e.roundTripper(conn.rt, conn.ioTimeout).RoundTrip(out)
	if err != nil {
		return nil, x.e.targetFault(out.URL.String(), err)
	}
	x.targetAnswered(resp.StatusCode)
	x.resp = resp
	return message.FromResponse(resp), nil
}

// outgoing builds the target request from the request message: target URL
// plus proxy.pathsuffix and query parameters (unless target.copy.* is
// false), the message's headers minus hop-by-hop ones, and its payload.
func (x *execution) outgoing(ctx context.Context, u *url.URL) (*http.Request, error) {
	mc := x.mc
	req := mc.Request
	tu := *u
	if mc.CopyPathSuffix {
		tu.Path, tu.RawPath = targetPath(u, x.wireSuffix)
	} else if tu.Path == "" {
		tu.Path, tu.RawPath = "/", ""
	}
	if f := checkTargetPath(&tu); f != nil {
		return nil, f
	}
	if q := req.QueryString(); q != "" && mc.CopyQueryParams {
		if tu.RawQuery == "" {
			tu.RawQuery = q
		} else {
			tu.RawQuery += "&" + q
		}
	}
	body, n, stream := req.Body()
	out, err := http.NewRequestWithContext(ctx, req.Method, tu.String(), body)
	if err != nil {
		return nil, &flow.Fault{Code: CodeBadTargetURL, Status: http.StatusInternalServerError, Message: err.Error()}
	}
	out.Header = req.Header.Clone()
	removeHopHeaders(out.Header)
	if stream {
		if cl := req.Header.Get("Content-Length"); cl != "" {
			out.ContentLength, _ = strconv.ParseInt(cl, 10, 64)
		} else {
			out.ContentLength = -1
		}
	} else {
		out.ContentLength = n
		out.Header.Del("Content-Length")
	}
	if body == http.NoBody {
		out.Body = nil
	}
	if ip := mc.ClientIP; ip != "" {
		if prior := out.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			out.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+ip)
		} else {
			out.Header.Set("X-Forwarded-For", ip)
		}
	}
	return out, nil
}

// callBalanced sends the request to a server the load balancer picks and,
// with RetryEnabled, to the next one when a server fails (connection error
// or a ServerUnhealthyResponse code) and the payload can be sent again.
func (x *execution) callBalanced(ctx context.Context, t *TargetEndpoint) (*message.Message, error) {
	mc, lb := x.mc, t.conn.lb
	path := ""
	if t.urlTemplate != nil {
		path = t.urlTemplate.String(mc)
	}
	if lb.retry {
		// Replaying needs the payload in memory.
		if _, err := mc.Request.Content(); err != nil {
			return nil, tooBig(err)
		}
	}
	tried := map[*lbServer]bool{}
	var lastErr error
	for {
		s := lb.pick(tried)
		if s == nil {
			if lastErr != nil {
				return nil, lastErr
			}
			return nil, x.e.targetFault("", errNoActiveTargets)
		}
		tried[s] = true
		u := *s.base
		u.Path = path
		mc.TargetURL = u.String()
		out, err := x.outgoing(ctx, &u)
		if err != nil {
			return nil, err
		}
		if auth := t.conn.auth; auth != nil {
			if err := auth.authorize(ctx, mc, out, mc.TargetURL); err != nil {
				return nil, err
			}
		}
		s.active.Add(1)
		if x.tx != nil {
			x.stamp(&x.tx.TargetSentStart)
		}
		resp, err := x.e.roundTripper(s.rt, t.conn.ioTimeout).RoundTrip(out)
		s.active.Add(-1)
		if err == nil {
			x.targetAnswered(resp.StatusCode)
		}
		switch {
		case err != nil:
			lb.failed(s)
			lastErr = x.e.targetFault(out.URL.String(), err)
		case lb.unhealthy[resp.StatusCode]:
			lb.failed(s)
			if !lb.retry || lb.pick(tried) == nil {
				x.resp = resp
				return message.FromResponse(resp), nil
			}
			_ = resp.Body.Close()
			continue
		default:
			lb.succeeded(s)
			x.resp = resp
			return message.FromResponse(resp), nil
		}
		if !lb.retry || ctx.Err() != nil {
			return nil, lastErr
		}
	}
}

func tooBig(err error) error {
	if errors.Is(err, message.ErrTooBig) {
		return &flow.Fault{Code: CodeTooBig, Status: http.StatusRequestEntityTooLarge, Message: "Body buffer overflow"}
	}
	if isIOTimeout(err) {
		return &flow.Fault{Status: http.StatusGatewayTimeout, Message: "Gateway Timeout", Code: CodeGatewayTimeout}
	}
	return &flow.Fault{Code: CodeClientError, Status: http.StatusBadRequest, Message: err.Error()}
}

// callLocal chains to another proxy of the same environment without a
// network hop (LocalTargetConnection): by proxy name (and endpoint) or by
// path.
func (x *execution) callLocal(ctx context.Context, t *TargetEndpoint) (*message.Message, error) {
	mc := x.mc
	var entry *routeEntry
	path := ""
	lt := t.local
	if lt.Path != "" {
		path = lt.Path + x.wireSuffix
		p, bad := canonicalPath(path)
		if bad != "" {
			return nil, &flow.Fault{Code: CodeBadPath, Status: http.StatusInternalServerError, Message: "Invalid request path: local target path " + path + ": " + bad}
		}
		for _, host := range x.env.Hostnames {
			if e, _ := x.e.table.Load().route(strings.ToLower(host), p.vars); e != nil && e.env == x.env {
				entry = e
				break
			}
		}
		if entry == nil {
			entry = x.env.routeByPath(p.vars)
		}
	} else {
		for _, p := range x.env.Proxies {
			if p.Name != lt.APIProxy {
				continue
			}
			for _, ep := range p.Endpoints {
				if lt.ProxyEndpoint == "" || ep.Name == lt.ProxyEndpoint {
					entry = &routeEntry{env: x.env, ep: ep}
					break
				}
			}
		}
		if entry != nil {
			path = joinTargetPath(entry.ep.BasePath, x.wireSuffix)
		}
	}
	if entry == nil {
		return nil, &flow.Fault{Code: CodeLocalTargetNotFound, Status: http.StatusNotFound,
			Message: fmt.Sprintf("Unable to identify proxy for local target connection %s%s", lt.APIProxy, lt.Path)}
	}
	if mc.Depth() > maxCalloutDepth {
		return nil, flow.Errorf(http.StatusInternalServerError, "messaging.adaptors.http.flow.LocalTargetLoop", "Local target connections nested more than %d levels deep", maxCalloutDepth)
	}
	p, bad := canonicalPath(path)
	if bad != "" {
		return nil, &flow.Fault{Code: CodeBadPath, Status: http.StatusInternalServerError, Message: "Invalid request path: local target path " + path + ": " + bad}
	}
	u := &url.URL{Path: unescapeOr(p.wire), RawPath: p.wire, RawQuery: mc.Request.QueryString()}
	body, _, _ := mc.Request.Body()
	in, err := http.NewRequestWithContext(ctx, mc.Request.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	in.Header = mc.Request.Header.Clone()
	in.Host = mc.Request.Host
	in.RemoteAddr = net.JoinHostPort(mc.ClientIP, mc.ClientPort)
	rec := newRecorder()
	sub := x.e.newExecution(in, entry, p, suffixOf(p.vars, entry.ep.BasePath))
	sub.local = true
	sub.mc.SetDepth(mc.Depth() + 1)
	if x.tx != nil {
		x.stamp(&x.tx.TargetSentStart)
	}
	if err := sub.run(ctx); err != nil {
		sub.handleFault(ctx, err)
	}
	_ = sub.write(rec) // the recorder holds what arrived; a cut shows as a short payload
	x.targetAnswered(rec.code)
	if x.tx != nil {
		x.stamp(&x.tx.TargetReceivedEnd)
	}
	resp := message.NewResponse()
	resp.StatusCode = rec.code
	resp.Header = rec.header
	resp.SetContent(rec.body.Bytes())
	return resp, nil
}

// routeByPath finds an endpoint of the environment by path alone.
func (env *Environment) routeByPath(path string) *routeEntry {
	var best *routeEntry
	for _, p := range env.Proxies {
		for _, ep := range p.Endpoints {
			bp := ep.BasePath
			if bp == "/" || path == bp || (strings.HasPrefix(path, bp) && path[len(bp)] == '/') {
				if best == nil || len(bp) > len(best.ep.BasePath) {
					best = &routeEntry{env: env, ep: ep}
				}
			}
		}
	}
	return best
}

// write sends the response message to the client, streaming a payload no
// policy has read. It reports whether the payload broke off mid-stream
// (the target failed or stalled past io.timeout.millis), in which case
// the caller cuts the client connection.
func (x *execution) write(w http.ResponseWriter) (cut bool) {
	for _, f := range x.mc.BeforeSend {
		f(x.mc)
	}
	resp := x.mc.Response
	if resp == nil {
		x.sending(http.StatusOK, 0)
		w.WriteHeader(http.StatusOK)
		return false
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	removeHopHeaders(h)
	if _, ok := h["Content-Type"]; !ok {
		// Send no Content-Type rather than one net/http sniffs: the
		// message has none.
		h["Content-Type"] = nil
	}
	body, n, stream := resp.Body()
	if !stream {
		h.Del("Transfer-Encoding")
		h.Set("Content-Length", strconv.FormatInt(n, 10))
	}
	code := resp.StatusCode
	if code == 0 {
		code = http.StatusOK
	}
	if stream {
		n = 0 // counted as it goes
	}
	x.sending(code, n)
	w.WriteHeader(code)
	if body == nil || body == http.NoBody {
		return false
	}
	defer body.Close()
	if stream {
		x.streamed = true
		buf := x.e.buffers.Get()
		defer x.e.buffers.Put(buf)
		flusher, _ := w.(http.Flusher)
		for {
			nr, err := body.Read(buf)
			if nr > 0 {
				if x.tx != nil {
					x.tx.ResponseSize += int64(nr)
				}
				if _, werr := w.Write(buf[:nr]); werr != nil {
					return false // the client went away
				}
				if flusher != nil && x.resp != nil && x.resp.ContentLength < 0 {
					flusher.Flush()
				}
			}
			if err != nil {
				return err != io.EOF
			}
		}
	}
	_, _ = io.Copy(w, body)
	return false
}

// sending notes the response's status and size for the Observer as it
// starts to go out (client_sent_start).
func (x *execution) sending(code int, size int64) {
	if t := x.tx; t != nil {
		t.StatusCode, t.ResponseSize, t.ClientSentStart = code, size, time.Now()
	}
}

// postClient runs the PostClientFlow after the response has been sent;
// its faults cannot change the response and are only logged.
func (x *execution) postClient(ctx context.Context) {
	f := x.ep.PostClientFlow
	if f == nil || len(f.Response) == 0 || x.local {
		return
	}
	x.mc.State = flow.PostClient
	x.mc.FlowName = f.Name
	if err := f.Response.Run(context.WithoutCancel(ctx), x.mc); err != nil {
		x.mc.Log.Debug("PostClientFlow failed", zap.Error(err))
	}
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, c := range h.Values("Connection") {
		for _, f := range strings.Split(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

// recorder collects a local target's response.
type recorder struct {
	code   int
	header http.Header
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
