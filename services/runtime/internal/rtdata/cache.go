package rtdata

import (
	"container/list"
	"sync"
	"time"
)

// cache is a bounded, TTL-expiring LRU map. Entries older than their TTL
// are never returned; when full, the least recently used entry goes. The
// clock is the Store's, so tests drive expiry without sleeping.
type cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	order *list.List // front: most recently used
	items map[K]*list.Element
}

type cacheEntry[K comparable, V any] struct {
	key     K
	value   V
	expires time.Time
}

func newCache[K comparable, V any](max int, now func() time.Time) *cache[K, V] {
	if max < 1 {
		max = 1
	}
	return &cache[K, V]{max: max, now: now, order: list.New(), items: make(map[K]*list.Element)}
}

func (c *cache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*cacheEntry[K, V])
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, k)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

func (c *cache[K, V]) put(k K, v V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.now().Add(ttl)
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cacheEntry[K, V])
		e.value, e.expires = v, expires
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry[K, V]{key: k, value: v, expires: expires})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry[K, V]).key)
	}
}

func (c *cache[K, V]) remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}

func (c *cache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
