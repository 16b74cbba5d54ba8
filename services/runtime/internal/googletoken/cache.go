// Package googletoken holds the Google tokens a message processor sends
// for <Authentication>: access tokens per service account and scopes, ID
// tokens per service account and audience. They are minted through the
// control plane's IAM Credentials API with the message processor's own
// identity (apigee-runtime), as hybrid's runtime does with Google's, and
// kept until shortly before they expire, so that a busy proxy costs one
// mint an hour rather than one per request.
package googletoken

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
)

// Minter mints tokens; *cpclient.Client is the real one.
type Minter interface {
	GenerateAccessToken(ctx context.Context, serviceAccount string, scopes []string, lifetime time.Duration) (cpclient.Token, error)
	GenerateIDToken(ctx context.Context, serviceAccount, audience string, includeEmail bool) (cpclient.Token, error)
}

// RefreshBefore is how long before its expiry a token is replaced: a
// token handed to a request is good for at least this long (or half its
// lifetime, for tokens shorter than twice this), so it does not expire
// on its way to the backend.
const RefreshBefore = 5 * time.Minute

// DefaultMaxEntries bounds the cache: distinct (account, scopes) and
// (account, audience) pairs. Audiences can come from flow variables.
const DefaultMaxEntries = 10000

// Cache mints tokens on demand and keeps them until RefreshBefore their
// expiry. Concurrent requests for the same token share one mint; a failed
// mint is not remembered. It is safe for concurrent use.
type Cache struct {
	minter     Minter
	now        func() time.Time
	maxEntries int

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one token, or a mint in flight (ready open).
type entry struct {
	ready     chan struct{}
	tok       cpclient.Token
	refreshAt time.Time
	err       error
	// prev is the token this mint replaces: still valid, it serves the
	// requests that arrive during the refresh.
	prev cpclient.Token
}

// New returns a cache over m; now is the clock (nil: time.Now).
func New(m Minter, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{minter: m, now: now, maxEntries: DefaultMaxEntries, entries: map[string]*entry{}}
}

// AccessToken returns an access token of serviceAccount with scopes
// (order does not matter) and the requested lifetime (0: one hour).
func (c *Cache) AccessToken(ctx context.Context, serviceAccount string, scopes []string, lifetime time.Duration) (string, error) {
	sorted := slices.Clone(scopes)
	slices.Sort(sorted)
	key := "access\x00" + serviceAccount + "\x00" + strings.Join(sorted, " ") + "\x00" + strconv.FormatInt(int64(lifetime), 10)
	return c.get(ctx, key, func(ctx context.Context) (cpclient.Token, error) {
		return c.minter.GenerateAccessToken(ctx, serviceAccount, scopes, lifetime)
	})
}

// IDToken returns an ID token of serviceAccount for audience.
func (c *Cache) IDToken(ctx context.Context, serviceAccount, audience string, includeEmail bool) (string, error) {
	key := "id\x00" + serviceAccount + "\x00" + audience + "\x00" + strconv.FormatBool(includeEmail)
	return c.get(ctx, key, func(ctx context.Context) (cpclient.Token, error) {
		return c.minter.GenerateIDToken(ctx, serviceAccount, audience, includeEmail)
	})
}

// Len is the number of tokens kept (and mints in flight).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) get(ctx context.Context, key string, mint func(context.Context) (cpclient.Token, error)) (string, error) {
	c.mu.Lock()
	var prev cpclient.Token
	if e := c.entries[key]; e != nil {
		select {
		case <-e.ready:
			if c.now().Before(e.refreshAt) {
				c.mu.Unlock()
				return e.tok.Value, nil
			}
			prev = e.tok // due for refresh: mint anew below
		default:
			if e.prev.Value != "" && c.now().Before(e.prev.Expiry) {
				c.mu.Unlock()
				return e.prev.Value, nil
			}
			c.mu.Unlock()
			return wait(ctx, e)
		}
	}
	e := &entry{ready: make(chan struct{}), prev: prev}
	c.evictLocked()
	c.entries[key] = e
	c.mu.Unlock()

	// The mint serves every request waiting for this token, so the first
	// caller going away must not cancel it (the client's timeout bounds it).
	tok, err := mint(context.WithoutCancel(ctx))
	now := c.now()
	c.mu.Lock()
	if err != nil {
		e.err = err
		delete(c.entries, key) // the next request tries again
	} else {
		e.tok = tok
		margin := min(RefreshBefore, tok.Expiry.Sub(now)/2)
		e.refreshAt = tok.Expiry.Add(-margin)
	}
	close(e.ready)
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	return tok.Value, nil
}

func wait(ctx context.Context, e *entry) (string, error) {
	select {
	case <-e.ready:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if e.err != nil {
		return "", e.err
	}
	return e.tok.Value, nil
}

// evictLocked makes room for one more entry: first tokens past their
// refresh time, then (rarely: more distinct audiences than maxEntries)
// any minted token.
func (c *Cache) evictLocked() {
	if len(c.entries) < c.maxEntries {
		return
	}
	now := c.now()
	for k, e := range c.entries {
		select {
		case <-e.ready:
			if !now.Before(e.refreshAt) {
				delete(c.entries, k)
			}
		default:
		}
	}
	for k, e := range c.entries {
		if len(c.entries) < c.maxEntries {
			return
		}
		select {
		case <-e.ready:
			delete(c.entries, k)
		default:
		}
	}
}
