package cache

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// DefaultTimeout is how long an entry lives when <ExpirySettings> sets
// nothing that resolves. Apigee documents no default; 300 s is the
// default expiry of Apigee's environment caches, which this runtime takes.
const DefaultTimeout = 300 * time.Second

// setting is one child of <ExpirySettings>: a literal, or a ref with the
// literal as fallback.
type setting struct {
	ref, lit string
	present  bool
}

func (s setting) value(mc *flow.MessageContext) (string, bool) {
	if !s.present {
		return "", false
	}
	if s.ref != "" {
		if v, ok := mc.GetString(s.ref); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), true
		}
	}
	return s.lit, s.lit != ""
}

// expiry is a compiled <ExpirySettings>. Precedence, as Apigee documents:
// <TimeoutInSeconds> (or the deprecated <TimeoutInSec>) overrides
// <TimeOfDay> and <ExpiryDate>; of those two, <TimeOfDay> is taken first.
type expiry struct {
	timeout, timeOfDay, date setting
}

// set reports whether any setting is configured.
func (e *expiry) set() bool { return e.timeout.present || e.timeOfDay.present || e.date.present }

// compileExpiry reads <ExpirySettings>; literals must parse.
func compileExpiry(typ string, el *xmltree.Element) (expiry, error) {
	var e expiry
	if el == nil {
		return e, nil
	}
	where := typ + "/ExpirySettings"
	if err := onlyChildren(where, el, "TimeoutInSeconds", "TimeoutInSec", "TimeOfDay", "ExpiryDate"); err != nil {
		return e, err
	}
	read := func(name string, parse func(string) error) (setting, error) {
		c := el.Child(name)
		if c == nil {
			return setting{}, nil
		}
		s := setting{ref: c.Attr("ref"), lit: c.Text}
		s.present = s.ref != "" || s.lit != ""
		if s.lit != "" {
			if err := parse(s.lit); err != nil {
				return s, flow.Invalid(where+"/"+name, "%v", err)
			}
		}
		return s, nil
	}
	var err error
	if e.timeout, err = read("TimeoutInSeconds", func(v string) error { _, err := parseTimeout(v); return err }); err != nil {
		return e, err
	}
	if !e.timeout.present {
		if e.timeout, err = read("TimeoutInSec", func(v string) error { _, err := parseTimeout(v); return err }); err != nil {
			return e, err
		}
	}
	if e.timeOfDay, err = read("TimeOfDay", func(v string) error { _, err := parseTimeOfDay(v); return err }); err != nil {
		return e, err
	}
	if e.date, err = read("ExpiryDate", func(v string) error { _, err := parseExpiryDate(v); return err }); err != nil {
		return e, err
	}
	return e, nil
}

// at is when an entry written now expires, and whether a setting resolved
// (false: the caller's default applies). A ref that resolves to something
// that does not parse counts as unset.
func (e *expiry) at(mc *flow.MessageContext, now time.Time) (time.Time, bool) {
	if v, ok := e.timeout.value(mc); ok {
		if d, err := parseTimeout(v); err == nil {
			return now.Add(d), true
		}
	}
	if v, ok := e.timeOfDay.value(mc); ok {
		if tod, err := parseTimeOfDay(v); err == nil {
			return nextTimeOfDay(now, tod), true
		}
	}
	if v, ok := e.date.value(mc); ok {
		if d, err := parseExpiryDate(v); err == nil {
			return d, true
		}
	}
	return time.Time{}, false
}

// parseTimeout parses a number of seconds (not negative).
func parseTimeout(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("InvalidTimeout: %q is not a number of seconds", s)
	}
	if n > int64(maxSeconds) {
		n = int64(maxSeconds)
	}
	return time.Duration(n) * time.Second, nil
}

// maxSeconds keeps a timeout's Duration from overflowing (entries are cut
// to 30 days anyway).
const maxSeconds = 1 << 32

// parseTimeOfDay parses Apigee's hh:mm:ss (24-hour clock) into the offset
// from midnight.
func parseTimeOfDay(s string) (time.Duration, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("TimeOfDay %q is not hh:mm:ss", s)
	}
	var v [3]int
	limits := [3]int{23, 59, 59}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) == 0 || len(p) > 2 || n < 0 || n > limits[i] {
			return 0, fmt.Errorf("TimeOfDay %q is not hh:mm:ss", s)
		}
		v[i] = n
	}
	return time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second, nil
}

// nextTimeOfDay is the next time (UTC) the clock shows tod after now.
func nextTimeOfDay(now time.Time, tod time.Duration) time.Time {
	now = now.UTC()
	t := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(tod)
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// parseExpiryDate parses Apigee's mm-dd-yyyy: the entry expires at the
// start of that day (UTC).
func parseExpiryDate(s string) (time.Time, error) {
	t, err := time.Parse("01-02-2006", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("ExpiryDate %q is not mm-dd-yyyy", s)
	}
	return t, nil
}
