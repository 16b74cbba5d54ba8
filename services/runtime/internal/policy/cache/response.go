package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// ResponseCache.
//
// The same policy is attached once on the request path and once on the
// response path (the engine refuses more: ResponseCacheStepAttachment…).
// On the request path it builds the key (plus the Accept, Accept-Encoding,
// Accept-Language and Accept-Charset request headers with
// <UseAcceptHeader>) and, unless <SkipCacheLookup> holds, looks it up: on
// a hit the cached status, headers and payload become the response and
// mc.EndRequestFlow ends the request path — the remaining request steps,
// the route rules and the target are skipped and execution goes on at the
// ProxyEndpoint response PreFlow, so response-flow policies still run (as
// in Apigee, where they commonly add a cache-hit header). On the response
// path it stores the response under the key the request path built,
// unless the request was a hit, <SkipCachePopulation> holds, or
// <ExcludeErrorResponse> is true and the status is not 200–205. With
// <UseResponseCacheHeaders> the entry lives for the response's
// Cache-Control s-maxage, else max-age, else Expires, or the
// <ExpirySettings> time when that is shorter.

// acceptHeaders are appended to the key with <UseAcceptHeader>.
var acceptHeaders = [...]string{"Accept", "Accept-Encoding", "Accept-Language", "Accept-Charset"}

// rcState carries the request path's key and outcome to the response path.
type rcState struct {
	key string
	hit bool
}

type responseCache struct {
	*common
	expiry                                         expiry
	timeout                                        time.Duration
	excludeErrors, useAccept, useResponseHeaders   bool
	skipLookup, skipPopulation                     *condition.Condition
	varKey, varName, varHit, varInvalid, stateName string
}

// CompileResponse compiles a <ResponseCache> policy.
func CompileResponse(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := parseRoot(cc, "CacheKey", "CacheResource", "Scope", "ExpirySettings", "CacheLookupTimeoutInSeconds",
		"ExcludeErrorResponse", "SkipCacheLookup", "SkipCachePopulation", "UseAcceptHeader", "UseResponseCacheHeaders")
	if err != nil {
		return nil, err
	}
	if cc.Bundle != nil && cc.Bundle.Kind == bundle.KindSharedFlow {
		return nil, flow.Invalid("ResponseCache", "a ResponseCache policy cannot be used in a shared flow")
	}
	p := &responseCache{}
	if p.expiry, err = compileExpiry(cc.Policy.Type, root.Child("ExpirySettings")); err != nil {
		return nil, err
	}
	if p.timeout, err = lookupTimeout(cc.Policy.Type, root); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"ExcludeErrorResponse", &p.excludeErrors}, {"UseAcceptHeader", &p.useAccept}, {"UseResponseCacheHeaders", &p.useResponseHeaders}} {
		if *b.dst, err = root.Bool(b.name, false); err != nil {
			return nil, flow.Invalid("ResponseCache/"+b.name, "%v", err)
		}
	}
	for _, c := range []struct {
		name, code string
		dst        **condition.Condition
	}{{"SkipCacheLookup", "InvalidSkipCacheLookUpCondition", &p.skipLookup}, {"SkipCachePopulation", "InvalidSkipCachePopulationCondition", &p.skipPopulation}} {
		src := root.ChildText(c.name)
		if src == "" {
			continue
		}
		if *c.dst, err = condition.Parse(src); err != nil {
			return nil, flow.Invalid("ResponseCache/"+c.name, "InvalidMessagePatternForErrorCode: Invalid message pattern found for error code steps.cache.%s: %v", c.code, err)
		}
	}
	if p.common, err = compileCommon(cc, root); err != nil {
		return nil, err
	}
	const ns = "responsecache."
	p.varKey, p.varName, p.varHit, p.varInvalid = ns+p.name+".cachekey", ns+p.name+".cachename", ns+p.name+".cachehit", ns+p.name+".invalidentry"
	// A name no template or policy can spell (it holds a NUL).
	p.stateName = ns + p.name + ".\x00state"
	return p, nil
}

func (p *responseCache) Execute(ctx context.Context, mc *flow.MessageContext) error {
	if mc.State.IsResponse() {
		p.populate(ctx, mc)
		return nil
	}
	p.lookupResponse(ctx, mc)
	return nil
}

// requestKey is the key for this request.
func (p *responseCache) requestKey(mc *flow.MessageContext) string {
	key := p.key.build(mc)
	if p.useAccept && mc.Request != nil {
		for _, h := range acceptHeaders {
			if vs := mc.Request.Header.Values(h); len(vs) > 0 {
				key += rtdata.KeySeparator + strings.Join(vs, ",")
			}
		}
	}
	return key
}

func (p *responseCache) setVars(mc *flow.MessageContext, key string, hit, invalid bool) {
	mc.SetVar(p.varKey, key)
	if p.cacheName != "" {
		mc.SetVar(p.varName, p.cacheName)
	}
	mc.SetVar(p.varHit, hit)
	mc.SetVar(p.varInvalid, invalid)
}

func (p *responseCache) lookupResponse(ctx context.Context, mc *flow.MessageContext) {
	st := &rcState{key: p.requestKey(mc)}
	mc.SetVar(p.stateName, st)
	p.setVars(mc, st.key, false, false)
	if p.skipLookup != nil && p.skipLookup.Eval(mc) {
		return // and the response path refreshes the entry
	}
	data, hit := p.lookup(ctx, st.key, p.timeout)
	if !hit {
		return
	}
	r, err := decodeResponse(data)
	if err != nil {
		p.log.Warn("invalid response cache entry; treated as a miss", zap.String("policy", p.name), zap.Error(err))
		p.setVars(mc, st.key, false, true)
		return
	}
	st.hit = true
	p.setVars(mc, st.key, true, false)
	resp := message.NewResponse()
	resp.StatusCode, resp.Reason, resp.Header = r.status, r.reason, r.header
	// The entry's bytes are shared with other requests (the in-memory
	// level); the response gets its own copy.
	resp.SetContent(append([]byte(nil), r.body...))
	if mc.Response != nil {
		mc.Response.Close()
	}
	mc.Response = resp
	mc.EndRequestFlow = true
}

func (p *responseCache) populate(ctx context.Context, mc *flow.MessageContext) {
	st, _ := mc.Vars()[p.stateName].(*rcState)
	if st == nil {
		// The request path did not run this policy (a condition skipped
		// it): the key is built now.
		st = &rcState{key: p.requestKey(mc)}
		p.setVars(mc, st.key, false, false)
	}
	resp := mc.Response
	if st.hit || resp == nil {
		return
	}
	if p.skipPopulation != nil && p.skipPopulation.Eval(mc) {
		return
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if p.excludeErrors && (status < 200 || status > 205) {
		return
	}
	body, err := resp.Content()
	if err != nil {
		p.log.Debug("response not cached: payload unreadable", zap.String("policy", p.name), zap.Error(err))
		return
	}
	now := p.data.Now()
	expires, set := p.expiry.at(mc, now)
	if !set {
		expires = now.Add(DefaultTimeout)
	}
	if p.useResponseHeaders {
		if h, ok := headerExpiry(resp.Header, now); ok && (!set || h.Before(expires)) {
			expires = h
		}
	}
	p.store(ctx, st.key, encodeResponse(status, resp.Reason, resp.Header, body), expires)
}

// headerExpiry is when a response's own caching headers let it expire:
// Cache-Control s-maxage, else max-age, else Expires (an unparsable
// Expires means already expired, as HTTP caches treat it).
func headerExpiry(h http.Header, now time.Time) (time.Time, bool) {
	cc := ParseCacheControl(h.Values("Cache-Control"))
	for _, d := range []string{"s-maxage", "max-age"} {
		if v, ok := cc[d]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				return now.Add(time.Duration(min(n, int64(maxSeconds))) * time.Second), true
			}
		}
	}
	if e := h.Get("Expires"); e != "" {
		t, err := http.ParseTime(e)
		if err != nil {
			return now, true
		}
		return t, true
	}
	return time.Time{}, false
}

// ParseCacheControl reads Cache-Control directives (RFC 9111 §5.2):
// lower-cased names, values unquoted; a directive without a value maps to
// "". The first occurrence of a directive wins.
func ParseCacheControl(values []string) map[string]string {
	out := map[string]string{}
	for _, v := range values {
		for len(v) > 0 {
			var part string
			part, v = nextDirective(v)
			name, val, _ := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			val = strings.TrimSpace(val)
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			if _, dup := out[name]; !dup {
				out[name] = val
			}
		}
	}
	return out
}

// nextDirective splits off the text up to the next comma outside quotes.
func nextDirective(s string) (part, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

// cachedResponse is a decoded ResponseCache entry.
type cachedResponse struct {
	status int
	reason string
	header http.Header
	body   []byte
}

// encodeResponse serializes a response compactly (the 256 KB limit counts
// these bytes, so no base64): the tag, the status, the reason, the headers
// (sorted by name, values in order), then the payload.
func encodeResponse(status int, reason string, h http.Header, body []byte) []byte {
	names := make([]string, 0, len(h))
	size := 16 + len(reason) + len(body)
	for k, vs := range h {
		names = append(names, k)
		size += len(k) + 4
		for _, v := range vs {
			size += len(v) + 2
		}
	}
	sort.Strings(names)
	b := make([]byte, 0, size)
	b = append(b, tagResponse)
	b = binary.AppendUvarint(b, uint64(status))
	b = appendString(b, reason)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, k := range names {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(h[k])))
		for _, v := range h[k] {
			b = appendString(b, v)
		}
	}
	return append(b, body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errBadEntry = errors.New("malformed response cache entry")

// decodeResponse is encodeResponse's inverse. It never panics on bad
// input (FuzzDecodeResponse).
func decodeResponse(b []byte) (*cachedResponse, error) {
	if len(b) == 0 || b[0] != tagResponse {
		return nil, errBadEntry
	}
	d := decoder{b: b[1:]}
	r := &cachedResponse{}
	status := d.uvarint()
	r.reason = d.string()
	n := d.uvarint()
	if d.err != nil || status < 100 || status > 999 || n > uint64(len(d.b)) {
		return nil, errBadEntry
	}
	r.status = int(status)
	r.header = make(http.Header, n)
	for range n {
		k := d.string()
		m := d.uvarint()
		if d.err != nil || m > uint64(len(d.b)) {
			return nil, errBadEntry
		}
		vs := make([]string, 0, m)
		for range m {
			vs = append(vs, d.string())
		}
		if d.err != nil {
			return nil, errBadEntry
		}
		r.header[k] = vs
	}
	r.body = d.b
	return r, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadEntry
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errBadEntry
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
