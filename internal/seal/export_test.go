package seal

import (
	"time"
)

// EnvelopePrefix is the envelope's first bytes.
func EnvelopePrefix() []byte { return envelopePrefix }

// LRU exposes the cache to its test.
func LRU(max int, ttl time.Duration, now func() time.Time) (put func(string, int), get func(string) (int, bool)) {
	c := newLRU[int](max, ttl, now)
	return c.put, c.get
}
