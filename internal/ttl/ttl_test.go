package ttl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEntriesExpireAndClear(t *testing.T) {
	c := New[string, int](50*time.Millisecond, 2)
	c.Set("a", 1, c.Gen())
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)
	time.Sleep(60 * time.Millisecond)
	_, ok = c.Get("a")
	require.False(t, ok, "expired after the TTL")

	c.Set("a", 1, c.Gen())
	c.Clear()
	_, ok = c.Get("a")
	require.False(t, ok, "Clear drops entries at once")

	c.Set("a", 1, c.Gen())
	c.Set("b", 2, c.Gen())
	c.Set("c", 3, c.Gen()) // full: emptied, then c stored
	_, ok = c.Get("a")
	require.False(t, ok)
	v, ok = c.Get("c")
	require.True(t, ok)
	require.Equal(t, 3, v)

	// A value read before a Clear is not stored after it.
	gen := c.Gen()
	c.Clear()
	c.Set("stale", 1, gen)
	_, ok = c.Get("stale")
	require.False(t, ok, "a value read before Clear must not be cached after it")
}
