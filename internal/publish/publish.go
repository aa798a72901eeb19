// Package publish turns the keys table's stream into events: each new audit
// record becomes one EventBridge entry (source auditevent.Source,
// detail-type the record's action, detail the record as the API shows it),
// sent by PutEvents at most ten at a time. The PublishEvents function runs
// it on Lambda's stream batches (Handler); the local server runs it on
// DynamoDB Local's stream (internal/local/publisher). Delivery is at
// least once: a record whose entry EventBridge did not take is reported
// back as failed, to be read again; a consumer tells a repeat by the
// detail's eventId.
package publish

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/teamkeys/teamkeys/internal/auditevent"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
)

// MaxEntries is the most entries one PutEvents call takes.
const MaxEntries = 10

// EventPutter is the part of the EventBridge client the publisher uses.
type EventPutter interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ EventPutter = (*eventbridge.Client)(nil)

// Record is one record of the table's stream: its id (the sequence number,
// what a batch item failure names) and the item as written (NewImage).
type Record struct {
	ID    string
	Image map[string]ddbtypes.AttributeValue
}

// Entry is the EventBridge entry of a stream item: ok is false for an item
// that is not an audit record (nothing to publish); an audit record that
// cannot be read is an error.
func Entry(image map[string]ddbtypes.AttributeValue, bus string) (entry types.PutEventsRequestEntry, ok bool, err error) {
	rec, ok, err := dynamostore.AuditRecordOf(image)
	if !ok || err != nil {
		return types.PutEventsRequestEntry{}, ok, err
	}
	detail, err := json.Marshal(auditevent.FromRecord(rec))
	if err != nil {
		return types.PutEventsRequestEntry{}, true, err
	}
	entry = types.PutEventsRequestEntry{Source: aws.String(auditevent.Source), DetailType: aws.String(rec.Action), Detail: aws.String(string(detail))}
	if bus != "" {
		entry.EventBusName = aws.String(bus)
	}
	return entry, true, nil
}

// Publisher publishes stream records' audit records to a bus.
type Publisher struct {
	Events EventPutter
	// Bus is the event bus's name or ARN; empty: the default bus.
	Bus string
	Log *slog.Logger
}

// Publish sends the entries of recs, ten to a call, and returns the ids of
// the records whose entries were not taken (their call failed, EventBridge
// refused the entry, or the audit record could not be read), in the order
// of recs. Records that are not audit records are skipped.
func (p Publisher) Publish(ctx context.Context, recs []Record) (failed []string) {
	var (
		batch []types.PutEventsRequestEntry
		ids   []string
	)
	failedIDs := map[string]bool{}
	flush := func() {
		if len(batch) == 0 {
			return
		}
		for _, id := range p.put(ctx, batch, ids) {
			failedIDs[id] = true
		}
		batch, ids = nil, nil
	}
	for _, r := range recs {
		entry, ok, err := Entry(r.Image, p.Bus)
		if err != nil {
			p.Log.Error("unreadable audit record in the stream", "sequenceNumber", r.ID, "error", err.Error())
			failedIDs[r.ID] = true
			continue
		}
		if !ok {
			continue
		}
		batch, ids = append(batch, entry), append(ids, r.ID)
		if len(batch) == MaxEntries {
			flush()
		}
	}
	flush()
	for _, r := range recs {
		if failedIDs[r.ID] {
			failed = append(failed, r.ID)
		}
	}
	return failed
}

// put sends one call's entries and returns the ids of those not taken.
func (p Publisher) put(ctx context.Context, entries []types.PutEventsRequestEntry, ids []string) (failed []string) {
	out, err := p.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		p.Log.Error("PutEvents failed", "entries", len(entries), "error", err.Error())
		return ids
	}
	if out.FailedEntryCount == 0 {
		return nil
	}
	for i, id := range ids {
		// One result per entry, in order; a missing one counts as failed.
		if i >= len(out.Entries) || out.Entries[i].ErrorCode != nil {
			var code string
			if i < len(out.Entries) {
				code = aws.ToString(out.Entries[i].ErrorCode)
			}
			p.Log.Warn("PutEvents refused an entry", "sequenceNumber", id, "errorCode", code)
			failed = append(failed, id)
		}
	}
	return failed
}
