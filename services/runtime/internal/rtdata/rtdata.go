// Package rtdata is the message processor's access to runtime data in the
// runtime plane's Cassandra: API keys with their apps, developers and
// products, OAuth tokens, key value maps and quota counters. It reads and
// writes the same tables MART serves (pkg/store) and caches hot reads.
//
// # Consistency
//
// Key lookups (consumer key → credential, app, developer, products) and
// API products are cached per message processor for KeyTTL (default 5 s,
// bounded by MaxEntries, least recently used first out), negative answers
// too. So a key revoked, an app or developer deactivated, or a product
// changed through the control plane (MART) takes effect on every message
// processor within KeyTTL. Key value map reads are cached for the
// policy's <ExpiryTimeInSecs> (Apigee's default 300 s); a Put or Delete
// through the policy clears that entry from this MP's cache at once (other
// MPs see it when their cached copy expires, as in Apigee). OAuth tokens
// are never cached: a token revoked on one MP is refused by every MP on the
// next call. The cache policies' entries (caches.go) are shared through
// Cassandra and held in this MP's memory for at most L1TTL (1 s).
package rtdata

import (
	"context"
	"errors"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Default cache settings (documented in the package comment and
// docs/ARCHITECTURE.md).
const (
	DefaultKeyTTL     = 5 * time.Second
	DefaultMaxEntries = 10000
)

// Options tune a Store.
type Options struct {
	// KeyTTL bounds how long key lookups and products are served from
	// this MP's cache.
	KeyTTL time.Duration
	// MaxEntries bounds each cache.
	MaxEntries int
	// Now is the clock (tests inject one; expiry never needs a sleep).
	Now func() time.Time
	// Keys open consumer secrets and KVM values (MART seals them).
	Keys store.EncryptionKeys
}

// Store is one organization's runtime data as the message processor sees it.
// It is safe for concurrent use.
type Store struct {
	org     string
	session *gocql.Session
	kms     *store.KMS
	kvm     *store.KVM
	opts    Options

	keys     *cache[string, keyResult]
	products *cache[string, productResult]
	entries  *cache[entryKey, entryResult]
	quotas   *QuotaStore
	caches   *Caches
}

type keyResult struct {
	info *store.KeyInfo
	err  error
}

type productResult struct {
	p   *store.APIProduct
	err error
}

type entryKey struct {
	scope, mapName, key string
}

type entryResult struct {
	value string
	found bool
}

// New returns the Store for org over a Cassandra session.
func New(session *gocql.Session, org string, opts Options) *Store {
	if opts.KeyTTL == 0 {
		opts.KeyTTL = DefaultKeyTTL
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	kms := store.NewKMS(session, opts.Keys)
	kms.Now = opts.Now
	s := &Store{org: org, session: session, kms: kms, kvm: store.NewKVM(session, opts.Keys), opts: opts}
	s.keys = newCache[string, keyResult](opts.MaxEntries, opts.Now)
	s.products = newCache[string, productResult](opts.MaxEntries, opts.Now)
	s.entries = newCache[entryKey, entryResult](opts.MaxEntries, opts.Now)
	s.quotas = NewQuotaStore(session, org, opts.Now)
	s.caches = newCaches(s)
	return s
}

// Org is the organization this store serves.
func (s *Store) Org() string { return s.org }

// Now is the store's clock; policies use it for every expiry decision.
func (s *Store) Now() time.Time { return s.opts.Now() }

// Session is the Cassandra session, for data kinds that keep their own
// tables (quota counters).
func (s *Store) Session() *gocql.Session { return s.session }

// KMS is the uncached key management data (tokens, and writes).
func (s *Store) KMS() *store.KMS { return s.kms }

// LookupKey resolves a consumer key (cached for KeyTTL). Unknown keys:
// an error wrapping store.ErrNotFound.
func (s *Store) LookupKey(ctx context.Context, consumerKey string) (*store.KeyInfo, error) {
	if r, ok := s.keys.get(consumerKey); ok {
		return r.info, r.err
	}
	info, err := s.kms.LookupKey(ctx, s.org, consumerKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err // Cassandra trouble: not cached
	}
	s.keys.put(consumerKey, keyResult{info: info, err: err}, s.opts.KeyTTL)
	return info, err
}

// Product reads an API product (cached for KeyTTL).
func (s *Store) Product(ctx context.Context, name string) (*store.APIProduct, error) {
	if r, ok := s.products.get(name); ok {
		return r.p, r.err
	}
	p, err := s.kms.GetProduct(ctx, s.org, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	s.products.put(name, productResult{p: p, err: err}, s.opts.KeyTTL)
	return p, err
}

// Forget drops a consumer key from this MP's cache (after a write through
// this MP that changes it).
func (s *Store) Forget(consumerKey string) { s.keys.remove(consumerKey) }

// KVMGet reads a map entry, served from this MP's cache for ttl (0: not
// cached). found is false when the map or the entry does not exist.
func (s *Store) KVMGet(ctx context.Context, scope store.Scope, mapName, key string, ttl time.Duration) (value string, found bool, err error) {
	k := entryKey{scope: scope.String(), mapName: mapName, key: key}
	if r, ok := s.entries.get(k); ok {
		return r.value, r.found, nil
	}
	e, err := s.kvm.GetEntry(ctx, s.org, scope, mapName, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.entries.put(k, entryResult{}, ttl)
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	s.entries.put(k, entryResult{value: e.Value, found: true}, ttl)
	return e.Value, true, nil
}

// KVMPut writes a map entry, creating the map if it does not exist (as
// the KeyValueMapOperations policy does). With override false an existing
// entry is kept and put reports false.
func (s *Store) KVMPut(ctx context.Context, scope store.Scope, mapName, key, value string, override bool) (put bool, err error) {
	k := entryKey{scope: scope.String(), mapName: mapName, key: key}
	defer s.entries.remove(k)
	if err := s.ensureMap(ctx, scope, mapName); err != nil {
		return false, err
	}
	if !override {
		_, err := s.kvm.CreateEntry(ctx, s.org, scope, mapName, key, value)
		if errors.Is(err, store.ErrAlreadyExists) {
			return false, nil
		}
		return err == nil, err
	}
	if err := s.kvm.PutEntry(ctx, s.org, scope, mapName, key, value); err != nil {
		return false, err
	}
	return true, nil
}

// KVMDelete removes a map entry; a missing map or entry is not an error.
func (s *Store) KVMDelete(ctx context.Context, scope store.Scope, mapName, key string) error {
	s.entries.remove(entryKey{scope: scope.String(), mapName: mapName, key: key})
	_, err := s.kvm.DeleteEntry(ctx, s.org, scope, mapName, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// KVMMap reads a map's definition (uncached); a missing map is an error
// wrapping store.ErrNotFound.
func (s *Store) KVMMap(ctx context.Context, scope store.Scope, mapName string) (*store.KeyValueMap, error) {
	return s.kvm.GetMap(ctx, s.org, scope, mapName)
}

func (s *Store) ensureMap(ctx context.Context, scope store.Scope, mapName string) error {
	_, err := s.kvm.GetMap(ctx, s.org, scope, mapName)
	if errors.Is(err, store.ErrNotFound) {
		_, err = s.kvm.CreateMap(ctx, s.org, scope, mapName, false)
		if errors.Is(err, store.ErrAlreadyExists) {
			return nil
		}
	}
	return err
}
