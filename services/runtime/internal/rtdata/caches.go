package rtdata

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Caches: the entries of the PopulateCache, LookupCache, InvalidateCache
// and ResponseCache policies.
//
// Two levels, as in Apigee (its "cache internals" page): the shared,
// persistent level is kms_<org>.cache_entries in Cassandra (pkg/store),
// which every message processor reads and writes; in front of it each
// message processor keeps what it wrote or read in memory (L1) for at most
// L1TTL — Apigee documents its own L1 as a one-second cache — and never
// past the entry's expiry. So:
//
//   - an entry populated on one message processor is a hit on every other
//     at once (a miss is never remembered in L1);
//   - an InvalidateCache (or a cache cleared through the control plane)
//     takes effect on the message processor that ran it at once, and on
//     the others within L1TTL, when their in-memory copies lapse: the
//     bound of staleness is L1TTL, eventually consistent as Apigee's;
//   - a value over store.MaxCacheValueBytes (256 KB) is not written to the
//     shared level, as Apigee documents for entries over 256 KB: it lives
//     only in the L1 of the message processor that populated it;
//   - a key over store.MaxCacheKeyBytes (2 KB) is never cached: populating
//     it does nothing and looking it up misses.
//
// Time is the Store's clock, so tests move expiry and the L1 bound without
// sleeping.

// L1TTL bounds how long a message processor serves an entry from memory
// without reading the shared level: how stale another message processor's
// invalidation can leave it.
const L1TTL = time.Second

// Caches is the organization's cache entries as one message processor sees
// them. It is safe for concurrent use.
type Caches struct {
	org   string
	store *store.Caches
	now   func() time.Time
	l1    *cache[l1Key, l1Entry]

	mu sync.Mutex
	// gens are per-cache generations: bumping one orphans every L1 entry
	// of that cache at once (a prefix purge or a clear on this MP).
	gens map[cacheID]uint64
}

type cacheID struct{ env, cache string }

type l1Key struct {
	id  cacheID
	gen uint64
	key string
}

type l1Entry struct {
	value   []byte
	expires time.Time
}

func newCaches(s *Store) *Caches {
	st := store.NewCaches(s.session)
	st.Now = s.opts.Now
	return &Caches{org: s.org, store: st, now: s.opts.Now, l1: newCache[l1Key, l1Entry](s.opts.MaxEntries, s.opts.Now), gens: map[cacheID]uint64{}}
}

// Caches returns the organization's cache entries.
func (s *Store) Caches() *Caches { return s.caches }

// Now is the clock entries expire by.
func (c *Caches) Now() time.Time { return c.now() }

func (c *Caches) gen(id cacheID) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[id]
}

func (c *Caches) bump(id cacheID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[id]++
}

// l1TTL is how long an entry expiring at expires may stay in L1.
func (c *Caches) l1TTL(expires time.Time) time.Duration {
	return min(L1TTL, expires.Sub(c.now()))
}

// Get looks an entry up in environment env's cache ("" is the shared
// default cache). The value is shared: callers must not modify it.
// A read error of the shared level is returned; callers treat it as a
// miss (Apigee: an unsuccessful lookup is a miss).
func (c *Caches) Get(ctx context.Context, env, cache, key string) (value []byte, hit bool, err error) {
	if key == "" || len(key) > store.MaxCacheKeyBytes {
		return nil, false, nil
	}
	id := cacheID{env, cache}
	k := l1Key{id: id, gen: c.gen(id), key: key}
	if e, ok := c.l1.get(k); ok {
		return e.value, true, nil
	}
	e, err := c.store.Get(ctx, c.org, env, cache, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	c.l1.put(k, l1Entry{value: e.Value, expires: e.ExpiresAt}, c.l1TTL(e.ExpiresAt))
	return e.Value, true, nil
}

// Put stores an entry until expires (at most store.MaxCacheTTL from now).
// An expiry that has passed, or a key over the limit, stores nothing; a
// value over the limit stays in this message processor's L1 only. shared
// reports whether the entry reached the shared level.
func (c *Caches) Put(ctx context.Context, env, cache, key string, value []byte, expires time.Time) (shared bool, err error) {
	now := c.now()
	if key == "" || len(key) > store.MaxCacheKeyBytes || !expires.After(now) {
		return false, nil
	}
	if limit := now.Add(store.MaxCacheTTL); expires.After(limit) {
		expires = limit
	}
	id := cacheID{env, cache}
	c.l1.put(l1Key{id: id, gen: c.gen(id), key: key}, l1Entry{value: value, expires: expires}, c.l1TTL(expires))
	if len(value) > store.MaxCacheValueBytes {
		return false, nil
	}
	if err := c.store.Put(ctx, c.org, env, cache, key, value, expires); err != nil {
		return false, err
	}
	return true, nil
}

// Invalidate removes an entry and, with children, every entry whose key
// extends it by further fragments (key + "__" …), here at once and in the
// shared level; other message processors stop serving it within L1TTL.
func (c *Caches) Invalidate(ctx context.Context, env, cache, key string, children bool) error {
	if key == "" || len(key) > store.MaxCacheKeyBytes {
		return nil
	}
	id := cacheID{env, cache}
	forget := func() {
		if children {
			c.bump(id)
		} else {
			c.l1.remove(l1Key{id: id, gen: c.gen(id), key: key})
		}
	}
	// Before and after the shared delete: a lookup on this MP that read the
	// old entry in between must not leave it in L1.
	forget()
	defer forget()
	if err := c.store.Delete(ctx, c.org, env, cache, key); err != nil {
		return err
	}
	if children && len(key)+len(KeySeparator) <= store.MaxCacheKeyBytes {
		return c.store.DeletePrefix(ctx, c.org, env, cache, key+KeySeparator)
	}
	return nil
}

// Clear removes every entry of an environment cache, here and in the
// shared level.
func (c *Caches) Clear(ctx context.Context, env, cache string) error {
	c.bump(cacheID{env, cache})
	defer c.bump(cacheID{env, cache})
	return c.store.Clear(ctx, c.org, env, cache)
}

// KeySeparator joins the parts of a cache key (Apigee's "__").
const KeySeparator = "__"
