package verifier

import (
	"hash/maphash"
	"time"
)

// spread draws, for each key, a delay in [0, max) that is fixed for the
// key in this process and independent between processes (a random seed
// per process), without remembering anything per key.
type spread struct {
	seed maphash.Seed
	max  time.Duration
}

func newSpread(max time.Duration) spread {
	if max < 0 {
		max = 0
	}
	return spread{seed: maphash.MakeSeed(), max: max}
}

func (s spread) of(accessKeyID string) time.Duration {
	if s.max <= 0 {
		return 0
	}
	return time.Duration(maphash.String(s.seed, accessKeyID) % uint64(s.max))
}
