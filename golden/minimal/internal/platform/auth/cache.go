package auth

import (
	"sync"
	"time"
)

// CacheTTL is how long an instance trusts what it read about an API key or
// a user's memberships. It bounds how late a revocation, a removed member or
// a changed role takes effect on the other instances; the instance that made
// the change forgets its own entry at once.
const CacheTTL = 5 * time.Second

// maxCached bounds each cache.
const maxCached = 10_000

// cache is a map whose entries expire after ttl and which never holds more
// than max entries. It is safe for concurrent use.
type cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	value   V
	expires time.Time
}

func newCache[K comparable, V any](ttl time.Duration, max int, now func() time.Time) *cache[K, V] {
	return &cache[K, V]{ttl: ttl, max: max, now: now, entries: make(map[K]cacheEntry[V])}
}

// get returns the live entry of k.
func (c *cache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put stores v under k for ttl. When the cache is full it first drops the
// expired entries, then, if that freed nothing, a tenth of the entries
// (map order is random, so they are random entries): a flood of distinct
// keys costs lookups, never memory.
func (c *cache[K, V]) put(k K, v V) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
		for key := range c.entries {
			if len(c.entries) < c.max-c.max/10 {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = cacheEntry[V]{value: v, expires: now.Add(c.ttl)}
}

// forget drops the entry of k.
func (c *cache[K, V]) forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

// len returns the number of entries, live or expired.
func (c *cache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
