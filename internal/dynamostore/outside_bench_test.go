package dynamostore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// countingDB counts the calls CountKeysOutside makes.
type countingDB struct {
	*dynamodb.Client
	queries, gets, batches atomic.Int64
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.Client.Query(ctx, in, opts...)
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.Client.GetItem(ctx, in, opts...)
}

func (c *countingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.batches.Add(1)
	return c.Client.BatchGetItem(ctx, in, opts...)
}

// BenchmarkCountKeysOutside prints what keysOutsidePolicy costs for a team
// of 6,000 active unrestricted keys (one per member): the calls, the keys
// read, and whether the bound of 5,000 keys stopped it.
func BenchmarkCountKeysOutside(b *testing.B) {
	ctx := context.Background()
	tb := teststack.NewTable(b)
	now := time.Now().UTC().Truncate(time.Second)
	keys := make([]accesskey.Key, 6000)
	for i := range keys {
		keys[i] = accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: fmt.Sprintf("member-%05d", i),
			Status: accesskey.StatusActive, CreatedAt: now.Add(-time.Hour), CreatedBy: "admin"}
	}
	if err := tb.PutKeys(ctx, keys, testSealed); err != nil {
		b.Fatal(err)
	}
	db := &countingDB{Client: tb.DB}
	store := dynamostore.New(db, tb.Name)
	team, _ := accesskey.ParseAllowedCIDRs([]string{"10.0.0.0/8"})
	b.ResetTimer()
	for range b.N {
		db.queries.Store(0)
		db.gets.Store(0)
		db.batches.Store(0)
		start := time.Now()
		c, err := store.CountKeysOutside(ctx, "t1", team, now, dynamostore.OutsideCountMaxKeys, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("6,000 keys: count %d of %d read, complete %v; %d Query, %d GetItem, %d BatchGetItem; %s locally",
			c.Count, c.Scanned, c.Complete, db.queries.Load(), db.gets.Load(), db.batches.Load(), time.Since(start).Round(time.Millisecond))
	}
}
