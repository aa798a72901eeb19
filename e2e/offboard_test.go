package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/offboard"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// TestOffboardThroughTheAPI: DELETE on a member's keys deletes every one of
// them, slots and all, and names them; a member with no keys gives an
// empty list; nothing of another member changes.
func TestOffboardThroughTheAPI(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	a1 := s.Generate("t1", "alice", "")
	a2 := s.Generate("t1", "alice", "")
	bob := s.Generate("t1", "bob", "")
	for i, want := range [][]string{{a1.AccessKeyID, a2.AccessKeyID}, {}} {
		resp := s.Do(request{Method: "DELETE", Path: keysPath("t1", "alice"), Token: admin})
		var got struct {
			Deleted []string `json:"deleted"`
		}
		resp.Decode(t, &got)
		slices.Sort(got.Deleted)
		slices.Sort(want)
		if resp.Status != http.StatusOK || got.Deleted == nil || !slices.Equal(got.Deleted, want) {
			t.Fatalf("offboard #%d: %s, want deleted %v", i+1, resp, want)
		}
		wantHolds(t, s, "t1", "alice", 0)
	}
	wantHolds(t, s, "t1", "bob", 1)
	if s.Item("KEY#"+bob.AccessKeyID, "KEY") == nil {
		t.Fatal("bob's key is gone")
	}
	// Offboarded, alice can be given keys again.
	s.Generate("t1", "alice", "back")
	checkInvariants(t, s)
}

// TestOffboardThroughTheEvent: the MemberRemoved function's handler, on the
// real table, deletes the member's keys once; the same event again (a
// retry, a duplicate) deletes nothing more.
func TestOffboardThroughTheEvent(t *testing.T) {
	s := newStack(t)
	s.Generate("t1", "alice", "")
	s.Generate("t1", "alice", "")
	store := dynamostore.New(s.DB, s.Name)
	handle, err := offboard.Handler(store, slog.New(slog.DiscardHandler), "console.example")
	if err != nil {
		t.Fatal(err)
	}
	ev := events.EventBridgeEvent{ID: "ev-1", AccountID: "123456789012", DetailType: offboard.DetailType, Source: "console.example", Time: time.Now(),
		Detail: json.RawMessage(`{"teamId":"t1","memberId":"alice"}`)}
	for i, want := range []int{2, 0} {
		res, err := handle(context.Background(), ev)
		if err != nil || len(res.Deleted) != want {
			t.Fatalf("event #%d: %+v, %v; want %d deleted", i+1, res, err, want)
		}
		wantHolds(t, s, "t1", "alice", 0)
	}
	checkInvariants(t, s)
	// Each deletion is on the record as the event's: its id and the account
	// that put it, read back from the team's records and from the member's
	// index alike.
	for _, member := range []string{"", "alice"} {
		records, _, err := store.ListAudit(context.Background(), "t1", member, "", 50, nil)
		if err != nil {
			t.Fatal(err)
		}
		deleted := 0
		for _, r := range records {
			if r.Action != accesskey.AuditKeyDeleted {
				continue
			}
			deleted++
			want := accesskey.Actor{Type: "event", Sub: offboard.DetailType, EventID: "ev-1", Account: "123456789012"}
			if r.Actor != want || r.RequestID != "ev-1" {
				t.Errorf("member %q: %s by %+v in request %q, want %+v in ev-1", member, r.Action, r.Actor, r.RequestID, want)
			}
		}
		if deleted != 2 {
			t.Errorf("member %q: %d deletions on the record, want 2", member, deleted)
		}
	}
}

// TestOffboardThroughTheLocalEventBus: a console backend's own EventBridge
// client, pointed at the local server, publishes TeamMemberRemoved; the
// local stand-in for the rule delivers it to the MemberRemoved handler in
// process, as on AWS. An event of another source or detail-type goes
// nowhere.
func TestOffboardThroughTheLocalEventBus(t *testing.T) {
	s := newStack(t)
	s.Generate("t1", "alice", "")
	s.Generate("t1", "bob", "")
	client := eventbridge.NewFromConfig(s.AWS, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(s.URL) })
	put := func(source, detailType, detail string) *eventbridge.PutEventsOutput {
		t.Helper()
		out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String(source), DetailType: aws.String(detailType), Detail: aws.String(detail),
		}}})
		if err != nil {
			t.Fatalf("PutEvents: %v", err)
		}
		return out
	}
	if out := put("someone.else", offboard.DetailType, `{"teamId":"t1","memberId":"bob"}`); out.FailedEntryCount != 0 || len(out.Entries) != 1 || out.Entries[0].EventId == nil {
		t.Fatalf("an event of another source: %+v", out)
	}
	wantHolds(t, s, "t1", "bob", 1)
	if out := put("console.teamkeys", offboard.DetailType, `{"teamId":"t1","memberId":"alice"}`); out.FailedEntryCount != 0 {
		t.Fatalf("TeamMemberRemoved: %+v", out)
	}
	wantHolds(t, s, "t1", "alice", 0)
	wantHolds(t, s, "t1", "bob", 1)
	// One the handler refuses is a failed entry, as EventBridge reports a
	// delivery it gave up on.
	if out := put("console.teamkeys", offboard.DetailType, `{"teamId":"t1","memberId":"../bob"}`); out.FailedEntryCount != 1 {
		t.Fatalf("an invalid member: %+v", out)
	}
	wantHolds(t, s, "t1", "bob", 1)
}

// TestLocalEventBusAnswersOnlyThisMachine: the local EventBridge stand-in
// signs nothing, so it answers only a call from this machine that names
// this machine: a page in the developer's browser reaching 127.0.0.1
// through its own DNS name (DNS rebinding: loopback peer, foreign Host) and
// another host reaching the port (foreign peer) are refused and delete
// nothing; an SDK client on 127.0.0.1 still offboards.
func TestLocalEventBusAnswersOnlyThisMachine(t *testing.T) {
	var handler http.Handler
	s := teststack.New(t, teststack.Options{Wrap: func(h http.Handler) http.Handler { handler = h; return h }})
	s.Generate("t1", "alice", "")
	const body = `{"Entries":[{"Source":"console.teamkeys","DetailType":"TeamMemberRemoved","Detail":"{\"teamId\":\"t1\",\"memberId\":\"alice\"}"}]}`
	putEvents := func(req *http.Request) {
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	}

	// DNS rebinding: from 127.0.0.1, naming another host.
	req, err := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	putEvents(req)
	req.Host = "rebind.example:" + req.URL.Port()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(answer), "AccessDeniedException") {
		t.Errorf("Host rebind.example: %d %s, want 403 AccessDeniedException", resp.StatusCode, answer)
	}
	wantHolds(t, s, "t1", "alice", 1)

	// Another host: naming 127.0.0.1, from 203.0.113.5.
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/", strings.NewReader(body))
	putEvents(r)
	r.RemoteAddr = "203.0.113.5:40000"
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "AccessDeniedException") {
		t.Errorf("peer 203.0.113.5: %d %s, want 403 AccessDeniedException", w.Code, w.Body)
	}
	wantHolds(t, s, "t1", "alice", 1)

	// This machine, as an SDK client calls it.
	client := eventbridge.NewFromConfig(s.AWS, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(s.URL) })
	out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("console.teamkeys"), DetailType: aws.String(offboard.DetailType), Detail: aws.String(`{"teamId":"t1","memberId":"alice"}`),
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents on 127.0.0.1: %+v, %v", out, err)
	}
	wantHolds(t, s, "t1", "alice", 0)
}
