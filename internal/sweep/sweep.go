// Package sweep removes expired keys, slot and all, so that lists stay clean
// and slots free up: on AWS a scheduled function runs it, locally a timer in
// the local server. Each removal goes through the store's conditional delete
// (the same as an admin's, plus the condition that the key has expired), so
// a sweep racing an admin, a rotation or another sweep removes nothing twice.
//
// A run takes the store's lease first, so that one run works at a time (a
// schedule that fires twice, or a run still going when the next starts: the
// second exits without work). It then works the ByExpiry index's shards in
// parallel, each from its head to the keys expired at the run's start, a
// page at a time with the index's cursor, and deletes with bounded
// concurrency. A key it cannot remove is logged and skipped: the run pages
// past it, and the next run tries it again. It stops taking work stopMargin
// before its context's deadline (the function's timeout), and releases the
// lease.
//
// Throughput on paper: a delete is one TransactWriteItems of three items
// (the key's delete, its member's counter, the audit record), about 20-30 ms
// on AWS. deleteWorkers = 32 of them in flight give 32 / 0.03 s ≈ 1,000
// removals/s (≥ 640/s at 50 ms), over the 500/s target, with 8 shards
// queried at a time (a Query of 100 refs, ~10 ms, feeds 100 deletes). In a
// 60 s function that stops 5 s early: ~50,000 keys a run. The ByExpiry
// index spreads those deletes' index writes over 16 partitions; what bounds
// one team is its audit and ByTeam partitions (1,000 write units/s each).
//
// The sweep's lag does not matter for access: the verifier refuses a key
// from its expiresAt on, whether or not the sweep has removed it yet.
package sweep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Store finds and deletes expired keys, and holds the sweep's lease.
type Store interface {
	// ExpiryShards names the partitions of the expiry index to work.
	ExpiryShards() []string
	// ExpiredKeys lists up to limit keys of shard expired at now, after
	// the cursor after, and the next page's cursor (nil: the last).
	ExpiredKeys(ctx context.Context, shard string, now time.Time, limit int, after map[string]string) ([]accesskey.Ref, map[string]string, error)
	DeleteExpired(ctx context.Context, ref accesskey.Ref, now time.Time) error
	// AcquireSweepLease takes the lease for owner until until, unless
	// another owner holds one that runs past now: then false.
	AcquireSweepLease(ctx context.Context, owner string, now, until time.Time) (bool, error)
	ReleaseSweepLease(ctx context.Context, owner string) error
}

// Bounds of one run.
const (
	pageSize = 100
	// shardWorkers is how many shards are queried at once.
	shardWorkers = 8
	// deleteWorkers is how many deletes are in flight at once, over all
	// shards.
	deleteWorkers = 32
	// stopMargin is how long before its context's deadline a run stops
	// taking work (a page or a delete), so that deletes in flight finish
	// and the lease is released inside the function's timeout.
	stopMargin = 5 * time.Second
	// defaultBudget bounds a run whose context has no deadline (the local
	// server's timer).
	defaultBudget = 50 * time.Second
	// leaseSlack is how long the lease outlives the run's deadline: a
	// run that dies without releasing it holds up the next one by its
	// timeout and this, at most.
	leaseSlack = 10 * time.Second
)

// Result is what a run did.
type Result struct {
	Deleted int `json:"deleted"`
	// Gone counts keys the index still listed that were already removed
	// (by an admin, a rotation or another sweep).
	Gone int `json:"gone"`
	// Failed counts keys that could not be removed (each logged), left
	// for the next run.
	Failed int `json:"failed"`
	// Busy is a run that found the lease held by another: it did nothing.
	Busy bool `json:"busy,omitempty"`
	// CutShort is a run that reached its deadline with keys left.
	CutShort bool `json:"cutShort,omitempty"`
	// Warned counts expiry warnings written (warn.go).
	Warned int `json:"warned,omitempty"`
	// DormantWarned and DormantDisabled count dormant keys' records (dormant.go).
	DormantWarned   int `json:"dormantWarned,omitempty"`
	DormantDisabled int `json:"dormantDisabled,omitempty"`
}

// Run removes every key expired at now, shard by shard. See the package
// comment.
func Run(ctx context.Context, store Store, now time.Time, log *slog.Logger) (Result, error) {
	return runWarningEvery(ctx, store, now, log, WarnInterval)
}

// runWarningEvery is Run with warning passes at most every warnEvery.
func runWarningEvery(ctx context.Context, store Store, now time.Time, log *slog.Logger, warnEvery time.Duration) (Result, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultBudget)
	}
	owner := newOwner()
	got, err := store.AcquireSweepLease(ctx, owner, now, now.Add(time.Until(deadline)+leaseSlack))
	if err != nil {
		return Result{}, err
	}
	if !got {
		log.Info("expiry sweep: another run holds the lease; nothing done")
		return Result{Busy: true}, nil
	}
	defer func() {
		// Released even when ctx has ended, briefly.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := store.ReleaseSweepLease(rctx, owner); err != nil {
			log.Warn("expiry sweep: lease not released (it runs out by itself)", "error", err.Error())
		}
	}()

	// work ends stopMargin before the deadline: no page or delete starts
	// after that. Deletes in flight keep ctx.
	work, cancel := context.WithDeadline(ctx, deadline.Add(-stopMargin))
	defer cancel()
	r := &run{store: store, now: now, log: log, work: work, ctx: ctx, deletes: make(chan struct{}, deleteWorkers), warnEvery: warnEvery}
	var shards errgroup.Group
	shards.SetLimit(shardWorkers)
	for _, shard := range store.ExpiryShards() {
		shards.Go(func() error { return r.shard(shard) })
	}
	err = shards.Wait()
	r.maybeWarn(owner)
	return r.result(), err
}

// run is one run's state, shared by its shard workers.
type run struct {
	store     Store
	now       time.Time
	log       *slog.Logger
	work, ctx context.Context
	deletes   chan struct{} // a slot per delete in flight
	warnEvery time.Duration // how often a warning pass runs, at most

	mu  sync.Mutex
	res Result
}

func (r *run) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

func (r *run) count(f func(*Result)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.res)
}

// shard works one shard from its head to its last key expired at now. A
// failed Query ends the shard (the run's error; other shards go on).
func (r *run) shard(shard string) error {
	var after map[string]string
	for {
		if r.work.Err() != nil {
			r.count(func(res *Result) { res.CutShort = true })
			return nil
		}
		refs, next, err := r.store.ExpiredKeys(r.work, shard, r.now, pageSize, after)
		if err != nil {
			if r.work.Err() != nil {
				r.count(func(res *Result) { res.CutShort = true })
				return nil
			}
			r.log.Error("expiry sweep: shard not read", "shard", shard, "error", err.Error())
			return err
		}
		var page sync.WaitGroup
		for _, ref := range refs {
			select {
			case r.deletes <- struct{}{}:
			case <-r.work.Done():
				page.Wait()
				r.count(func(res *Result) { res.CutShort = true })
				return nil
			}
			page.Go(func() {
				defer func() { <-r.deletes }()
				r.delete(ref)
			})
		}
		page.Wait()
		if next == nil {
			return nil
		}
		after = next
	}
}

// delete removes one key; a failure is logged and counted, never the run's.
func (r *run) delete(ref accesskey.Ref) {
	err := r.store.DeleteExpired(r.ctx, ref, r.now)
	switch {
	case errors.Is(err, accesskey.ErrNotFound):
		r.count(func(res *Result) { res.Gone++ })
	case err != nil:
		r.count(func(res *Result) { res.Failed++ })
		r.log.Error("expiry sweep: expired key not removed; skipped until the next run",
			"accessKeyId", ref.AccessKeyID, "teamId", ref.TeamID, "memberId", ref.MemberID, "error", err.Error())
	default:
		r.count(func(res *Result) { res.Deleted++ })
		r.log.Info("expired key removed", "accessKeyId", ref.AccessKeyID, "teamId", ref.TeamID, "memberId", ref.MemberID)
	}
}

func newOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
		// Locally, warnings and dormant keys are checked at every sweep.
		res, err := runWarningEvery(ctx, store, now(), log, interval)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("expiry sweep failed", "error", err.Error(), "deleted", res.Deleted)
		case res.Deleted > 0 || res.Failed > 0 || res.Warned > 0 || res.DormantWarned > 0 || res.DormantDisabled > 0:
			log.Info("expiry sweep", "deleted", res.Deleted, "gone", res.Gone, "failed", res.Failed, "cutShort", res.CutShort,
				"warned", res.Warned, "dormantWarned", res.DormantWarned, "dormantDisabled", res.DormantDisabled)
		}
	}
}
