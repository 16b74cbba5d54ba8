// Package quota implements the Quota and ResetQuota policies.
//
// # Windows
//
// The window a request counts in depends on the policy's type:
//
//   - default (no type): calendar-aligned in GMT — the top of the minute,
//     hour or day, Monday 00:00 for weeks, the first of the month — on a
//     grid of <Interval> units from the Unix epoch. With a <StartTime> the
//     windows follow one another from StartTime, as for calendar.
//   - calendar: windows of <Interval> <TimeUnit> one after the other from
//     the required <StartTime> ("yyyy-MM-dd HH:mm:ss", GMT). Months keep
//     StartTime's day, clamped to the month's last day.
//   - flexi: the window starts with the first request and lasts
//     <Interval> <TimeUnit>; the first request after it ends starts the next.
//   - rollingwindow: the count of the last <Interval> <TimeUnit> before the
//     request, kept in slices of a sixtieth of the window (at least 1 s), so
//     the window looked at is at most one slice longer than configured.
//
// All times come from the runtime data store's clock (rtdata.Store.Now).
//
// # Counting
//
// Counters are keyed by (environment, API proxy, <SharedName> or the
// policy's name, identifier[, class]) and kept by rtdata.QuotaStore:
//
//   - <Distributed>true</Distributed> with <Synchronous>true</Synchronous>:
//     one exact count for all message processors, in Cassandra
//     (kms_<org>.quota_counters), each increment a lightweight transaction
//     (compare-and-set on a bigint per counter and window start, with a TTL
//     a little past the window's end). Requests are serialized per counter
//     inside one MP, so only MPs contend.
//   - Distributed without Synchronous: each MP counts locally and, when its
//     view is older than <AsynchronousConfiguration><SyncIntervalInSeconds>
//     (default 10 s) or it has counted <SyncMessageCount> since, adds its
//     pending count to the shared row and reads back the others' before
//     deciding. Between syncs MPs do not see one
//     another, so the cluster can let through more than the limit:
//     approximate, as in Apigee.
//   - Not distributed: in this MP's memory only; every MP has its own count.
//
// A rejected request is not counted. <CountOnly> counts and never rejects;
// <EnforceOnly> rejects when the count (plus the message weight) would go
// over the limit but does not count — the pair shares a counter through
// <SharedName>. <MessageWeight> adds its value instead of 1.
package quota

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Error codes.
const (
	CodeViolation              = "policies.ratelimit.QuotaViolation"
	CodeInvalidMessageWeight   = "policies.ratelimit.InvalidMessageWeight"
	CodeIntervalUnresolved     = "policies.ratelimit.FailedToResolveQuotaIntervalReference"
	CodeTimeUnitUnresolved     = "policies.ratelimit.FailedToResolveQuotaIntervalTimeUnitReference"
	CodeInvalidTimeUnit        = "policies.ratelimit.InvalidQuotaTimeUnit"
	CodeAllowCountUnresolved   = "policies.ratelimit.FailedToResolveAllowCountRef"
	CodeResetInvalidPolicy     = "policies.resetquota.InvalidRLPolicy"
	CodeResetAllowUnresolved   = "policies.resetquota.FailedToResolveAllowCountRef"
	DefaultIdentifier          = "_default"
	defaultSyncInterval        = 10 * time.Second
	minSyncIntervalSeconds     = 10
	calendarStartTimeLayout    = "2006-1-2 15:04:05"
	calendarStartTimeLayoutAlt = "2006-1-2T15:04:05"
)

// config is a parsed <Quota>.
type config struct {
	name, typ string

	count     int64
	hasCount  bool
	countRef  string
	classRef  string
	classes   map[string]int64
	interval  int
	hasIntv   bool
	intvRef   string
	unit      Unit
	unitRef   string
	idRef     string
	weightRef string
	start     time.Time
	hasStart  bool
	shared    string
	countOnly bool
	enfOnly   bool
	mode      rtdata.QuotaMode
	syncIntv  time.Duration
	syncCount int64

	// UseQuotaConfigInAPIProduct: prefix of the product quota variables.
	productPrefix string
	useProduct    bool
	defCount      int64
	defHasCount   bool
	defInterval   int
	defHasIntv    bool
	defUnit       Unit
}

func parseConfig(xml []byte, name string, lookupStep func(string) (string, bool)) (*config, error) {
	root, err := xmltree.Parse(xml)
	if err != nil {
		return nil, flow.Invalid("Quota", "%v", err)
	}
	c := &config{name: name, typ: strings.ToLower(root.Attr("type")), classes: map[string]int64{}, syncIntv: defaultSyncInterval}
	switch c.typ {
	case "", "default", "calendar", "flexi", "rollingwindow":
	default:
		return nil, flow.Invalid("Quota", "invalid quota type %q (default, calendar, flexi or rollingwindow)", root.Attr("type"))
	}
	if c.typ == "default" {
		c.typ = ""
	}
	if a := root.Child("Allow"); a != nil {
		if v := a.Attr("count"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, flow.Invalid("Quota/Allow", "invalid allow count %q", v)
			}
			c.count, c.hasCount = n, true
		}
		c.countRef = a.Attr("countRef")
		if cl := a.Child("Class"); cl != nil {
			c.classRef = cl.Attr("ref")
			if c.classRef == "" {
				return nil, flow.Invalid("Quota/Allow/Class", "ref is required")
			}
			for _, ca := range cl.All("Allow") {
				n, err := strconv.ParseInt(ca.Attr("count"), 10, 64)
				if err != nil || n < 0 || ca.Attr("class") == "" {
					return nil, flow.Invalid("Quota/Allow/Class/Allow", "class and a count are required, got class=%q count=%q", ca.Attr("class"), ca.Attr("count"))
				}
				c.classes[ca.Attr("class")] = n
			}
		}
	}
	if u := root.Child("UseQuotaConfigInAPIProduct"); u != nil {
		step := u.Attr("stepName")
		if step == "" {
			return nil, flow.Invalid("Quota/UseQuotaConfigInAPIProduct", "stepName is required")
		}
		typ, ok := lookupStep(step)
		switch {
		case !ok:
			return nil, flow.Invalid("Quota/UseQuotaConfigInAPIProduct", "stepName %q is not a policy of this bundle", step)
		case typ == "VerifyAPIKey":
			c.productPrefix = "verifyapikey." + step + "."
		case typ == "OAuthV2":
			c.productPrefix = ""
		default:
			return nil, flow.Invalid("Quota/UseQuotaConfigInAPIProduct", "stepName %q is a %s policy, not VerifyAPIKey or OAuthV2", step, typ)
		}
		c.useProduct = true
		if d := u.Child("DefaultConfig"); d != nil {
			if v := d.ChildText("Allow"); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					return nil, flow.Invalid("Quota/UseQuotaConfigInAPIProduct/DefaultConfig/Allow", "invalid count %q", v)
				}
				c.defCount, c.defHasCount = n, true
			}
			if v := d.ChildText("Interval"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return nil, flow.Invalid("Quota/UseQuotaConfigInAPIProduct/DefaultConfig/Interval", "invalid quota interval %q", v)
				}
				c.defInterval, c.defHasIntv = n, true
			}
			if v := d.ChildText("TimeUnit"); v != "" {
				un, ok := ParseUnit(v)
				if !ok {
					return nil, flow.Invalid("Quota/UseQuotaConfigInAPIProduct/DefaultConfig/TimeUnit", "invalid quota time unit %q (minute, hour, day, week or month)", v)
				}
				c.defUnit = un
			}
		}
	}
	if !c.hasCount && c.countRef == "" && c.classRef == "" && !c.useProduct {
		return nil, flow.Invalid("Quota/Allow", "an <Allow> with a count, countRef or <Class> is required")
	}
	if iv := root.Child("Interval"); iv != nil {
		c.intvRef = iv.Attr("ref")
		if iv.Text != "" {
			n, err := strconv.Atoi(iv.Text)
			if err != nil || n < 1 {
				return nil, flow.Invalid("Quota/Interval", "Invalid quota interval %s in quota policy %s. (a positive integer)", iv.Text, name)
			}
			c.interval, c.hasIntv = n, true
		}
	}
	if !c.hasIntv && c.intvRef == "" && !c.useProduct {
		return nil, flow.Invalid("Quota/Interval", "an <Interval> (value or ref) is required")
	}
	if tu := root.Child("TimeUnit"); tu != nil {
		c.unitRef = tu.Attr("ref")
		if tu.Text != "" {
			u, ok := ParseUnit(tu.Text)
			if !ok {
				return nil, flow.Invalid("Quota/TimeUnit", "Invalid quota time unit %s in quota policy %s. (minute, hour, day, week or month)", tu.Text, name)
			}
			c.unit = u
		}
	}
	if c.unit == 0 && c.unitRef == "" && !c.useProduct {
		return nil, flow.Invalid("Quota/TimeUnit", "a <TimeUnit> (value or ref) is required")
	}
	if st := root.ChildText("StartTime"); st != "" {
		t, err := time.ParseInLocation(calendarStartTimeLayout, st, time.UTC)
		if err != nil {
			t, err = time.ParseInLocation(calendarStartTimeLayoutAlt, st, time.UTC)
		}
		if err != nil {
			return nil, flow.Invalid("Quota/StartTime", "invalid start time %q (yyyy-MM-dd HH:mm:ss)", st)
		}
		if c.typ == "flexi" || c.typ == "rollingwindow" {
			return nil, flow.Invalid("Quota/StartTime", "<StartTime> is only supported by calendar (and default) quotas, not %s", c.typ)
		}
		c.start, c.hasStart = t, true
	}
	if c.typ == "calendar" && !c.hasStart {
		return nil, flow.Invalid("Quota/StartTime", "a calendar quota requires <StartTime>")
	}
	c.idRef = root.Child("Identifier").Attr("ref")
	c.weightRef = root.Child("MessageWeight").Attr("ref")
	c.shared = root.ChildText("SharedName")
	if c.countOnly, err = root.Bool("CountOnly", false); err != nil {
		return nil, flow.Invalid("Quota/CountOnly", "%v", err)
	}
	if c.enfOnly, err = root.Bool("EnforceOnly", false); err != nil {
		return nil, flow.Invalid("Quota/EnforceOnly", "%v", err)
	}
	if c.countOnly && c.enfOnly {
		return nil, flow.Invalid("Quota", "<CountOnly> and <EnforceOnly> cannot both be true")
	}
	dist, err := root.Bool("Distributed", false)
	if err != nil {
		return nil, flow.Invalid("Quota/Distributed", "%v", err)
	}
	syncr, err := root.Bool("Synchronous", false)
	if err != nil {
		return nil, flow.Invalid("Quota/Synchronous", "%v", err)
	}
	switch {
	case dist && syncr:
		c.mode = rtdata.QuotaSync
	case dist:
		c.mode = rtdata.QuotaAsync
	default:
		c.mode = rtdata.QuotaLocal
	}
	if ac := root.Child("AsynchronousConfiguration"); ac != nil {
		if v := ac.ChildText("SyncIntervalInSeconds"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < minSyncIntervalSeconds {
				return nil, flow.Invalid("Quota/AsynchronousConfiguration/SyncIntervalInSeconds", "invalid sync interval %q (at least %d seconds)", v, minSyncIntervalSeconds)
			}
			c.syncIntv = time.Duration(n) * time.Second
		}
		if v := ac.ChildText("SyncMessageCount"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return nil, flow.Invalid("Quota/AsynchronousConfiguration/SyncMessageCount", "invalid sync message count %q", v)
			}
			c.syncCount = n
		}
	}
	return c, nil
}

type policy struct {
	cfg   *config
	store *rtdata.QuotaStore
	env   string
	proxy string
}

var (
	fallbackMu     sync.Mutex
	fallbackStores = map[string]*rtdata.QuotaStore{}
)

// storeFor is the organization's quota store; without runtime data (unit
// tests, tools) non-distributed quotas count in a store of their own.
func storeFor(cc *flow.CompileContext, mode rtdata.QuotaMode) (*rtdata.QuotaStore, error) {
	if cc.Data != nil {
		return cc.Data.Quotas(), nil
	}
	if mode != rtdata.QuotaLocal {
		_, err := cc.NeedData()
		return nil, err
	}
	fallbackMu.Lock()
	defer fallbackMu.Unlock()
	s := fallbackStores[cc.Org]
	if s == nil {
		s = rtdata.NewQuotaStore(nil, cc.Org, nil)
		fallbackStores[cc.Org] = s
	}
	return s, nil
}

func stepLookup(cc *flow.CompileContext) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if cc.Bundle == nil {
			return "", false
		}
		p, ok := cc.Bundle.Policies[name]
		if !ok {
			return "", false
		}
		return p.Type, true
	}
}

func proxyName(cc *flow.CompileContext) string {
	if cc.Bundle != nil {
		return cc.Bundle.Name
	}
	return ""
}

// Compile compiles a <Quota> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	cfg, err := parseConfig(cc.Policy.XML, cc.Policy.Name, stepLookup(cc))
	if err != nil {
		return nil, err
	}
	st, err := storeFor(cc, cfg.mode)
	if err != nil {
		return nil, err
	}
	return &policy{cfg: cfg, store: st, env: cc.Env, proxy: proxyName(cc)}, nil
}

// lookup returns a variable's string value, unresolved as ok=false (an
// empty value counts as unresolved).
func lookup(mc *flow.MessageContext, ref string) (string, bool) {
	if ref == "" {
		return "", false
	}
	v, ok := mc.GetString(ref)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// settings are a request's resolved quota settings.
type settings struct {
	limit      int64
	interval   int
	unit       Unit
	identifier string
	class      string
	hasClass   bool
	weight     int64
}

func (c *config) fault(status int, code, format string, args ...any) *flow.Fault {
	f := flow.Errorf(status, code, format, args...)
	f.Policy = c.name
	return f
}

func (c *config) resolveWindow(mc *flow.MessageContext) (int, Unit, error) {
	interval, unit := c.interval, c.unit
	hasIntv := c.hasIntv
	if v, ok := lookup(mc, c.intvRef); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			interval, hasIntv = n, true
		}
	}
	unitVal, unitOK := lookup(mc, c.unitRef)
	if c.useProduct {
		if v, ok := lookup(mc, c.productPrefix+"apiproduct.developer.quota.interval"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				interval, hasIntv = n, true
			}
		} else if c.defHasIntv && !hasIntv {
			interval, hasIntv = c.defInterval, true
		}
		if v, ok := lookup(mc, c.productPrefix+"apiproduct.developer.quota.timeunit"); ok {
			unitVal, unitOK = v, true
		} else if c.defUnit != 0 && unit == 0 && !unitOK {
			unit = c.defUnit
		}
	}
	if !hasIntv {
		return 0, 0, c.fault(http.StatusInternalServerError, CodeIntervalUnresolved, "Failed to resolve quota interval reference %s in quota policy %s", c.intvRef, c.name)
	}
	if unitOK {
		u, ok := ParseUnit(unitVal)
		if !ok {
			return 0, 0, c.fault(http.StatusInternalServerError, CodeInvalidTimeUnit, "Invalid quota time unit %s in quota policy %s.", unitVal, c.name)
		}
		unit = u
	}
	if unit == 0 {
		return 0, 0, c.fault(http.StatusInternalServerError, CodeTimeUnitUnresolved, "Failed to resolve quota time unit reference %s in quota policy %s", c.unitRef, c.name)
	}
	return interval, unit, nil
}

func (c *config) resolve(mc *flow.MessageContext) (*settings, error) {
	s := &settings{identifier: DefaultIdentifier, weight: 1}
	var err error
	if s.interval, s.unit, err = c.resolveWindow(mc); err != nil {
		return nil, err
	}
	if v, ok := lookup(mc, c.idRef); ok {
		s.identifier = v
	}
	if c.weightRef != "" {
		if v, ok := mc.GetString(c.weightRef); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 {
				return nil, c.fault(http.StatusInternalServerError, CodeInvalidMessageWeight, "Invalid message weight value %s", v)
			}
			s.weight = n
		}
	}
	// The limit: product config, countRef, class, count, default config.
	limit, hasLimit := c.count, c.hasCount
	if c.useProduct && c.defHasCount && !hasLimit {
		limit, hasLimit = c.defCount, true
	}
	if c.classRef != "" {
		if v, ok := lookup(mc, c.classRef); ok {
			s.class, s.hasClass = v, true
			if n, ok := c.classes[v]; ok {
				limit, hasLimit = n, true
			}
		}
	}
	if v, ok := lookup(mc, c.countRef); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			limit, hasLimit = n, true
		}
	}
	if c.useProduct {
		if v, ok := lookup(mc, c.productPrefix+"apiproduct.developer.quota.limit"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				limit, hasLimit = n, true
			}
		}
	}
	if !hasLimit {
		return nil, c.fault(http.StatusInternalServerError, CodeAllowCountUnresolved, "Failed to resolve allow count reference %s in quota policy %s", c.countRef, c.name)
	}
	s.limit = limit
	return s, nil
}

func (p *policy) key(s *settings) rtdata.CounterKey {
	name := p.cfg.name
	if p.cfg.shared != "" {
		name = p.cfg.shared
	}
	id := s.identifier
	if s.hasClass {
		id = rtdata.ClassIdentifier(id, s.class)
	}
	return rtdata.CounterKey{Env: p.env, Proxy: p.proxy, Policy: name, Identifier: id}
}

// window is where a request counts.
type window struct {
	slice, since  int64
	start, expiry time.Time
	rowExpires    time.Time
	slices        []int64 // newest first (ResetQuota)
}

func (c *config) window(ctx context.Context, st *rtdata.QuotaStore, key rtdata.CounterKey, s *settings) (window, error) {
	now := st.Now()
	var w window
	switch {
	case c.typ == "flexi":
		length := Add(now, s.interval, s.unit).Sub(now)
		a, err := st.Anchor(ctx, c.mode, key, length)
		if err != nil {
			return w, err
		}
		start := time.UnixMilli(a).UTC()
		w.start, w.expiry = start, Add(start, s.interval, s.unit)
		w.slice, w.since = a, a
	case c.typ == "rollingwindow":
		slice, since, size := RollingSlices(now, s.interval, s.unit)
		w.start, w.expiry = since, now.Add(Add(now, s.interval, s.unit).Sub(now))
		w.slice, w.since = slice.UnixMilli(), since.UnixMilli()
		for t := slice; !t.Before(since); t = t.Add(-size) {
			w.slices = append(w.slices, t.UnixMilli())
		}
		w.rowExpires = slice.Add(size).Add(Add(now, s.interval, s.unit).Sub(now))
	case c.hasStart:
		w.start, w.expiry = CalendarWindow(now, c.start, s.interval, s.unit)
		w.slice, w.since = w.start.UnixMilli(), w.start.UnixMilli()
	default:
		w.start, w.expiry = AlignedWindow(now, s.interval, s.unit)
		w.slice, w.since = w.start.UnixMilli(), w.start.UnixMilli()
	}
	if w.slices == nil {
		w.slices = []int64{w.slice}
	}
	if w.rowExpires.IsZero() {
		w.rowExpires = w.expiry
	}
	return w, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	c := p.cfg
	s, err := c.resolve(mc)
	if err != nil {
		return err
	}
	key := p.key(s)
	w, err := c.window(ctx, p.store, key, s)
	if err != nil {
		return err
	}
	res, err := p.store.Apply(ctx, rtdata.QuotaOp{Key: key, Mode: c.mode, Slice: w.slice, Since: w.since, Expires: w.rowExpires,
		Weight: s.weight, Limit: s.limit, Count: !c.enfOnly, Enforce: !c.countOnly, SyncInterval: c.syncIntv, SyncCount: c.syncCount})
	if err != nil {
		return err
	}
	pre := "ratelimit." + c.name + "."
	avail := s.limit - res.Used
	if avail < 0 {
		avail = 0
	}
	exceed := int64(0)
	if !res.Allowed {
		exceed = 1
	}
	mc.SetVar(pre+"allowed.count", s.limit)
	mc.SetVar(pre+"used.count", res.Used)
	mc.SetVar(pre+"available.count", avail)
	mc.SetVar(pre+"exceed.count", exceed)
	mc.SetVar(pre+"total.exceed.count", exceed)
	mc.SetVar(pre+"expiry.time", w.expiry.UnixMilli())
	mc.SetVar(pre+"start.time", w.start.UnixMilli())
	mc.SetVar(pre+"identifier", s.identifier)
	if s.hasClass {
		mc.SetVar(pre+"class", s.class)
		mc.SetVar(pre+"class.allowed.count", s.limit)
		mc.SetVar(pre+"class.used.count", res.Used)
		mc.SetVar(pre+"class.available.count", avail)
		mc.SetVar(pre+"class.exceed.count", exceed)
		mc.SetVar(pre+"class.total.exceed.count", exceed)
	}
	if !res.Allowed {
		return c.fault(http.StatusTooManyRequests, CodeViolation, "Rate limit quota violation. Quota limit  exceeded. Identifier : %s", s.identifier)
	}
	mc.SetVar(pre+"failed", false)
	return nil
}
