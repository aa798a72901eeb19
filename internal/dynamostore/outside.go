package dynamostore

import (
	"context"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Bounds of CountKeysOutside: a policy's answer reads at most this many of
// the team's keys, for at most this long; past either, the count is a
// lower bound (Complete false).
const (
	OutsideCountMaxKeys = 5_000
	OutsideCountMaxTime = 3 * time.Second
)

// CountKeysOutside counts the team's keys that can sign at now (active,
// not expired) whose allowedCidrs are absent or not within team (nil: 0,
// nothing read). It walks the team's keys as the credential report does
// (ListTeam with no limit: one whole Query page of one ByTeam partition at
// a time, 17 partitions, each page's networks read with one BatchGetItem
// per 100 keys, extras.go: the index does not project them). It stops
// after the page that takes it past maxKeys keys, or past maxTime: the
// count is then of the keys read, a lower bound. Cost for n keys: about
// 17 + n/3,000 Queries and n/100 BatchGetItems (5,000 keys: ~17 Queries
// and ~50 BatchGetItems).
func (s *Store) CountKeysOutside(ctx context.Context, teamID string, team accesskey.CIDRList, now time.Time, maxKeys int, maxTime time.Duration) (accesskey.OutsideCount, error) {
	var c accesskey.OutsideCount
	if team == nil {
		c.Complete = true
		return c, nil
	}
	deadline := time.Now().Add(maxTime)
	var after map[string]string
	for {
		keys, next, err := s.ListTeam(ctx, teamID, 0, after)
		if err != nil {
			return c, err
		}
		for _, k := range keys {
			if accesskey.OutsidePolicy(k, team, now) {
				c.Count++
			}
		}
		c.Scanned += len(keys)
		if next == nil {
			c.Complete = true
			return c, nil
		}
		if c.Scanned >= maxKeys || !time.Now().Before(deadline) {
			return c, nil
		}
		after = next
	}
}
