package engine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// Debug sessions: the contract lists the environment's active sessions;
// a transaction of a session's proxy revision whose request matches the
// session's filter is captured, step by step, until the session has
// Count transactions or expires. Both limits are this message processor's
// own, as in Apigee hybrid, where count is "the maximum number of requests
// recorded in a single session per Message Processor" and a session ends on
// an MP when either its timeout or its count is reached: the MP stops on
// its own, whether or not a newer contract has dropped the session yet.
// The capture is one DebugSessionTransaction (Apigee's trace shape: points
// with DebugInfo, VariableAccess and message results) sent to the
// DebugSink, which hands it to UDCA's trace dataset.

// DebugSink takes a captured transaction (a JSON object); it must not
// block.
type DebugSink interface {
	OfferTrace(org, env string, rec []byte)
}

// debugNow is the clock sessions expire by; tests move it.
var debugNow = time.Now

// debugSession is a contract's session, compiled.
type debugSession struct {
	name, proxy, rev string
	filter           *condition.Condition
	count            int64
	traceSize        int
	expires          time.Time
	// taken counts the transactions this session has claimed; it
	// survives new contracts so that a recompile does not restart it.
	taken *atomic.Int64
	mask  *debugMask // nil without one
}

// compileDebugSessions compiles c's sessions, keeping the counts of
// those prev already had. A filter that does not parse (the control
// plane refuses those) drops the session rather than capture everything.
// A session is the same one only with the same expiry too: a name reused
// for a new session (the control plane allows it once the old one has
// expired) starts counting afresh.
func compileDebugSessions(c *contract.Contract, prev *Environment) []*debugSession {
	var out []*debugSession
	mask := compileDebugMask(c.DebugMask)
	for _, s := range c.DebugSessions {
		var filter *condition.Condition
		if s.Filter != "" {
			f, err := condition.Parse(s.Filter)
			if err != nil {
				continue
			}
			filter = f
		}
		ds := &debugSession{name: s.Name, proxy: s.APIProxy, rev: s.Revision, filter: filter, count: int64(s.Count),
			traceSize: s.TraceSize, expires: s.Expires, taken: new(atomic.Int64), mask: mask}
		if prev != nil {
			for _, p := range prev.debug {
				if p.name == s.Name && p.proxy == s.APIProxy && p.rev == s.Revision && p.expires.Equal(s.Expires) {
					ds.taken = p.taken
				}
			}
		}
		out = append(out, ds)
	}
	return out
}

// debugging reports whether a session of env targets p's revision (no
// loop at all without a session).
func (env *Environment) debugging(p *flow.Proxy) bool {
	for _, s := range env.debug {
		if s.proxy == p.Name && s.rev == p.Revision {
			return true
		}
	}
	return false
}

// matchDebug returns a trace for the transaction when a session wants it.
func (e *Engine) matchDebug(env *Environment, mc *flow.MessageContext) *trace {
	now := debugNow()
	for _, s := range env.debug {
		if s.proxy != mc.Proxy.Name || s.rev != mc.Proxy.Revision || !now.Before(s.expires) {
			continue
		}
		if s.filter != nil && !s.filter.Eval(mc) {
			continue
		}
		for {
			n := s.taken.Load()
			if n >= s.count {
				break
			}
			if s.taken.CompareAndSwap(n, n+1) {
				return newTrace(s, mc, now)
			}
		}
	}
	return nil
}

// Apigee's trace result shapes (GoogleCloudApigeeV1Point and Result).
type (
	tracePoint struct {
		ID      string        `json:"id"`
		Results []traceResult `json:"results,omitempty"`
	}
	traceResult struct {
		ActionResult string          `json:"ActionResult"`
		Timestamp    string          `json:"timestamp,omitempty"`
		Properties   *traceProps     `json:"properties,omitempty"`
		AccessList   []traceAccess   `json:"accessList,omitempty"`
		Headers      []traceProperty `json:"headers,omitempty"`
		Content      string          `json:"content,omitempty"`
		Verb         string          `json:"verb,omitempty"`
		URI          string          `json:"uRI,omitempty"`
		StatusCode   string          `json:"statusCode,omitempty"`
		ReasonPhrase string          `json:"reasonPhrase,omitempty"`
	}
	traceProps struct {
		Property []traceProperty `json:"property"`
	}
	traceProperty struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	traceAccess struct {
		Set *traceSet `json:"Set,omitempty"`
	}
	traceSet struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		Success bool   `json:"success"`
	}
)

// trace is one transaction being captured; it implements flow.Tracer.
type trace struct {
	s      *debugSession
	start  time.Time
	points []tracePoint
	sets   []traceAccess // variables set since the last step
}

// traceTime is the timestamp shape of Apigee's trace: dd-MM-yy HH:mm:ss:SSS.
func traceTime(t time.Time) string {
	t = t.UTC()
	return t.Format("02-01-06 15:04:05") + fmt.Sprintf(":%03d", t.Nanosecond()/int(time.Millisecond))
}

func props(kv ...string) *traceProps {
	p := &traceProps{Property: make([]traceProperty, 0, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Property = append(p.Property, traceProperty{Name: kv[i], Value: kv[i+1]})
	}
	return p
}

func newTrace(s *debugSession, mc *flow.MessageContext, now time.Time) *trace {
	t := &trace{s: s, start: now}
	t.points = append(t.points, tracePoint{ID: "StateChange", Results: []traceResult{
		{ActionResult: "DebugInfo", Timestamp: traceTime(now), Properties: props("To", "REQ_HEADERS_PARSED")},
		t.message(mc.Request, false),
	}})
	return t
}

// message is a RequestMessage or ResponseMessage result: headers always,
// the payload (cut at the session's tracesize) only once a policy or the
// target read it, since reading it here would change the call. The debug
// mask applies before anything is kept: headers and the whole payload by
// variable name ({request,response}.header.x, {request,response,message}.content),
// then the payload's XPaths or JSONPaths of the message's kind (and the
// fault ones in an error flow); the payload is cut after masking, so a
// cut cannot leave a path unparseable and its value shown.
func (t *trace) message(m *message.Message, inError bool) traceResult {
	if m == nil {
		return traceResult{ActionResult: "ResponseMessage"}
	}
	mask := t.s.mask
	r := traceResult{ActionResult: "RequestMessage", Headers: traceHeaders(m.Header)}
	prefix, response := "request.", false
	if m.Kind == message.Response {
		r.ActionResult, r.StatusCode, r.ReasonPhrase = "ResponseMessage", strconv.Itoa(m.StatusCode), m.ReasonPhrase()
		prefix, response = "response.", true
	} else {
		r.Verb, r.URI = m.Method, m.URI()
	}
	for i, h := range r.Headers {
		if mask.hides(prefix + "header." + strings.ToLower(h.Name)) {
			r.Headers[i].Value = masked
		}
	}
	if !m.Loaded() {
		return r
	}
	b, _ := m.Content()
	switch {
	case len(b) == 0:
		return r
	case mask != nil && mask.broken != nil:
		return r // no payload rather than an unmasked one
	case mask.hides(prefix+"content") || mask.hides("message.content"):
		r.Content = masked
		return r
	}
	b = mask.payload(response, inError).apply(b)
	if len(b) > t.s.traceSize {
		b = b[:t.s.traceSize]
	}
	r.Content = string(b)
	return r
}

func traceHeaders(h http.Header) []traceProperty {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []traceProperty
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, traceProperty{Name: k, Value: v})
		}
	}
	return out
}

// VarSet implements flow.Tracer: a variable the mask names shows as
// masked; a message's content set as a variable gets the payload paths,
// since it is the payload the paths hide.
func (t *trace) VarSet(name string, value any) {
	mask := t.s.mask
	v := masked
	if !mask.hides(name) {
		v = message.ToString(value)
		switch lower := strings.ToLower(name); {
		case mask == nil:
		case mask.broken != nil && strings.HasSuffix(lower, ".content"):
			v = masked
		case lower == "request.content":
			v = string(mask.payload(false, false).apply([]byte(v)))
		case lower == "response.content":
			v = string(mask.payload(true, false).apply([]byte(v)))
		case lower == "message.content" || lower == "error.content":
			v = string(mask.payload(true, true).with(mask.request).apply([]byte(v)))
		}
	}
	t.sets = append(t.sets, traceAccess{Set: &traceSet{Name: name, Value: v, Success: true}})
}

// StepDone implements flow.Tracer: a Condition point for a step with a
// condition, and an Execution point for a step that ran.
func (t *trace) StepDone(mc *flow.MessageContext, st *flow.Step, ran bool, start time.Time, err error) {
	if st.Condition != nil {
		t.points = append(t.points, tracePoint{ID: "Condition", Results: []traceResult{{ActionResult: "DebugInfo", Timestamp: traceTime(start),
			Properties: props("Expression", st.Condition.Source(), "ExpressionResult", strconv.FormatBool(ran))}}})
	}
	if !ran {
		return
	}
	enforcement := "request"
	if mc.State.IsResponse() {
		enforcement = "response"
	}
	p := props("stepDefinition-name", st.Name, "stepDefinition-type", st.Type, "stepDefinition-enabled", strconv.FormatBool(st.Enabled),
		"stepDefinition-continueOnError", strconv.FormatBool(st.ContinueOnError), "type", st.Type, "enforcement", enforcement,
		"flowState", mc.State.String(), "result", strconv.FormatBool(err == nil),
		"elapsedTime", strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 3, 64))
	if err != nil {
		p.Property = append(p.Property, traceProperty{Name: "error", Value: err.Error()})
	}
	results := []traceResult{{ActionResult: "DebugInfo", Timestamp: traceTime(start), Properties: p}}
	if len(t.sets) > 0 {
		results = append(results, traceResult{ActionResult: "VariableAccess", AccessList: t.sets})
		t.sets = nil
	}
	m := mc.Request
	if mc.State.IsResponse() && mc.Response != nil {
		m = mc.Response
	}
	results = append(results, t.message(m, mc.InError || mc.Fault != nil))
	t.points = append(t.points, tracePoint{ID: "Execution", Results: results})
}

// responding notes the response as it is about to be sent, and the fault
// that produced it.
func (t *trace) responding(mc *flow.MessageContext) {
	now := time.Now()
	if f := mc.Fault; f != nil {
		t.points = append(t.points, tracePoint{ID: "Error", Results: []traceResult{{ActionResult: "DebugInfo", Timestamp: traceTime(now),
			Properties: props("error.class", f.Code, "error.message", f.Message, "state", mc.State.String())}}})
	}
	t.points = append(t.points, tracePoint{ID: "StateChange", Results: []traceResult{
		{ActionResult: "DebugInfo", Timestamp: traceTime(now), Properties: props("To", "RESP_SENT")},
		t.message(mc.Response, mc.InError || mc.Fault != nil),
	}})
}

// traceRecord is what goes to the trace dataset: the transaction and
// where it belongs (the control plane's debug session data reads these).
type traceRecord struct {
	Organization string       `json:"organization"`
	Environment  string       `json:"environment"`
	APIProxy     string       `json:"apiproxy"`
	Revision     string       `json:"revision"`
	DebugSession string       `json:"debugsession"`
	ID           string       `json:"id"`
	Timestamp    int64        `json:"timestamp"`
	Completed    bool         `json:"completed"`
	Point        []tracePoint `json:"point"`
}

// send finishes the capture and hands it to the sink.
func (t *trace) send(sink DebugSink, mc *flow.MessageContext) error {
	id := mc.MessageID
	if id == "" {
		id = uuid.NewString()
	}
	p := mc.Proxy
	rec, err := json.Marshal(traceRecord{Organization: p.Org, Environment: p.Env, APIProxy: p.Name, Revision: p.Revision,
		DebugSession: t.s.name, ID: id, Timestamp: t.start.UnixMilli(), Completed: true, Point: t.points})
	if err != nil {
		return fmt.Errorf("debug session %s: %w", t.s.name, err)
	}
	sink.OfferTrace(p.Org, p.Env, rec)
	return nil
}
