// Package auditevent is an audit record as the world sees it: the JSON of
// GET /v1/teams/{teamId}/audit-events and the detail of the event published
// to EventBridge for it (source Source, detail-type the record's action).
// One shape, written once, for both.
package auditevent

import (
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Source is the source of every event teamkeys publishes.
const Source = "teamkeys"

// Actor is who made the change.
type Actor struct {
	Type      string `json:"type"`
	Sub       string `json:"sub,omitempty"`
	SourceIP  string `json:"sourceIp,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	// EventID and Account: an event actor's event id and the account that
	// put it.
	EventID string `json:"eventId,omitempty"`
	Account string `json:"account,omitempty"`
	// AccessKeyID: an access-key actor's key (a self-rotation).
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

// Changes is what the change did.
type Changes struct {
	StatusBefore    string  `json:"statusBefore,omitempty"`
	StatusAfter     string  `json:"statusAfter,omitempty"`
	ExpiresAt       *string `json:"expiresAt,omitempty"`
	RotatedFrom     string  `json:"rotatedFrom,omitempty"`
	MaxLifetimeDays *int    `json:"maxLifetimeDays,omitempty"`
	// AccessKeyUpdated: each field it changed, before and after.
	Description  *StringChange `json:"description,omitempty"`
	AllowedCidrs *ListChange   `json:"allowedCidrs,omitempty"`
	Scopes       *ListChange   `json:"scopes,omitempty"`
	// AccessKeyExpiring: whole days left (rounded up) and the threshold.
	DaysLeft      *int `json:"daysLeft,omitempty"`
	ThresholdDays *int `json:"thresholdDays,omitempty"`
	// A dormant key's AccessKeyDormant and AccessKeyDisabled: "unused".
	Reason string `json:"reason,omitempty"`
	// KeyPolicyChanged: the team's key policy as it became.
	Policy *Policy `json:"policy,omitempty"`
}

// Policy is a team's key policy after a change: every field, null
// included.
type Policy struct {
	MaxLifetimeDays        *int     `json:"maxLifetimeDays"`
	AllowedCidrs           []string `json:"allowedCidrs"`
	DefaultScopes          []string `json:"defaultScopes"`
	ExpiryWarningDays      []int    `json:"expiryWarningDays"`
	DisableUnusedAfterDays *int     `json:"disableUnusedAfterDays"`
	AllowSelfRotation      bool     `json:"allowSelfRotation"`
}

// StringChange is a text field before and after a change.
type StringChange struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

// ListChange is a restriction before and after a change: null is
// unrestricted.
type ListChange struct {
	Before []string `json:"before"`
	After  []string `json:"after"`
}

// Detail is an audit record as the API shows it and as its event's detail.
type Detail struct {
	EventID     string  `json:"eventId"`
	Time        string  `json:"time"`
	TeamID      string  `json:"teamId"`
	MemberID    string  `json:"memberId,omitempty"`
	AccessKeyID string  `json:"accessKeyId,omitempty"`
	Action      string  `json:"action"`
	Actor       Actor   `json:"actor"`
	RequestID   string  `json:"requestId,omitempty"`
	Changes     Changes `json:"changes"`
	Leak        *Leak   `json:"leak,omitempty"`
}

// Leak is where a leaked secret was found (AccessKeyLeaked only).
type Leak struct {
	URL    string `json:"url,omitempty"`
	Source string `json:"source,omitempty"`
}

// timeLayout is the record's time: RFC 3339 UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// FromRecord is r as the API and its event show it.
func FromRecord(r accesskey.AuditRecord) Detail {
	d := Detail{
		EventID: r.EventID, Time: r.Time.UTC().Format(timeLayout), TeamID: r.TeamID, MemberID: r.MemberID,
		AccessKeyID: r.AccessKeyID, Action: r.Action, RequestID: r.RequestID,
		Actor: Actor{Type: r.Actor.Type, Sub: r.Actor.Sub, SourceIP: r.Actor.SourceIP, UserAgent: r.Actor.UserAgent,
			EventID: r.Actor.EventID, Account: r.Actor.Account, AccessKeyID: r.Actor.AccessKeyID},
		Changes: Changes{StatusBefore: string(r.StatusBefore), StatusAfter: string(r.StatusAfter),
			RotatedFrom: r.RotatedFrom, MaxLifetimeDays: r.MaxLifetimeDays},
	}
	if r.Leak != (accesskey.Leak{}) {
		d.Leak = &Leak{URL: r.Leak.URL, Source: r.Leak.Source}
	}
	if r.ExpiresAt != nil {
		s := r.ExpiresAt.UTC().Format(time.RFC3339)
		d.Changes.ExpiresAt = &s
	}
	if c := r.KeyChanges; c != nil {
		if c.Description != nil {
			d.Changes.Description = &StringChange{Before: c.Description.Before, After: c.Description.After}
		}
		if c.AllowedCIDRs != nil {
			d.Changes.AllowedCidrs = &ListChange{Before: c.AllowedCIDRs.Before, After: c.AllowedCIDRs.After}
		}
		if c.Scopes != nil {
			d.Changes.Scopes = &ListChange{Before: c.Scopes.Before, After: c.Scopes.After}
		}
		d.Changes.DaysLeft, d.Changes.ThresholdDays = c.DaysLeft, c.ThresholdDays
		d.Changes.Reason = c.Reason
		if v := c.Policy; v != nil {
			d.Changes.Policy = &Policy{MaxLifetimeDays: v.MaxLifetimeDays, AllowedCidrs: v.AllowedCIDRs, DefaultScopes: v.DefaultScopes,
				ExpiryWarningDays: v.ExpiryWarningDays, DisableUnusedAfterDays: v.DisableUnusedAfterDays, AllowSelfRotation: v.AllowSelfRotation}
		}
	}
	return d
}
