package servertest

import (
	"bytes"
	"sync"
)

// LockedBuffer is a bytes.Buffer that one side writes while another reads
// it: the application's log under concurrent requests, a server
// goroutine's or subprocess's output while the test watches it. The zero
// value is ready to use.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// LogBuffer is the name LockedBuffer had when it held only the harness's
// logs; it stays so that code written against it keeps compiling.
type LogBuffer = LockedBuffer

// Write appends p.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
