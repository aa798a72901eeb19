package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/local/publisher"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/publish"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// sinkEvent is one line of a file sink.
type sinkEvent struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

// readSink reads a file sink's lines, failing the test on a line that is not
// exactly {"source","detail-type","detail"} with an object as detail.
func readSink(t *testing.T, path string) []sinkEvent {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []sinkEvent
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var e sinkEvent
		if err := dec.Decode(&e); err != nil || len(e.Detail) == 0 || e.Detail[0] != '{' {
			t.Fatalf("sink line %q: not an event (%v)", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// waitForEvents waits (at most a minute) until the sink holds at least n
// events with n distinct eventIds.
func waitForEvents(t *testing.T, path string, n int) []sinkEvent {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		events := readSink(t, path)
		if len(eventIDs(t, events)) >= n {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %d distinct events in the sink, it holds %d lines", n, len(events))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// distinctEvents is how many eventIds a file sink holds (for a goroutine:
// it fails no test).
func distinctEvents(path string) int {
	raw, _ := os.ReadFile(path)
	ids := map[string]bool{}
	for line := range bytes.Lines(raw) {
		var e struct {
			Detail struct {
				EventID string `json:"eventId"`
			} `json:"detail"`
		}
		if json.Unmarshal(line, &e) == nil {
			ids[e.Detail.EventID] = true
		}
	}
	return len(ids)
}

func quietLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// eventIDs counts the lines of each eventId, and fails the test when two
// lines of one eventId differ: a repeat is the same event.
func eventIDs(t *testing.T, events []sinkEvent) map[string]int {
	t.Helper()
	seen, first := map[string]int{}, map[string]string{}
	for _, e := range events {
		var d struct {
			EventID string `json:"eventId"`
		}
		json.Unmarshal(e.Detail, &d)
		line, _ := json.Marshal(e)
		if f, ok := first[d.EventID]; ok && f != string(line) {
			t.Fatalf("eventId %s delivered twice, differently:\n\t%s\n\t%s", d.EventID, f, line)
		}
		first[d.EventID] = string(line)
		seen[d.EventID]++
	}
	return seen
}

// changeEverything makes one change of each kind but the sweep's (a leak
// reported by the team's admin included), through
// the API, and returns how many audit records they make.
func changeEverything(t *testing.T, s *stack) int {
	t.Helper()
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	do := func(method, path, body string) response {
		t.Helper()
		resp := s.Do(request{Method: method, Path: path, Token: admin, Body: body})
		if resp.Status >= 300 {
			t.Fatalf("%s %s: %s", method, path, resp)
		}
		return resp
	}
	k := s.Generate("t1", "alice", "laptop") // AccessKeyCreated
	keyPath := keysPath("t1", "alice") + "/" + k.AccessKeyID
	do("POST", keyPath+"/disable", "")                                                   // AccessKeyDisabled
	do("POST", keyPath+"/enable", "")                                                    // AccessKeyEnabled
	do("PATCH", keyPath, `{"allowedCidrs":["203.0.113.0/24"],"scopes":["orders:read"]}`) // AccessKeyUpdated
	var rotated createdKey
	do("POST", keyPath+"/rotate", `{"gracePeriodSeconds":0}`).Decode(t, &rotated) // AccessKeyRotated
	do("DELETE", keysPath("t1", "alice")+"/"+rotated.AccessKeyID, "")             // AccessKeyDeleted
	s.Generate("t1", "bob", "")                                                   // AccessKeyCreated
	do("DELETE", keysPath("t1", "bob"), "")                                       // AccessKeyDeleted (offboarding)
	if resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: s.Token("olga", "t1", accesskey.RoleOwner),
		Body: `{"maxLifetimeDays":30}`}); resp.Status != 200 { // KeyPolicyChanged
		t.Fatalf("put key policy: %s", resp)
	}
	leaked := s.Generate("t1", "carol", "") // AccessKeyCreated
	var report struct{ Matched bool }
	do("POST", "/v1/teams/t1/leaks", `{"secretAccessKey":"`+leaked.SecretAccessKey+`"}`).Decode(t, &report) // AccessKeyLeaked
	if !report.Matched {
		t.Fatalf("the leak of carol's key did not match it")
	}
	return 11
}

// TestChangesArePublished: with TEAMKEYS_EVENTS_SINK a file, every change
// made through the API arrives in it as exactly one event: source teamkeys,
// detail-type the action, detail exactly the audit record the API lists.
func TestChangesArePublished(t *testing.T) {
	sink := filepath.Join(t.TempDir(), "events.jsonl")
	s := teststack.New(t, teststack.Options{Server: func(o *server.Options) {
		o.Events = publisher.Options{Sink: sink, PollInterval: 20 * time.Millisecond}
	}})
	n := changeEverything(t, s)
	records, _ := auditEvents(t, s, "?limit=100")
	if len(records) != n {
		t.Fatalf("%d audit records, want %d", len(records), n)
	}
	events := waitForEvents(t, sink, n)
	if len(events) != n {
		t.Fatalf("%d events in the sink, want exactly %d (one per change)", len(events), n)
	}
	// The detail is the API's record, field for field.
	listed := s.Do(request{Method: "GET", Path: "/v1/teams/t1/audit-events?limit=100", Token: s.Token("admin", "t1", accesskey.RoleAdmin)})
	var page struct{ AuditEvents []json.RawMessage }
	listed.Decode(t, &page)
	want := map[string]string{}
	for i, raw := range page.AuditEvents {
		want[records[i].EventID] = string(raw)
	}
	wantTypes := map[string]int{"AccessKeyCreated": 3, "AccessKeyLeaked": 1, "AccessKeyDisabled": 1, "AccessKeyEnabled": 1, "AccessKeyRotated": 1, "AccessKeyDeleted": 2, "KeyPolicyChanged": 1,
		"AccessKeyUpdated": 1}
	gotTypes := map[string]int{}
	for _, e := range events {
		var d struct {
			EventID string `json:"eventId"`
			Action  string `json:"action"`
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if e.Source != "teamkeys" || e.DetailType != d.Action {
			t.Errorf("source %q, detail-type %q for a %s record: want teamkeys and its action", e.Source, e.DetailType, d.Action)
		}
		if w, ok := want[d.EventID]; !ok || w != string(e.Detail) {
			t.Errorf("event %s detail\n\t%s\nwant the API's record\n\t%s", d.EventID, e.Detail, w)
		}
		gotTypes[e.DetailType]++
	}
	if fmt.Sprint(gotTypes) != fmt.Sprint(wantTypes) {
		t.Errorf("detail-types %v, want %v", gotTypes, wantTypes)
	}
}

// stopAfter is a sink that stops its publisher after it has delivered
// deliveries events: the calls after that fail, as if the process died.
type stopAfter struct {
	sink       *publisher.Sink
	deliveries int
	delivered  int
	stop       context.CancelFunc
}

func (s *stopAfter) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := s.sink.PutEvents(ctx, in, opts...)
	if err == nil {
		if s.delivered += len(in.Entries); s.delivered >= s.deliveries {
			s.stop()
		}
	}
	return out, err
}

// TestEventsSurviveARestart: a publisher stopped after a few deliveries
// and started again on the same checkpoint delivers every event, from the
// real stream of DynamoDB Local; one whose checkpoint was lost (a crash
// between delivery and checkpoint) delivers some twice, each repeat the
// same event with the same eventId, and none lost.
func TestEventsSurviveARestart(t *testing.T) {
	for _, tc := range []struct {
		name           string
		loseCheckpoint bool
	}{
		{name: "stopped, then started on its checkpoint"},
		{name: "crashed before its checkpoint, then started again", loseCheckpoint: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			want := changeEverything(t, s)
			for _, m := range []string{"dave", "erin", "frank", "grace"} {
				for range 2 { // the cap
					s.Generate("t1", m, "")
					want++
				}
			}
			dir := t.TempDir()
			sinkPath, checkpoint := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "events.checkpoint")
			run := func(deliveries int) {
				t.Helper()
				sink, err := publisher.OpenSink(sinkPath)
				if err != nil {
					t.Fatal(err)
				}
				defer sink.Close()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				arn, err := publisher.StreamARN(ctx, s.DB, s.Name)
				if err != nil {
					t.Fatal(err)
				}
				events := publish.EventPutter(sink)
				if deliveries > 0 {
					events = &stopAfter{sink: sink, deliveries: deliveries, stop: cancel}
				} else {
					// The second run: until every event is in the sink.
					go func() {
						defer cancel()
						for ctx.Err() == nil && distinctEvents(sinkPath) < want {
							time.Sleep(20 * time.Millisecond)
						}
					}()
				}
				r := &publisher.Reader{Streams: publisher.NewStreamsClient(s.AWS), StreamARN: arn, Checkpoint: checkpoint,
					PollInterval: 20 * time.Millisecond, Log: quietLog(), Publisher: publish.Publisher{Events: events, Log: quietLog()}}
				if err := r.Run(ctx); err != nil {
					t.Fatal(err)
				}
				if ctx.Err() == context.DeadlineExceeded {
					t.Fatalf("the publisher ran a minute without being stopped")
				}
			}
			run(7)
			first := readSink(t, sinkPath)
			if len(first) < 7 || len(first) >= want {
				t.Fatalf("the first run delivered %d events, want from 7 to fewer than %d", len(first), want)
			}
			if tc.loseCheckpoint {
				if err := os.Remove(checkpoint); err != nil {
					t.Fatal(err)
				}
			}
			run(0)
			events := readSink(t, sinkPath)
			ids := eventIDs(t, events) // fails on a repeat that differs
			records, _ := auditEvents(t, s, "?limit=100")
			if len(records) != want {
				t.Fatalf("%d audit records, want %d", len(records), want)
			}
			for _, r := range records {
				if ids[r.EventID] == 0 {
					t.Errorf("the %s of %s (%s) was never delivered", r.Action, r.AccessKeyID, r.EventID)
				}
				delete(ids, r.EventID)
			}
			if len(ids) != 0 {
				t.Errorf("events of no audit record: %v", ids)
			}
			repeats := len(events) - len(records)
			t.Logf("%d events: %d delivered before the stop, %d repeats after it", len(records), len(first), repeats)
			if tc.loseCheckpoint && repeats < len(first) {
				t.Errorf("%d repeats after losing the checkpoint, want the %d first deliveries again", repeats, len(first))
			}
			if !tc.loseCheckpoint && repeats != 0 {
				t.Errorf("%d repeats after a clean stop, want none", repeats)
			}
		})
	}
}
