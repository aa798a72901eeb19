package accesskey

import (
	"fmt"
	"time"
)

// Bounds of a team's maximum key lifetime.
const (
	MinLifetimeDays = 1
	MaxLifetimeDays = 3650
)

// KeyPolicy is a team's rule for its keys (teampolicy.go).
type KeyPolicy struct {
	// MaxLifetimeDays bounds how long after its creation a key may live;
	// nil: no bound.
	MaxLifetimeDays *int
	// AllowedCIDRs are the team's networks, canonical (nil: none): every
	// new key's allowedCidrs must lie inside them.
	AllowedCIDRs []string
	// DefaultScopes are a new key's scopes when its request names none
	// (nil: none, the key is unrestricted).
	DefaultScopes []string
	// ExpiryWarningDays are the expiry-warning thresholds (expirywarn.go);
	// nil: DefaultExpiryWarningDays.
	ExpiryWarningDays []int
	// DisableUnusedAfterDays disables keys unused that long (dormant.go);
	// nil: off.
	DisableUnusedAfterDays *int
	UpdatedAt              *time.Time
	UpdatedBy              string
	// AllowSelfRotation lets a key rotate itself (false: the default).
	AllowSelfRotation bool
}

// ValidateMaxLifetimeDays checks a policy's bound: nil, or 1 to 3650 days.
func ValidateMaxLifetimeDays(days *int) error {
	if days != nil && (*days < MinLifetimeDays || *days > MaxLifetimeDays) {
		return Invalid("maxLifetimeDays", fmt.Sprintf("must be null or an integer from %d to %d", MinLifetimeDays, MaxLifetimeDays))
	}
	return nil
}

// Expiry is when a key created at createdAt expires, given the expiry the
// caller asked for (nil: none) and the team's policy: the requested expiry,
// which must be after createdAt and no later than the policy allows; without
// one, createdAt plus the policy's lifetime; without either, never (nil).
func Expiry(createdAt time.Time, requested *time.Time, policy KeyPolicy) (*time.Time, error) {
	var limit *time.Time
	if policy.MaxLifetimeDays != nil {
		l := createdAt.AddDate(0, 0, *policy.MaxLifetimeDays)
		limit = &l
	}
	if requested == nil {
		return limit, nil
	}
	if !requested.After(createdAt) {
		return nil, Invalid("expiresAt", "must be in the future")
	}
	if limit != nil && requested.After(*limit) {
		return nil, Invalid("expiresAt", fmt.Sprintf("must be at most %d days after creation (the team's maxLifetimeDays), no later than %s",
			*policy.MaxLifetimeDays, limit.UTC().Format(time.RFC3339)))
	}
	t := requested.UTC()
	return &t, nil
}

// SealedSecret is a new key's secret as the store keeps it: its KMS
// ciphertext and its SHA-256 (to trace a leaked secret to its key), never
// the secret.
type SealedSecret struct {
	Ciphertext []byte
	SHA256     string
	// Replay, when the request carried an Idempotency-Key, is the answer to
	// replay, written in the same transaction as the key: no key without
	// its record, no record without its key.
	Replay *ReplayRecord
}

// Rotation's grace period: how long the replaced key keeps working.
const (
	DefaultGracePeriod = 24 * time.Hour
	MaxGracePeriod     = 7 * 24 * time.Hour
)

// RetiredExpiry is when a key replaced at now with grace stops working: now
// plus grace, or its own expiry if that is earlier; nil with no grace,
// when the old key is deleted with the rotation.
func RetiredExpiry(old Key, now time.Time, grace time.Duration) *time.Time {
	if grace <= 0 {
		return nil
	}
	t := now.Add(grace).UTC().Truncate(time.Second)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(t) {
		t = *old.ExpiresAt
	}
	return &t
}

// Rotation is a key's replacement: the new key, and when the old one stops
// working (Grace after now, or its own earlier expiry).
type Rotation struct {
	Old    Key // as read: its ExpiresAt is checked unchanged
	New    Key
	Sealed SealedSecret
	Policy KeyPolicy
	// OldExpiresAt is the old key's new expiry; nil with Grace zero, when
	// the old key is deleted in the same transaction.
	OldExpiresAt *time.Time
	// Audit is who rotates, for the rotation's audit record.
	Audit Audit
	// Self is a key rotating itself: the transaction holds the policy
	// copy to AllowSelfRotation true.
	Self bool
}
