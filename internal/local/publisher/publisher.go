package publisher

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/teamkeys/teamkeys/internal/publish"
)

// Options configure the local publisher (teamkeys-local serve reads them
// from TEAMKEYS_EVENTS_SINK and TEAMKEYS_EVENTS_CHECKPOINT).
type Options struct {
	// Sink is where events go: "-" stdout, an http(s):// URL, or a file.
	Sink string
	// Checkpoint is the checkpoint file; empty: DefaultCheckpoint(Sink).
	Checkpoint string
	// PollInterval is how often the stream is read; zero:
	// DefaultPollInterval.
	PollInterval time.Duration
}

// DefaultCheckpoint is a file sink's checkpoint, next to it
// (<sink>.checkpoint); stdout and a URL have none unless one is named.
func DefaultCheckpoint(sink string) string {
	sink = strings.TrimSpace(sink)
	if SinkOff(sink) || sink == "-" || strings.HasPrefix(sink, "http://") || strings.HasPrefix(sink, "https://") {
		return ""
	}
	return sink + ".checkpoint"
}

// New opens the sink and finds the table's stream: a reader to Run.
func New(ctx context.Context, opts Options, cfg aws.Config, db TableDescriber, table string, log *slog.Logger) (*Reader, *Sink, error) {
	arn, err := StreamARN(ctx, db, table)
	if err != nil {
		return nil, nil, err
	}
	sink, err := OpenSink(opts.Sink)
	if err != nil {
		return nil, nil, err
	}
	cp := opts.Checkpoint
	if cp == "" {
		cp = DefaultCheckpoint(opts.Sink)
	}
	return &Reader{Streams: NewStreamsClient(cfg), StreamARN: arn, Checkpoint: cp, PollInterval: opts.PollInterval, Log: log,
		Publisher: publish.Publisher{Events: sink, Log: log}}, sink, nil
}
