package teststack

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
)

// PutKeys writes keys as the real key items Create puts (sealed with
// sealed), 25 to a BatchWriteItem, 4 batches at a time, and nothing else:
// no slot counters, no audit records. For tests that need thousands of keys
// in one team fast (the credential report); Check would find the slots
// missing.
func (tb *Table) PutKeys(ctx context.Context, keys []accesskey.Key, sealed accesskey.SealedSecret) error {
	store := dynamostore.New(tb.DB, tb.Name)
	var batches [][]types.WriteRequest
	for i, k := range keys {
		item, err := store.KeyItem(k, sealed)
		if err != nil {
			return err
		}
		if i%25 == 0 {
			batches = append(batches, nil)
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	work := make(chan []types.WriteRequest)
	errs := make(chan error, len(batches))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for batch := range work {
				errs <- tb.writeBatch(ctx, batch)
			}
		})
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeBatch writes one batch, again with what DynamoDB left unprocessed
// (at most 100 rounds).
func (tb *Table) writeBatch(ctx context.Context, batch []types.WriteRequest) error {
	for range 100 {
		out, err := tb.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{tb.Name: batch}})
		if err != nil {
			return fmt.Errorf("seed keys: %w", err)
		}
		if batch = out.UnprocessedItems[tb.Name]; len(batch) == 0 {
			return nil
		}
	}
	return fmt.Errorf("seed keys: %d items still unprocessed after 100 rounds", len(batch))
}
