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
