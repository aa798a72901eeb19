// Package sweep removes expired keys, slot and all, so that lists stay clean
// and slots free up: on AWS a scheduled function runs it, locally a timer in
// the local server. Each removal goes through the store's conditional delete
// (the same as an admin's, plus the condition that the key has expired), so
// a sweep racing an admin, a rotation or another sweep removes nothing twice.
package sweep

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Store finds and deletes expired keys.
type Store interface {
	ExpiredKeys(ctx context.Context, now time.Time, limit int) ([]accesskey.Ref, error)
	DeleteExpired(ctx context.Context, ref accesskey.Ref, now time.Time) error
}

// Bounds of one run: pages of pageSize, at most maxPages of them.
const (
	pageSize = 100
	maxPages = 50
)

// Result is what a run did.
type Result struct {
	Deleted int `json:"deleted"`
	// Gone counts keys the index still listed that were already removed
	// (by an admin, a rotation or another sweep).
	Gone int `json:"gone"`
}

// Run removes every key expired at now, a page at a time, and stops early
// when a page removes nothing (the index, eventually consistent on AWS,
// still lists keys already gone) or after maxPages pages.
func Run(ctx context.Context, store Store, now time.Time, log *slog.Logger) (Result, error) {
	var res Result
	for range maxPages {
		refs, err := store.ExpiredKeys(ctx, now, pageSize)
		if err != nil {
			return res, err
		}
		deleted := 0
		for _, ref := range refs {
			err := store.DeleteExpired(ctx, ref, now)
			switch {
			case errors.Is(err, accesskey.ErrNotFound):
				res.Gone++
			case err != nil:
				return res, err
			default:
				deleted++
				log.Info("expired key removed", "accessKeyId", ref.AccessKeyID, "teamId", ref.TeamID, "memberId", ref.MemberID)
			}
		}
		res.Deleted += deleted
		if len(refs) < pageSize || deleted == 0 {
			break
		}
	}
	return res, nil
}

// Every runs a sweep every interval until ctx ends, logging each run that
// removed something or failed: the local server's stand-in for the
// schedule.
func Every(ctx context.Context, interval time.Duration, store Store, now func() time.Time, log *slog.Logger) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		res, err := Run(ctx, store, now(), log)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("expiry sweep failed", "error", err.Error(), "deleted", res.Deleted)
		case res.Deleted > 0:
			log.Info("expiry sweep", "deleted", res.Deleted, "gone", res.Gone)
		}
	}
}
