package accesskey

import "slices"

// ListField is an optional list member of a request body: Set is false
// when the member is absent; Set with a nil Value is an explicit null
// (lift the restriction).
type ListField struct {
	Set   bool
	Value []string
}

// Or is the field's value when it is set, else def.
func (f ListField) Or(def []string) []string {
	if f.Set {
		return f.Value
	}
	return def
}

// KeyUpdate is a change of a key's description and restrictions (PATCH of
// a key): each field left out is kept. Values are in canonical form.
type KeyUpdate struct {
	Description  *string
	AllowedCIDRs ListField
	Scopes       ListField
}

// Empty reports whether the update names no field.
func (u KeyUpdate) Empty() bool {
	return u.Description == nil && !u.AllowedCIDRs.Set && !u.Scopes.Set
}

// StringChange is a string field's value before and after a change.
type StringChange struct{ Before, After string }

// ListChange is a list field's value before and after a change; nil is
// unrestricted, empty is an empty list.
type ListChange struct{ Before, After []string }

// KeyChanges is what an update changed: each field that changed, before and
// after; nil the fields that did not.
type KeyChanges struct {
	Description  *StringChange
	AllowedCIDRs *ListChange
	Scopes       *ListChange
	// DaysLeft and ThresholdDays: an AccessKeyExpiring's (expirywarn.go).
	DaysLeft      *int
	ThresholdDays *int
	// Reason: a dormant key's records ("unused", dormant.go).
	Reason string
	// Policy: a KeyPolicyChanged's policy as it became (policyaudit.go).
	Policy *PolicyValues
}

// Apply returns k with u applied, and what changed (nil when nothing did).
func (u KeyUpdate) Apply(k Key) (Key, *KeyChanges) {
	var c KeyChanges
	changed := false
	if u.Description != nil && *u.Description != k.Description {
		c.Description = &StringChange{Before: k.Description, After: *u.Description}
		k.Description, changed = *u.Description, true
	}
	if u.AllowedCIDRs.Set && !SameList(u.AllowedCIDRs.Value, k.AllowedCIDRs) {
		c.AllowedCIDRs = &ListChange{Before: k.AllowedCIDRs, After: u.AllowedCIDRs.Value}
		k.AllowedCIDRs, changed = u.AllowedCIDRs.Value, true
	}
	if u.Scopes.Set && !SameList(u.Scopes.Value, k.Scopes) {
		c.Scopes = &ListChange{Before: k.Scopes, After: u.Scopes.Value}
		k.Scopes, changed = u.Scopes.Value, true
	}
	if !changed {
		return k, nil
	}
	return k, &c
}

// SameList reports whether two restriction lists are the same: nil
// (unrestricted) differs from empty.
func SameList(a, b []string) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}

// SameRestrictions reports whether two keys have the same description and
// restrictions (the fields an update changes and a rotation copies).
func SameRestrictions(a, b Key) bool {
	return a.Description == b.Description && SameList(a.AllowedCIDRs, b.AllowedCIDRs) && SameList(a.Scopes, b.Scopes)
}
