package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// policyCacheTTL is how long a generate trusts a team's key policy it read
// before reading it again. Staleness cannot mis-date a key: the generate's
// transaction checks the policy it used, and a changed one is read again
// at once (ErrPolicyChanged).
const policyCacheTTL = time.Minute

// maxCachedPolicies bounds the cache; past it, it starts afresh.
const maxCachedPolicies = 10_000

// policyCache keeps the teams' key policies that generate read, so that a
// generate costs one Encrypt and one TransactWriteItems, as before policies
// existed, except the first of a team in an execution environment.
type policyCache struct {
	mu      sync.Mutex
	entries map[string]cachedPolicy
}

type cachedPolicy struct {
	policy  accesskey.KeyPolicy
	expires time.Time
}

func newPolicyCache() *policyCache { return &policyCache{entries: map[string]cachedPolicy{}} }

// get returns the team's policy, from the cache unless fresh is set or the
// entry is older than the TTL.
func (c *policyCache) get(ctx context.Context, read func(context.Context, string) (accesskey.KeyPolicy, error), teamID string, now time.Time, fresh bool) (accesskey.KeyPolicy, error) {
	c.mu.Lock()
	e, ok := c.entries[teamID]
	c.mu.Unlock()
	if ok && !fresh && now.Before(e.expires) {
		return e.policy, nil
	}
	p, err := read(ctx, teamID)
	if err != nil {
		return accesskey.KeyPolicy{}, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedPolicies {
		c.entries = map[string]cachedPolicy{}
	}
	c.entries[teamID] = cachedPolicy{policy: p, expires: now.Add(policyCacheTTL)}
	c.mu.Unlock()
	return p, nil
}
