// Package ttl is a small expiring map for hot, rarely changing lookups done
// on every request (a token's principal, a plan's terms). Entries live for a
// short TTL; writers that change the underlying row call Clear so that this
// process sees the change at once, and other processes within the TTL.
package ttl

import (
	"sync"
	"time"
)

// Cache maps keys to values that expire.
type Cache[K comparable, V any] struct {
	mu      sync.RWMutex
	ttl     time.Duration
	max     int
	gen     uint64 // bumped by Clear
	entries map[K]entry[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a cache whose entries live for ttl, holding at most max.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max, entries: make(map[K]entry[V])}
}

// Get returns a live entry.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Gen is the cache's generation: take it before reading the value that
// will be stored, and pass it to Set.
func (c *Cache[K, V]) Gen() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// Set stores v under k, unless the cache was cleared since gen was taken:
// a value read before a change (a token read just before its revocation
// committed) must not outlive the Clear that the change made. A full cache
// is emptied first: simpler than LRU and enough for a cache that only saves
// a round trip.
func (c *Cache[K, V]) Set(k K, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[k] = entry[V]{v: v, expires: time.Now().Add(c.ttl)}
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}
