package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/sync/errgroup"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// attrLeakedAt is when a leak report last disabled the key (RFC 3339,
// writeLeakDisable). A key with leakedAt or leakUrl is leaked: an enable's
// condition refuses it. leakUrl counts too because a key disabled by a
// GitHub report before leakedAt existed carries only its URL; one disabled
// then by an admin's report (no URL) carries neither and stays
// indistinguishable from a key disabled by hand.
const attrLeakedAt = "leakedAt"

// notLeaked is an enable's condition: no leak report disabled the key.
// Nothing removes either attribute but the item's delete, so no read can
// go stale against it.
func notLeaked() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(attrLeakedAt)).
		And(expression.AttributeNotExists(expression.Name(attrLeakURL)))
}

// withLeak is k with the item's leak marks.
func (it keyItem) withLeak(k accesskey.Key) (accesskey.Key, error) {
	k.LeakURL = it.LeakURL
	if it.LeakedAt != "" {
		t, err := time.Parse(timestampLayout, it.LeakedAt)
		if err != nil {
			return accesskey.Key{}, fmt.Errorf("item %s: leakedAt: %w", it.PK, err)
		}
		k.LeakedAt = &t
	}
	return k, nil
}

// leakReads bounds the GetItems of one list page in flight at once.
const leakReads = 32

// withLeaks fills in the leak marks of keys read from the ByTeam index,
// which does not project them (items.go leakAttributes): one eventually
// consistent GetItem, projected to pk and the marks, per Inactive key,
// leakReads at a time (a leak report leaves its key Inactive, and nothing
// enables it again); Active keys cost nothing. Eventual consistency suffices: a mark, once
// written, never changes back. (A key re-enabled after a leak report
// before this release is Active with a leakUrl: GetKey shows it, a list
// does not.)
func (s *Store) withLeaks(ctx context.Context, keys []accesskey.Key) ([]accesskey.Key, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(leakReads)
	for i := range keys {
		if keys[i].Status != accesskey.StatusInactive {
			continue
		}
		g.Go(func() error {
			proj := expression.NamesList(expression.Name(attrPK), expression.Name(attrLeakedAt), expression.Name(attrLeakURL))
			e, err := expression.NewBuilder().WithProjection(proj).Build()
			if err != nil {
				return err
			}
			out, err := s.db.GetItem(gctx, &dynamodb.GetItemInput{
				TableName:                &s.table,
				Key:                      itemKey(keys[i].AccessKeyID),
				ProjectionExpression:     e.Projection(),
				ExpressionAttributeNames: e.Names(),
			})
			if err != nil {
				return fmt.Errorf("get leak marks of %s: %w", keys[i].AccessKeyID, awsclient.Classify(err))
			}
			var it keyItem
			if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
				return fmt.Errorf("unmarshal leak marks of %s: %w", keys[i].AccessKeyID, err)
			}
			it.PK = keyPK(keys[i].AccessKeyID)
			keys[i], err = it.withLeak(keys[i]) // each goroutine its own element
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return keys, nil
}
