package verifier

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// secretCache keeps opened secrets in memory for a short time, least
// recently used first out when full. An entry is keyed by the whole
// encryption context (team, member, key id) and a hash of the ciphertext, so
// it serves only the very item it was opened for: a re-sealed secret, or an
// item whose team or member was rewritten, is opened again (and KMS refuses
// a ciphertext under another context). A ciphertext that did not open is
// remembered too, so that a tampered item costs one Decrypt per TTL, not one
// per request.
type secretCache struct {
	entries *lru.Cache[string, cacheEntry]
	ttl     time.Duration
	now     func() time.Time
}

type cacheEntry struct {
	secret  string
	opens   bool // false: the ciphertext does not open for this context
	expires time.Time
}

func newSecretCache(size int, ttl time.Duration, now func() time.Time) *secretCache {
	entries, err := lru.New[string, cacheEntry](size)
	if err != nil {
		panic(err) // only for size <= 0, which New never passes
	}
	return &secretCache{entries: entries, ttl: ttl, now: now}
}

// cacheKey names a ciphertext under its encryption context.
func cacheKey(ref accesskey.Ref, ciphertext []byte) string {
	h := sha256.New()
	for _, part := range []string{ref.TeamID, ref.MemberID, ref.AccessKeyID} {
		h.Write([]byte(part))
		h.Write([]byte{0}) // ids hold no NUL: the parts cannot run together
	}
	h.Write(ciphertext)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *secretCache) get(key string) (cacheEntry, bool) {
	e, ok := c.entries.Get(key)
	if !ok {
		return cacheEntry{}, false
	}
	if !c.now().Before(e.expires) {
		c.entries.Remove(key)
		return cacheEntry{}, false
	}
	return e, true
}

func (c *secretCache) put(key string, e cacheEntry) {
	e.expires = c.now().Add(c.ttl)
	c.entries.Add(key, e)
}

// decryptBudget bounds the Decrypt calls per access key id in a window, so
// that no stream of requests (cache churn, a tampered item under many
// ciphertexts) spends the account's KMS quota on one key.
type decryptBudget struct {
	mu      sync.Mutex
	windows *lru.Cache[string, budgetWindow]
	limit   int
	period  time.Duration
	now     func() time.Time
}

type budgetWindow struct {
	start time.Time
	used  int
}

func newDecryptBudget(size, limit int, period time.Duration, now func() time.Time) *decryptBudget {
	windows, err := lru.New[string, budgetWindow](size)
	if err != nil {
		panic(err)
	}
	return &decryptBudget{windows: windows, limit: limit, period: period, now: now}
}

// take spends one Decrypt of accessKeyID's budget, or reports that none is
// left in the current window.
func (b *decryptBudget) take(accessKeyID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	w, ok := b.windows.Get(accessKeyID)
	if !ok || now.Sub(w.start) >= b.period {
		w = budgetWindow{start: now}
	}
	if w.used >= b.limit {
		return false
	}
	w.used++
	b.windows.Add(accessKeyID, w)
	return true
}
