// Package logbuf is a log sink for tests: handlers write to it from many
// goroutines while the test reads what was logged.
package logbuf

import (
	"bytes"
	"sync"
)

// Buffer is a concurrency-safe bytes.Buffer.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
