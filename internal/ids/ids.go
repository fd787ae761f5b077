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
