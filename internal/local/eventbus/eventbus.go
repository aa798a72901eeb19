// Package eventbus stands in for Amazon EventBridge's PutEvents on a
// laptop, so that a console backend tests its TeamMemberRemoved events
// against the local server with its own SDK client (endpoint the local
// server): each entry is matched as template.yaml's rule matches it
// (source, detail-type) and handed to the subscribed function's handler in
// process, as EventBridge would invoke it.
package eventbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/local/loopback"
)

// Target is the protocol header of EventBridge's JSON API.
const Target = "AWSEvents.PutEvents"

// Subscriber is a rule and its function: events whose source and
// detail-type match are delivered to Handle.
type Subscriber struct {
	Source     string
	DetailType string
	Handle     func(context.Context, events.EventBridgeEvent) error
}

// Bus serves PutEvents.
type Bus struct {
	subscribers []Subscriber
	log         *slog.Logger
}

// New returns a bus delivering to subscribers.
func New(log *slog.Logger, subscribers ...Subscriber) *Bus {
	return &Bus{subscribers: subscribers, log: log}
}

// IsPutEvents reports whether r is a PutEvents call of an EventBridge
// client.
func IsPutEvents(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") == Target
}

type putEventsInput struct {
	Entries []struct {
		Source       string
		DetailType   string
		Detail       string
		EventBusName string
		Resources    []string
	}
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// ServeHTTP answers a PutEvents call as EventBridge does: an entry that no
// rule matches is accepted and goes nowhere; one whose delivery fails is a
// failed entry (EventBridge would retry, then dead-letter it: locally the
// caller sees it at once). It signs nothing and checks no signature, and a
// TeamMemberRemoved event deletes every key of a member: so it answers only
// a call made on this machine to this machine (loopback peer and Host, as
// the console's sign-in), never another host that reaches the port or a
// page in the developer's browser that reaches it through a DNS name it
// controls (DNS rebinding).
func (b *Bus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !loopback.Request(r) {
		b.log.Warn("PutEvents refused: not a loopback request", "host", r.Host, "peer", r.RemoteAddr)
		writeAWSJSON(w, http.StatusForbidden, map[string]string{"__type": "AccessDeniedException",
			"message": "the local event bus takes events only from this machine, addressed to 127.0.0.1 or localhost"})
		return
	}
	var in putEventsInput
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<10)).Decode(&in); err != nil || len(in.Entries) == 0 || len(in.Entries) > 10 {
		writeAWSJSON(w, http.StatusBadRequest, map[string]string{"__type": "ValidationException", "message": "PutEvents takes 1 to 10 entries of at most 256 KB in all"})
		return
	}
	out := struct {
		FailedEntryCount int
		Entries          []resultEntry
	}{Entries: []resultEntry{}}
	for _, e := range in.Entries {
		id := newEventID()
		ev := events.EventBridgeEvent{Version: "0", ID: id, DetailType: e.DetailType, Source: e.Source, AccountID: "000000000000",
			Time: time.Now().UTC(), Region: "us-east-1", Resources: e.Resources, Detail: json.RawMessage(e.Detail)}
		if !json.Valid([]byte(e.Detail)) {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, resultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is not valid JSON"})
			continue
		}
		failed := false
		for _, s := range b.subscribers {
			if s.Source != e.Source || s.DetailType != e.DetailType {
				continue
			}
			if err := s.Handle(r.Context(), ev); err != nil {
				b.log.Error("event delivery failed", "eventId", id, "detailType", e.DetailType, "error", err.Error())
				failed = true
			}
		}
		if failed {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, resultEntry{ErrorCode: "InternalFailure", ErrorMessage: "the subscribed function failed; see the server's log"})
			continue
		}
		out.Entries = append(out.Entries, resultEntry{EventID: id})
	}
	writeAWSJSON(w, http.StatusOK, out)
}

func writeAWSJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func newEventID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
