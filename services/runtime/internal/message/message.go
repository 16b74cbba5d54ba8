// Package message is the runtime's model of an HTTP message as Apigee
// policies see it: a request or response with multi-valued headers, query
// and form parameters, and content that is read from the wire only when a
// policy asks for it (so pass-through traffic is never buffered).
package message

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Kind tells a request from a response.
type Kind uint8

const (
	// Request is an HTTP request message.
	Request Kind = iota
	// Response is an HTTP response message.
	Response
)

// MaxContentBytes is Apigee's default payload limit for a buffered message
// (10 MB); larger payloads cannot be read into a flow variable.
const MaxContentBytes = 10 << 20

// ErrTooBig is returned by Content when the payload exceeds MaxContentBytes.
var ErrTooBig = errors.New("message payload exceeds 10 MB")

// Message is a request or a response. It is not safe for concurrent use;
// one request's flow runs on one goroutine.
type Message struct {
	Kind Kind

	// Request line (Kind == Request).
	Method string
	// Path is the URL path as received (request.path); Scheme and Host
	// complete request.url.
	Path, Scheme, Host string
	Query              Params
	// Version is the HTTP version ("1.1").
	Version string

	// Status line (Kind == Response).
	StatusCode int
	Reason     string

	Header http.Header

	body     io.ReadCloser // unread payload, nil once read or replaced
	content  []byte
	loaded   bool // content holds the whole payload
	form     Params
	formRead bool
}

// NewRequest returns an empty request message ("GET /").
func NewRequest() *Message {
	return &Message{Kind: Request, Method: http.MethodGet, Path: "/", Scheme: "http", Version: "1.1", Header: http.Header{}, loaded: true}
}

// NewResponse returns an empty "200 OK" response message.
func NewResponse() *Message {
	return &Message{Kind: Response, StatusCode: http.StatusOK, Version: "1.1", Header: http.Header{}, loaded: true}
}

// FromRequest wraps an incoming request. The body stays unread; the header
// map is the request's own (it is not copied).
func FromRequest(r *http.Request) *Message {
	m := &Message{
		Kind: Request, Method: r.Method, Path: r.URL.Path, Host: r.Host, Scheme: "http",
		Query: ParseQuery(r.URL.RawQuery), Version: fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor), Header: r.Header,
	}
	if r.TLS != nil {
		m.Scheme = "https"
	}
	if r.Body == nil || r.Body == http.NoBody {
		m.loaded = true
	} else {
		m.body = r.Body
	}
	return m
}

// FromResponse wraps a backend response; the body stays unread.
func FromResponse(r *http.Response) *Message {
	m := &Message{Kind: Response, StatusCode: r.StatusCode, Reason: reasonOf(r), Version: fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor), Header: r.Header}
	if r.Body == nil || r.Body == http.NoBody {
		m.loaded = true
	} else {
		m.body = r.Body
	}
	return m
}

func reasonOf(r *http.Response) string {
	if _, reason, ok := strings.Cut(r.Status, " "); ok {
		return reason
	}
	return http.StatusText(r.StatusCode)
}

// Loaded reports whether the payload has been read into memory (or was set).
func (m *Message) Loaded() bool { return m.loaded }

// Content returns the payload, reading it from the wire on first use.
func (m *Message) Content() ([]byte, error) {
	if m.loaded {
		return m.content, nil
	}
	data, err := io.ReadAll(io.LimitReader(m.body, MaxContentBytes+1))
	_ = m.body.Close()
	m.body = nil
	m.loaded = true
	if err != nil {
		return nil, fmt.Errorf("reading message content: %w", err)
	}
	if len(data) > MaxContentBytes {
		return nil, ErrTooBig
	}
	m.content = data
	return data, nil
}

// ContentString is Content as a string; a read error gives "".
func (m *Message) ContentString() string {
	b, _ := m.Content()
	return string(b)
}

// SetContent replaces the payload. The Content-Length header is fixed up
// when the message is sent.
func (m *Message) SetContent(b []byte) {
	if m.body != nil {
		_ = m.body.Close()
		m.body = nil
	}
	m.content, m.loaded = b, true
	m.form, m.formRead = nil, false
}

// Body returns the payload as a reader for sending, and whether it is the
// unread wire stream (so Content-Length must be kept as received). The
// message gives up the stream.
func (m *Message) Body() (io.ReadCloser, int64, bool) {
	if !m.loaded {
		b := m.body
		m.body, m.loaded = nil, true
		return b, -1, true
	}
	if len(m.content) == 0 {
		return http.NoBody, 0, false
	}
	return io.NopCloser(bytes.NewReader(m.content)), int64(len(m.content)), false
}

// Close releases an unread payload.
func (m *Message) Close() {
	if m.body != nil {
		_ = m.body.Close()
		m.body = nil
	}
}

// QueryString is the encoded query (request.querystring).
func (m *Message) QueryString() string { return m.Query.Encode() }

// URI is path and query (request.uri).
func (m *Message) URI() string {
	if q := m.QueryString(); q != "" {
		return m.Path + "?" + q
	}
	return m.Path
}

// URL is the full request URL (request.url).
func (m *Message) URL() string {
	return m.Scheme + "://" + m.Host + m.URI()
}

// HeaderValues returns a header's values the way Apigee exposes them: every
// header line split on commas (so "Accept: a, b" has the values a and b),
// except for headers whose single values contain commas (dates, cookies).
func (m *Message) HeaderValues(name string) []string {
	lines := m.Header.Values(name)
	if len(lines) == 0 {
		return nil
	}
	if noSplit[http.CanonicalHeaderKey(name)] {
		return lines
	}
	single := len(lines) == 1 && !strings.Contains(lines[0], ",")
	if single {
		return lines
	}
	var out []string
	for _, l := range lines {
		for _, v := range strings.Split(l, ",") {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// noSplit lists headers whose values legitimately contain commas.
var noSplit = map[string]bool{
	"Date": true, "Expires": true, "Last-Modified": true, "If-Modified-Since": true, "If-Unmodified-Since": true,
	"Set-Cookie": true, "Cookie": true, "User-Agent": true, "Retry-After": true,
}

// HeaderNames returns the header names in canonical form, sorted.
func (m *Message) HeaderNames() []string {
	out := make([]string, 0, len(m.Header))
	for k := range m.Header {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FormParams parses the payload as application/x-www-form-urlencoded when
// the Content-Type says so; otherwise there are no form parameters.
func (m *Message) FormParams() Params {
	if m.formRead {
		return m.form
	}
	m.formRead = true
	ct, _, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil
	}
	b, err := m.Content()
	if err != nil {
		return nil
	}
	m.form = ParseQuery(string(b))
	return m.form
}

// SetFormParams replaces the form parameters and re-encodes the payload.
func (m *Message) SetFormParams(p Params) {
	m.SetContent([]byte(p.Encode()))
	if m.Header.Get("Content-Type") == "" {
		m.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	m.form, m.formRead = p, true
}

// Clone returns a deep copy with the payload read into memory.
func (m *Message) Clone() *Message {
	c := *m
	c.Header = m.Header.Clone()
	if c.Header == nil {
		c.Header = http.Header{}
	}
	c.Query = append(Params(nil), m.Query...)
	b, _ := m.Content()
	c.content, c.loaded, c.body = append([]byte(nil), b...), true, nil
	c.form, c.formRead = nil, false
	return &c
}

// StatusLine is the status code as a string.
func (m *Message) StatusLine() string { return strconv.Itoa(m.StatusCode) }

// ReasonPhrase returns the reason phrase, defaulting to the standard text.
func (m *Message) ReasonPhrase() string {
	if m.Reason != "" {
		return m.Reason
	}
	return http.StatusText(m.StatusCode)
}

// Param is one name/value pair of a query string or form.
type Param struct{ Name, Value string }

// Params is an ordered list of parameters; names may repeat. Order is kept
// so that a message passes through unchanged.
type Params []Param

// ParseQuery parses an encoded query or form string. Malformed escapes are
// kept literally rather than dropping the parameter.
func ParseQuery(raw string) Params {
	if raw == "" {
		return nil
	}
	var out Params
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, Param{unescape(k), unescape(v)})
	}
	return out
}

func unescape(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// Encode encodes the parameters in order.
func (p Params) Encode() string {
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	for i, kv := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv.Value))
	}
	return b.String()
}

// Get returns the first value of name.
func (p Params) Get(name string) (string, bool) {
	for _, kv := range p {
		if kv.Name == name {
			return kv.Value, true
		}
	}
	return "", false
}

// Values returns every value of name.
func (p Params) Values(name string) []string {
	var out []string
	for _, kv := range p {
		if kv.Name == name {
			out = append(out, kv.Value)
		}
	}
	return out
}

// Names returns the distinct names in first-seen order.
func (p Params) Names() []string {
	var out []string
	seen := map[string]bool{}
	for _, kv := range p {
		if !seen[kv.Name] {
			seen[kv.Name] = true
			out = append(out, kv.Name)
		}
	}
	return out
}

// Set replaces every value of name with value.
func (p Params) Set(name, value string) Params {
	out := p.Del(name)
	return append(out, Param{name, value})
}

// Add appends a value.
func (p Params) Add(name, value string) Params { return append(p, Param{name, value}) }

// Del removes every value of name.
func (p Params) Del(name string) Params {
	out := p[:0:0]
	for _, kv := range p {
		if kv.Name != name {
			out = append(out, kv)
		}
	}
	return out
}
