package sweep

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Expiry warnings (issue 21). A warning pass Queries every ByExpiry shard
// for the keys expiring within warnWindow (the largest threshold any team
// may set), reads each team's thresholds once a pass (its key policy), and
// reads only the keys inside their own team's largest threshold (an
// eventually consistent GetItem of a few attributes): the index projects
// neither the key's status nor what it has been warned for, and a deployed
// index's projection cannot change. A key due a warning (accesskey.
// DueExpiryWarning) gets it in one conditional transaction with its
// record, so a pass retried, restarted or racing another writes each
// threshold's warning once.
//
// A pass re-reads every key inside its team's largest threshold, so it
// runs at most once every WarnInterval (claimed on the sweep's lease item),
// not at every sweep: warnings are whole days, an hour late is on time.

// WarnStore is what a warning pass needs of the store.
type WarnStore interface {
	ExpiryShards() []string
	// ExpiringKeys lists up to limit keys of shard not expired at now and
	// expiring by now+within, soonest first, and the next page's cursor.
	ExpiringKeys(ctx context.Context, shard string, now time.Time, within time.Duration, limit int, after map[string]string) ([]accesskey.ExpiringRef, map[string]string, error)
	// ExpiryWarnState reads a key's status, expiry and warned threshold.
	ExpiryWarnState(ctx context.Context, ref accesskey.Ref) (accesskey.WarnState, error)
	// WarnExpiring writes one warning and its record, or nothing (false)
	// when the key no longer needs it.
	WarnExpiring(ctx context.Context, ref accesskey.Ref, expiresAt time.Time, w accesskey.ExpiryWarning, audit accesskey.Audit) (bool, error)
	Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error)
}

// passClaimer is a WarnStore that rate-limits passes on the sweep's lease.
type passClaimer interface {
	ClaimWarnPass(ctx context.Context, owner string, now time.Time, every time.Duration) (bool, error)
}

// WarnInterval is how often a sweep runs a warning pass, at most.
var WarnInterval = time.Hour

const (
	warnWindow  = accesskey.MaxExpiryWarningDay * 24 * time.Hour
	warnWorkers = 16
	day         = 24 * time.Hour
)

// WarnResult is what a warning pass did.
type WarnResult struct {
	Warned int `json:"warned"`
	// Read is how many keys were read (inside their team's largest
	// threshold); Listed how many the index listed within the window.
	Read   int `json:"read"`
	Listed int `json:"listed"`
	Failed int `json:"failed"`
}

// WarnExpiring runs one warning pass at now (no lease, no claim: Run
// takes both). A failed Query ends its shard (the pass's error, other
// shards go on); a key that fails is logged and left for the next pass.
func WarnExpiring(ctx context.Context, store WarnStore, now time.Time, log *slog.Logger) (WarnResult, error) {
	p := &pass{store: store, now: now, log: log, audit: accesskey.Audit{Actor: accesskey.SystemActor(accesskey.ExpiryWarningSub), At: now},
		teams: map[string]*teamThresholds{}}
	var shards errgroup.Group
	shards.SetLimit(shardWorkers)
	for _, shard := range store.ExpiryShards() {
		shards.Go(func() error { return p.shard(ctx, shard) })
	}
	err := shards.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.res, err
}

type pass struct {
	store WarnStore
	now   time.Time
	log   *slog.Logger
	audit accesskey.Audit

	mu    sync.Mutex
	res   WarnResult
	teams map[string]*teamThresholds
}

// teamThresholds is a team's thresholds, read once a pass.
type teamThresholds struct {
	once sync.Once
	days []int
	err  error
}

func (p *pass) thresholds(ctx context.Context, teamID string) ([]int, error) {
	p.mu.Lock()
	t, ok := p.teams[teamID]
	if !ok {
		t = &teamThresholds{}
		p.teams[teamID] = t
	}
	p.mu.Unlock()
	t.once.Do(func() {
		pol, err := p.store.Policy(ctx, teamID)
		t.days, t.err = pol.WarningDays(), err
	})
	return t.days, t.err
}

func (p *pass) count(f func(*WarnResult)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.res)
}

func (p *pass) shard(ctx context.Context, shard string) error {
	var after map[string]string
	for {
		if ctx.Err() != nil {
			return nil
		}
		refs, next, err := p.store.ExpiringKeys(ctx, shard, p.now, warnWindow, pageSize, after)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.log.Error("expiry warnings: shard not read", "shard", shard, "error", err.Error())
			return err
		}
		p.count(func(r *WarnResult) { r.Listed += len(refs) })
		var keys errgroup.Group
		keys.SetLimit(warnWorkers)
		for _, ref := range refs {
			keys.Go(func() error { p.key(ctx, ref); return nil })
		}
		_ = keys.Wait()
		if next == nil {
			return nil
		}
		after = next
	}
}

// key warns one key if it is due; a failure is logged and counted.
func (p *pass) key(ctx context.Context, ref accesskey.ExpiringRef) {
	fail := func(what string, err error) {
		p.count(func(r *WarnResult) { r.Failed++ })
		p.log.Error("expiry warnings: "+what+"; left for the next pass", "accessKeyId", ref.AccessKeyID, "teamId", ref.TeamID, "error", err.Error())
	}
	days, err := p.thresholds(ctx, ref.TeamID)
	if err != nil {
		fail("team's thresholds not read", err)
		return
	}
	if len(days) == 0 || ref.ExpiresAt.Sub(p.now) > time.Duration(slices.Max(days))*day {
		return // outside the team's largest threshold: not read
	}
	p.count(func(r *WarnResult) { r.Read++ })
	st, err := p.store.ExpiryWarnState(ctx, ref.Ref)
	switch {
	case errors.Is(err, accesskey.ErrNotFound):
		return
	case err != nil:
		fail("key not read", err)
		return
	case st.Status != accesskey.StatusActive || st.Retired || st.ExpiresAt == nil:
		return // disabled, or retired by a rotation: no warning
	}
	w, due := accesskey.DueExpiryWarning(p.now, *st.ExpiresAt, days, st.WarnedDays)
	if !due {
		return
	}
	wrote, err := p.store.WarnExpiring(ctx, ref.Ref, *st.ExpiresAt, w, p.audit)
	if err != nil {
		fail("warning not written", err)
		return
	}
	if wrote {
		p.count(func(r *WarnResult) { r.Warned++ })
		p.log.Info("key expiry warned", "accessKeyId", ref.AccessKeyID, "teamId", ref.TeamID, "thresholdDays", w.ThresholdDays, "daysLeft", w.DaysLeft)
	}
}

// maybeWarn runs a warning pass after a sweep's removals when the store
// can (a WarnStore that claims passes) and none ran within WarnInterval.
func (r *run) maybeWarn(owner string) {
	ws, ok := r.store.(WarnStore)
	c, ok2 := r.store.(passClaimer)
	if !ok || !ok2 || r.work.Err() != nil {
		return
	}
	got, err := c.ClaimWarnPass(r.work, owner, r.now, r.warnEvery)
	if err != nil {
		r.log.Error("expiry warnings: pass not claimed", "error", err.Error())
		return
	}
	if !got {
		return
	}
	res, err := WarnExpiring(r.work, ws, r.now, r.log)
	if err != nil {
		r.log.Error("expiry warnings: pass failed", "error", err.Error())
	}
	r.count(func(out *Result) { out.Warned = res.Warned })
	if ds, ok := r.store.(DormantStore); ok && r.work.Err() == nil {
		dres, err := Dormant(r.work, ds, r.now, r.log)
		if err != nil {
			r.log.Error("dormant keys: pass failed", "error", err.Error())
		}
		r.count(func(out *Result) { out.DormantDisabled, out.DormantWarned = dres.Disabled, dres.Warned })
	}
}
