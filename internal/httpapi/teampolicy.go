package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Bounds of the count of keys outside the team's networks that a policy's
// answer carries (keysOutsidePolicy): past either, the count is a lower
// bound and keysOutsidePolicyComplete is false.
const (
	outsideCountMaxKeys = 5_000
	outsideCountMaxTime = 3 * time.Second
)

// generateRestrictions applies the team's policy to a new key: the
// policy's default scopes when the request has no scopes field at all
// (null asks for an unrestricted key), and its networks, which the key's
// allowedCidrs must lie within.
func generateRestrictions(key *accesskey.Key, cidrs, scopes accesskey.ListField) func(accesskey.KeyPolicy) error {
	return func(p accesskey.KeyPolicy) error {
		if !scopes.Set {
			key.Scopes = clone(p.DefaultScopes)
		}
		return p.CheckCIDRs(key.AllowedCIDRs)
	}
}

// rotateRestrictions holds a rotation's new key to the team's networks; a
// key whose networks were copied from the old key (the body has no
// allowedCidrs) is told to set them.
func rotateRestrictions(key *accesskey.Key, cidrs accesskey.ListField) func(accesskey.KeyPolicy) error {
	return func(p accesskey.KeyPolicy) error {
		err := p.CheckCIDRs(key.AllowedCIDRs)
		var v *accesskey.PolicyViolationError
		if err != nil && !cidrs.Set && errors.As(err, &v) {
			return accesskey.Violation(accesskey.FieldAllowedCIDRs, "the old key's networks, which a rotation copies, do not satisfy the team's key policy ("+v.Reason+"); set allowedCidrs in the rotate request")
		}
		return err
	}
}

func clone(list []string) []string {
	if list == nil {
		return nil
	}
	return append([]string{}, list...)
}

type keyPolicyJSON struct {
	TeamID          string   `json:"teamId"`
	MaxLifetimeDays *int     `json:"maxLifetimeDays"`
	AllowedCidrs    []string `json:"allowedCidrs"`
	DefaultScopes   []string `json:"defaultScopes"`
	// ExpiryWarningDays are the thresholds, largest first (the default
	// when the policy names none); DisableUnusedAfterDays null is off.
	ExpiryWarningDays      []int `json:"expiryWarningDays"`
	DisableUnusedAfterDays *int  `json:"disableUnusedAfterDays"`
	// AllowSelfRotation: always shown, false by default.
	AllowSelfRotation bool `json:"allowSelfRotation"`
	// KeysOutsidePolicy counts the keys that can sign (active, not
	// expired) whose allowedCidrs are absent or not within the team's; a
	// lower bound when KeysOutsidePolicyComplete is false.
	KeysOutsidePolicy         int     `json:"keysOutsidePolicy"`
	KeysOutsidePolicyComplete bool    `json:"keysOutsidePolicyComplete"`
	UpdatedAt                 *string `json:"updatedAt,omitempty"`
	UpdatedBy                 string  `json:"updatedBy,omitempty"`
}

// policyAnswer is the policy as GET and PUT answer it, with the count of
// keys outside its networks.
func (a *api) policyAnswer(r *http.Request, teamID string, p accesskey.KeyPolicy) (keyPolicyJSON, error) {
	team, err := accesskey.ParseAllowedCIDRs(p.AllowedCIDRs)
	if err != nil {
		return keyPolicyJSON{}, fmt.Errorf("key policy of %s: stored allowedCidrs: %v", teamID, err)
	}
	c, err := a.policies.CountKeysOutside(r.Context(), teamID, team, a.Now(), outsideCountMaxKeys, outsideCountMaxTime)
	if err != nil {
		return keyPolicyJSON{}, err
	}
	return keyPolicyJSON{
		TeamID: teamID, MaxLifetimeDays: p.MaxLifetimeDays,
		AllowedCidrs: p.AllowedCIDRs, DefaultScopes: p.DefaultScopes,
		ExpiryWarningDays: p.WarningDays(), DisableUnusedAfterDays: p.DisableUnusedAfterDays,
		AllowSelfRotation: p.AllowSelfRotation,
		KeysOutsidePolicy: c.Count, KeysOutsidePolicyComplete: c.Complete,
		UpdatedAt: timeJSON(p.UpdatedAt), UpdatedBy: p.UpdatedBy,
	}, nil
}

func (a *api) getPolicy(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionGetPolicy, false, false)
	if err != nil {
		return err
	}
	p, err := a.policies.Policy(r.Context(), t.ref.TeamID)
	if err != nil {
		return err
	}
	answer, err := a.policyAnswer(r, t.ref.TeamID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// setPolicy replaces the team's key policy: {"maxLifetimeDays": null |
// 1…3650, "allowedCidrs": null | [...], "defaultScopes": null | [...]}, the
// last two optional (absent: none). Keys made before keep their expiry and
// restrictions; the answer counts those outside the new networks.
func (a *api) setPolicy(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionSetPolicy, false, false)
	if err != nil {
		return err
	}
	fields, err := readJSONObject(r, "maxLifetimeDays", accesskey.FieldAllowedCIDRs, accesskey.FieldDefaultScopes, "expiryWarningDays", "disableUnusedAfterDays", fieldAllowSelfRotation)
	if err != nil {
		return err
	}
	raw, ok := fields["maxLifetimeDays"]
	if !ok {
		return accesskey.Invalid("maxLifetimeDays", "is required (null for no limit)")
	}
	var days *int
	if string(raw) != "null" {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return accesskey.Invalid("maxLifetimeDays", fmt.Sprintf("must be null or an integer from %d to %d", accesskey.MinLifetimeDays, accesskey.MaxLifetimeDays))
		}
		days = &n
	}
	if err := accesskey.ValidateMaxLifetimeDays(days); err != nil {
		return err
	}
	cidrs, err := listField(fields, accesskey.FieldAllowedCIDRs)
	if err != nil {
		return err
	}
	team, err := accesskey.ParseAllowedCIDRs(cidrs.Value)
	if err != nil {
		return err
	}
	defaults, err := listField(fields, accesskey.FieldDefaultScopes)
	if err != nil {
		return err
	}
	scopes, err := accesskey.ParseScopes(defaults.Value)
	if err != nil {
		var invalid *accesskey.ValidationError
		if errors.As(err, &invalid) {
			return accesskey.Invalid(accesskey.FieldDefaultScopes+strings.TrimPrefix(invalid.Field, accesskey.FieldScopes), invalid.Reason)
		}
		return err
	}
	now := a.Now().UTC().Truncate(time.Second)
	p := accesskey.KeyPolicy{MaxLifetimeDays: days, AllowedCIDRs: team.Strings(), DefaultScopes: scopes.Strings(),
		UpdatedAt: &now, UpdatedBy: t.caller.Subject}
	if p.ExpiryWarningDays, err = expiryWarningDaysField(fields); err != nil {
		return err
	}
	if p.DisableUnusedAfterDays, err = disableUnusedAfterDaysField(fields); err != nil {
		return err
	}
	if p.AllowSelfRotation, err = allowSelfRotationField(fields); err != nil {
		return err
	}
	if err := a.policies.SetPolicy(r.Context(), t.ref.TeamID, p, a.auditOf(r, t)); err != nil {
		return err
	}
	answer, err := a.policyAnswer(r, t.ref.TeamID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// expiryWarningDaysField reads the policy's optional expiryWarningDays:
// absent or null is the default thresholds (nil).
func expiryWarningDaysField(fields map[string]json.RawMessage) ([]int, error) {
	raw, ok := fields["expiryWarningDays"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var days []int
	if err := json.Unmarshal(raw, &days); err != nil || days == nil {
		return nil, accesskey.ValidateExpiryWarningDays([]int{})
	}
	return days, accesskey.ValidateExpiryWarningDays(days)
}

// disableUnusedAfterDaysField reads the policy's optional
// disableUnusedAfterDays: absent or null is off (nil).
func disableUnusedAfterDaysField(fields map[string]json.RawMessage) (*int, error) {
	raw, ok := fields["disableUnusedAfterDays"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, accesskey.ValidateDisableUnusedAfterDays(new(int))
	}
	return &n, accesskey.ValidateDisableUnusedAfterDays(&n)
}
