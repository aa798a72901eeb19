package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// The ByExpiry index is sharded: a key that expires is indexed under
// EXPIRY#<nn>, nn a hash of its access key id modulo expiryShards, so that
// no partition key of the index is written by every team (one index
// partition takes at most 1,000 writes/s; 16 take 16,000). Keys written
// before the shards sit under the unsharded EXPIRY (expiryPartition): the
// sweep works that partition too, until it is empty. Changing expiryShards
// moves keys between shards: the sweep would miss those indexed under a
// shard that no longer exists, so it only ever grows together with a sweep
// that still reads the old ones.
const expiryShards = 16

// expiryPartitionOf is the ByExpiry partition of a key: its shard's.
func expiryPartitionOf(accessKeyID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(accessKeyID))
	return fmt.Sprintf("%s#%02d", expiryPartition, h.Sum32()%expiryShards)
}

// ExpiryShards names the ByExpiry partitions the sweep works: the
// expiryShards shards, then the unsharded partition of keys written before
// the shards.
func (s *Store) ExpiryShards() []string {
	out := make([]string, 0, expiryShards+1)
	for n := range expiryShards {
		out = append(out, fmt.Sprintf("%s#%02d", expiryPartition, n))
	}
	return append(out, expiryPartition)
}

// ExpiredKeys returns up to limit keys of one ByExpiry shard (a name of
// ExpiryShards) that have expired at now, oldest first, and the cursor of
// the next page (nil: the last). The index is eventually consistent on
// AWS: the delete that follows checks again.
func (s *Store) ExpiredKeys(ctx context.Context, shard string, now time.Time, limit int, after map[string]string) ([]accesskey.Ref, map[string]string, error) {
	items, next, err := s.queryByExpiry(ctx, shard, expression.Key(attrGSI2SK).LessThan(expression.Value(expiredBy(now))), limit, after, "expired")
	if err != nil {
		return nil, nil, err
	}
	refs := make([]accesskey.Ref, 0, len(items))
	for _, it := range items {
		refs = append(refs, it.ref())
	}
	return refs, next, nil
}

// queryByExpiry is one page of a ByExpiry shard whose sort key meets
// sortKey (what names the keys in errors), and the next page's cursor
// (nil: the last).
func (s *Store) queryByExpiry(ctx context.Context, shard string, sortKey expression.KeyConditionBuilder, limit int, after map[string]string, what string) ([]keyItem, map[string]string, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrGSI2PK).Equal(expression.Value(shard)).And(sortKey)).Build()
	if err != nil {
		return nil, nil, err
	}
	input := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(indexByExpiry),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		Limit:                     aws.Int32(int32(limit)),
	}
	if len(after) > 0 {
		input.ExclusiveStartKey = cursorAttributes(after)
	}
	out, err := s.db.Query(ctx, input)
	if err != nil {
		return nil, nil, fmt.Errorf("query %s keys of %s: %w", what, shard, awsclient.Classify(err))
	}
	var items []keyItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, nil, fmt.Errorf("unmarshal %s keys: %w", what, err)
	}
	var next map[string]string
	if len(out.LastEvaluatedKey) > 0 {
		next = cursorFromAttributes(out.LastEvaluatedKey)
	}
	return items, next, nil
}

// ref is the key's owner and id, as an index entry names them.
func (it keyItem) ref() accesskey.Ref {
	return accesskey.Ref{TeamID: it.TeamID, MemberID: it.MemberID, AccessKeyID: strings.TrimPrefix(it.PK, prefixKey)}
}

// The sweep's lease: one item, pk=sk=SWEEPLEASE, naming the run that holds
// it (leaseOwner) and until when (leaseUntil, epoch milliseconds).
const (
	pkSweepLease        = "SWEEPLEASE"
	attrLeaseOwner      = "leaseOwner"
	attrLeaseUntil      = "leaseUntil"
	leaseReleasedMillis = 0
)

func sweepLeaseKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pkSweepLease},
		attrSK: &types.AttributeValueMemberS{Value: pkSweepLease},
	}
}

// AcquireSweepLease takes the sweep's lease for owner until until, with one
// conditional UpdateItem: only when no run holds it, or the lease of the
// run that holds it has run out at now (a run that died without releasing
// it). It returns false, and writes nothing, when another run holds it.
func (s *Store) AcquireSweepLease(ctx context.Context, owner string, now, until time.Time) (bool, error) {
	lu := expression.Name(attrLeaseUntil)
	e, err := expression.NewBuilder().
		WithUpdate(expression.
			Set(expression.Name(attrLeaseOwner), expression.Value(owner)).
			Set(lu, expression.Value(until.UnixMilli()))).
		WithCondition(expression.AttributeNotExists(expression.Name(attrPK)).
			Or(lu.LessThanEqual(expression.Value(now.UnixMilli())))).
		Build()
	if err != nil {
		return false, err
	}
	return s.updateLease(ctx, e, "acquire")
}

// ReleaseSweepLease gives the lease up, if owner still holds it: its
// leaseUntil is set to the epoch, so the next run takes it at once. A lease
// taken over meanwhile (owner's ran out) is left to its new holder.
func (s *Store) ReleaseSweepLease(ctx context.Context, owner string) error {
	e, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(attrLeaseUntil), expression.Value(leaseReleasedMillis))).
		WithCondition(expression.Name(attrLeaseOwner).Equal(expression.Value(owner))).
		Build()
	if err != nil {
		return err
	}
	_, err = s.updateLease(ctx, e, "release")
	return err
}

func (s *Store) updateLease(ctx context.Context, e expression.Expression, what string) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       sweepLeaseKey(),
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s the sweep's lease: %w", what, awsclient.Classify(err))
	}
	return true, nil
}
