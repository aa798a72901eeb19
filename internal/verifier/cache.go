package verifier

import (
	"sync"
	"time"
)

// secretCache keeps decrypted secrets in memory for a short time, bounded in
// size. Its key includes a hash of the ciphertext, so a re-sealed secret is
// never served from an old entry.
type secretCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	size    int
	ttl     time.Duration
	now     func() time.Time
}

type cacheEntry struct {
	secret  string
	expires time.Time
}

func newSecretCache(size int, ttl time.Duration, now func() time.Time) *secretCache {
	return &secretCache{entries: make(map[string]cacheEntry, size), size: size, ttl: ttl, now: now}
}

func (c *secretCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return "", false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, key)
		return "", false
	}
	return e.secret, true
}

func (c *secretCache) put(key, secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		now := c.now()
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		// Still full: drop entries at random (map order) until there is
		// room; a dropped secret costs one more Decrypt, nothing else.
		for k := range c.entries {
			if len(c.entries) < c.size {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cacheEntry{secret: secret, expires: c.now().Add(c.ttl)}
}
