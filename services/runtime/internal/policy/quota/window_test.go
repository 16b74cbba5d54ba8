package quota

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ts(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	require.NoError(tb, err)
	return t
}

func TestAlignedWindow(t *testing.T) {
	for _, tc := range []struct {
		now        string
		n          int
		u          Unit
		start, end string
	}{
		{"2026-12-04T21:07:31Z", 1, Minute, "2026-12-04T21:07:00Z", "2026-12-04T21:08:00Z"},
		{"2026-12-04T21:07:31Z", 5, Minute, "2026-12-04T21:05:00Z", "2026-12-04T21:10:00Z"},
		{"2026-12-04T21:07:31Z", 1, Hour, "2026-12-04T21:00:00Z", "2026-12-04T22:00:00Z"},
		{"2026-12-04T21:07:31Z", 1, Day, "2026-12-04T00:00:00Z", "2026-12-05T00:00:00Z"},
		// 2026-12-04 is a Friday: the week runs Monday to Sunday midnight GMT.
		{"2026-12-04T21:07:31Z", 1, Week, "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"},
		{"2026-12-07T00:00:00Z", 1, Week, "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z"},
		{"2026-12-04T21:07:31Z", 1, Month, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"2026-02-28T23:59:59Z", 1, Month, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		// Months on a grid from January 1970: 3-month windows are quarters.
		{"2026-11-15T10:00:00Z", 3, Month, "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		// Another zone is normalized to GMT.
		{"2026-12-04T23:30:00-05:00", 1, Day, "2026-12-05T00:00:00Z", "2026-12-06T00:00:00Z"},
	} {
		s, e := AlignedWindow(ts(t, tc.now), tc.n, tc.u)
		require.Equal(t, ts(t, tc.start), s, "%s %d %d", tc.now, tc.n, tc.u)
		require.Equal(t, ts(t, tc.end), e, "%s %d %d", tc.now, tc.n, tc.u)
	}
}

func TestCalendarWindow(t *testing.T) {
	for _, tc := range []struct {
		now, startTime string
		n              int
		u              Unit
		start, end     string
	}{
		{"2026-12-04T21:07:31Z", "2026-01-01T12:00:00Z", 1, Hour, "2026-12-04T21:00:00Z", "2026-12-04T22:00:00Z"},
		{"2026-12-04T21:07:31Z", "2026-01-01T12:30:00Z", 1, Hour, "2026-12-04T20:30:00Z", "2026-12-04T21:30:00Z"},
		{"2026-12-04T21:07:31Z", "2026-12-04T21:05:10Z", 2, Minute, "2026-12-04T21:07:10Z", "2026-12-04T21:09:10Z"},
		{"2026-12-04T21:07:31Z", "2026-12-01T06:00:00Z", 1, Day, "2026-12-04T06:00:00Z", "2026-12-05T06:00:00Z"},
		{"2026-12-04T21:07:31Z", "2026-11-03T00:00:00Z", 1, Week, "2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z"},
		// Months keep StartTime's day, clamped to the month's last day.
		{"2026-12-04T21:07:31Z", "2026-01-15T00:00:00Z", 1, Month, "2026-11-15T00:00:00Z", "2026-12-15T00:00:00Z"},
		{"2026-02-28T10:00:00Z", "2026-01-31T00:00:00Z", 1, Month, "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"},
		{"2026-02-27T10:00:00Z", "2026-01-31T00:00:00Z", 1, Month, "2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z"},
		{"2024-02-29T10:00:00Z", "2023-12-31T00:00:00Z", 2, Month, "2024-02-29T00:00:00Z", "2024-04-30T00:00:00Z"},
		// Before StartTime: the window that ends at StartTime.
		{"2026-12-04T21:07:31Z", "2026-12-04T22:00:00Z", 1, Hour, "2026-12-04T21:00:00Z", "2026-12-04T22:00:00Z"},
		{"2026-10-20T00:00:00Z", "2026-12-15T00:00:00Z", 1, Month, "2026-10-15T00:00:00Z", "2026-11-15T00:00:00Z"},
	} {
		s, e := CalendarWindow(ts(t, tc.now), ts(t, tc.startTime), tc.n, tc.u)
		require.Equal(t, ts(t, tc.start), s, "%s from %s", tc.now, tc.startTime)
		require.Equal(t, ts(t, tc.end), e, "%s from %s", tc.now, tc.startTime)
	}
}

func TestRollingSlices(t *testing.T) {
	now := ts(t, "2026-12-04T21:07:31.500Z")
	slice, since, size := RollingSlices(now, 1, Minute)
	require.Equal(t, time.Second, size)
	require.Equal(t, ts(t, "2026-12-04T21:07:31Z"), slice)
	require.Equal(t, ts(t, "2026-12-04T21:06:31Z"), since)

	slice, since, size = RollingSlices(now, 1, Hour)
	require.Equal(t, time.Minute, size)
	require.Equal(t, ts(t, "2026-12-04T21:07:00Z"), slice)
	require.Equal(t, ts(t, "2026-12-04T20:07:00Z"), since)

	// A request counted in one slice stays in the window for a full
	// window, and leaves it one slice later at most.
	first := ts(t, "2026-12-04T21:00:00.200Z")
	s0, _, _ := RollingSlices(first, 1, Minute)
	_, since, _ = RollingSlices(first.Add(60*time.Second), 1, Minute)
	require.False(t, s0.Before(since), "still counted at +60s")
	_, since, _ = RollingSlices(first.Add(61*time.Second), 1, Minute)
	require.True(t, s0.Before(since), "gone at +61s")

	// Months: slices of 12 h, window one calendar month back.
	slice, since, size = RollingSlices(ts(t, "2026-03-31T13:00:00Z"), 1, Month)
	require.Equal(t, 12*time.Hour, size)
	require.Equal(t, ts(t, "2026-03-31T12:00:00Z"), slice)
	require.Equal(t, ts(t, "2026-02-28T12:00:00Z"), since)
}

func TestAdd(t *testing.T) {
	require.Equal(t, ts(t, "2026-02-28T00:00:00Z"), Add(ts(t, "2026-01-31T00:00:00Z"), 1, Month))
	require.Equal(t, ts(t, "2025-12-31T00:00:00Z"), Add(ts(t, "2026-01-31T00:00:00Z"), -1, Month))
	require.Equal(t, ts(t, "2026-01-08T00:00:00Z"), Add(ts(t, "2026-01-01T00:00:00Z"), 1, Week))
}

func TestParseUnit(t *testing.T) {
	for s, want := range map[string]Unit{"minute": Minute, "Hour": Hour, "DAY": Day, "week": Week, " month ": Month} {
		u, ok := ParseUnit(s)
		require.True(t, ok, s)
		require.Equal(t, want, u)
	}
	for _, s := range []string{"", "second", "minutes", "year"} {
		_, ok := ParseUnit(s)
		require.False(t, ok, s)
	}
}
