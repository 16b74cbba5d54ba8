package logging

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// The API's routes. Custom methods on a collection ("entries:write")
// are whole path segments to net/http's mux, so they need no router.
const (
	WritePath = "/v2/entries:write"
	ListPath  = "/v2/entries:list"
)

// Register adds the API's routes to a mux (handle is
// (*http.ServeMux).Handle or (*service.Service).Handle):
//
//	POST /v2/entries:write   entries.write
//	POST /v2/entries:list    entries.list
//
// Any other method on them is a 405 in Google's error shape, also on a
// mux whose "/" is another API.
func (s *Store) Register(handle func(pattern string, h http.Handler)) {
	handle("POST "+WritePath, http.HandlerFunc(s.serveWrite))
	handle("POST "+ListPath, http.HandlerFunc(s.serveList))
	handle(WritePath, gcpapi.MethodNotAllowed("POST"))
	handle(ListPath, gcpapi.MethodNotAllowed("POST"))
}

// ---- write ----

func (s *Store) serveWrite(w http.ResponseWriter, r *http.Request) {
	p, err := s.gate.Authenticate(r)
	if err != nil {
		apierr.Write(w, err)
		return
	}
	var req WriteLogEntriesRequest
	if err := gcpapi.DecodeOptionalBody(w, r, MaxRequestBytes, &req); err != nil {
		apierr.Write(w, err)
		return
	}
	if err := s.write(r, p, &req); err != nil {
		apierr.Write(w, err)
		return
	}
	gcpapi.WriteJSON(w, struct{}{})
}

// pending is a validated entry of a write, with its project.
type pending struct {
	index   int
	project string
	e       stored
}

func (s *Store) write(r *http.Request, p iam.Principal, req *WriteLogEntriesRequest) error {
	if len(req.Entries) == 0 {
		return apierr.InvalidField("entries", "Field entries had an invalid value: at least one log entry is required.")
	}
	if len(req.Entries) > MaxEntriesPerRequest {
		return apierr.InvalidField("entries", "Field entries had an invalid value: a request may write at most %d entries, this one has %d.", MaxEntriesPerRequest, len(req.Entries))
	}
	now := s.opts.Now().UTC()
	var ok []pending
	var bad []entryError
	for i := range req.Entries {
		pe, err := prepare(i, req, now)
		if err != nil {
			if !req.PartialSuccess {
				return err
			}
			bad = append(bad, entryError{index: i, err: err})
			continue
		}
		ok = append(ok, pe)
	}
	// Every project written to is authorized before anything is stored.
	projects := make([]string, 0, len(ok))
	for _, pe := range ok {
		projects = append(projects, pe.project)
	}
	sort.Strings(projects)
	projects = compact(projects)
	if err := s.gate.Authorize(r.Context(), p, iam.PermLogEntriesCreate, projects...); err != nil {
		return err
	}
	if !req.DryRun {
		s.store(ok)
	}
	if len(bad) > 0 {
		return partialErrors(bad)
	}
	return nil
}

func compact(sorted []string) []string {
	out := sorted[:0]
	for i, v := range sorted {
		if i == 0 || v != sorted[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (s *Store) store(entries []pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pe := range entries {
		rg := s.projects[pe.project]
		if rg == nil {
			rg = &ring{}
			s.projects[pe.project] = rg
		}
		s.seq++
		pe.e.seq = s.seq
		rg.add(pe.e, s.opts.MaxEntries)
	}
	s.written.Add(float64(len(entries)))
}

type entryError struct {
	index int
	err   error
}

// partialErrors is the answer of a partialSuccess write some of whose
// entries were refused: INVALID_ARGUMENT with the real API's
// WriteLogEntriesPartialErrors detail (entry index → status).
func partialErrors(bad []entryError) error {
	first := apierr.From(bad[0].err)
	e := apierr.InvalidArgument("%d of the log entries could not be written; the others were. entries[%d]: %s", len(bad), bad[0].index, first.Message)
	errs := map[string]any{}
	for _, b := range bad {
		errs[fmt.Sprint(b.index)] = map[string]any{"code": 3, "message": apierr.From(b.err).Message}
	}
	return e.With(map[string]any{"@type": "type.googleapis.com/google.logging.v2.WriteLogEntriesPartialErrors", "logEntryErrors": errs})
}

// prepare applies the request's defaults to entry i and validates it.
func prepare(i int, req *WriteLogEntriesRequest, now time.Time) (pending, error) {
	bad := func(field, format string, args ...any) error {
		f := fmt.Sprintf("entries[%d]%s", i, field)
		return apierr.InvalidField(f, "Field %s had an invalid value: %s", f, fmt.Sprintf(format, args...))
	}
	e := req.Entries[i]
	if e.LogName == "" {
		e.LogName = req.LogName
	}
	if e.LogName == "" {
		return pending{}, bad(".logName", "a log name is required, in the entry or in the request.")
	}
	project, err := parseLogName(e.LogName)
	if err != nil {
		return pending{}, bad(".logName", "%q: %v", e.LogName, err)
	}
	if e.Resource == nil {
		e.Resource = req.Resource
	}
	if e.Resource == nil || e.Resource.Type == "" {
		return pending{}, bad(".resource", "a monitored resource with a type is required, in the entry or in the request.")
	}
	if len(req.Labels) > 0 {
		merged := make(map[string]string, len(req.Labels)+len(e.Labels))
		for k, v := range req.Labels {
			merged[k] = v
		}
		for k, v := range e.Labels { // the entry's own labels win
			merged[k] = v
		}
		e.Labels = merged
	}
	payloads := 0
	for _, set := range []bool{e.TextPayload != nil, len(e.JSONPayload) > 0, len(e.ProtoPayload) > 0} {
		if set {
			payloads++
		}
	}
	if payloads > 1 {
		return pending{}, bad("", "at most one of textPayload, jsonPayload and protoPayload may be set.")
	}
	var top map[string]json.RawMessage
	if len(e.JSONPayload) > 0 {
		if err := json.Unmarshal(e.JSONPayload, &top); err != nil || top == nil {
			return pending{}, bad(".jsonPayload", "the JSON payload must be an object.")
		}
	}
	if _, known := severityLevel(e.Severity); !known {
		return pending{}, bad(".severity", "unknown severity %q.", e.Severity)
	}
	if e.Severity != "" {
		e.Severity = strings.ToUpper(e.Severity)
	}
	ts := now
	if e.Timestamp != "" {
		if ts, err = time.Parse(time.RFC3339Nano, e.Timestamp); err != nil {
			return pending{}, bad(".timestamp", "%q is not an RFC 3339 time.", e.Timestamp)
		}
	}
	e.Timestamp = ts.UTC().Format(time.RFC3339Nano)
	e.ReceiveTimestamp = now.Format(time.RFC3339Nano)
	if e.InsertID == "" {
		e.InsertID = newInsertID()
	}
	return pending{index: i, project: project, e: stored{ts: ts.UTC(), entry: e, jsonTop: top}}, nil
}

// parseLogName checks "projects/{p}/logs/{id}" and returns p. The id must
// be URL-encoded (a "/" in it is %2F) and at most 512 characters, of
// letters, digits, "_", "-", "." and "/" once decoded.
func parseLogName(name string) (string, error) {
	rest, ok := strings.CutPrefix(name, "projects/")
	if !ok {
		return "", errors.New(`the mock accepts log names "projects/PROJECT/logs/LOG_ID" only`)
	}
	project, id, ok := strings.Cut(rest, "/logs/")
	if !ok || project == "" || strings.Contains(project, "/") {
		return "", errors.New(`not of the form "projects/PROJECT/logs/LOG_ID"`)
	}
	if id == "" {
		return "", errors.New("the log id is empty")
	}
	if len(id) > maxLogIDLen {
		return "", fmt.Errorf("the log id is %d characters long, more than %d", len(id), maxLogIDLen)
	}
	if strings.Contains(id, "/") {
		return "", errors.New(`the log id must be URL-encoded ("/" as %2F)`)
	}
	dec, err := url.PathUnescape(id)
	if err != nil {
		return "", errors.New("the log id is not valid URL encoding")
	}
	for _, c := range dec {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-./", c)) {
			return "", fmt.Errorf("the log id has the character %q: letters, digits, _ - . and / only", c)
		}
	}
	return project, nil
}

// newInsertID is a random id in the shape of Google's (lowercase letters
// and digits), which makes each stored entry unique.
func newInsertID() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [14]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// ---- list ----

func (s *Store) serveList(w http.ResponseWriter, r *http.Request) {
	p, err := s.gate.Authenticate(r)
	if err != nil {
		apierr.Write(w, err)
		return
	}
	var req ListLogEntriesRequest
	if err := gcpapi.DecodeOptionalBody(w, r, MaxRequestBytes, &req); err != nil {
		apierr.Write(w, err)
		return
	}
	q, err := parseList(&req)
	if err != nil {
		apierr.Write(w, err)
		return
	}
	if err := s.gate.Authorize(r.Context(), p, iam.PermLogEntriesList, q.projects...); err != nil {
		apierr.Write(w, err)
		return
	}
	out, err := s.list(q)
	if err != nil {
		apierr.Write(w, err)
		return
	}
	gcpapi.WriteJSON(w, out)
}

type listQuery struct {
	projects []string
	filter   *Filter
	desc     bool
	pageSize int
	token    string
	hash     string // of what a page token must be reused with
}

func parseList(req *ListLogEntriesRequest) (listQuery, error) {
	var q listQuery
	names := append([]string(nil), req.ResourceNames...)
	for _, id := range req.ProjectIds {
		names = append(names, "projects/"+id)
	}
	if len(names) == 0 {
		return q, apierr.InvalidField("resourceNames", "Field resourceNames had an invalid value: at least one resource name is required.")
	}
	for i, n := range names {
		p, ok := strings.CutPrefix(n, "projects/")
		if !ok || p == "" || strings.Contains(p, "/") {
			return q, apierr.InvalidField(fmt.Sprintf("resourceNames[%d]", i),
				"Field resourceNames[%d] had an invalid value of %q: the mock reads \"projects/PROJECT\" only.", i, n)
		}
		q.projects = append(q.projects, p)
	}
	sort.Strings(q.projects)
	q.projects = compact(q.projects)
	f, err := ParseFilter(req.Filter)
	if err != nil {
		return q, apierr.InvalidField("filter", "Field filter had an invalid value of %q: %v", req.Filter, err)
	}
	q.filter = f
	switch strings.Join(strings.Fields(strings.ToLower(req.OrderBy)), " ") {
	case "", "timestamp asc", "timestamp":
	case "timestamp desc":
		q.desc = true
	default:
		return q, apierr.InvalidField("orderBy", "Field orderBy had an invalid value of %q: \"timestamp asc\" or \"timestamp desc\".", req.OrderBy)
	}
	switch {
	case req.PageSize == 0:
		q.pageSize = defaultPageSize
	case req.PageSize < 0 || req.PageSize > maxPageSize:
		return q, apierr.InvalidField("pageSize", "Field pageSize had an invalid value of %d: 1 to %d.", req.PageSize, maxPageSize)
	default:
		q.pageSize = int(req.PageSize)
	}
	q.token = req.PageToken
	h := sha256.Sum256([]byte(strings.Join(q.projects, ",") + "\x00" + req.Filter + "\x00" + fmt.Sprint(q.desc)))
	q.hash = base64.RawURLEncoding.EncodeToString(h[:8])
	return q, nil
}

// pageToken is a cursor: the last entry answered (timestamp and write
// order), bound to the query. Entries written meanwhile are neither
// skipped nor repeated, unlike with an offset.
type pageToken struct {
	Query string `json:"q"`
	Time  string `json:"t"` // RFC 3339: any year round-trips, unlike UnixNano
	Seq   uint64 `json:"s"`
}

func (s *Store) list(q listQuery) (ListLogEntriesResponse, error) {
	type cursor struct {
		t   time.Time
		seq uint64
	}
	var cur *cursor
	if q.token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.token)
		var tok pageToken
		if err == nil {
			err = json.Unmarshal(raw, &tok)
		}
		var at time.Time
		if err == nil {
			at, err = time.Parse(time.RFC3339Nano, tok.Time)
		}
		if err != nil || tok.Query != q.hash {
			return ListLogEntriesResponse{}, apierr.InvalidField("pageToken", "Field pageToken had an invalid value: the token is not one this query returned.")
		}
		cur = &cursor{t: at, seq: tok.Seq}
	}
	// before orders two entries as the answer lists them.
	before := func(at time.Time, aseq uint64, bt time.Time, bseq uint64) bool {
		c := at.Compare(bt)
		if c == 0 {
			c = cmpUint(aseq, bseq)
		}
		if q.desc {
			return c > 0
		}
		return c < 0
	}
	var hits []*stored
	s.mu.Lock()
	for _, p := range q.projects {
		if rg := s.projects[p]; rg != nil {
			rg.each(func(e *stored) {
				if cur != nil && !before(cur.t, cur.seq, e.ts, e.seq) {
					return
				}
				if q.filter.matches(&e.entry, e.ts, e.jsonTop) {
					hits = append(hits, e)
				}
			})
		}
	}
	sort.Slice(hits, func(i, j int) bool { return before(hits[i].ts, hits[i].seq, hits[j].ts, hits[j].seq) })
	var out ListLogEntriesResponse
	for i, e := range hits {
		if i == q.pageSize {
			last := hits[i-1]
			tok, _ := json.Marshal(pageToken{Query: q.hash, Time: last.ts.Format(time.RFC3339Nano), Seq: last.seq}) // always encodes
			out.NextPageToken = base64.RawURLEncoding.EncodeToString(tok)
			break
		}
		out.Entries = append(out.Entries, e.entry)
	}
	s.mu.Unlock()
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
