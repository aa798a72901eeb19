package dynamostore

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// policyCopies is how many copies of a team's key policy the table holds
// (items.go): each generate and rotation condition-checks only the copy of
// its member's shard, so a team's creates spread over this many items
// (1,000/s are about 16/s on each, well below where one item's
// transactions start to conflict). SetPolicy writes them all, with its
// audit record and the legacy item's delete, in one transaction of
// policyCopies+2 actions (at most 100).
const policyCopies = 64

// shardOf is a stable shard of s in [0, n): FNV-1a, so that every release
// and every environment agrees.
func shardOf(s string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() % uint32(n))
}

func policyCopyPK(teamID string, shard int) string {
	return policyPK(teamID) + "#" + strconv.Itoa(shard)
}

func policyItemKey(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: skPolicy},
	}
}

// Policy returns the team's key policy (strongly consistent); a team
// without one has no lifetime bound. It reads one copy, chosen at random
// (all copies change together, in one transaction, so any one is the
// policy), and, when the copies are absent (a team whose policy today's
// release wrote, or none ever set), the legacy item.
func (s *Store) Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error) {
	return s.policy(ctx, teamID, rand.IntN(policyCopies))
}

func (s *Store) policy(ctx context.Context, teamID string, shard int) (accesskey.KeyPolicy, error) {
	it, found, err := s.getPolicyItem(ctx, teamID, policyCopyPK(teamID, shard))
	if err != nil || !found {
		it, _, err = s.getPolicyItem(ctx, teamID, policyPK(teamID))
	}
	if err != nil {
		return accesskey.KeyPolicy{}, err
	}
	p := accesskey.KeyPolicy{MaxLifetimeDays: it.MaxLifetimeDays, AllowedCIDRs: it.AllowedCIDRs, DefaultScopes: it.DefaultScopes, UpdatedBy: it.UpdatedBy}
	p.ExpiryWarningDays = it.ExpiryWarningDays
	p.DisableUnusedAfterDays = it.DisableUnusedAfterDays
	p.AllowSelfRotation = it.AllowSelfRotation
	if it.UpdatedAt != "" {
		t, err := time.Parse(timestampLayout, it.UpdatedAt)
		if err != nil {
			return accesskey.KeyPolicy{}, fmt.Errorf("key policy of %s: updatedAt: %w", teamID, err)
		}
		p.UpdatedAt = &t
	}
	return p, nil
}

func (s *Store) getPolicyItem(ctx context.Context, teamID, pk string) (policyItem, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            policyItemKey(pk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return policyItem{}, false, fmt.Errorf("get key policy of %s: %w", teamID, awsclient.Classify(err))
	}
	var it policyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return policyItem{}, false, fmt.Errorf("unmarshal key policy of %s: %w", teamID, err)
	}
	return it, out.Item != nil, nil
}

// SetPolicy replaces the team's key policy, with its audit record, in one
// transaction: every copy is written and the legacy item (today's layout)
// deleted, so that a generate that read the legacy item, or no policy at
// all, finds its copy present and is refused (txPolicyCheck). Keys made
// before keep their expiry.
func (s *Store) SetPolicy(ctx context.Context, teamID string, p accesskey.KeyPolicy, audit accesskey.Audit) error {
	it := policyItem{SK: skPolicy, TeamID: teamID, MaxLifetimeDays: p.MaxLifetimeDays, AllowedCIDRs: p.AllowedCIDRs, UpdatedBy: p.UpdatedBy}
	it.ExpiryWarningDays = p.ExpiryWarningDays
	it.DisableUnusedAfterDays = p.DisableUnusedAfterDays
	it.AllowSelfRotation = p.AllowSelfRotation
	if p.UpdatedAt != nil {
		it.UpdatedAt = p.UpdatedAt.UTC().Format(timestampLayout)
	}
	actions := make([]types.TransactWriteItem, 0, policyCopies+2)
	for shard := range policyCopies {
		it.PK = policyCopyPK(teamID, shard)
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return fmt.Errorf("marshal key policy: %w", err)
		}
		if p.DefaultScopes != nil {
			item[attrDefaultScopes] = listValue(p.DefaultScopes)
		}
		actions = append(actions, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}})
	}
	actions = append(actions, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: policyItemKey(policyPK(teamID))}})
	actions = append(actions, s.txDormantRegistry(teamID, p))
	rec := audit.Record(accesskey.AuditPolicyChanged, accesskey.Ref{TeamID: teamID})
	rec.MaxLifetimeDays = p.MaxLifetimeDays
	// The whole policy as it became, in changes.policy (policyaudit.go).
	rec.KeyChanges = &accesskey.KeyChanges{Policy: p.Values()}
	actions, _, err := s.withRecords(actions, nil, rec)
	if err != nil {
		return err
	}
	if _, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions}); err != nil {
		return fmt.Errorf("put key policy of %s: %w", teamID, err)
	}
	return nil
}

// txPolicyCheck holds a transaction to the team's key policy as it was read
// (a key's expiry was computed from it), by a check of the copy of the
// member's shard only. A copy, once written, is never deleted, and every
// policy change writes every copy, so:
//   - a policy with a bound, read from a copy or from the legacy item:
//     the copy is still absent (no policy change since: a legacy read) or
//     holds the same bound;
//   - no bound: the copy holds none, or is still absent.
//
// and likewise the team's networks and default scopes (teampolicy.go):
// the copy holds the lists read, or none when none were read (a policy
// with networks is only ever in the copies). So a policy change racing a
// create fails the create's check, which reads the policy again and
// decides again.
// The legacy item itself is never checked: a change since the read wrote
// the copy, which is what fails the check.
func (s *Store) txPolicyCheck(teamID, memberID string, p accesskey.KeyPolicy) (types.TransactWriteItem, error) {
	return s.txPolicyCopyCheck(teamID, memberID, policyCondition(p))
}

// policyCondition is txPolicyCheck's condition on the copy.
func policyCondition(p accesskey.KeyPolicy) expression.ConditionBuilder {
	days := expression.Name(attrMaxLifetimeDays)
	cond := expression.AttributeNotExists(days)
	if p.MaxLifetimeDays != nil {
		cond = expression.AttributeNotExists(expression.Name(attrPK)).Or(days.Equal(expression.Value(*p.MaxLifetimeDays)))
	}
	cond = cond.And(sameList(attrAllowedCIDRs, p.AllowedCIDRs)).And(sameList(attrDefaultScopes, p.DefaultScopes))
	return cond
}

// txPolicyCopyCheck is a check of cond on the policy copy of the member's
// shard.
func (s *Store) txPolicyCopyCheck(teamID, memberID string, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 &s.table,
		Key:                       policyItemKey(policyCopyPK(teamID, shardOf(memberID, policyCopies))),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}, nil
}
