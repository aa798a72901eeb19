package accesskey

// PolicyValues is what a team's key policy became: a KeyPolicyChanged
// record's changes.policy, so that the audit trail and its events say the
// whole policy after each change, not only its lifetime bound.
type PolicyValues struct {
	MaxLifetimeDays *int
	// AllowedCIDRs nil: no team networks; DefaultScopes nil: new keys
	// unrestricted, empty: new keys grant nothing.
	AllowedCIDRs  []string
	DefaultScopes []string
	// ExpiryWarningDays are the thresholds in force (the default when the
	// policy names none), as GET shows them.
	ExpiryWarningDays []int
	// DisableUnusedAfterDays nil: off.
	DisableUnusedAfterDays *int
	AllowSelfRotation      bool
}

// Values is p as a KeyPolicyChanged record states it.
func (p KeyPolicy) Values() *PolicyValues {
	return &PolicyValues{MaxLifetimeDays: p.MaxLifetimeDays, AllowedCIDRs: p.AllowedCIDRs, DefaultScopes: p.DefaultScopes,
		ExpiryWarningDays: p.WarningDays(), DisableUnusedAfterDays: p.DisableUnusedAfterDays, AllowSelfRotation: p.AllowSelfRotation}
}
