package backoff

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fixed is a jitter source that always answers the same fraction of n.
func fixed(num, den int64) Rand {
	return func(n int64) int64 { return n * num / den }
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		want []time.Duration
	}{
		{"no jitter: the floor doubles to the cap", Policy{Initial: time.Second, Max: 3 * time.Second, Rand: fixed(0, 1)},
			[]time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond}},
		{"most jitter: the ceiling, never above the cap", Policy{Initial: time.Second, Max: 3 * time.Second, Rand: func(n int64) int64 { return n - 1 }},
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{"half jitter", Policy{Initial: 200 * time.Millisecond, Max: 800 * time.Millisecond, Rand: fixed(1, 2)},
			[]time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond, 600 * time.Millisecond}},
		{"max below initial is raised to initial", Policy{Initial: time.Second, Max: time.Millisecond, Rand: fixed(0, 1)},
			[]time.Duration{500 * time.Millisecond, 500 * time.Millisecond}},
		{"no initial starts at the cap", Policy{Max: 2 * time.Second, Rand: fixed(0, 1)},
			[]time.Duration{time.Second, time.Second}},
		{"full jitter, least: never zero", Policy{Initial: time.Second, Max: 2 * time.Second, Rand: fixed(0, 1), FullJitter: true},
			[]time.Duration{time.Nanosecond, time.Nanosecond}},
		{"full jitter, most: the ceiling", Policy{Initial: time.Second, Max: 3 * time.Second, Rand: func(n int64) int64 { return n - 1 }, FullJitter: true},
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.p)
			for i, want := range tc.want {
				require.InDelta(t, want, b.Next(), float64(time.Nanosecond), "wait %d", i)
			}
		})
	}
}

func TestBackoffResetAndBounds(t *testing.T) {
	// A seeded source: the test draws from no global state.
	b := New(Policy{Initial: 100 * time.Millisecond, Max: time.Second, Rand: rand.New(rand.NewPCG(1, 2)).Int64N})
	for range 100 {
		d := b.Next()
		require.GreaterOrEqual(t, d, 50*time.Millisecond)
		require.LessOrEqual(t, d, time.Second)
	}
	require.Equal(t, time.Second, b.Max())
	b.Reset()
	require.LessOrEqual(t, b.Next(), 100*time.Millisecond, "back to the first wait")
}
