package apigee

import (
	"context"
	"encoding/json"
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
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Debug sessions (…/environments/{env}/apis/{api}/revisions/{rev}/debugsessions):
// a session reaches the message processors in the environment's contract;
// they capture matching transactions and send each as a trace record
// through UDCA, whose uploaded "trace" files the data endpoints read.

// TraceReader reads the trace records uploaded for an environment; the
// analytics backend implements it next to Analytics.
type TraceReader interface {
	// Traces calls fn with each trace record of org/env (a JSON object).
	Traces(ctx context.Context, org, env string, fn func(rec []byte) error) error
}

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
// the session ends (the message processors stop capturing with the next
// contract) and its transactions are no longer served.
func (a *API) deleteDebugSessionData(w http.ResponseWriter, r *http.Request) error {
	err := a.mutateEnv(r, func(_ *state.Tx, _ *state.Org, e *state.Environment) error {
		s, err := lookupSession(r, e)
		if err != nil {
			return err
		}
		delete(e.DebugSessions, s.Name)
		return nil
	})
	if err != nil {
		return err
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

// sessionTraces returns the session's captured transactions, oldest first.
func (a *API) sessionTraces(r *http.Request) ([]traceRecord, error) {
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
	tr, okTR := a.analytics.(TraceReader)
	if !okTR {
		return nil, nil // analytics not configured: nothing was captured
	}
	org, env := r.PathValue("org"), r.PathValue("env")
	var out []traceRecord
	err = tr.Traces(r.Context(), org, env, func(rec []byte) error {
		var t traceRecord
		// A record that does not decode is not this session's.
		if json.Unmarshal(rec, &t) != nil || t.DebugSession != s.Name || t.APIProxy != s.APIProxy || t.Revision != s.Revision ||
			t.Environment != env || t.Timestamp < s.CreatedAt {
			return nil
		}
		out = append(out, t)
		return nil
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
		for _, l := range lists {
			if !all && !fields[l.field] {
				continue
			}
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
		e.DebugMask = &m
		v = maskView(r, &m)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}
