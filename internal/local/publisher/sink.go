package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/teamkeys/teamkeys/internal/publish"
)

// Event is an EventBridge entry as the sink delivers it: one JSON object a
// line in a file or on stdout, or the body of one POST.
type Event struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

// Sink stands in for EventBridge's PutEvents: it delivers each entry to a
// file (appended, synced before it answers), stdout or a URL.
type Sink struct {
	mu     sync.Mutex
	w      io.Writer
	file   *os.File // the file sink's, synced and closed
	url    string
	client *http.Client
}

var _ publish.EventPutter = (*Sink)(nil)

// SinkOff are the TEAMKEYS_EVENTS_SINK values that publish nothing.
func SinkOff(spec string) bool {
	spec = strings.TrimSpace(spec)
	return spec == "" || spec == "off"
}

// OpenSink opens the sink spec names: "-" for stdout, an http:// or
// https:// URL each event is POSTed to, else a file path.
func OpenSink(spec string) (*Sink, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case SinkOff(spec):
		return nil, fmt.Errorf("events sink %q publishes nothing", spec)
	case spec == "-":
		return &Sink{w: os.Stdout}, nil
	case strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://"):
		return &Sink{url: spec, client: &http.Client{Timeout: 10 * time.Second}}, nil
	}
	f, err := os.OpenFile(spec, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("events sink: %w", err)
	}
	return &Sink{w: f, file: f}, nil
}

// Close closes a file sink.
func (s *Sink) Close() error {
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}

// PutEvents delivers the entries. A file or stdout takes all or none (an
// error); a URL takes each entry its POST answers with a 2xx status, the
// others failed as PutEvents fails an entry.
func (s *Sink) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &eventbridge.PutEventsOutput{Entries: make([]types.PutEventsResultEntry, len(in.Entries))}
	var lines bytes.Buffer
	bodies := make([][]byte, len(in.Entries))
	for i, e := range in.Entries {
		b, err := json.Marshal(Event{Source: aws.ToString(e.Source), DetailType: aws.ToString(e.DetailType), Detail: json.RawMessage(aws.ToString(e.Detail))})
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		bodies[i] = b
		lines.Write(b)
		lines.WriteByte('\n')
	}
	if s.url == "" {
		if _, err := s.w.Write(lines.Bytes()); err != nil {
			return nil, err
		}
		if s.file != nil {
			if err := s.file.Sync(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for i, b := range bodies {
		if err := s.post(ctx, b); err != nil {
			out.FailedEntryCount++
			out.Entries[i] = types.PutEventsResultEntry{ErrorCode: aws.String("SinkFailed"), ErrorMessage: aws.String(err.Error())}
		}
	}
	return out, nil
}

func (s *Sink) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %d", s.url, resp.StatusCode)
	}
	return nil
}
