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

// Set stores v under k. A full cache is emptied first: simpler than LRU and
// enough for a cache that only saves a round trip.
func (c *Cache[K, V]) Set(k K, v V) {
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[k] = entry[V]{v: v, expires: time.Now().Add(c.ttl)}
	c.mu.Unlock()
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}
