package apigee

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/analytics"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Debug sessions (…/environments/{env}/apis/{api}/revisions/{rev}/debugsessions):
// a session reaches the message processors in the environment's contract;
// they capture matching transactions and send each as a trace record
// through UDCA, whose uploaded "trace" files the data endpoints read.

// TraceReader reads the trace records uploaded for an environment; the
// analytics backend implements it next to Analytics.
type TraceReader interface {
	// Traces calls fn with each trace record of org/env (a JSON object);
	// a record for which fn returns analytics.ErrDropTrace is deleted.
	Traces(ctx context.Context, org, env string, fn func(rec []byte) error) error
}

// SetDebugDataRetention changes how long a debug session's data is kept
// after the session ends (Keep 0: analytics.DefaultTraceRetention, 24
// hours, as Apigee hybrid keeps it) and the clock that decides it (Now
// nil: the state store's); Options.DebugDataRetention sets it at start.
// Expired data is deleted the next time the environment's trace data is
// read (list, get, deleteData) or by ExpireDebugData.
func (a *API) SetDebugDataRetention(r analytics.TraceRetention) { a.debugRetention.Store(&r) }

// The API reference's bounds and defaults (seconds, requests, bytes).
const (
	debugDefaultCount     = 10
	debugMaxCount         = 15
	debugDefaultTraceSize = 5120
	debugMaxTraceSize     = 5120
	debugDefaultValidity  = 10
	debugMaxValidity      = 15
	debugDefaultTimeout   = 600
)

var debugSessionID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// debugSessionView is GoogleCloudApigeeV1DebugSession.
type debugSessionView struct {
	Name       string `json:"name,omitempty"`
	Count      int64  `json:"count,omitempty"`
	Tracesize  int64  `json:"tracesize,omitempty"`
	Validity   int64  `json:"validity,omitempty"`
	Timeout    int64  `json:"timeout,omitempty,string"`
	Filter     string `json:"filter,omitempty"`
	CreateTime string `json:"createTime,omitempty"`
}

func sessionView(s *state.DebugSession) debugSessionView {
	return debugSessionView{Name: s.Name, Count: s.Count, Tracesize: s.TraceSize, Validity: s.Validity, Timeout: s.Timeout,
		Filter: s.Filter, CreateTime: time.UnixMilli(s.CreatedAt).UTC().Format(time.RFC3339Nano)}
}

// sessionExpires is when a session stops capturing: its timeout after
// creation (Apigee ends a session after timeout seconds).
func sessionExpires(s *state.DebugSession) time.Time {
	return time.UnixMilli(s.CreatedAt).Add(time.Duration(s.Timeout) * time.Second)
}

// createDebugSession serves POST …/debugsessions[?timeout=…].
func (a *API) createDebugSession(w http.ResponseWriter, r *http.Request) error {
	var in debugSessionView
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Timeout == 0 {
		if q := r.URL.Query().Get("timeout"); q != "" {
			t, err := strconv.ParseInt(q, 10, 64)
			if err != nil {
				return apierr.InvalidField("timeout", "Invalid timeout %q: a number of seconds.", q)
			}
			in.Timeout = t
		}
	}
	s, err := newDebugSession(in)
	if err != nil {
		return err
	}
	api, rev := r.PathValue("api"), r.PathValue("rev")
	s.APIProxy = api
	err = a.mutateEnv(r, func(tx *state.Tx, o *state.Org, e *state.Environment) error {
		if _, _, err := lookupRevision(o, proxies, api, rev); err != nil {
			return err
		}
		if old := e.DebugSessions[s.Name]; old != nil && time.Now().Before(sessionExpires(old)) {
			return apierr.AlreadyExists("Debug session %s already exists.", s.Name)
		}
		if e.DebugSessions == nil {
			e.DebugSessions = map[string]*state.DebugSession{}
		}
		n, _ := parseRevision(rev)
		s.Revision = strconv.Itoa(n)
		s.CreatedAt = tx.Millis()
		e.DebugSessions[s.Name] = s
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, sessionView(s))
}

// newDebugSession checks a request against the API reference's bounds
// and fills the defaults; a filter that does not parse is a 400.
func newDebugSession(in debugSessionView) (*state.DebugSession, error) {
	s := &state.DebugSession{Name: in.Name, Count: in.Count, TraceSize: in.Tracesize, Validity: in.Validity, Timeout: in.Timeout, Filter: in.Filter}
	if s.Name == "" {
		s.Name = uuid.NewString()
	}
	if !debugSessionID.MatchString(s.Name) {
		return nil, apierr.InvalidField("name", "Invalid debug session name %q.", s.Name)
	}
	checks := []struct {
		field    string
		v        *int64
		def, max int64
	}{
		{"count", &s.Count, debugDefaultCount, debugMaxCount},
		{"tracesize", &s.TraceSize, debugDefaultTraceSize, debugMaxTraceSize},
		{"validity", &s.Validity, debugDefaultValidity, debugMaxValidity},
	}
	for _, c := range checks {
		if *c.v == 0 {
			*c.v = c.def
		}
		if *c.v < 0 || *c.v > c.max {
			return nil, apierr.InvalidField(c.field, "Invalid %s %d: must be between 1 and %d.", c.field, *c.v, c.max)
		}
	}
	if s.Timeout == 0 {
		s.Timeout = debugDefaultTimeout
	}
	if s.Timeout < 0 {
		return nil, apierr.InvalidField("timeout", "Invalid timeout %d: must be a positive number of seconds.", s.Timeout)
	}
	if s.Filter != "" {
		if _, err := condition.Parse(s.Filter); err != nil {
			return nil, apierr.InvalidField("filter", "Invalid debug session filter %q: %v", s.Filter, err)
		}
	}
	return s, nil
}

// sessionsOf returns the revision's sessions, oldest first.
func sessionsOf(e *state.Environment, api, rev string) []*state.DebugSession {
	var out []*state.DebugSession
	for _, s := range e.DebugSessions {
		if s.APIProxy == api && s.Revision == rev {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt < out[j].CreatedAt
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// lookupSession finds a session of the request's proxy revision.
func lookupSession(r *http.Request, e *state.Environment) (*state.DebugSession, error) {
	s := e.DebugSessions[r.PathValue("session")]
	if s == nil || s.APIProxy != r.PathValue("api") || s.Revision != trimRevision(r.PathValue("rev")) {
		return nil, apierr.NotFound("Debug session %s not found.", r.PathValue("session"))
	}
	return s, nil
}

func trimRevision(rev string) string {
	if n, err := parseRevision(rev); err == nil {
		return strconv.Itoa(n)
	}
	return rev
}

// listDebugSessions serves GET …/debugsessions: ListDebugSessionsResponse.
func (a *API) listDebugSessions(w http.ResponseWriter, r *http.Request) error {
	type sessionRef struct {
		ID          string `json:"id"`
		TimestampMs int64  `json:"timestampMs,string"`
	}
	var out struct {
		Sessions []sessionRef `json:"sessions,omitempty"`
	}
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		for _, s := range sessionsOf(e, r.PathValue("api"), trimRevision(r.PathValue("rev"))) {
			out.Sessions = append(out.Sessions, sessionRef{ID: s.Name, TimestampMs: s.CreatedAt})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, out)
}

func (a *API) getDebugSession(w http.ResponseWriter, r *http.Request) error {
	var v debugSessionView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		s, err := lookupSession(r, e)
		if err == nil {
			v = sessionView(s)
		}
		return err
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// deleteDebugSessionData serves DELETE …/debugsessions/{session}/data:
// the session's captured transactions are deleted from storage. As the
// API reference says, this "does not cancel the debug session or prevent
// further data from being collected if the session is still active": the
// session stays, and what the message processors capture afterwards is
// served as before.
func (a *API) deleteDebugSessionData(w http.ResponseWriter, r *http.Request) error {
	s, err := a.viewSession(r)
	if err != nil {
		return err
	}
	tr, okTR := a.analytics.(TraceReader)
	if okTR {
		err = a.readTraces(r.Context(), tr, r.PathValue("org"), r.PathValue("env"), func(t traceRecord) bool {
			return !t.of(s)
		})
		if err != nil {
			return apierr.Internal("delete trace data: %v", err)
		}
	}
	return ok(w, struct{}{})
}

// traceRecord is what a message processor sends for one captured
// transaction: the DebugSessionTransaction with where it belongs.
type traceRecord struct {
	Environment  string          `json:"environment"`
	APIProxy     string          `json:"apiproxy"`
	Revision     string          `json:"revision"`
	DebugSession string          `json:"debugsession"`
	ID           string          `json:"id"`
	Timestamp    int64           `json:"timestamp"`
	Completed    bool            `json:"completed"`
	Point        json.RawMessage `json:"point"`
}

// of reports whether t was captured for s (in its environment: the
// caller reads that environment's records only).
func (t traceRecord) of(s *state.DebugSession) bool {
	return t.DebugSession == s.Name && t.APIProxy == s.APIProxy && t.Revision == s.Revision && t.Timestamp >= s.CreatedAt
}

// viewSession returns a copy of the request's session.
func (a *API) viewSession(r *http.Request) (*state.DebugSession, error) {
	var s state.DebugSession
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		found, err := lookupSession(r, e)
		if err == nil {
			s = *found
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// retention is the debug data retention on the store's clock unless it
// has one.
func (a *API) retention() analytics.TraceRetention {
	var r analytics.TraceRetention
	if p := a.debugRetention.Load(); p != nil {
		r = *p
	}
	if r.Now == nil {
		r.Now = a.store.Now
	}
	return r
}

// readTraces passes org/env's trace records to keep, deleting those it
// does not keep and, first, those whose session ended longer than the
// retention ago. A record's session is the latest of its name, proxy and
// revision created before the record; a record of no known session (one
// deleted from the state) counts as ending when it was captured.
func (a *API) readTraces(ctx context.Context, tr TraceReader, org, env string, keep func(t traceRecord) bool) error {
	var sessions []state.DebugSession
	err := a.store.View(func(d *state.Data) error {
		if o := d.Orgs[org]; o != nil {
			if e := o.Environments[env]; e != nil {
				for _, s := range e.DebugSessions {
					sessions = append(sessions, *s)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ret := a.retention()
	return tr.Traces(ctx, org, env, func(rec []byte) error {
		var t traceRecord
		if json.Unmarshal(rec, &t) != nil || t.Environment != env {
			return nil // not a record of this environment's sessions: left alone
		}
		end, created := time.UnixMilli(t.Timestamp), int64(-1)
		for i := range sessions {
			if s := &sessions[i]; t.of(s) && s.CreatedAt > created {
				end, created = sessionExpires(s), s.CreatedAt
			}
		}
		if ret.Expired(end) || !keep(t) {
			return analytics.ErrDropTrace
		}
		return nil
	})
}

// ExpireDebugData deletes, in every environment, the debug session data
// past their retention; reads expire data as they go, this is for a
// periodic sweep of environments nobody reads.
func (a *API) ExpireDebugData(ctx context.Context) error {
	tr, okTR := a.analytics.(TraceReader)
	if !okTR {
		return nil
	}
	type orgEnv struct{ org, env string }
	var envs []orgEnv
	err := a.store.View(func(d *state.Data) error {
		for on, o := range d.Orgs {
			for en := range o.Environments {
				envs = append(envs, orgEnv{on, en})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, oe := range envs {
		if err := a.readTraces(ctx, tr, oe.org, oe.env, func(traceRecord) bool { return true }); err != nil {
			return fmt.Errorf("expire debug data of %s/%s: %w", oe.org, oe.env, err)
		}
	}
	return nil
}

// sessionTraces returns the session's captured transactions, oldest first.
func (a *API) sessionTraces(r *http.Request) ([]traceRecord, error) {
	s, err := a.viewSession(r)
	if err != nil {
		return nil, err
	}
	tr, okTR := a.analytics.(TraceReader)
	if !okTR {
		return nil, nil // analytics not configured: nothing was captured
	}
	var out []traceRecord
	err = a.readTraces(r.Context(), tr, r.PathValue("org"), r.PathValue("env"), func(t traceRecord) bool {
		if t.of(s) {
			out = append(out, t)
		}
		return true
	})
	if err != nil {
		return nil, apierr.Internal("read trace data: %v", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp < out[j].Timestamp })
	return out, nil
}

// listDebugSessionData serves GET …/debugsessions/{session}/data: the
// captured transactions' ids, as a JSON array like Apigee's.
func (a *API) listDebugSessionData(w http.ResponseWriter, r *http.Request) error {
	traces, err := a.sessionTraces(r)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(traces))
	for _, t := range traces {
		ids = append(ids, t.ID)
	}
	return ok(w, ids)
}

// getDebugSessionData serves GET …/debugsessions/{session}/data/{id}: a
// DebugSessionTransaction.
func (a *API) getDebugSessionData(w http.ResponseWriter, r *http.Request) error {
	traces, err := a.sessionTraces(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	for _, t := range traces {
		if t.ID == id {
			return ok(w, struct {
				Completed bool            `json:"completed"`
				Point     json.RawMessage `json:"point,omitempty"`
			}{t.Completed, t.Point})
		}
	}
	return apierr.NotFound("Transaction %s not found in debug session %s.", id, r.PathValue("session"))
}

// envDebugSessions puts the environment's unexpired sessions into its
// contract. An expired one needs no new contract: the message processors
// check the expiry themselves.
func envDebugSessions(c *contract.Contract, e *state.Environment, now time.Time) {
	var names []string
	for n, s := range e.DebugSessions {
		if now.Before(sessionExpires(s)) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s := e.DebugSessions[n]
		c.DebugSessions = append(c.DebugSessions, contract.DebugSession{Name: s.Name, APIProxy: s.APIProxy, Revision: s.Revision,
			Filter: s.Filter, Count: int(s.Count), TraceSize: int(s.TraceSize), Expires: sessionExpires(s).UTC()})
	}
	if len(c.DebugSessions) > 0 {
		// Only a capture uses the mask.
		c.DebugMask = e.DebugMask
	}
}

// debugMaskView is GoogleCloudApigeeV1DebugMask.
type debugMaskView struct {
	Name string `json:"name"`
	contract.DebugMask
}

// debugMaskFields maps updateMask paths to the mask's fields.
var debugMaskFields = map[string]string{
	"namespaces": "namespaces", "variables": "variables",
	"request_x_paths": "requestXPaths", "requestXPaths": "requestXPaths",
	"response_x_paths": "responseXPaths", "responseXPaths": "responseXPaths",
	"fault_x_paths": "faultXPaths", "faultXPaths": "faultXPaths",
	"request_json_paths": "requestJSONPaths", "requestJSONPaths": "requestJSONPaths",
	"response_json_paths": "responseJSONPaths", "responseJSONPaths": "responseJSONPaths",
	"fault_json_paths": "faultJSONPaths", "faultJSONPaths": "faultJSONPaths",
}

func maskView(r *http.Request, m *contract.DebugMask) debugMaskView {
	v := debugMaskView{Name: "organizations/" + r.PathValue("org") + "/environments/" + r.PathValue("env") + "/debugmask"}
	if m != nil {
		v.DebugMask = *m
	}
	return v
}

// getDebugMask serves GET …/environments/{env}/debugmask.
func (a *API) getDebugMask(w http.ResponseWriter, r *http.Request) error {
	var v debugMaskView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		v = maskView(r, e.DebugMask)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// updateDebugMask serves PATCH …/environments/{env}/debugmask
// [?updateMask=…&replaceRepeatedFields=…]: the named fields (all without a
// mask) take the body's values, appended to the current lists unless
// replaceRepeatedFields, as the API reference describes. The mask reaches
// the message processors in the contract.
func (a *API) updateDebugMask(w http.ResponseWriter, r *http.Request) error {
	mask := r.URL.Query().Get("updateMask")
	fields, err := parseMask(mask, "DebugMask", debugMaskFields)
	if err != nil {
		return err
	}
	replace, err := boolParam(r, "replaceRepeatedFields")
	if err != nil {
		return err
	}
	var in contract.DebugMask
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	all := strings.TrimSpace(mask) == ""
	var v debugMaskView
	err = a.mutateEnv(r, func(_ *state.Tx, _ *state.Org, e *state.Environment) error {
		m := contract.DebugMask{}
		if e.DebugMask != nil {
			m = *e.DebugMask
		}
		lists := []struct {
			field string
			cur   *[]string
			in    []string
		}{
			{"variables", &m.Variables, in.Variables},
			{"requestXPaths", &m.RequestXPaths, in.RequestXPaths}, {"responseXPaths", &m.ResponseXPaths, in.ResponseXPaths},
			{"faultXPaths", &m.FaultXPaths, in.FaultXPaths},
			{"requestJSONPaths", &m.RequestJSONPaths, in.RequestJSONPaths}, {"responseJSONPaths", &m.ResponseJSONPaths, in.ResponseJSONPaths},
			{"faultJSONPaths", &m.FaultJSONPaths, in.FaultJSONPaths},
		}
		// applied is what the update sets, the expressions to check.
		applied := contract.DebugMask{}
		set := map[string]*[]string{"variables": &applied.Variables, "requestXPaths": &applied.RequestXPaths,
			"responseXPaths": &applied.ResponseXPaths, "faultXPaths": &applied.FaultXPaths, "requestJSONPaths": &applied.RequestJSONPaths,
			"responseJSONPaths": &applied.ResponseJSONPaths, "faultJSONPaths": &applied.FaultJSONPaths}
		for _, l := range lists {
			if !all && !fields[l.field] {
				continue
			}
			*set[l.field] = l.in
			if replace {
				*l.cur = nil
			}
			for _, s := range l.in {
				if !slices.Contains(*l.cur, s) {
					*l.cur = append(*l.cur, s)
				}
			}
		}
		if all || fields["namespaces"] {
			applied.Namespaces = in.Namespaces
			if replace || m.Namespaces == nil {
				m.Namespaces = map[string]string{}
			}
			for k, ns := range in.Namespaces {
				m.Namespaces[k] = ns
			}
			if len(m.Namespaces) == 0 {
				m.Namespaces = nil
			}
		}
		if err := validateDebugMask(&applied, m.Namespaces); err != nil {
			return err
		}
		e.DebugMask = &m
		v = maskView(r, &m)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// validateDebugMask refuses, with a 400 naming the field and the
// expression, a mask whose XPaths or JSONPaths do not parse: the message
// processors would otherwise mask nothing with them (they capture no
// payloads at all under a mask they cannot compile). namespaces are the
// mask's after the update, the prefixes XPaths may use.
//
// The runtime's own parsers (Jayway's JSONPath, the XML policies' XPath)
// live in the runtime module, which the control plane cannot import; these
// checks catch what a user gets wrong — unbalanced brackets, parentheses
// and quotes, blanks, empty steps, a trailing '.' or '/', an undeclared
// prefix — and are a little stricter than Jayway, which takes "$.a[".
func validateDebugMask(m *contract.DebugMask, namespaces map[string]string) error {
	for prefix, uri := range m.Namespaces {
		if !xmlName.MatchString(prefix) || strings.Contains(prefix, ":") || strings.TrimSpace(uri) == "" {
			return apierr.InvalidField("namespaces", "Invalid namespace %q: %q: a prefix must be an XML name and its URI not empty.", prefix, uri)
		}
	}
	xpaths := []struct {
		field string
		list  []string
	}{{"requestXPaths", m.RequestXPaths}, {"responseXPaths", m.ResponseXPaths}, {"faultXPaths", m.FaultXPaths}}
	for _, l := range xpaths {
		for _, x := range l.list {
			if err := checkXPath(x, namespaces); err != nil {
				return apierr.InvalidField(l.field, "Invalid XPath %q in %s: %v.", x, l.field, err)
			}
		}
	}
	jsonPaths := []struct {
		field string
		list  []string
	}{{"requestJSONPaths", m.RequestJSONPaths}, {"responseJSONPaths", m.ResponseJSONPaths}, {"faultJSONPaths", m.FaultJSONPaths}}
	for _, l := range jsonPaths {
		for _, p := range l.list {
			if err := checkJSONPath(p); err != nil {
				return apierr.InvalidField(l.field, "Invalid JSONPath %q in %s: %v.", p, l.field, err)
			}
		}
	}
	for _, v := range m.Variables {
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, " \t\n{}") {
			return apierr.InvalidField("variables", "Invalid variable name %q in variables.", v)
		}
	}
	return nil
}

var xmlName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]*$`)

// xpathPrefix finds the prefixes of qualified names (p:name, p:*) outside
// literals; "::" is an axis, not a prefix.
var xpathPrefix = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9._-]*):([A-Za-z_*])`)

// checkXPath checks an XPath's shape: not empty, brackets, parentheses
// and quotes balanced, no empty or trailing step, and every prefix
// declared in namespaces.
func checkXPath(x string, namespaces map[string]string) error {
	x = strings.TrimSpace(x)
	switch {
	case x == "":
		return fmt.Errorf("empty expression")
	case x != "/" && strings.HasSuffix(x, "/"):
		return fmt.Errorf("it ends with '/'")
	case strings.Contains(x, "///"):
		return fmt.Errorf("an empty step")
	}
	bare, err := balanced(x, "[(", "])")
	if err != nil {
		return err
	}
	for _, m := range xpathPrefix.FindAllStringSubmatchIndex(bare, -1) {
		if m[0] > 0 && bare[m[0]-1] == ':' || strings.HasPrefix(bare[m[1]-1:], ":") {
			continue
		}
		prefix := bare[m[2]:m[3]]
		if _, ok := namespaces[prefix]; !ok {
			return fmt.Errorf("namespace prefix %q is not declared in namespaces", prefix)
		}
	}
	return nil
}

// checkJSONPath checks a JSONPath's shape as Jayway's compiler does in
// its main points: not empty, not ending with '.' or '..', no blank
// outside brackets and quotes, no empty [], brackets, parentheses and
// quotes balanced, and a filter written [?(...)].
func checkJSONPath(p string) error {
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return fmt.Errorf("path can not be null or empty")
	case strings.HasSuffix(p, "."):
		return fmt.Errorf("path must not end with a '.' or '..'")
	case strings.Contains(p, "..."):
		return fmt.Errorf("an empty property")
	case strings.HasPrefix(p, "$") && len(p) > 1 && p[1] != '.' && p[1] != '[':
		return fmt.Errorf("illegal character at position 1, expected '.' or '['")
	}
	bare, err := balanced(p, "[(", "])")
	if err != nil {
		return err
	}
	depth := 0
	for i := 0; i < len(bare); i++ {
		switch c := bare[i]; {
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
		case depth == 0 && (c == ' ' || c == '\t'):
			return fmt.Errorf("use bracket notation ['my prop'] for a property with blanks")
		}
	}
	switch {
	case strings.Contains(bare, "[]"):
		return fmt.Errorf("empty brackets")
	case jsonBadFilter.MatchString(bare):
		return fmt.Errorf("a filter is written [?(...)]")
	}
	return nil
}

var jsonBadFilter = regexp.MustCompile(`\[\?([^(]|$)`)

// balanced checks that s's brackets (open[i] closes with close[i]) and
// quotes are balanced, and returns s with its quoted literals emptied.
func balanced(s, open, closing string) (string, error) {
	var stack []byte
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '"' {
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return "", fmt.Errorf("unclosed quote at position %d", i)
			}
			out.WriteString("''")
			i += end + 1
			continue
		}
		out.WriteByte(c)
		if k := strings.IndexByte(open, c); k >= 0 {
			stack = append(stack, closing[k])
		} else if strings.IndexByte(closing, c) >= 0 {
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return "", fmt.Errorf("unbalanced %q at position %d", c, i)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("%q not closed", stack[len(stack)-1])
	}
	return out.String(), nil
}
