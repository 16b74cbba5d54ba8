// Package spikearrest implements the SpikeArrest policy.
//
// # Smoothing
//
// A <Rate> of Nps or Npm is not a count per second or minute: as in Apigee
// it is smoothed. Per-second rates are enforced over 100 ms slots, each
// allowing N/10 messages (10ps: one message per 100 ms); per-minute rates
// over 1 s slots allowing N/60 (30pm: one message every 2 s). The policy
// keeps, per identifier, the theoretical arrival time of the next message
// (GCRA, a token bucket kept as one timestamp): a message of weight w is
// allowed when it fits in a bucket of max(1, burst) tokens that refills at
// N per period, burst being N/10 (ps) or N/60 (pm).
//
// With <UseEffectiveCount>true</UseEffectiveCount> the bucket holds the
// whole rate (N tokens, refilled at N per period): a sliding token bucket
// that allows bursts up to the rate. Apigee shares that bucket across the
// message processors of a region; here it is kept in each message
// processor's memory (an exact shared bucket would cost a Cassandra
// lightweight transaction per request, which SpikeArrest exists to avoid),
// so with several MPs the effective rate is N per MP.
//
// Time is the runtime data store's clock (rtdata.Store.Now) when the
// runtime has one.
package spikearrest

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// Error codes.
const (
	CodeViolation          = "policies.ratelimit.SpikeArrestViolation"
	CodeInvalidWeight      = "policies.ratelimit.InvalidMessageWeight"
	CodeInvalidRate        = "policies.ratelimit.InvalidAllowedRate"
	CodeRateUnresolved     = "policies.ratelimit.FailedToResolveSpikeArrestRate"
	defaultIdentifierValue = "_default"
)

// Rate is a parsed <Rate>.
type Rate struct {
	N      int64
	Period time.Duration // time.Second or time.Minute
}

var rateRE = regexp.MustCompile(`^([0-9]+)(ps|pm)$`)

// ParseRate parses "Nps" or "Npm" (N a positive integer).
func ParseRate(s string) (Rate, bool) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Rate{}, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n < 1 {
		return Rate{}, false
	}
	if m[2] == "ps" {
		return Rate{N: n, Period: time.Second}, true
	}
	return Rate{N: n, Period: time.Minute}, true
}

// Interval is the emission interval: one token per Interval.
func (r Rate) Interval() time.Duration { return r.Period / time.Duration(r.N) }

// Burst is Apigee's maxBurstMessageCount: the messages one smoothing slot
// (100 ms for ps, 1 s for pm) allows.
func (r Rate) Burst() float64 {
	if r.Period == time.Second {
		return float64(r.N) / 10
	}
	return float64(r.N) / 60
}

// Capacity is the bucket size in tokens.
func (r Rate) Capacity(effectiveCount bool) float64 {
	if effectiveCount {
		return float64(r.N)
	}
	return max(1, r.Burst())
}

func (r Rate) String() string {
	b := strconv.FormatFloat(r.Burst(), 'f', -1, 64)
	if !strings.Contains(b, ".") {
		b += ".0"
	}
	return fmt.Sprintf("MessageRate{messagesPerPeriod=%d, periodInMicroseconds=%d, maxBurstMessageCount=%s}", r.N, r.Period.Microseconds(), b)
}

// Allow applies GCRA to the theoretical arrival time tat: it reports
// whether a message of weight w (w tokens) arriving at now fits, and the
// new tat.
func Allow(tat, now time.Time, r Rate, w int64, effectiveCount bool) (bool, time.Time) {
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(time.Duration(w) * r.Interval())
	// A message heavier than the bucket passes only when the bucket is full.
	limit := time.Duration(max(r.Capacity(effectiveCount), float64(w)) * float64(r.Interval()))
	if next.Sub(now) > limit {
		return false, tat
	}
	return true, next
}

type policy struct {
	name      string
	rate      Rate
	hasRate   bool
	rateRef   string
	idRef     string
	weightRef string
	effective bool
	prefix    string
	now       func() time.Time
}

// buckets are every SpikeArrest's state in this MP: key → tat.
var (
	bucketsMu sync.Mutex
	buckets   = map[string]time.Time{}
	ops       int
)

// Compile compiles a <SpikeArrest> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("SpikeArrest", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, now: time.Now}
	if cc.Data != nil {
		p.now = cc.Data.Now
	}
	rate := root.Child("Rate")
	if rate == nil {
		return nil, flow.Invalid("SpikeArrest/Rate", "<Rate> is required")
	}
	p.rateRef = rate.Attr("ref")
	if rate.Text != "" {
		r, ok := ParseRate(rate.Text)
		if !ok {
			return nil, flow.Invalid("SpikeArrest/Rate", "Invalid spike arrest rate %s. (an integer followed by ps or pm)", rate.Text)
		}
		p.rate, p.hasRate = r, true
	}
	if !p.hasRate && p.rateRef == "" {
		return nil, flow.Invalid("SpikeArrest/Rate", "<Rate> needs a value or a ref")
	}
	p.idRef = root.Child("Identifier").Attr("ref")
	p.weightRef = root.Child("MessageWeight").Attr("ref")
	if p.effective, err = root.Bool("UseEffectiveCount", false); err != nil {
		return nil, flow.Invalid("SpikeArrest/UseEffectiveCount", "%v", err)
	}
	proxy := ""
	if cc.Bundle != nil {
		proxy = cc.Bundle.Name
	}
	p.prefix = strings.Join([]string{cc.Org, cc.Env, proxy, p.name}, "\x00") + "\x00"
	return p, nil
}

func (p *policy) fault(status int, code, format string, args ...any) *flow.Fault {
	f := flow.Errorf(status, code, format, args...)
	f.Policy = p.name
	return f
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	rate, hasRate := p.rate, p.hasRate
	if p.rateRef != "" {
		if v, ok := mc.GetString(p.rateRef); ok && strings.TrimSpace(v) != "" {
			r, ok := ParseRate(v)
			if !ok {
				return p.fault(http.StatusInternalServerError, CodeInvalidRate, "Invalid spike arrest rate %s.", v)
			}
			rate, hasRate = r, true
		}
	}
	if !hasRate {
		return p.fault(http.StatusInternalServerError, CodeRateUnresolved, "Failed to resolve Spike Arrest Rate reference %s in SpikeArrest policy %s", p.rateRef, p.name)
	}
	w := int64(1)
	if p.weightRef != "" {
		if v, ok := mc.GetString(p.weightRef); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 {
				return p.fault(http.StatusInternalServerError, CodeInvalidWeight, "Invalid message weight value %s", v)
			}
			w = n
		}
	}
	id := defaultIdentifierValue
	if p.idRef != "" {
		if v, ok := mc.GetString(p.idRef); ok && v != "" {
			id = v
		}
	}
	key := p.prefix + id
	now := p.now()
	bucketsMu.Lock()
	ops++
	if ops%4096 == 0 {
		for k, t := range buckets {
			if t.Before(now) {
				delete(buckets, k) // an empty bucket: same as none
			}
		}
	}
	ok, tat := Allow(buckets[key], now, rate, w, p.effective)
	if ok {
		buckets[key] = tat
	}
	bucketsMu.Unlock()
	if !ok {
		return p.fault(http.StatusTooManyRequests, CodeViolation, "Spike arrest violation. Allowed rate : %s", rate)
	}
	mc.SetVar("ratelimit."+p.name+".failed", false)
	return nil
}
