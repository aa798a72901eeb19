package httpapi_test

import (
	"context"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// CountKeysOutside counts the fake's created keys outside team.
func (s *fakeStore) CountKeysOutside(_ context.Context, _ string, team accesskey.CIDRList, now time.Time, _ int, _ time.Duration) (accesskey.OutsideCount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := accesskey.OutsideCount{Complete: true, Scanned: len(s.created)}
	for _, k := range s.created {
		if accesskey.OutsidePolicy(k, team, now) {
			c.Count++
		}
	}
	return c, nil
}
