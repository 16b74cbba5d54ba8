package quota

import (
	"strings"
	"time"
)

// Unit is a quota <TimeUnit>.
type Unit int

// Time units.
const (
	Minute Unit = iota + 1
	Hour
	Day
	Week
	Month
)

var unitNames = map[string]Unit{"minute": Minute, "hour": Hour, "day": Day, "week": Week, "month": Month}

// ParseUnit parses a <TimeUnit> value (case-insensitive).
func ParseUnit(s string) (Unit, bool) {
	u, ok := unitNames[strings.ToLower(strings.TrimSpace(s))]
	return u, ok
}

// nominal is a unit's length; months are 30 days (used only for rolling
// window slice sizes).
func (u Unit) nominal() time.Duration {
	switch u {
	case Minute:
		return time.Minute
	case Hour:
		return time.Hour
	case Day:
		return 24 * time.Hour
	case Week:
		return 7 * 24 * time.Hour
	default:
		return 30 * 24 * time.Hour
	}
}

// Add returns t plus n units; months keep the day of month, clamped to
// the month's last day (Jan 31 + 1 month = Feb 28/29).
func Add(t time.Time, n int, u Unit) time.Time {
	if u != Month {
		return t.Add(time.Duration(n) * u.nominal())
	}
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// epochWeek is the Monday the default weekly grid starts from: Apigee's
// default weekly quotas reset at midnight GMT between Sunday and Monday.
var epochWeek = time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)

// AlignedWindow is the default quota type's window: it starts at the top
// of the minute/hour/day (GMT), on Monday 00:00 GMT for weeks and on the
// first of the month, on a grid of n units counted from the Unix epoch so
// that consecutive windows do not overlap when n > 1.
func AlignedWindow(now time.Time, n int, u Unit) (start, end time.Time) {
	now = now.UTC()
	if n < 1 {
		n = 1
	}
	switch u {
	case Month:
		months := (now.Year()-1970)*12 + int(now.Month()) - 1
		k := months / n * n
		start = time.Date(1970, time.Month(1+k), 1, 0, 0, 0, 0, time.UTC)
		return start, Add(start, n, Month)
	case Week:
		return gridWindow(now, epochWeek, time.Duration(n)*u.nominal())
	default:
		return gridWindow(now, time.Unix(0, 0).UTC(), time.Duration(n)*u.nominal())
	}
}

func gridWindow(now, origin time.Time, length time.Duration) (start, end time.Time) {
	d := now.Sub(origin)
	k := d / length
	if d < 0 && d%length != 0 {
		k--
	}
	start = origin.Add(k * length)
	return start, start.Add(length)
}

// CalendarWindow is the calendar type's window: windows of n units follow
// one another from <StartTime>; before StartTime the window is the one
// that ends at StartTime.
func CalendarWindow(now, startTime time.Time, n int, u Unit) (start, end time.Time) {
	now, startTime = now.UTC(), startTime.UTC()
	if n < 1 {
		n = 1
	}
	if u != Month {
		return gridWindow(now, startTime, time.Duration(n)*u.nominal())
	}
	months := (now.Year()-startTime.Year())*12 + int(now.Month()) - int(startTime.Month())
	k := months / n
	if months < 0 && months%n != 0 {
		k--
	}
	start = Add(startTime, k*n, Month)
	for start.After(now) {
		k--
		start = Add(startTime, k*n, Month)
	}
	for {
		next := Add(startTime, (k+1)*n, Month)
		if next.After(now) {
			return start, next
		}
		k++
		start = next
	}
}

// RollingSlices splits a rolling window of n units into slices of a
// fixed size (a sixtieth of the window, at least one second) so that
// counts can be kept per slice. The request at now counts in the slice
// starting at slice; the window sums slices starting at or after since
// (every slice that overlaps (now-window, now]: the window is at most one
// slice longer than configured, never shorter).
func RollingSlices(now time.Time, n int, u Unit) (slice, since time.Time, size time.Duration) {
	if n < 1 {
		n = 1
	}
	size = (time.Duration(n) * u.nominal() / 60).Truncate(time.Second)
	if size < time.Second {
		size = time.Second
	}
	origin := time.Unix(0, 0).UTC()
	slice, _ = gridWindow(now, origin, size)
	since, _ = gridWindow(Add(now.UTC(), -n, u), origin, size)
	return slice, since, size
}
