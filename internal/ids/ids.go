// Package ids makes the application-generated ULIDs that every row uses as
// its id (DESIGN §13: no auto-increment, so ids never collide across shards).
// oklog/ulid gives sortable, monotonic ids without a central counter.
package ids

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
)

// New returns a new ULID for instant t: 26 characters, ordered by time.
func New(t time.Time) string {
	mu.Lock()
	defer mu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), entropy).String()
}

// Floor is the smallest id that New can return at or after instant t. Since
// ids grow with time, a range of ids is a range of creation times:
// id >= Floor(from) AND id < Floor(to) selects rows created in [from, to)
// on the primary key, with no index on a timestamp column.
func Floor(t time.Time) string {
	var u ulid.ULID
	_ = u.SetTime(ulid.Timestamp(t))
	return u.String()
}
