package verifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// MaxKeyCacheTTL bounds how long a key's item (its status, expiry and sealed
// secret, as Keys.Get read it) is reused without reading it again: every
// change of a key is obeyed by every warm process within this bound.
const MaxKeyCacheTTL = time.Second

// itemCache keeps the key items read in the last TTL, least recently used
// first out when full, so that one hot key costs one GetItem per TTL per
// process instead of one per request. Keys that were not found are kept in
// a cache of their own, so that a stream of made-up ids cannot push the
// keys in use out of the first.
//
// An entry is stamped with the instant its read was sent, not when the
// answer came, and it serves requests that arrive before that instant plus
// the TTL. A change answered at A is seen by every read sent after A (the
// read is strongly consistent), so a request that arrives at A+TTL or later
// is served from a read sent after A: the bound holds whatever the read's
// latency.
type itemCache struct {
	found   *lru.Cache[string, item]
	missing *lru.Cache[string, item]
	ttl     time.Duration
}

// item is one answer of Keys.Get: a key and its ciphertext, or not found.
type item struct {
	found      bool
	key        accesskey.Key
	ciphertext []byte
	limits     restrictions // the key's, parsed once per read
	readAt     time.Time    // when the read was sent
}

func newItemCache(size int, ttl time.Duration) *itemCache {
	found, err := lru.New[string, item](size)
	if err != nil {
		panic(err) // only for size <= 0, which New never passes
	}
	missing, err := lru.New[string, item](size)
	if err != nil {
		panic(err)
	}
	return &itemCache{found: found, missing: missing, ttl: ttl}
}

// fresh reports whether it may serve a request that arrived at arrived.
func (c *itemCache) fresh(it item, arrived time.Time) bool {
	return arrived.Before(it.readAt.Add(c.ttl))
}

func (c *itemCache) get(id string, arrived time.Time) (item, bool) {
	for _, entries := range []*lru.Cache[string, item]{c.found, c.missing} {
		if it, ok := entries.Get(id); ok {
			if c.fresh(it, arrived) {
				return it, true
			}
			entries.Remove(id)
		}
	}
	return item{}, false
}

func (c *itemCache) put(id string, it item) {
	if it.found {
		c.missing.Remove(id)
		c.found.Add(id, it)
		return
	}
	c.found.Remove(id)
	c.missing.Add(id, it)
}

// lookup returns the key accessKeyID names and its ciphertext: from the item
// cache when a read sent at most KeyCacheTTL before the request arrived
// answered it, else from one read that concurrent requests for the key
// share.
func (v *Verifier) lookup(ctx context.Context, accessKeyID string) (accesskey.Key, []byte, restrictions, error) {
	if v.items == nil {
		key, ciphertext, err := v.keys.Get(ctx, accessKeyID)
		return key, ciphertext, restrictionsOf(key), err
	}
	arrived := v.now()
	it, ok := v.items.get(accessKeyID, arrived)
	if !ok {
		var err error
		if it, err = v.read(ctx, accessKeyID); err != nil {
			return accesskey.Key{}, nil, restrictions{}, err
		}
		// A shared read sent before this request arrived may be older
		// than the bound allows (a slow answer); the next one was sent
		// after this read ended, so after the request arrived.
		if !v.items.fresh(it, arrived) {
			if it, err = v.read(ctx, accessKeyID); err != nil {
				return accesskey.Key{}, nil, restrictions{}, err
			}
		}
	}
	if !it.found {
		return accesskey.Key{}, nil, restrictions{}, fmt.Errorf("get %s: %w", accessKeyID, accesskey.ErrNotFound)
	}
	return it.key, it.ciphertext, it.limits, nil
}

// read reads the item once for all the requests that wait for it, and
// caches the answer: a key or not found; a failure is not cached.
func (v *Verifier) read(ctx context.Context, accessKeyID string) (item, error) {
	got, err, _ := v.reading.Do(accessKeyID, func() (any, error) {
		readAt := v.now()
		if it, ok := v.items.get(accessKeyID, readAt); ok {
			return it, nil // a read that ended a moment ago
		}
		// The read outlives a caller that gives up: others may wait for
		// it. The SDK client's own timeout and retries bound it.
		key, ciphertext, err := v.keys.Get(context.WithoutCancel(ctx), accessKeyID)
		it := item{found: true, key: key, ciphertext: ciphertext, limits: restrictionsOf(key), readAt: readAt}
		switch {
		case errors.Is(err, accesskey.ErrNotFound):
			it = item{readAt: readAt}
		case err != nil:
			return nil, err
		}
		v.items.put(accessKeyID, it)
		return it, nil
	})
	if err != nil {
		return item{}, err
	}
	return got.(item), nil
}
