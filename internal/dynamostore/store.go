// Package dynamostore keeps access keys in one DynamoDB table and enforces
// the per-member cap with a conditional write inside the same transaction as
// the key item. The cap's enforcement is Create and Delete in this file.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// conflictRetry bounds the retries of a transaction that DynamoDB cancelled
// because another transaction touched the same item at the same time.
type conflictRetry struct {
	Attempts  int
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// defaultConflictRetry suits a Lambda with a 10 s timeout: at most about 2 s
// of waiting in all.
var defaultConflictRetry = conflictRetry{Attempts: 8, BaseDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond}

// Store is the DynamoDB adapter of the key store.
type Store struct {
	db    DynamoDB
	table string
	retry conflictRetry
	now   func() time.Time
}

// New returns a Store on table.
func New(db DynamoDB, table string) *Store {
	return &Store{db: db, table: table, retry: defaultConflictRetry, now: time.Now}
}

// withConflictRetry returns a copy of s that retries conflicts as r says.
func (s *Store) withConflictRetry(r conflictRetry) *Store {
	c := *s
	c.retry = r
	return &c
}

// Create writes a new key and takes one of its member's slots in a single
// transaction: the member's counter is incremented only while it is below the
// cap, and the key item is put only if its id is new. Either both happen or
// neither does, so concurrent generates can never exceed the cap.
func (s *Store) Create(ctx context.Context, k accesskey.Key, ciphertext []byte) error {
	item, err := attributevalue.MarshalMap(newKeyItem(k, ciphertext))
	if err != nil {
		return fmt.Errorf("marshal key item: %w", err)
	}
	putCond, err := expression.NewBuilder().
		WithCondition(expression.AttributeNotExists(expression.Name(attrPK))).Build()
	if err != nil {
		return err
	}
	count := expression.Name(attrKeyCount)
	takeSlot, err := expression.NewBuilder().
		WithUpdate(expression.
			Add(count, expression.Value(1)).
			Set(expression.Name(attrTeamID), expression.Value(k.TeamID)).
			Set(expression.Name(attrMemberID), expression.Value(k.MemberID))).
		WithCondition(expression.AttributeNotExists(count).
			Or(count.LessThan(expression.Value(accesskey.MaxKeysPerMember)))).
		Build()
	if err != nil {
		return err
	}
	input := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		s.txUpdate(counterKey(k.TeamID, k.MemberID), takeSlot),
		{Put: &types.Put{
			TableName:                &s.table,
			Item:                     item,
			ConditionExpression:      putCond.Condition(),
			ExpressionAttributeNames: putCond.Names(),
		}},
	}}
	failed, err := s.transact(ctx, input)
	switch {
	case err != nil:
		return fmt.Errorf("create key %s: %w", k.AccessKeyID, err)
	case failed == 0:
		return fmt.Errorf("create key for member %s: %w", k.MemberID, accesskey.ErrLimitExceeded)
	case failed == 1:
		// 100 random bits make this practically impossible; refuse rather
		// than overwrite another key.
		return fmt.Errorf("create key %s: id already in use", k.AccessKeyID)
	}
	return nil
}

// Delete removes a key of the member the ref names and frees its slot in the
// same transaction. A key that does not exist, or belongs to another member
// or team, is ErrNotFound and nothing changes.
func (s *Store) Delete(ctx context.Context, ref accesskey.Ref) error {
	owned, err := expression.NewBuilder().WithCondition(ownedBy(ref)).Build()
	if err != nil {
		return err
	}
	count := expression.Name(attrKeyCount)
	freeSlot, err := expression.NewBuilder().
		WithUpdate(expression.Add(count, expression.Value(-1))).
		WithCondition(count.GreaterThan(expression.Value(0))).
		Build()
	if err != nil {
		return err
	}
	input := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                 &s.table,
			Key:                       itemKey(ref.AccessKeyID),
			ConditionExpression:       owned.Condition(),
			ExpressionAttributeNames:  owned.Names(),
			ExpressionAttributeValues: owned.Values(),
		}},
		s.txUpdate(counterKey(ref.TeamID, ref.MemberID), freeSlot),
	}}
	failed, err := s.transact(ctx, input)
	switch {
	case err != nil:
		return fmt.Errorf("delete key %s: %w", ref.AccessKeyID, err)
	case failed == 0:
		return fmt.Errorf("delete key %s: %w", ref.AccessKeyID, accesskey.ErrNotFound)
	case failed == 1:
		return fmt.Errorf("delete key %s: member %s/%s has a key but a zero slot counter", ref.AccessKeyID, ref.TeamID, ref.MemberID)
	}
	return nil
}

// SetStatus sets a key's status with one conditional UpdateItem and returns
// the key as it now is. Setting the status it already has succeeds.
func (s *Store) SetStatus(ctx context.Context, ref accesskey.Ref, status accesskey.Status) (accesskey.Key, error) {
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(attrStatus), expression.Value(string(status)))).
		WithCondition(ownedBy(ref)).
		Build()
	if err != nil {
		return accesskey.Key{}, err
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       itemKey(ref.AccessKeyID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	var condErr *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &condErr):
		return accesskey.Key{}, fmt.Errorf("set status of %s: %w", ref.AccessKeyID, accesskey.ErrNotFound)
	case err != nil:
		return accesskey.Key{}, fmt.Errorf("set status of %s: %w", ref.AccessKeyID, awsclient.Classify(err))
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return accesskey.Key{}, fmt.Errorf("unmarshal key %s: %w", ref.AccessKeyID, err)
	}
	return it.key()
}

// Get returns a key and its secret's ciphertext with one strongly consistent
// GetItem, so that a key disabled or deleted a moment ago is seen as such.
func (s *Store) Get(ctx context.Context, accessKeyID string) (accesskey.Key, []byte, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            itemKey(accessKeyID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return accesskey.Key{}, nil, fmt.Errorf("get key %s: %w", accessKeyID, awsclient.Classify(err))
	}
	if out.Item == nil {
		return accesskey.Key{}, nil, fmt.Errorf("get key %s: %w", accessKeyID, accesskey.ErrNotFound)
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return accesskey.Key{}, nil, fmt.Errorf("unmarshal key %s: %w", accessKeyID, err)
	}
	k, err := it.key()
	return k, it.SecretCiphertext, err
}

// RecordUse records that a key verified a request at the given time, from
// sourceIP with scheme, unless a use within accesskey.LastUseInterval before it is
// already recorded. The condition also keeps lastUsedAt from going back in
// time when writes arrive out of order. It returns whether it wrote.
func (s *Store) RecordUse(ctx context.Context, ref accesskey.Ref, at time.Time, sourceIP, scheme string) (bool, error) {
	last := expression.Name(attrLastUsedAt)
	expr, err := expression.NewBuilder().
		WithUpdate(expression.
			Set(last, expression.Value(at.UTC().Format(timestampLayout))).
			Set(expression.Name(attrLastUsedIP), expression.Value(sourceIP)).
			Set(expression.Name(attrLastUsedScheme), expression.Value(scheme))).
		WithCondition(ownedBy(ref).And(expression.Or(
			expression.AttributeNotExists(last),
			last.LessThan(expression.Value(at.Add(-accesskey.LastUseInterval).UTC().Format(timestampLayout)))))).
		Build()
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       itemKey(ref.AccessKeyID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var condErr *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &condErr):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("record use of %s: %w", ref.AccessKeyID, awsclient.Classify(err))
	}
	return true, nil
}

// ListMember returns a member's keys, oldest first.
func (s *Store) ListMember(ctx context.Context, teamID, memberID string) ([]accesskey.Key, error) {
	cond := expression.Key(attrGSI1PK).Equal(expression.Value(teamPartition(teamID))).
		And(expression.Key(attrGSI1SK).BeginsWith(memberSortPrefix(memberID)))
	keys, _, err := s.query(ctx, cond, 0, nil)
	return keys, err
}

// ListTeam returns up to limit keys of a team, ordered by member and then by
// creation, starting after the cursor (nil for the first page). A cursor is
// the key attributes of the last key returned, opaque above the store; the
// returned cursor is nil on the last page.
func (s *Store) ListTeam(ctx context.Context, teamID string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
	if after != nil && after[attrGSI1PK] != teamPartition(teamID) {
		return nil, nil, accesskey.Invalid("nextToken", "does not belong to this listing")
	}
	cond := expression.Key(attrGSI1PK).Equal(expression.Value(teamPartition(teamID)))
	return s.query(ctx, cond, limit, after)
}

// query runs one Query on the ByTeam index. With limit > 0 it asks for one
// item more than limit, so that it knows without a second call whether
// another page exists.
func (s *Store) query(ctx context.Context, cond expression.KeyConditionBuilder, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return nil, nil, err
	}
	input := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(indexByTeam),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if limit > 0 {
		input.Limit = aws.Int32(int32(limit + 1))
	}
	if after != nil {
		input.ExclusiveStartKey = cursorAttributes(after)
	}
	out, err := s.db.Query(ctx, input)
	if err != nil {
		return nil, nil, fmt.Errorf("query keys: %w", awsclient.Classify(err))
	}
	var items []keyItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, nil, fmt.Errorf("unmarshal keys: %w", err)
	}
	var next map[string]string
	switch {
	case limit > 0 && len(items) > limit:
		items = items[:limit]
		next = cursorOf(items[limit-1])
	case len(out.LastEvaluatedKey) > 0:
		// The 1 MB page limit stopped the query early.
		next = cursorFromAttributes(out.LastEvaluatedKey)
	}
	keys := make([]accesskey.Key, 0, len(items))
	for _, it := range items {
		k, err := it.key()
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
	}
	return keys, next, nil
}

func cursorOf(it keyItem) map[string]string {
	return map[string]string{attrPK: it.PK, attrSK: it.SK, attrGSI1PK: it.GSI1PK, attrGSI1SK: it.GSI1SK}
}

func cursorFromAttributes(av map[string]types.AttributeValue) map[string]string {
	c := map[string]string{}
	for name, v := range av {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			c[name] = s.Value
		}
	}
	return c
}

func cursorAttributes(c map[string]string) map[string]types.AttributeValue {
	av := make(map[string]types.AttributeValue, len(c))
	for name, v := range c {
		av[name] = &types.AttributeValueMemberS{Value: v}
	}
	return av
}

// txUpdate is a transaction's conditional Update of the item at key.
func (s *Store) txUpdate(key map[string]types.AttributeValue, e expression.Expression) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 &s.table,
		Key:                       key,
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}
}

// ownedBy is the condition that a key item exists under the ref's team and
// member: a key is never touched through another member's or team's path.
func ownedBy(ref accesskey.Ref) expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name(attrPK)).
		And(expression.Name(attrTeamID).Equal(expression.Value(ref.TeamID))).
		And(expression.Name(attrMemberID).Equal(expression.Value(ref.MemberID)))
}

func itemKey(accessKeyID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: keyPK(accessKeyID)},
		attrSK: &types.AttributeValueMemberS{Value: skKey},
	}
}

func counterKey(teamID, memberID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: counterPK(teamID, memberID)},
		attrSK: &types.AttributeValueMemberS{Value: skCounter},
	}
}

// noConditionFailed is what transact returns when the transaction succeeded.
const noConditionFailed = -1

// transact runs a transaction, retrying it with jittered exponential backoff
// while DynamoDB cancels it for a conflict with another transaction. It
// returns the index of the first action whose condition failed, or
// noConditionFailed when the transaction went through.
func (s *Store) transact(ctx context.Context, input *dynamodb.TransactWriteItemsInput) (int, error) {
	delay := s.retry.BaseDelay
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, input)
		if err == nil {
			return noConditionFailed, nil
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return noConditionFailed, awsclient.Classify(err)
		}
		conflict := false
		for i, reason := range cancelled.CancellationReasons {
			switch aws.ToString(reason.Code) {
			case "ConditionalCheckFailed":
				return i, nil
			case "TransactionConflict":
				conflict = true
			case "ThrottlingError", "ProvisionedThroughputExceeded":
				return noConditionFailed, fmt.Errorf("%w: %v", accesskey.ErrUnavailable, err)
			}
		}
		if !conflict {
			return noConditionFailed, err
		}
		if attempt >= s.retry.Attempts {
			return noConditionFailed, fmt.Errorf("%w: transaction still conflicting after %d attempts", accesskey.ErrUnavailable, attempt)
		}
		// Full jitter: concurrent writers that collided spread out.
		wait := time.Duration(rand.Int64N(int64(delay) + 1))
		select {
		case <-ctx.Done():
			return noConditionFailed, fmt.Errorf("%w: %v", accesskey.ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(2*delay, s.retry.MaxDelay)
	}
}
