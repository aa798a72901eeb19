package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/teamkeys/teamkeys/internal/publish"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

func s(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func n(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }

// auditImage is an audit record as the stream shows the item the store
// wrote (items.go's auditItem): a rotation by a user, with every field.
func auditImage(eventID string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": s("AUDIT#t1"), "sk": s("2026-12-02T15:04:05.123Z#" + eventID), "eventId": s(eventID),
		"time": s("2026-12-02T15:04:05.123Z"), "teamId": s("t1"), "memberId": s("alice"), "accessKeyId": s("TKAKEXAMPLE"),
		"action": s("AccessKeyRotated"), "actorType": s("user"), "actorSub": s("admin"), "actorSourceIp": s("192.0.2.1"),
		"actorUserAgent": s("curl/8"), "requestId": s("req-1"), "statusBefore": s("Active"), "statusAfter": s("Active"),
		"expiresAt": s("2026-12-03T15:04:05Z"), "rotatedFrom": s("TKAKOLD"), "ttl": n("1799999999"),
	}
}

func TestEntry(t *testing.T) {
	policy := map[string]ddbtypes.AttributeValue{"pk": s("AUDIT#t1"), "sk": s("2026-12-02T15:04:05.000Z#e2"), "eventId": s("e2"),
		"time": s("2026-12-02T15:04:05.000Z"), "teamId": s("t1"), "action": s("KeyPolicyChanged"), "actorType": s("user"),
		"actorSub": s("owner"), "maxLifetimeDays": n("30"), "ttl": n("1799999999")}
	sweep := map[string]ddbtypes.AttributeValue{"pk": s("AUDIT#t1"), "sk": s("x"), "eventId": s("e3"), "time": s("2026-12-02T15:04:05.000Z"),
		"teamId": s("t1"), "memberId": s("bob"), "accessKeyId": s("TKAK3"), "action": s("AccessKeyExpired"), "actorType": s("system"),
		"actorSub": s("sweep"), "statusBefore": s("Active"), "ttl": n("1")}
	for _, tc := range []struct {
		name       string
		image      map[string]ddbtypes.AttributeValue
		bus        string
		ok         bool
		wantErr    bool
		detailType string
		detail     string
	}{
		{name: "rotation, every field", image: auditImage("e1"), ok: true, detailType: "AccessKeyRotated",
			detail: `{"eventId":"e1","time":"2026-12-02T15:04:05.123Z","teamId":"t1","memberId":"alice","accessKeyId":"TKAKEXAMPLE","action":"AccessKeyRotated",` +
				`"actor":{"type":"user","sub":"admin","sourceIp":"192.0.2.1","userAgent":"curl/8"},"requestId":"req-1",` +
				`"changes":{"statusBefore":"Active","statusAfter":"Active","expiresAt":"2026-12-03T15:04:05Z","rotatedFrom":"TKAKOLD"}}`},
		{name: "policy change on a named bus", image: policy, bus: "audit-bus", ok: true, detailType: "KeyPolicyChanged",
			detail: `{"eventId":"e2","time":"2026-12-02T15:04:05.000Z","teamId":"t1","action":"KeyPolicyChanged","actor":{"type":"user","sub":"owner"},"changes":{"maxLifetimeDays":30}}`},
		{name: "expiry by the sweep", image: sweep, ok: true, detailType: "AccessKeyExpired",
			detail: `{"eventId":"e3","time":"2026-12-02T15:04:05.000Z","teamId":"t1","memberId":"bob","accessKeyId":"TKAK3","action":"AccessKeyExpired","actor":{"type":"system","sub":"sweep"},"changes":{"statusBefore":"Active"}}`},
		{name: "a key item: nothing to publish", image: map[string]ddbtypes.AttributeValue{"pk": s("KEY#TKAK1"), "sk": s("KEY"), "secretCiphertext": &ddbtypes.AttributeValueMemberB{Value: []byte{1}}}},
		{name: "a counter item: nothing to publish", image: map[string]ddbtypes.AttributeValue{"pk": s("MEMBER#t1#alice"), "sk": s("COUNTER")}},
		{name: "no image", image: nil},
		{name: "audit record without eventId", image: map[string]ddbtypes.AttributeValue{"pk": s("AUDIT#t1"), "sk": s("x"), "action": s("AccessKeyCreated")}, ok: true, wantErr: true},
		{name: "audit record with a wrong type", image: map[string]ddbtypes.AttributeValue{"pk": s("AUDIT#t1"), "sk": s("x"), "eventId": s("e"), "action": s("A"), "ttl": s("soon")}, ok: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ok, err := publish.Entry(tc.image, tc.bus)
			if ok != tc.ok || (err != nil) != tc.wantErr {
				t.Fatalf("ok %v, err %v; want ok %v, error %v", ok, err, tc.ok, tc.wantErr)
			}
			if !ok || err != nil {
				return
			}
			if aws.ToString(e.Source) != "teamkeys" || aws.ToString(e.DetailType) != tc.detailType || aws.ToString(e.EventBusName) != tc.bus {
				t.Errorf("source %q, detail-type %q, bus %q; want teamkeys, %s, %q", aws.ToString(e.Source), aws.ToString(e.DetailType), aws.ToString(e.EventBusName), tc.detailType, tc.bus)
			}
			if got := aws.ToString(e.Detail); got != tc.detail {
				t.Errorf("detail\n\t%s\nwant\n\t%s", got, tc.detail)
			}
		})
	}
}

// fakeBus records PutEvents calls and refuses the entries whose eventId is
// in refuse (or fails whole calls while failCalls > 0).
type fakeBus struct {
	calls     [][]string // eventIds per call
	refuse    map[string]bool
	failCalls int
}

func (f *fakeBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	if len(in.Entries) > publish.MaxEntries {
		return nil, fmt.Errorf("%d entries: EventBridge takes at most 10", len(in.Entries))
	}
	var ids []string
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		var d struct{ EventID string }
		json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		ids = append(ids, d.EventID)
		if f.refuse[d.EventID] {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")})
		} else {
			out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("eb-" + d.EventID)})
		}
	}
	f.calls = append(f.calls, ids)
	if f.failCalls > 0 {
		f.failCalls--
		return nil, errors.New("connection reset")
	}
	return out, nil
}

var _ publish.EventPutter = (*fakeBus)(nil)

func records(n int) []publish.Record {
	var recs []publish.Record
	for i := range n {
		recs = append(recs, publish.Record{ID: fmt.Sprintf("seq%02d", i), Image: auditImage(fmt.Sprintf("e%02d", i))})
	}
	return recs
}

func TestPublish(t *testing.T) {
	for _, tc := range []struct {
		name      string
		recs      []publish.Record
		refuse    []string
		failCalls int
		calls     []int    // entries per call
		failed    []string // record ids reported failed
	}{
		{name: "25 records, three calls", recs: records(25), calls: []int{10, 10, 5}},
		{name: "partial failure: only the refused entries fail", recs: records(12), refuse: []string{"e03", "e11"}, calls: []int{10, 2}, failed: []string{"seq03", "seq11"}},
		{name: "a failed call fails its entries only", recs: records(12), failCalls: 1, calls: []int{10, 2},
			failed: []string{"seq00", "seq01", "seq02", "seq03", "seq04", "seq05", "seq06", "seq07", "seq08", "seq09"}},
		{name: "other items skipped, an unreadable record failed", recs: append(records(2),
			publish.Record{ID: "key", Image: map[string]ddbtypes.AttributeValue{"pk": s("KEY#TKAK1"), "sk": s("KEY")}},
			publish.Record{ID: "bad", Image: map[string]ddbtypes.AttributeValue{"pk": s("AUDIT#t1"), "sk": s("x")}}),
			calls: []int{2}, failed: []string{"bad"}},
		{name: "nothing", calls: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := &fakeBus{refuse: map[string]bool{}, failCalls: tc.failCalls}
			for _, id := range tc.refuse {
				bus.refuse[id] = true
			}
			failed := publish.Publisher{Events: bus, Log: quiet}.Publish(context.Background(), tc.recs)
			var calls []int
			for _, c := range bus.calls {
				calls = append(calls, len(c))
			}
			if !slices.Equal(calls, tc.calls) {
				t.Errorf("calls of %v entries, want %v", calls, tc.calls)
			}
			if !slices.Equal(failed, tc.failed) {
				t.Errorf("failed %v, want %v", failed, tc.failed)
			}
		})
	}
}

// TestHandlerReportsBatchItemFailures: the Lambda handler reads aws-lambda-go's
// stream event and names each record EventBridge refused by its sequence
// number, so that Lambda retries it (and only the records from it on).
func TestHandlerReportsBatchItemFailures(t *testing.T) {
	raw := `{"Records":[
	 {"eventID":"1","eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"100","StreamViewType":"NEW_IMAGE",
	  "Keys":{"pk":{"S":"AUDIT#t1"},"sk":{"S":"k1"}},
	  "NewImage":{"pk":{"S":"AUDIT#t1"},"sk":{"S":"k1"},"eventId":{"S":"ok-1"},"time":{"S":"2026-12-02T15:04:05.000Z"},"teamId":{"S":"t1"},
	   "memberId":{"S":"alice"},"accessKeyId":{"S":"TKAK1"},"action":{"S":"AccessKeyCreated"},"actorType":{"S":"user"},"actorSub":{"S":"admin"},
	   "statusAfter":{"S":"Active"},"ttl":{"N":"1799999999"},"maxLifetimeDays":{"NULL":true}}}},
	 {"eventID":"2","eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"200","StreamViewType":"NEW_IMAGE",
	  "Keys":{"pk":{"S":"AUDIT#t1"},"sk":{"S":"k2"}},
	  "NewImage":{"pk":{"S":"AUDIT#t1"},"sk":{"S":"k2"},"eventId":{"S":"refused-2"},"time":{"S":"2026-12-02T15:04:06.000Z"},"teamId":{"S":"t1"},
	   "memberId":{"S":"alice"},"accessKeyId":{"S":"TKAK1"},"action":{"S":"AccessKeyDisabled"},"actorType":{"S":"user"},"ttl":{"N":"1799999999"}}}},
	 {"eventID":"3","eventName":"MODIFY","eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"300","StreamViewType":"NEW_IMAGE",
	  "Keys":{"pk":{"S":"KEY#TKAK1"},"sk":{"S":"KEY"}},"NewImage":{"pk":{"S":"KEY#TKAK1"},"sk":{"S":"KEY"},"status":{"S":"Disabled"}}}}]}`
	var ev events.DynamoDBEvent
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		t.Fatal(err)
	}
	bus := &fakeBus{refuse: map[string]bool{"refused-2": true}}
	resp, err := publish.Handler(publish.Publisher{Events: bus, Log: quiet})(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(bus.calls) != 1 || !slices.Equal(bus.calls[0], []string{"ok-1", "refused-2"}) {
		t.Errorf("PutEvents calls %v, want one of ok-1, refused-2 (the MODIFY of a key item is no event)", bus.calls)
	}
	if want := []events.DynamoDBBatchItemFailure{{ItemIdentifier: "200"}}; !slices.Equal(resp.BatchItemFailures, want) {
		t.Errorf("batch item failures %v, want %v", resp.BatchItemFailures, want)
	}
}
