package accesskey

import (
	"fmt"
	"time"
)

// Dormant keys (issue 21): a team's policy may disable keys unused for
// disableUnusedAfterDays, warning seven days before.
const (
	// AuditKeyDormant warns that a key will be disabled as unused in
	// DormantWarningDays.
	AuditKeyDormant = "AccessKeyDormant"
	// DormantSub is the system actor's sub on a dormant key's records.
	DormantSub = "dormant"
	// DormantReason is changes.reason of a dormant key's records.
	DormantReason         = "unused"
	MinUnusedDays         = 1
	MaxUnusedDays         = 3650
	DormantWarningDays    = 7
	dormantWarningHorizon = DormantWarningDays * 24 * time.Hour
)

// ValidateDisableUnusedAfterDays checks the policy's setting: nil (off) or
// 1 to 3650 days.
func ValidateDisableUnusedAfterDays(days *int) error {
	if days != nil && (*days < MinUnusedDays || *days > MaxUnusedDays) {
		return Invalid("disableUnusedAfterDays", fmt.Sprintf("must be null or an integer from %d to %d", MinUnusedDays, MaxUnusedDays))
	}
	return nil
}

// DormantStep is what a dormant key is due.
type DormantStep int

const (
	DormantNothing DormantStep = iota
	DormantWarn
	DormantDisable
)

// DormantDue decides what a key whose dormant clock started at since (its
// last use, or creation, or its last dormant disable, whichever is latest)
// is due at now under a policy of days: disabled once older than days;
// warned (once per clock start: warnedFor is the since it was warned for)
// within DormantWarningDays of that, when days is above
// DormantWarningDays.
func DormantDue(now, since time.Time, days int, warnedFor time.Time) DormantStep {
	limit := since.Add(time.Duration(days) * 24 * time.Hour)
	switch {
	case !now.Before(limit):
		return DormantDisable
	case days > DormantWarningDays && !now.Before(limit.Add(-dormantWarningHorizon)) && !warnedFor.Equal(since):
		return DormantWarn
	}
	return DormantNothing
}

// DormantWithin reports whether a key whose clock started at since is
// within DormantWarningDays of its dormant disable at now (the credential
// report's mark).
func DormantWithin(now, since time.Time, days *int) bool {
	return days != nil && !now.Before(since.Add(time.Duration(*days)*24*time.Hour).Add(-dormantWarningHorizon))
}

// DormantSince is when the key's dormant clock started: the latest of its
// creation, its last use and its last dormant disable.
func (k Key) DormantSince() time.Time {
	since := k.CreatedAt
	for _, t := range []*time.Time{k.LastUsedAt, k.DormantAt} {
		if t != nil && t.After(since) {
			since = *t
		}
	}
	return since
}

// DormantDisableAt is when the dormant pass will disable the key if it
// stays unused, under a policy of days: nil when days is nil (off), when
// the key is not active at now (disabled or expired), or when it expires
// before then (a key retired by a rotation expires at its grace period's
// end). The time may be past: the pass runs on a schedule.
func (k Key) DormantDisableAt(now time.Time, days *int) *time.Time {
	if days == nil || k.StatusAt(now) != StatusActive {
		return nil
	}
	at := k.DormantSince().Add(time.Duration(*days) * 24 * time.Hour)
	if k.ExpiresAt != nil && !k.ExpiresAt.After(at) {
		return nil
	}
	return &at
}

// DormantState is what the dormant pass reads of a key.
type DormantState struct {
	Status Status
	// Retired: rotated, in its grace period (it expires anyway).
	Retired bool
	// LastUsedAt is the stored string (the disable's condition compares
	// it), "" never used.
	LastUsedAt string
	// Since is when the dormant clock started; WarnedFor the Since a
	// warning was written for (zero: none).
	Since, WarnedFor time.Time
}
