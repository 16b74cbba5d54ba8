package store

import (
	"context"
	"fmt"
	"math"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// CacheEntriesTable is the table in kms_<org> that holds the cache entries
// of the PopulateCache, LookupCache, InvalidateCache and ResponseCache
// policies (migration 0005_cache.cql): the persistent level every message
// processor shares. The message processor keeps a short-lived copy in
// memory in front of it (services/runtime/internal/rtdata/caches.go).
const CacheEntriesTable = "cache_entries"

// Limits Apigee documents for its caches.
const (
	// MaxCacheKeyBytes: "Cache keys are limited to a size of 2 KB" (the
	// cache policies' <CacheKey> reference).
	MaxCacheKeyBytes = 2 << 10
	// MaxCacheValueBytes: the persistent cache takes entries of up to
	// 256 KB; larger ones stay in the message processor's memory only
	// (Apigee's "caching large" antipattern page).
	MaxCacheValueBytes = 256 << 10
	// MaxCacheTTL is the longest an entry is kept: 30 days.
	MaxCacheTTL = 30 * 24 * time.Hour
)

// cacheTTLSlack keeps a row a little past its expiry, so a reader whose
// clock is slightly behind still finds and refuses it by expires_at rather
// than by the row's absence (same answer, but no surprise in tests).
const cacheTTLSlack = 60 * time.Second

// CacheEntry is a stored cache value and when it stops being served.
type CacheEntry struct {
	Value     []byte
	ExpiresAt time.Time
}

// Caches is the cache entries of every organization's environments. A
// cache is an environment's <CacheResource> by name; "" is the
// environment's shared default cache.
type Caches struct {
	session *gocql.Session
	// Now is the clock entries expire by; tests may replace it.
	Now func() time.Time
}

// NewCaches returns the cache entries access for a session.
func NewCaches(s *gocql.Session) *Caches { return &Caches{session: s, Now: time.Now} }

func cacheTable(org string) string { return kmsKS(org) + "." + CacheEntriesTable }

func checkCacheKey(env, key string) error {
	if env == "" {
		return errorf(ErrInvalid, "A cache entry needs an environment.")
	}
	if key == "" {
		return errorf(ErrInvalid, "A cache key must not be empty.")
	}
	if len(key) > MaxCacheKeyBytes {
		return errorf(ErrInvalid, "Cache key of %d bytes exceeds the limit of %d bytes.", len(key), MaxCacheKeyBytes)
	}
	return nil
}

// Get reads an entry. A missing or expired entry is ErrNotFound.
func (c *Caches) Get(ctx context.Context, org, env, cache, key string) (*CacheEntry, error) {
	if err := checkCacheKey(env, key); err != nil {
		return nil, err
	}
	var value []byte
	var expires int64
	err := c.session.Query(`SELECT value, expires_at FROM `+cacheTable(org)+` WHERE env = ? AND cache = ? AND key = ?`,
		env, cache, []byte(key)).ScanContext(ctx, &value, &expires)
	if isNotFound(err) {
		return nil, errorf(ErrNotFound, "Cache entry %s does not exist.", key)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read cache entry: %w", err)
	}
	e := &CacheEntry{Value: value, ExpiresAt: time.UnixMilli(expires)}
	if !c.Now().Before(e.ExpiresAt) {
		return nil, errorf(ErrNotFound, "Cache entry %s has expired.", key)
	}
	return e, nil
}

// Put writes an entry that is served until expires (at most MaxCacheTTL
// from now). A value over MaxCacheValueBytes, or an expiry that has
// passed, is ErrInvalid: the caller decides what that means.
func (c *Caches) Put(ctx context.Context, org, env, cache, key string, value []byte, expires time.Time) error {
	if err := checkCacheKey(env, key); err != nil {
		return err
	}
	if len(value) > MaxCacheValueBytes {
		return errorf(ErrInvalid, "Cache value of %d bytes exceeds the limit of %d bytes.", len(value), MaxCacheValueBytes)
	}
	now := c.Now()
	if limit := now.Add(MaxCacheTTL); expires.After(limit) {
		expires = limit
	}
	d := expires.Sub(now)
	if d <= 0 {
		return errorf(ErrInvalid, "Cache entry %s would expire before it is written.", key)
	}
	ttl := int(math.Ceil((d + cacheTTLSlack).Seconds()))
	err := c.session.Query(`INSERT INTO `+cacheTable(org)+` (env, cache, key, value, expires_at) VALUES (?, ?, ?, ?, ?) USING TTL ?`,
		env, cache, []byte(key), value, expires.UnixMilli(), ttl).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("store: write cache entry: %w", err)
	}
	return nil
}

// Delete removes an entry; a missing one is not an error.
func (c *Caches) Delete(ctx context.Context, org, env, cache, key string) error {
	if err := checkCacheKey(env, key); err != nil {
		return err
	}
	err := c.session.Query(`DELETE FROM `+cacheTable(org)+` WHERE env = ? AND cache = ? AND key = ?`, env, cache, []byte(key)).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("store: delete cache entry: %w", err)
	}
	return nil
}

// DeletePrefix removes every entry whose key starts with prefix, with one
// range delete over the cache's partition.
func (c *Caches) DeletePrefix(ctx context.Context, org, env, cache, prefix string) error {
	if err := checkCacheKey(env, prefix); err != nil {
		return err
	}
	var err error
	if end, ok := prefixEnd([]byte(prefix)); ok {
		err = c.session.Query(`DELETE FROM `+cacheTable(org)+` WHERE env = ? AND cache = ? AND key >= ? AND key < ?`,
			env, cache, []byte(prefix), end).ExecContext(ctx)
	} else {
		err = c.session.Query(`DELETE FROM `+cacheTable(org)+` WHERE env = ? AND cache = ? AND key >= ?`,
			env, cache, []byte(prefix)).ExecContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: delete cache entries: %w", err)
	}
	return nil
}

// prefixEnd is the smallest byte string greater than every string that
// starts with p; ok is false when there is none (p is all 0xFF).
func prefixEnd(p []byte) (end []byte, ok bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] < 0xFF {
			end = append([]byte(nil), p[:i+1]...)
			end[i]++
			return end, true
		}
	}
	return nil, false
}

// Clear removes every entry of one environment cache ("" is the
// environment's shared default cache).
func (c *Caches) Clear(ctx context.Context, org, env, cache string) error {
	if env == "" {
		return errorf(ErrInvalid, "A cache needs an environment.")
	}
	err := c.session.Query(`DELETE FROM `+cacheTable(org)+` WHERE env = ? AND cache = ?`, env, cache).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("store: clear cache %s: %w", cache, err)
	}
	return nil
}

// ClearCache removes every entry of a named environment cache: MART's
// organizations.environments.caches.delete. Message processors stop
// serving the entries once their in-memory copies lapse (rtdata.L1TTL).
func (k *KMS) ClearCache(ctx context.Context, org, env, cache string) error {
	if cache == "" {
		return errorf(ErrInvalid, "A cache name is required.")
	}
	return NewCaches(k.session).Clear(ctx, org, env, cache)
}
