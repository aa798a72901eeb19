package offboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/offboard"
)

type fakeStore struct {
	calls []string
	err   error
}

func (f *fakeStore) DeleteMemberKeys(_ context.Context, team, member string, audit accesskey.Audit) ([]string, error) {
	if audit.Actor.Type != "system" || audit.Actor.Sub != offboard.DetailType || audit.RequestID == "" {
		return nil, errors.New("offboarding by an event is not on the record as the system's")
	}
	f.calls = append(f.calls, team+"/"+member)
	return []string{"TKAKAAAAAAAAAAAAAAAAAAAA"}, f.err
}

// The handler deletes the member the event names, and refuses (as an error,
// so that Lambda retries and then keeps the event in the on-failure
// destination) an event it cannot use.
func TestHandler(t *testing.T) {
	event := func(detailType, detail string) events.EventBridgeEvent {
		return events.EventBridgeEvent{ID: "ev-1", DetailType: detailType, Source: "console", Detail: json.RawMessage(detail)}
	}
	tests := []struct {
		name     string
		ev       events.EventBridgeEvent
		storeErr error
		wantCall string
		wantErr  bool
	}{
		{"removed", event("TeamMemberRemoved", `{"teamId":"t1","memberId":"alice"}`), nil, "t1/alice", false},
		{"another detail-type", event("TeamMemberAdded", `{"teamId":"t1","memberId":"alice"}`), nil, "", true},
		{"no member", event("TeamMemberRemoved", `{"teamId":"t1"}`), nil, "", true},
		{"an id with a #", event("TeamMemberRemoved", `{"teamId":"t1","memberId":"a#b"}`), nil, "", true},
		{"not JSON", event("TeamMemberRemoved", `"t1/alice"`), nil, "", true},
		{"the store fails", event("TeamMemberRemoved", `{"teamId":"t1","memberId":"alice"}`), errors.New("throttled"), "t1/alice", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{err: tt.storeErr}
			res, err := offboard.Handler(store, slog.New(slog.DiscardHandler))(context.Background(), tt.ev)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantCall == "" && len(store.calls) != 0 || tt.wantCall != "" && (len(store.calls) != 1 || store.calls[0] != tt.wantCall) {
				t.Fatalf("store calls %v, want %q", store.calls, tt.wantCall)
			}
			if !tt.wantErr && (res.TeamID != "t1" || res.MemberID != "alice" || len(res.Deleted) != 1) {
				t.Fatalf("result %+v", res)
			}
		})
	}
}
