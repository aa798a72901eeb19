// Package fakeclock is a clock that tests move by hand, safe for the
// goroutines of the code under test (caches, verifiers, key fetchers).
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a settable clock; its Now is the func the code under test takes.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads at until moved.
func New(at time.Time) *Clock { return &Clock{now: at} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// AdvancePast moves the clock just past at, unless it is past it already.
func (c *Clock) AdvancePast(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.now.After(at) {
		c.now = at.Add(time.Millisecond)
	}
}
