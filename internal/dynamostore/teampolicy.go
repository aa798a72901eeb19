package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The team's networks (the key policy's allowedCidrs) and a key update.
//
// An update that sets allowedCidrs reads the policy copy of the key's
// member's shard (policy.go) and refuses networks outside the team's
// (*accesskey.PolicyViolationError), then writes, in the same transaction
// as the key's update and its audit record, a ConditionCheck that the copy
// still lists the networks it was checked against: a policy change racing
// the update fails the update, which reads the policy again. An update
// that leaves allowedCidrs alone (the description, the scopes) reads and
// checks no policy.

// updatePolicy is the policy an update is held to: nil when u does not set
// allowedCidrs; otherwise the member's copy, which u's networks satisfy.
func (s *Store) updatePolicy(ctx context.Context, ref accesskey.Ref, u accesskey.KeyUpdate) (*accesskey.KeyPolicy, error) {
	if !u.AllowedCIDRs.Set {
		return nil, nil
	}
	p, err := s.policy(ctx, ref.TeamID, shardOf(ref.MemberID, policyCopies))
	if err != nil {
		return nil, err
	}
	if err := p.CheckCIDRs(u.AllowedCIDRs.Value); err != nil {
		return nil, err
	}
	return &p, nil
}

// txNetworksCheck holds a transaction to the team's networks as read from
// the member's copy (none: the copy lists none, or is absent).
func (s *Store) txNetworksCheck(teamID, memberID string, p accesskey.KeyPolicy) (types.TransactWriteItem, error) {
	e, err := expression.NewBuilder().WithCondition(sameList(attrAllowedCIDRs, p.AllowedCIDRs)).Build()
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

// writeKeyUpdateInPolicy is writeKeyUpdate held to the team's networks p:
// accesskey.ErrPolicyChanged when they changed meanwhile.
func (s *Store) writeKeyUpdateInPolicy(ctx context.Context, ref accesskey.Ref, e expression.Expression, p accesskey.KeyPolicy, rec accesskey.AuditRecord) (bool, error) {
	check, err := s.txNetworksCheck(ref.TeamID, ref.MemberID, p)
	if err != nil {
		return false, err
	}
	actions, _, err := s.withRecords([]types.TransactWriteItem{s.txUpdate(itemKey(ref.AccessKeyID), e), check}, nil, rec)
	if err != nil {
		return false, err
	}
	failed, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	switch {
	case err != nil:
		return false, fmt.Errorf("%s %s: %w", rec.Action, ref.AccessKeyID, err)
	case failed == 0:
		return false, nil
	case failed == 1:
		return false, fmt.Errorf("%s %s: %w", rec.Action, ref.AccessKeyID, accesskey.ErrPolicyChanged)
	case failed != noConditionFailed:
		return false, fmt.Errorf("%s %s: condition %d failed", rec.Action, ref.AccessKeyID, failed)
	}
	return true, nil
}
