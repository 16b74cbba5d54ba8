// Package backoff is the retry pacing shared by the runtime plane's
// clients of an upstream that may be away for a while (the synchronizer's
// control plane calls, the message processor's synchronizer polls, the
// Connect agent's tether streams):
// exponential growth from a first wait to a cap, with jitter so several
// replicas that failed together do not retry in lockstep.
//
// The cap is what makes recovery quick: after an outage of any length the
// next try is at most Max away, so a control plane that comes back is
// noticed within Max (plus one call).
package backoff

import (
	"math/rand/v2"
	"time"
)

// Rand returns a uniform value in [0, n) for n > 0. Tests pass a fixed
// one; nil means math/rand/v2's (goroutine-safe) source.
type Rand func(n int64) int64

// Policy is a back-off's shape.
type Policy struct {
	// Initial is the ceiling of the first wait.
	Initial time.Duration
	// Max caps every later ceiling (doubling stops there).
	Max time.Duration
	// Rand is the jitter source (nil: math/rand/v2).
	Rand Rand
	// FullJitter draws each wait from all of (0, ceiling] instead of its
	// upper half: more spread for many clients reconnecting at once (the
	// Connect agent's tether streams), at the price of short waits.
	FullJitter bool
}

// Backoff hands out successive waits for one retry loop. It is not safe
// for concurrent use: each loop has its own.
type Backoff struct {
	p    Policy
	ceil time.Duration
}

// New starts a back-off at p.Initial. A non-positive Initial is taken as
// Max, and a Max below Initial as Initial, so a misconfiguration can slow
// retries but never turn them into a busy loop.
func New(p Policy) *Backoff {
	if p.Initial <= 0 {
		p.Initial = p.Max
	}
	if p.Initial <= 0 {
		p.Initial = time.Millisecond
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.Rand == nil {
		p.Rand = rand.Int64N
	}
	return &Backoff{p: p, ceil: p.Initial}
}

// Next is the wait before the next retry, with equal jitter (unless
// FullJitter): half the current ceiling fixed, the other half random, so waits still grow (a
// struggling upstream gets relief) yet spread across replicas. The
// ceiling then doubles, up to Max.
func (b *Backoff) Next() time.Duration {
	var d time.Duration
	if b.p.FullJitter {
		d = 1 + time.Duration(b.p.Rand(int64(b.ceil))) // never 0: no busy loop
	} else {
		half := b.ceil / 2
		d = half + time.Duration(b.p.Rand(int64(b.ceil-half)+1))
	}
	b.ceil = min(b.ceil*2, b.p.Max)
	return d
}

// Reset goes back to the first wait, after a success.
func (b *Backoff) Reset() { b.ceil = b.p.Initial }

// Max is the longest wait Next can return.
func (b *Backoff) Max() time.Duration { return b.p.Max }
