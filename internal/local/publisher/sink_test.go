package publisher

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

func entries(details ...string) *eventbridge.PutEventsInput {
	in := &eventbridge.PutEventsInput{}
	for _, d := range details {
		in.Entries = append(in.Entries, types.PutEventsRequestEntry{Source: aws.String("teamkeys"), DetailType: aws.String("AccessKeyCreated"), Detail: aws.String(d)})
	}
	return in
}

// TestFileSink: each entry is one line, exactly {"source","detail-type",
// "detail"} with the detail an object, appended to what the file holds.
func TestFileSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	for _, d := range []string{`{"eventId":"e1"}`, `{"eventId":"e2"}`} {
		sink, err := OpenSink(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sink.PutEvents(context.Background(), entries(d))
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put: %v, %d failed", err, out.FailedEntryCount)
		}
		sink.Close()
	}
	raw, _ := os.ReadFile(path)
	want := `{"source":"teamkeys","detail-type":"AccessKeyCreated","detail":{"eventId":"e1"}}` + "\n" +
		`{"source":"teamkeys","detail-type":"AccessKeyCreated","detail":{"eventId":"e2"}}` + "\n"
	if string(raw) != want {
		t.Errorf("the file holds\n%s\nwant\n%s", raw, want)
	}
}

// TestURLSink: each entry is one POST of its event; an entry whose POST is
// not answered 2xx fails alone, as PutEvents fails an entry.
func TestURLSink(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if r.Header.Get("Content-Type") != "application/json" || strings.Contains(string(b), "refuse") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	sink, err := OpenSink(srv.URL + "/hook")
	if err != nil {
		t.Fatal(err)
	}
	out, err := sink.PutEvents(context.Background(), entries(`{"eventId":"e1"}`, `{"eventId":"refuse"}`, `{"eventId":"e3"}`))
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 1 || out.Entries[0].ErrorCode != nil || out.Entries[1].ErrorCode == nil || out.Entries[2].ErrorCode != nil {
		t.Errorf("failed %d, results %+v: want the second entry alone failed", out.FailedEntryCount, out.Entries)
	}
	if len(bodies) != 3 || bodies[0] != `{"source":"teamkeys","detail-type":"AccessKeyCreated","detail":{"eventId":"e1"}}` {
		t.Errorf("POSTed %q", bodies)
	}
}

func TestSinkSpecs(t *testing.T) {
	for _, tc := range []struct {
		spec, checkpoint string
		off              bool
	}{
		{spec: "", off: true},
		{spec: " off ", off: true},
		{spec: "-"},
		{spec: "http://127.0.0.1:9/events"},
		{spec: "https://example.com/events"},
		{spec: "/tmp/events.jsonl", checkpoint: "/tmp/events.jsonl.checkpoint"},
	} {
		if got := SinkOff(tc.spec); got != tc.off {
			t.Errorf("SinkOff(%q) = %v, want %v", tc.spec, got, tc.off)
		}
		if got := DefaultCheckpoint(tc.spec); got != tc.checkpoint {
			t.Errorf("DefaultCheckpoint(%q) = %q, want %q", tc.spec, got, tc.checkpoint)
		}
	}
}

// TestCheckpoint: saved and read back for its stream; another stream's (the
// table made again) is ignored: its sequence numbers mean nothing here.
func TestCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	cp := checkpoint{StreamARN: "arn:s1", Shards: map[string]string{"shard-1": "100"}}
	if err := cp.save(path); err != nil {
		t.Fatal(err)
	}
	if got, err := loadCheckpoint(path, "arn:s1"); err != nil || got.Shards["shard-1"] != "100" {
		t.Errorf("same stream: %+v, %v", got, err)
	}
	if got, err := loadCheckpoint(path, "arn:s2"); err != nil || len(got.Shards) != 0 {
		t.Errorf("another stream: %+v, %v; want no position", got, err)
	}
	os.WriteFile(path, []byte("{"), 0o600)
	if _, err := loadCheckpoint(path, "arn:s1"); err == nil {
		t.Error("a broken checkpoint read without error")
	}
}
