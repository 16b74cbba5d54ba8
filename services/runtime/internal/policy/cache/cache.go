// Package cache implements Apigee's cache policies over the runtime data
// store's shared caches (rtdata.Caches: Cassandra behind a one-second
// in-memory level per message processor):
//
//   - PopulateCache writes a flow variable (<Source>) under a key;
//   - LookupCache reads it back into <AssignTo>
//     (lookupcache.<policy>.cachehit, .cachekey, .cachename, .assignto);
//   - InvalidateCache removes a key and, with <PurgeChildEntries>, every
//     key that extends it by more fragments;
//   - ResponseCache (responsecache.go) is attached once on the request
//     path, where a hit answers with the cached response and skips the
//     rest of the request path and the target, and once on the response
//     path, where it stores the response.
//
// Keys: <CacheKey><Prefix> and <KeyFragment>s (literal or ref) joined with
// "__"; without a prefix the <Scope> prefix (Exclusive, the default,
// Global, Application, Proxy, Target) comes first (key.go). <CacheResource>
// names an environment cache; without it the environment's shared default
// cache is used. Apigee hybrid and X have no API to create caches (only
// organizations.environments.caches.delete), so any name is accepted and
// the cache exists once written to.
//
// Limits (pkg/store): keys of at most 2 KB (a longer key is never cached:
// populating does nothing, a lookup misses); values over 256 KB stay in
// the populating message processor's memory only; entries live at most 30
// days. The policies never fail a request because the shared cache could
// not be read or written: a read error is a miss, a write error is logged.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// CodeEntryCannotBeCached is PopulateCache's runtime error: the <Source>
// is not a value that can be stored (in Apigee, an object that is not
// serializable; here a message such as request or response).
const CodeEntryCannotBeCached = "steps.populatecache.EntryCannotBeCached"

// DefaultLookupTimeout is <CacheLookupTimeoutInSeconds>' default: after it
// a lookup of the shared cache counts as a miss.
const DefaultLookupTimeout = 30 * time.Second

// common are the elements every cache policy has.
type common struct {
	name, typ string
	env       string
	cacheName string // <CacheResource>; "" is the shared default cache
	key       keySpec
	data      *rtdata.Caches
	log       *zap.Logger
}

// onlyChildren refuses elements the policy type does not have.
func onlyChildren(where string, el *xmltree.Element, allowed ...string) error {
	for _, c := range el.Children {
		ok := false
		for _, a := range allowed {
			if c.Name == a {
				ok = true
				break
			}
		}
		if !ok {
			return flow.Invalid(where+"/"+c.Name, "element <%s> is not allowed in <%s> (allowed: %s)", c.Name, where[strings.LastIndexByte(where, '/')+1:], strings.Join(allowed, ", "))
		}
	}
	return nil
}

// parseRoot parses the policy file and checks its root and children.
func parseRoot(cc *flow.CompileContext, allowed ...string) (*xmltree.Element, error) {
	typ := cc.Policy.Type
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid(typ, "%v", err)
	}
	if root.Name != typ {
		return nil, flow.Invalid(typ, "root element is <%s>, not <%s>", root.Name, typ)
	}
	// Every policy may carry DisplayName and Properties; bundles exported
	// from Apigee's UI also hold an empty <FaultRules/>.
	if err := onlyChildren(typ, root, append([]string{"DisplayName", "Properties", "FaultRules"}, allowed...)...); err != nil {
		return nil, err
	}
	return root, nil
}

// compileCommon reads <CacheKey>, <Scope> and <CacheResource>.
func compileCommon(cc *flow.CompileContext, root *xmltree.Element) (*common, error) {
	typ := cc.Policy.Type
	c := &common{name: cc.Policy.Name, typ: typ, env: cc.Env, log: cc.Log}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	ck := root.Child("CacheKey")
	if ck == nil {
		return nil, flow.Invalid(typ+"/CacheKey", "<CacheKey> with at least one <KeyFragment> is required")
	}
	if err := onlyChildren(typ+"/CacheKey", ck, "Prefix", "KeyFragment"); err != nil {
		return nil, err
	}
	c.key.prefix = ck.ChildText("Prefix")
	for _, kf := range ck.All("KeyFragment") {
		f := fragment{ref: kf.Attr("ref"), lit: kf.Text}
		if f.ref == "" && f.lit == "" {
			return nil, flow.Invalid(typ+"/CacheKey/KeyFragment", "a <KeyFragment> needs a ref attribute or a literal value")
		}
		c.key.fragments = append(c.key.fragments, f)
	}
	if len(c.key.fragments) == 0 {
		return nil, flow.Invalid(typ+"/CacheKey", "<CacheKey> needs at least one <KeyFragment>")
	}
	if s := root.ChildText("Scope"); s != "" {
		sc, ok := scopeNames[s]
		if !ok {
			return nil, flow.Invalid(typ+"/Scope", "scope %q is not one of Exclusive, Global, Application, Proxy, Target", s)
		}
		c.key.scope = sc
	}
	c.cacheName = root.ChildText("CacheResource")
	data, err := cc.NeedData()
	if err != nil {
		return nil, err
	}
	c.data = data.Caches()
	return c, nil
}

// lookupTimeout reads <CacheLookupTimeoutInSeconds>.
func lookupTimeout(typ string, root *xmltree.Element) (time.Duration, error) {
	c := root.Child("CacheLookupTimeoutInSeconds")
	if c == nil || c.Text == "" {
		return DefaultLookupTimeout, nil
	}
	n, err := strconv.Atoi(c.Text)
	if err != nil {
		return 0, flow.Invalid(typ+"/CacheLookupTimeoutInSeconds", "InvalidTimeout: CacheLookupTimeoutInSeconds %s value should be a number of seconds.", c.Text)
	}
	if n < 0 {
		return 0, flow.Invalid(typ+"/CacheLookupTimeoutInSeconds", "InvalidTimeout: CacheLookupTimeoutInSeconds %d value should be greater than zero.", n)
	}
	if n == 0 {
		return DefaultLookupTimeout, nil
	}
	return time.Duration(n) * time.Second, nil
}

// lookup reads the shared cache within timeout; any failure is a miss.
func (c *common) lookup(ctx context.Context, key string, timeout time.Duration) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, hit, err := c.data.Get(ctx, c.env, c.cacheName, key)
	if err != nil {
		c.log.Warn("cache lookup failed; treated as a miss", zap.String("policy", c.name), zap.Error(err))
		return nil, false
	}
	return v, hit
}

// store writes to the shared cache; a failure is logged, never raised.
func (c *common) store(ctx context.Context, key string, value []byte, expires time.Time) {
	if _, err := c.data.Put(ctx, c.env, c.cacheName, key, value, expires); err != nil {
		c.log.Warn("cache populate failed", zap.String("policy", c.name), zap.Error(err))
	}
}

// setCacheVars sets <ns>.<policy>.cachekey and .cachename (the latter only
// for a named cache).
func (c *common) setCacheVars(mc *flow.MessageContext, ns, key string) {
	mc.SetVar(ns+"."+c.name+".cachekey", key)
	if c.cacheName != "" {
		mc.SetVar(ns+"."+c.name+".cachename", c.cacheName)
	}
}

// Cached values keep their type: a tag byte, then the value.
const (
	tagString   = 's'
	tagBool     = 'b'
	tagInt      = 'i'
	tagFloat    = 'f'
	tagJSON     = 'j'
	tagResponse = 'R' // a ResponseCache entry (response.go)
)

var errNotCacheable = errors.New("not cacheable")

// encodeValue serializes a flow variable's value.
func encodeValue(v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return append([]byte{tagString}, x...), nil
	case []byte:
		return append([]byte{tagString}, x...), nil
	case bool:
		return append([]byte{tagBool}, strconv.FormatBool(x)...), nil
	case int:
		return append([]byte{tagInt}, strconv.Itoa(x)...), nil
	case int64:
		return append([]byte{tagInt}, strconv.FormatInt(x, 10)...), nil
	case float64:
		return append([]byte{tagFloat}, strconv.FormatFloat(x, 'g', -1, 64)...), nil
	case *message.Message:
		return nil, errNotCacheable
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, errNotCacheable
	}
	return append([]byte{tagJSON}, data...), nil
}

// decodeValue is encodeValue's inverse; ok is false for bytes it did not
// write.
func decodeValue(b []byte) (v any, ok bool) {
	if len(b) == 0 {
		return nil, false
	}
	body := string(b[1:])
	switch b[0] {
	case tagString:
		return body, true
	case tagBool:
		x, err := strconv.ParseBool(body)
		return x, err == nil
	case tagInt:
		x, err := strconv.ParseInt(body, 10, 64)
		return x, err == nil
	case tagFloat:
		x, err := strconv.ParseFloat(body, 64)
		return x, err == nil
	case tagJSON:
		var x any
		err := json.Unmarshal(b[1:], &x)
		return x, err == nil
	case tagResponse:
		// A ResponseCache entry read by LookupCache: its payload.
		r, err := decodeResponse(b)
		if err != nil {
			return nil, false
		}
		return string(r.body), true
	}
	return nil, false
}

// populate is a compiled <PopulateCache>.
type populate struct {
	*common
	expiry expiry
	source string
}

// CompilePopulate compiles a <PopulateCache> policy.
func CompilePopulate(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := parseRoot(cc, "CacheKey", "CacheResource", "Scope", "ExpirySettings", "Source")
	if err != nil {
		return nil, err
	}
	p := &populate{}
	if p.expiry, err = compileExpiry(cc.Policy.Type, root.Child("ExpirySettings")); err != nil {
		return nil, err
	}
	if p.source = root.ChildText("Source"); p.source == "" {
		return nil, flow.Invalid("PopulateCache/Source", "<Source> (the variable to cache) is required")
	}
	if p.common, err = compileCommon(cc, root); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *populate) Execute(ctx context.Context, mc *flow.MessageContext) error {
	v, ok := mc.Lookup(p.source)
	if !ok {
		return nil // nothing to cache
	}
	data, err := encodeValue(v)
	if err != nil {
		return flow.Errorf(http.StatusInternalServerError, CodeEntryCannotBeCached,
			"An entry cannot be cached. The object being cached (%s) is not serializable.", p.source)
	}
	now := p.data.Now()
	expires, ok := p.expiry.at(mc, now)
	if !ok {
		expires = now.Add(DefaultTimeout)
	}
	p.store(ctx, p.key.build(mc), data, expires)
	return nil
}

// lookup is a compiled <LookupCache>.
type lookupPolicy struct {
	*common
	assignTo string
	timeout  time.Duration
}

// CompileLookup compiles a <LookupCache> policy.
func CompileLookup(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := parseRoot(cc, "CacheKey", "CacheResource", "CacheLookupTimeoutInSeconds", "Scope", "AssignTo")
	if err != nil {
		return nil, err
	}
	p := &lookupPolicy{}
	if p.assignTo = root.ChildText("AssignTo"); p.assignTo == "" {
		return nil, flow.Invalid("LookupCache/AssignTo", "<AssignTo> (the variable the cached value goes to) is required")
	}
	if p.timeout, err = lookupTimeout(cc.Policy.Type, root); err != nil {
		return nil, err
	}
	if p.common, err = compileCommon(cc, root); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *lookupPolicy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	const ns = "lookupcache"
	key := p.key.build(mc)
	p.setCacheVars(mc, ns, key)
	mc.SetVar(ns+"."+p.name+".assignto", p.assignTo)
	var v any
	data, hit := p.lookup(ctx, key, p.timeout)
	if hit {
		v, hit = decodeValue(data)
	}
	mc.SetVar(ns+"."+p.name+".cachehit", hit)
	if !hit {
		return nil // AssignTo is left as it is
	}
	if err := mc.Set(p.assignTo, v); err != nil {
		return fmt.Errorf("assign the cached value to %s: %w", p.assignTo, err)
	}
	return nil
}

// invalidate is a compiled <InvalidateCache>.
type invalidate struct {
	*common
	children bool
}

// CompileInvalidate compiles an <InvalidateCache> policy.
func CompileInvalidate(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := parseRoot(cc, "CacheKey", "CacheResource", "Scope", "CacheContext", "PurgeChildEntries")
	if err != nil {
		return nil, err
	}
	p := &invalidate{}
	if p.children, err = root.Bool("PurgeChildEntries", false); err != nil {
		return nil, flow.Invalid("InvalidateCache/PurgeChildEntries", "%v", err)
	}
	ctxEl := root.Child("CacheContext")
	if ctxEl != nil {
		if err := onlyChildren("InvalidateCache/CacheContext", ctxEl, "APIProxyName", "ProxyName", "TargetName"); err != nil {
			return nil, err
		}
	}
	if p.common, err = compileCommon(cc, root); err != nil {
		return nil, err
	}
	// <CacheContext> names the proxy and endpoint whose scoped entries to
	// invalidate (another proxy's, say) in place of the running ones.
	p.key.apiProxy = ctxEl.ChildText("APIProxyName")
	p.key.proxyEndpoint = ctxEl.ChildText("ProxyName")
	p.key.targetEndpoint = ctxEl.ChildText("TargetName")
	return p, nil
}

func (p *invalidate) Execute(ctx context.Context, mc *flow.MessageContext) error {
	if err := p.data.Invalidate(ctx, p.env, p.cacheName, p.key.build(mc), p.children); err != nil {
		return fmt.Errorf("invalidate cache entry: %w", err)
	}
	return nil
}
