// Package offboard deletes a departing member's keys when the console's
// backend announces it: an EventBridge event with detail-type
// TeamMemberRemoved and detail {"teamId","memberId"}, delivered to a
// function by a rule (template.yaml). The deletion is the store's, the same
// as DELETE …/members/{memberId}/access-keys, and idempotent: a retried or
// duplicated event deletes nothing more.
package offboard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/auditevent"
)

// DetailType is the detail-type of the event the rule matches.
const DetailType = "TeamMemberRemoved"

// Store deletes every key of a member.
type Store interface {
	DeleteMemberKeys(ctx context.Context, teamID, memberID string, audit accesskey.Audit) ([]string, error)
}

// Detail is the event's detail.
type Detail struct {
	TeamID   string `json:"teamId"`
	MemberID string `json:"memberId"`
}

// Result is what a handled event did.
type Result struct {
	TeamID   string   `json:"teamId"`
	MemberID string   `json:"memberId"`
	Deleted  []string `json:"deleted"`
}

// Handler returns the function's Lambda handler for the events of source
// (template.yaml's MemberEventSource). It refuses, before any event, an
// empty source and teamkeys' own (auditevent.Source): the events the stack
// publishes for its audit records must never pass for the console's. An
// event it cannot use (another source or detail-type, a malformed detail,
// invalid ids) is an error, so that Lambda's retries and then the
// on-failure destination keep it where an operator sees it; a store
// failure is an error too, and the retry does the rest.
func Handler(store Store, log *slog.Logger, source string) (func(context.Context, events.EventBridgeEvent) (Result, error), error) {
	switch source {
	case "":
		return nil, fmt.Errorf("offboard: no member event source (TEAMKEYS_MEMBER_EVENT_SOURCE, template parameter MemberEventSource)")
	case auditevent.Source:
		return nil, fmt.Errorf("offboard: the member event source (TEAMKEYS_MEMBER_EVENT_SOURCE, template parameter MemberEventSource) must not be %q, the source of teamkeys' own audit events", auditevent.Source)
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
		if ev.Source != source || ev.DetailType != DetailType {
			return Result{}, fmt.Errorf("offboard: event %s has source %q and detail-type %q, want %q and %q", ev.ID, ev.Source, ev.DetailType, source, DetailType)
		}
		var d Detail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return Result{}, fmt.Errorf("offboard: event %s: detail: %w", ev.ID, err)
		}
		if !accesskey.ValidTeamOrMemberID(d.TeamID) || !accesskey.ValidTeamOrMemberID(d.MemberID) {
			return Result{}, fmt.Errorf("offboard: event %s: teamId and memberId must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ev.ID)
		}
		// On the record as the event's: its detail-type, its id (standing
		// for the request's too) and the account that put it.
		audit := accesskey.Audit{Actor: accesskey.EventActor(DetailType, ev.ID, ev.AccountID), RequestID: ev.ID, At: time.Now()}
		deleted, err := store.DeleteMemberKeys(ctx, d.TeamID, d.MemberID, audit)
		if err != nil {
			log.Error("offboarding failed", "eventId", ev.ID, "teamId", d.TeamID, "memberId", d.MemberID, "deleted", deleted, "error", err.Error())
			return Result{}, err
		}
		log.Info("member offboarded", "eventId", ev.ID, "account", ev.AccountID, "teamId", d.TeamID, "memberId", d.MemberID, "deleted", deleted)
		return Result{TeamID: d.TeamID, MemberID: d.MemberID, Deleted: deleted}, nil
	}, nil
}
