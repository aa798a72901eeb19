package offboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/offboard"
)

type fakeStore struct {
	calls []string
	audit []accesskey.Audit
	err   error
}

func (f *fakeStore) DeleteMemberKeys(_ context.Context, team, member string, audit accesskey.Audit) ([]string, error) {
	f.calls = append(f.calls, team+"/"+member)
	f.audit = append(f.audit, audit)
	return []string{"TKAKAAAAAAAAAAAAAAAAAAAA"}, f.err
}

const source = "console.example"

// The handler deletes the member the event names, on the record as the
// event's (its id and the account that put it), and refuses (as an error,
// so that Lambda retries and then keeps the event in the on-failure
// destination) an event it cannot use.
func TestHandler(t *testing.T) {
	event := func(source, detailType, detail string) events.EventBridgeEvent {
		return events.EventBridgeEvent{ID: "ev-1", AccountID: "123456789012", DetailType: detailType, Source: source, Detail: json.RawMessage(detail)}
	}
	tests := []struct {
		name     string
		ev       events.EventBridgeEvent
		storeErr error
		wantCall string
		wantErr  bool
	}{
		{"removed", event(source, "TeamMemberRemoved", `{"teamId":"t1","memberId":"alice"}`), nil, "t1/alice", false},
		{"another detail-type", event(source, "TeamMemberAdded", `{"teamId":"t1","memberId":"alice"}`), nil, "", true},
		{"another source", event("someone.else", "TeamMemberRemoved", `{"teamId":"t1","memberId":"alice"}`), nil, "", true},
		{"teamkeys' own source", event("teamkeys", "TeamMemberRemoved", `{"teamId":"t1","memberId":"alice"}`), nil, "", true},
		{"no member", event(source, "TeamMemberRemoved", `{"teamId":"t1"}`), nil, "", true},
		{"an id with a #", event(source, "TeamMemberRemoved", `{"teamId":"t1","memberId":"a#b"}`), nil, "", true},
		{"not JSON", event(source, "TeamMemberRemoved", `"t1/alice"`), nil, "", true},
		{"the store fails", event(source, "TeamMemberRemoved", `{"teamId":"t1","memberId":"alice"}`), errors.New("throttled"), "t1/alice", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{err: tt.storeErr}
			handle, err := offboard.Handler(store, slog.New(slog.DiscardHandler), source)
			if err != nil {
				t.Fatal(err)
			}
			res, err := handle(context.Background(), tt.ev)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantCall == "" && len(store.calls) != 0 || tt.wantCall != "" && (len(store.calls) != 1 || store.calls[0] != tt.wantCall) {
				t.Fatalf("store calls %v, want %q", store.calls, tt.wantCall)
			}
			if tt.wantCall != "" {
				want := accesskey.Actor{Type: "event", Sub: offboard.DetailType, EventID: "ev-1", Account: "123456789012"}
				if a := store.audit[0]; a.Actor != want || a.RequestID != "ev-1" {
					t.Fatalf("on the record as %+v (request %q), want %+v (request ev-1)", a.Actor, a.RequestID, want)
				}
			}
			if !tt.wantErr && (res.TeamID != "t1" || res.MemberID != "alice" || len(res.Deleted) != 1) {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// The function does not start on teamkeys' own source (its audit events
// would pass for the console's) or on none, and says why.
func TestHandlerRefusesASource(t *testing.T) {
	for _, src := range []string{"teamkeys", ""} {
		handle, err := offboard.Handler(&fakeStore{}, slog.New(slog.DiscardHandler), src)
		if err == nil || handle != nil || !strings.Contains(err.Error(), "MemberEventSource") {
			t.Errorf("source %q: handler %v, error %v; want no handler and an error naming MemberEventSource", src, handle != nil, err)
		}
	}
}
