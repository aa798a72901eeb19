// Package publisher is the local stand-in for the PublishEvents function
// and its stream mapping: it reads the keys table's stream on DynamoDB Local
// (DescribeStream, GetShardIterator, GetRecords, following closed shards to
// their children), hands each batch to the same publisher core as the
// Lambda (internal/publish), and delivers the events to a Sink (a file,
// stdout or a URL) instead of EventBridge. It keeps the last delivered
// sequence number of each shard in a checkpoint file, so that a restart
// resumes where the last delivery ended: every event arrives at least once,
// a repeat with its eventId unchanged.
package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/teamkeys/teamkeys/internal/publish"
)

// Streams is the part of the DynamoDB Streams client the reader uses.
type Streams interface {
	DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ Streams = (*dynamodbstreams.Client)(nil)

// TableDescriber is the part of the DynamoDB client that finds the stream.
type TableDescriber interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

var _ TableDescriber = (*dynamodb.Client)(nil)

// NewStreamsClient is a DynamoDB Streams client on cfg: at
// AWS_ENDPOINT_URL_DYNAMODB_STREAMS if set, else at
// AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local serves both on one port).
func NewStreamsClient(cfg aws.Config) *dynamodbstreams.Client {
	return dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS") == "" {
			if v := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); v != "" {
				o.BaseEndpoint = aws.String(v)
			}
		}
	})
}

// StreamARN is the table's stream, or an error when it has none.
func StreamARN(ctx context.Context, db TableDescriber, table string) (string, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("describe table %s: %w", table, err)
	}
	if out.Table.LatestStreamArn == nil {
		return "", fmt.Errorf("table %s has no stream (template.yaml's StreamSpecification; a table made before it must be made again)", table)
	}
	return *out.Table.LatestStreamArn, nil
}

// DefaultPollInterval is how often the reader asks the stream for more.
const DefaultPollInterval = 250 * time.Millisecond

// Reader reads one stream and publishes its audit records.
type Reader struct {
	Streams   Streams
	StreamARN string
	Publisher publish.Publisher
	// Checkpoint is the checkpoint file; empty: none (a restart reads
	// the stream from its start).
	Checkpoint string
	// PollInterval is the wait between polls; zero: DefaultPollInterval.
	PollInterval time.Duration
	Log          *slog.Logger

	cp     checkpoint
	iters  map[string]*string // shard id: the next iterator
	closed map[string]bool    // shards read to their end
}

// Run reads the stream until ctx ends; it returns nil then, or an error
// when the checkpoint cannot be read or written.
func (r *Reader) Run(ctx context.Context) error {
	cp, err := loadCheckpoint(r.Checkpoint, r.StreamARN)
	if err != nil {
		return err
	}
	r.cp, r.iters, r.closed = cp, map[string]*string{}, map[string]bool{}
	every := r.PollInterval
	if every <= 0 {
		every = DefaultPollInterval
	}
	r.Log.Info("publishing audit events from the table's stream", "stream", r.StreamARN, "checkpoint", r.Checkpoint)
	for {
		if err := r.poll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var cpErr *checkpointError
			if errors.As(err, &cpErr) {
				return err
			}
			r.Log.Warn("reading the table's stream", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// poll reads every shard it may read (a child once its parent is read to
// its end) as far as it goes now.
func (r *Reader) poll(ctx context.Context) error {
	shards, err := r.shards(ctx)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, s := range shards {
		listed[aws.ToString(s.ShardId)] = true
	}
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		if r.closed[id] {
			continue
		}
		if p := aws.ToString(s.ParentShardId); p != "" && listed[p] && !r.closed[p] {
			continue // in order per item: the parent first
		}
		if err := r.drain(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) shards(ctx context.Context) ([]types.Shard, error) {
	var (
		out   []types.Shard
		start *string
	)
	for {
		d, err := r.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(r.StreamARN), ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		out = append(out, d.StreamDescription.Shards...)
		if start = d.StreamDescription.LastEvaluatedShardId; start == nil {
			return out, nil
		}
	}
}

// drain reads one shard until it has nothing more now, publishing as it
// goes. A batch that is not wholly delivered stops it: the checkpoint stays
// before the first record not delivered, and the next poll reads from there.
func (r *Reader) drain(ctx context.Context, shard string) error {
	for {
		iter, err := r.iterator(ctx, shard)
		if err != nil {
			return err
		}
		out, err := r.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
		var expired *types.ExpiredIteratorException
		var trimmed *types.TrimmedDataAccessException
		switch {
		case errors.As(err, &expired):
			delete(r.iters, shard)
			continue
		case errors.As(err, &trimmed):
			// Records past the stream's retention are gone: say so, and
			// go on from the oldest one left.
			r.Log.Error("stream records were trimmed before they were published", "shard", shard)
			delete(r.cp.Shards, shard)
			delete(r.iters, shard)
			continue
		case err != nil:
			return fmt.Errorf("get records of shard %s: %w", shard, err)
		}
		delivered, done := r.publish(ctx, out.Records)
		if delivered != "" {
			r.cp.Shards[shard] = delivered
			if err := r.cp.save(r.Checkpoint); err != nil {
				return err
			}
		}
		if !done {
			delete(r.iters, shard) // read again from the checkpoint
			return nil
		}
		r.iters[shard] = out.NextShardIterator
		if out.NextShardIterator == nil {
			r.closed[shard] = true
			return nil
		}
		if len(out.Records) == 0 {
			return nil
		}
	}
}

// iterator is the shard's next iterator: after its checkpoint, or from its
// oldest record.
func (r *Reader) iterator(ctx context.Context, shard string) (*string, error) {
	if it, ok := r.iters[shard]; ok && it != nil {
		return it, nil
	}
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(r.StreamARN), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
	if seq := r.cp.Shards[shard]; seq != "" {
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	}
	out, err := r.Streams.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("shard iterator of %s: %w", shard, err)
	}
	return out.ShardIterator, nil
}

// publish publishes the new items of recs; delivered is the sequence
// number of the last record up to which every one is delivered (or needs
// none), done whether that is all of them.
func (r *Reader) publish(ctx context.Context, recs []types.Record) (delivered string, done bool) {
	batch := make([]publish.Record, 0, len(recs))
	for _, rec := range recs {
		if rec.EventName == types.OperationTypeInsert && rec.Dynamodb != nil {
			batch = append(batch, publish.Record{ID: aws.ToString(rec.Dynamodb.SequenceNumber), Image: image(rec.Dynamodb.NewImage)})
		}
	}
	failed := r.Publisher.Publish(ctx, batch)
	for _, rec := range recs {
		if rec.Dynamodb == nil {
			continue
		}
		seq := aws.ToString(rec.Dynamodb.SequenceNumber)
		if len(failed) > 0 && seq == failed[0] {
			return delivered, false
		}
		delivered = seq
	}
	return delivered, true
}
