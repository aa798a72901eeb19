package accesskey

import (
	"fmt"
	"slices"
	"time"
)

// AuditKeyExpiring is the warning that a key's expiry is near: written by
// the expiry-warning pass (internal/sweep), once per threshold per key.
const AuditKeyExpiring = "AccessKeyExpiring"

// ExpiryWarningSub is the system actor's sub on an AccessKeyExpiring.
const ExpiryWarningSub = "expiry-warning"

// Bounds of a policy's expiryWarningDays.
const (
	MinExpiryWarningDay  = 1
	MaxExpiryWarningDay  = 365
	MaxExpiryWarningDays = 5
)

// DefaultExpiryWarningDays are the thresholds of a team that sets none.
var DefaultExpiryWarningDays = []int{30, 7, 1}

// WarningDays is the policy's expiry-warning thresholds, largest first:
// the default when it sets none.
func (p KeyPolicy) WarningDays() []int {
	if p.ExpiryWarningDays == nil {
		return slices.Clone(DefaultExpiryWarningDays)
	}
	d := slices.Clone(p.ExpiryWarningDays)
	slices.Sort(d)
	slices.Reverse(d)
	return d
}

// ValidateExpiryWarningDays checks a policy's thresholds: nil (the
// default), or 1 to 5 distinct whole days, each 1 to 365.
func ValidateExpiryWarningDays(days []int) error {
	if days == nil {
		return nil
	}
	bad := Invalid("expiryWarningDays", fmt.Sprintf("must be null or a list of 1 to %d distinct integers from %d to %d",
		MaxExpiryWarningDays, MinExpiryWarningDay, MaxExpiryWarningDay))
	if len(days) < 1 || len(days) > MaxExpiryWarningDays {
		return bad
	}
	seen := map[int]bool{}
	for _, d := range days {
		if d < MinExpiryWarningDay || d > MaxExpiryWarningDay || seen[d] {
			return bad
		}
		seen[d] = true
	}
	return nil
}

// ExpiryWarning is a warning due on a key: the threshold it warns for and
// the whole days left, rounded up.
type ExpiryWarning struct {
	ThresholdDays int
	DaysLeft      int
}

// DueExpiryWarning decides whether a key expiring at expiresAt is due a
// warning at now, given the team's thresholds and the smallest threshold
// the key was already warned for (warned; 0: none). The remaining time has
// crossed a threshold t when it is at most t days; of the thresholds
// crossed, the smallest is the one warned for, and every threshold at or
// above the smallest warned counts as used. So a key found inside several
// thresholds warns once, for the smallest, and a key warned for 7 days
// warns next for 1. An expired key (the sweep removes it) is due nothing.
func DueExpiryWarning(now, expiresAt time.Time, thresholds []int, warned int) (ExpiryWarning, bool) {
	left := expiresAt.Sub(now)
	if left <= 0 {
		return ExpiryWarning{}, false
	}
	smallest := 0
	for _, t := range thresholds {
		if left <= time.Duration(t)*24*time.Hour && (smallest == 0 || t < smallest) {
			smallest = t
		}
	}
	if smallest == 0 || (warned != 0 && smallest >= warned) {
		return ExpiryWarning{}, false
	}
	days := int((left + 24*time.Hour - 1) / (24 * time.Hour))
	return ExpiryWarning{ThresholdDays: smallest, DaysLeft: days}, true
}

// ExpiringRef is a key the expiry index lists, with its expiry.
type ExpiringRef struct {
	Ref
	ExpiresAt time.Time
}

// WarnState is what the expiry-warning pass reads of a key: whether it may
// warn (active, not retired by a rotation), its expiry, and the smallest
// threshold already warned (0: none).
type WarnState struct {
	Status     Status
	Retired    bool
	ExpiresAt  *time.Time
	WarnedDays int
}
