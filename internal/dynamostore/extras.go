package dynamostore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// listExtraAttributes are what a list page reads of its keys' items beyond
// the ByTeam index: the restrictions and the leak marks, which the index
// does not project (its projection is the one of the release that created
// it, and a deployed index's projection cannot change). template.yaml's
// Mappings.Reads.ListExtras names exactly these: never secretCiphertext or
// secretSha256.
var listExtraAttributes = []string{attrPK, attrSK, attrAllowedCIDRs, attrScopes, attrLeakedAt, attrLeakURL, attrDormantAt}

// auditExtraAttributes are what an audit history page read from
// ByMemberAudit or ByKeyAudit reads of its AccessKeyUpdated records: their
// changes, which those indexes do not project (Mappings.Reads.AuditChanges).
var auditExtraAttributes = []string{attrPK, attrSK, attrChanges}

const (
	attrChanges = "changes"
	// batchGetKeys is BatchGetItem's limit of keys a call.
	batchGetKeys = 100
	// batchGets bounds the BatchGetItems of one page in flight at once (a
	// report page of a whole 1 MB Query holds a few thousand keys).
	batchGets = 8
)

// batchGet reads the items of keys (each its pk and sk), projected to
// attrs, with one BatchGetItem per batchGetKeys keys, and returns them by
// itemID. Eventually consistent (half the read units): what it completes
// was read from an index, itself eventually consistent. The keys DynamoDB
// leaves unprocessed (throttling, the 16 MB answer limit) are asked again
// with jittered exponential backoff, within the store's retry bounds; keys
// still unprocessed then are ErrUnavailable, never a page silently
// incomplete. An item absent from the answer no longer exists.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, attrs []string) (map[string]map[string]types.AttributeValue, error) {
	found := make(map[string]map[string]types.AttributeValue, len(keys))
	if len(keys) == 0 {
		return found, nil
	}
	names := make([]expression.NameBuilder, 0, len(attrs))
	for _, a := range attrs {
		names = append(names, expression.Name(a))
	}
	e, err := expression.NewBuilder().WithProjection(expression.NamesList(names[0], names[1:]...)).Build()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchGets)
	for start := 0; start < len(keys); start += batchGetKeys {
		chunk := keys[start:min(start+batchGetKeys, len(keys))]
		g.Go(func() error {
			items, err := s.batchGetChunk(gctx, chunk, e)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				found[itemID(it)] = it
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return found, nil
}

// batchGetChunk is one BatchGetItem of at most batchGetKeys keys, and its
// retries of the unprocessed ones.
func (s *Store) batchGetChunk(ctx context.Context, pending []map[string]types.AttributeValue, e expression.Expression) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	delay := s.retry.BaseDelay
	for attempt := 1; ; attempt++ {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.table: {Keys: pending, ProjectionExpression: e.Projection(), ExpressionAttributeNames: e.Names()},
		}})
		if err != nil {
			return nil, fmt.Errorf("batch get %d items: %w", len(pending), awsclient.Classify(err))
		}
		items = append(items, out.Responses[s.table]...)
		pending = out.UnprocessedKeys[s.table].Keys
		if len(pending) == 0 {
			return items, nil
		}
		if attempt >= s.retry.Attempts {
			return nil, fmt.Errorf("%w: batch get: %d items still unprocessed after %d attempts", accesskey.ErrUnavailable, len(pending), attempt)
		}
		wait := time.Duration(rand.Int64N(int64(delay) + 1))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %v", accesskey.ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(2*delay, s.retry.MaxDelay)
	}
}

// itemID names an item by its pk and sk.
func itemID(item map[string]types.AttributeValue) string {
	var pk, sk string
	if v, ok := item[attrPK].(*types.AttributeValueMemberS); ok {
		pk = v.Value
	}
	if v, ok := item[attrSK].(*types.AttributeValueMemberS); ok {
		sk = v.Value
	}
	return pk + "\x00" + sk
}

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}, attrSK: &types.AttributeValueMemberS{Value: sk}}
}

// keysWithExtras are the keys of items read from the ByTeam index, with
// their restrictions and leak marks read from the table (batchGet: one
// BatchGetItem per 100 keys, all keys of the page, whatever their status).
// A key whose item is gone between the Query and the BatchGetItem was
// deleted meanwhile: it is left out of the page, as a list read a moment
// later would leave it out.
func (s *Store) keysWithExtras(ctx context.Context, items []keyItem) ([]accesskey.Key, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(items))
	for _, it := range items {
		keys = append(keys, keyOf(it.PK, it.SK))
	}
	found, err := s.batchGet(ctx, keys, listExtraAttributes)
	if err != nil {
		return nil, fmt.Errorf("read keys' restrictions and leak marks: %w", err)
	}
	kept := make([]keyItem, 0, len(items))
	dormantAt := make([]string, 0, len(items))
	for _, it := range items {
		got, ok := found[it.PK+"\x00"+it.SK]
		if !ok {
			continue
		}
		var extra keyItem
		if err := attributevalue.UnmarshalMap(got, &extra); err != nil {
			return nil, fmt.Errorf("unmarshal %s's restrictions and leak marks: %w", it.PK, err)
		}
		it.AllowedCIDRs, it.Scopes, it.LeakedAt, it.LeakURL = extra.AllowedCIDRs, extra.Scopes, extra.LeakedAt, extra.LeakURL
		kept = append(kept, it)
		var d string
		if v, ok := got[attrDormantAt].(*types.AttributeValueMemberS); ok {
			d = v.Value
		}
		dormantAt = append(dormantAt, d)
	}
	out, err := keysOf(kept)
	if err != nil {
		return nil, err
	}
	for i, d := range dormantAt {
		if d == "" {
			continue
		}
		t, err := time.Parse(timestampLayout, d)
		if err != nil {
			return nil, fmt.Errorf("item %s: dormantAt: %w", kept[i].PK, err)
		}
		out[i].DormantAt = &t
	}
	return out, nil
}

// withAuditChanges fills in the changes of the records a page read from
// ByMemberAudit or ByKeyAudit, which do not project them (carriesChanges):
// one BatchGetItem per 100 such records, none when the page has none. A
// record gone meanwhile (its retention ended) keeps no changes.
func (s *Store) withAuditChanges(ctx context.Context, items []auditItem) error {
	var keys []map[string]types.AttributeValue
	for _, it := range items {
		if it.fromIndex && carriesChanges(it) && it.Changes == "" {
			keys = append(keys, keyOf(it.PK, it.SK))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	found, err := s.batchGet(ctx, keys, auditExtraAttributes)
	if err != nil {
		return fmt.Errorf("read audit records' changes: %w", err)
	}
	for i, it := range items {
		got, ok := found[it.PK+"\x00"+it.SK]
		if !ok {
			continue
		}
		var extra auditItem
		if err := attributevalue.UnmarshalMap(got, &extra); err != nil {
			return fmt.Errorf("unmarshal the changes of %s: %w", it.SK, err)
		}
		items[i].Changes = extra.Changes
	}
	return nil
}

// carriesChanges reports whether a record has a changes attribute: an
// update's before and after, an expiry or dormancy warning's figures, a
// dormant disable's reason (actorSub is projected, so only those disables
// are read). A KeyPolicyChanged's changes (the policy) are never read
// here: it names no member or key, so neither index holds it.
func carriesChanges(it auditItem) bool {
	switch it.Action {
	case accesskey.AuditKeyUpdated, accesskey.AuditKeyExpiring, accesskey.AuditKeyDormant:
		return true
	case accesskey.AuditKeyDisabled:
		return it.ActorType == "system" && it.ActorSub == accesskey.DormantSub
	}
	return false
}
