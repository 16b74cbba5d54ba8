package spikearrest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRate(t *testing.T) {
	for s, want := range map[string]Rate{"10ps": {10, time.Second}, "30pm": {30, time.Minute}, " 1ps ": {1, time.Second}} {
		r, ok := ParseRate(s)
		require.True(t, ok, s)
		require.Equal(t, want, r)
	}
	for _, s := range []string{"", "30s", "30.1ps", "0ps", "-1pm", "ps", "10 ps", "10PS"} {
		_, ok := ParseRate(s)
		require.False(t, ok, s)
	}
}

func TestRateString(t *testing.T) {
	r, _ := ParseRate("10ps")
	require.Equal(t, "MessageRate{messagesPerPeriod=10, periodInMicroseconds=1000000, maxBurstMessageCount=1.0}", r.String())
	r, _ = ParseRate("100pm")
	require.Equal(t, "MessageRate{messagesPerPeriod=100, periodInMicroseconds=60000000, maxBurstMessageCount=1.6666666666666667}", r.String())
}

// run sends messages at the given offsets and reports which were allowed.
func run(r Rate, effective bool, w int64, offsets ...time.Duration) []bool {
	base := time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC)
	var tat time.Time
	var out []bool
	for _, off := range offsets {
		ok, next := Allow(tat, base.Add(off), r, w, effective)
		if ok {
			tat = next
		}
		out = append(out, ok)
	}
	return out
}

func TestSmoothing(t *testing.T) {
	ms := time.Millisecond
	tenPS, _ := ParseRate("10ps")
	// At most one message per 100 ms.
	require.Equal(t, []bool{true, false, false, true, false, true},
		run(tenPS, false, 1, 0, 0, 99*ms, 100*ms, 150*ms, 200*ms))
	thirtyPM, _ := ParseRate("30pm")
	// One message every 2 s.
	require.Equal(t, []bool{true, false, true, false, true},
		run(thirtyPM, false, 1, 0, time.Second, 2*time.Second, 3999*ms, 4*time.Second))
	// 100ps allows bursts of 10 per 100 ms slot.
	hundredPS, _ := ParseRate("100ps")
	offs := make([]time.Duration, 11)
	got := run(hundredPS, false, 1, offs...)
	require.Equal(t, 10, count(got))
	// A weight of 2 uses two slots.
	require.Equal(t, []bool{true, false, true}, run(tenPS, false, 2, 0, 100*ms, 200*ms))
}

func TestEffectiveCount(t *testing.T) {
	tenPM, _ := ParseRate("10pm")
	offs := make([]time.Duration, 12)
	// The whole rate is available at once.
	require.Equal(t, 10, count(run(tenPM, true, 1, offs...)))
	// Without it, one message per 6 s.
	require.Equal(t, 1, count(run(tenPM, false, 1, offs...)))
	// Tokens come back at the rate: after 6 s one more.
	got := run(tenPM, true, 1, append(offs, 6*time.Second, 6*time.Second)...)
	require.Equal(t, []bool{true, false}, got[12:])
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}
