package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// Dormant keys (issue 21, internal/sweep/dormant.go). The teams whose
// policy sets disableUnusedAfterDays are listed in one partition,
// pk=DORMANTTEAMS sk=<teamId>, written by SetPolicy in its transaction (a
// Put when on, a Delete when off), so the pass reads only those teams. A
// key's dormant clock starts at the latest of its last use, its creation
// and its last dormant disable (dormantAt: an admin enabling a key the
// pass disabled gives it a full period from that disable, not an
// immediate second disable). dormantWarnedFor is the clock start a
// warning was written for: a use since restarts the clock, and a later
// warning is due again.
const (
	pkDormantTeams        = "DORMANTTEAMS"
	attrDormantAt         = "dormantAt"
	attrDormantWarnedFor  = "dormantWarnedFor"
	dormantTeamsPageLimit = 1000
)

func dormantTeamKey(teamID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pkDormantTeams},
		attrSK: &types.AttributeValueMemberS{Value: teamID},
	}
}

// txDormantRegistry is SetPolicy's action on the team's registry entry.
func (s *Store) txDormantRegistry(teamID string, p accesskey.KeyPolicy) types.TransactWriteItem {
	if p.DisableUnusedAfterDays == nil {
		return types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: dormantTeamKey(teamID)}}
	}
	item := dormantTeamKey(teamID)
	item[attrTeamID] = &types.AttributeValueMemberS{Value: teamID}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}}
}

// DormantTeams lists the teams whose policy disables unused keys.
func (s *Store) DormantTeams(ctx context.Context) ([]string, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(pkDormantTeams))).Build()
	if err != nil {
		return nil, err
	}
	input := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(dormantTeamsPageLimit)}
	var teams []string
	for {
		out, err := s.db.Query(ctx, input)
		if err != nil {
			return nil, fmt.Errorf("query dormant teams: %w", awsclient.Classify(err))
		}
		for _, it := range out.Items {
			if sk, ok := it[attrSK].(*types.AttributeValueMemberS); ok {
				teams = append(teams, sk.Value)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return teams, nil
		}
		input.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// DormantCandidates lists a team's active keys whose last use (or, never
// used, creation) is before before: a Query of each ByTeam partition of
// the team with a filter (the filter pays for every entry it reads). The
// index does not project dormantAt: the pass reads each candidate.
func (s *Store) DormantCandidates(ctx context.Context, teamID string, before time.Time) ([]accesskey.Ref, error) {
	b := expression.Value(before.UTC().Format(timestampLayout))
	lu := expression.Name(attrLastUsedAt)
	filter := expression.Name(attrStatus).Equal(expression.Value(string(accesskey.StatusActive))).
		And(lu.LessThan(b).Or(expression.AttributeNotExists(lu).And(expression.Name(attrCreatedAt).LessThan(b))))
	var refs []accesskey.Ref
	for _, part := range teamPartitions(teamID) {
		expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrGSI1PK).Equal(expression.Value(part))).WithFilter(filter).Build()
		if err != nil {
			return nil, err
		}
		input := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(indexByTeam), KeyConditionExpression: expr.KeyCondition(),
			FilterExpression: expr.Filter(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
		for {
			out, err := s.db.Query(ctx, input)
			if err != nil {
				return nil, fmt.Errorf("query dormant keys of %s: %w", teamID, awsclient.Classify(err))
			}
			var items []keyItem
			if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
				return nil, fmt.Errorf("unmarshal keys: %w", err)
			}
			for _, it := range items {
				refs = append(refs, accesskey.Ref{TeamID: it.TeamID, MemberID: it.MemberID, AccessKeyID: it.AccessKeyID})
			}
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			input.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return refs, nil
}

// DormantState reads what the dormant pass needs of a key (eventually
// consistent: the write's condition checks again).
func (s *Store) DormantState(ctx context.Context, ref accesskey.Ref) (accesskey.DormantState, error) {
	proj := expression.NamesList(expression.Name(attrTeamID), expression.Name(attrMemberID), expression.Name(attrStatus),
		expression.Name(attrLastUsedAt), expression.Name(attrCreatedAt), expression.Name(attrRotatedTo),
		expression.Name(attrDormantAt), expression.Name(attrDormantWarnedFor))
	e, err := expression.NewBuilder().WithProjection(proj).Build()
	if err != nil {
		return accesskey.DormantState{}, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(ref.AccessKeyID),
		ProjectionExpression: e.Projection(), ExpressionAttributeNames: e.Names()})
	if err != nil {
		return accesskey.DormantState{}, fmt.Errorf("get key %s: %w", ref.AccessKeyID, awsclient.Classify(err))
	}
	var it struct {
		TeamID           string `dynamodbav:"teamId"`
		MemberID         string `dynamodbav:"memberId"`
		Status           string `dynamodbav:"status"`
		LastUsedAt       string `dynamodbav:"lastUsedAt"`
		CreatedAt        string `dynamodbav:"createdAt"`
		RotatedTo        string `dynamodbav:"rotatedTo"`
		DormantAt        string `dynamodbav:"dormantAt"`
		DormantWarnedFor string `dynamodbav:"dormantWarnedFor"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return accesskey.DormantState{}, err
	}
	if out.Item == nil || it.TeamID != ref.TeamID || it.MemberID != ref.MemberID {
		return accesskey.DormantState{}, fmt.Errorf("%w: key %s", accesskey.ErrNotFound, ref.AccessKeyID)
	}
	st := accesskey.DormantState{Status: accesskey.Status(it.Status), Retired: it.RotatedTo != "", LastUsedAt: it.LastUsedAt}
	for _, v := range []string{it.CreatedAt, it.LastUsedAt, it.DormantAt} {
		if t, err := time.Parse(timestampLayout, v); err == nil && t.After(st.Since) {
			st.Since = t
		}
	}
	if t, err := time.Parse(timestampLayout, it.DormantWarnedFor); err == nil {
		st.WarnedFor = t
	}
	return st, nil
}

// dormantCond: the key is still as the pass read it (active, not retired,
// the same last use).
func dormantCond(ref accesskey.Ref, lastUsedAt string) expression.ConditionBuilder {
	lu := expression.Name(attrLastUsedAt)
	same := expression.AttributeNotExists(lu)
	if lastUsedAt != "" {
		same = lu.Equal(expression.Value(lastUsedAt))
	}
	return ownedBy(ref).
		And(expression.Name(attrStatus).Equal(expression.Value(string(accesskey.StatusActive)))).
		And(expression.AttributeNotExists(expression.Name(attrRotatedTo))).
		And(same)
}

// WarnDormant writes a key's AccessKeyDormant record with its
// dormantWarnedFor, once per clock start, in one transaction; false when
// the key no longer needs it.
func (s *Store) WarnDormant(ctx context.Context, ref accesskey.Ref, st accesskey.DormantState, audit accesskey.Audit) (bool, error) {
	since := st.Since.UTC().Format(timestampLayout)
	wf := expression.Name(attrDormantWarnedFor)
	e, err := expression.NewBuilder().WithUpdate(expression.Set(wf, expression.Value(since))).
		WithCondition(dormantCond(ref, st.LastUsedAt).And(expression.AttributeNotExists(wf).Or(wf.NotEqual(expression.Value(since))))).Build()
	if err != nil {
		return false, err
	}
	rec := audit.Record(accesskey.AuditKeyDormant, ref)
	rec.KeyChanges = &accesskey.KeyChanges{Reason: accesskey.DormantReason}
	return s.writeKeyUpdate(ctx, ref, e, rec)
}

// DisableDormant disables a key unused past its team's setting, with its
// AccessKeyDisabled record (reason unused), in one transaction held to the
// status and last use read; false when the key no longer qualifies.
func (s *Store) DisableDormant(ctx context.Context, ref accesskey.Ref, st accesskey.DormantState, audit accesskey.Audit) (bool, error) {
	e, err := expression.NewBuilder().WithUpdate(expression.
		Set(expression.Name(attrStatus), expression.Value(string(accesskey.StatusInactive))).
		Set(expression.Name(attrDormantAt), expression.Value(audit.At.UTC().Format(timestampLayout)))).
		WithCondition(dormantCond(ref, st.LastUsedAt)).Build()
	if err != nil {
		return false, err
	}
	rec := audit.Record(accesskey.AuditKeyDisabled, ref)
	rec.StatusBefore, rec.StatusAfter = accesskey.StatusActive, accesskey.StatusInactive
	rec.KeyChanges = &accesskey.KeyChanges{Reason: accesskey.DormantReason}
	return s.writeKeyUpdate(ctx, ref, e, rec)
}
