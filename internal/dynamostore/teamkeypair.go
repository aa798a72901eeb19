package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// A team's sealing key pair (items.go's layout: pk=TEAMKEY#<teamId>,
// sk=TEAMKEY). Written once, never changed.
const (
	prefixTeamKeyPair       = "TEAMKEY#"
	skTeamKeyPair           = "TEAMKEY"
	attrPublicKey           = "publicKey"
	attrPrivateKeyCiphertxt = "privateKeyCiphertext"
	attrCreatedAt           = "createdAt"
)

type teamKeyPairItem struct {
	PK                   string `dynamodbav:"pk"`
	SK                   string `dynamodbav:"sk"`
	TeamID               string `dynamodbav:"teamId"`
	PublicKey            []byte `dynamodbav:"publicKey"`
	PrivateKeyCiphertext []byte `dynamodbav:"privateKeyCiphertext"`
	CreatedAt            string `dynamodbav:"createdAt"`
}

func teamKeyPairKey(teamID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: prefixTeamKeyPair + teamID},
		attrSK: &types.AttributeValueMemberS{Value: skTeamKeyPair},
	}
}

// TeamKeyPair reads a team's sealing key pair (strongly consistent). A team
// without one yet fails with accesskey.ErrNotFound.
func (s *Store) TeamKeyPair(ctx context.Context, teamID string) (accesskey.TeamKeyPair, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            teamKeyPairKey(teamID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return accesskey.TeamKeyPair{}, fmt.Errorf("get key pair of team %s: %w", teamID, awsclient.Classify(err))
	}
	if out.Item == nil {
		return accesskey.TeamKeyPair{}, fmt.Errorf("key pair of team %s: %w", teamID, accesskey.ErrNotFound)
	}
	var it teamKeyPairItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return accesskey.TeamKeyPair{}, fmt.Errorf("unmarshal key pair of team %s: %w", teamID, err)
	}
	if it.TeamID != teamID || len(it.PublicKey) == 0 || len(it.PrivateKeyCiphertext) == 0 {
		return accesskey.TeamKeyPair{}, fmt.Errorf("key pair item of team %s is incomplete", teamID)
	}
	return accesskey.TeamKeyPair{TeamID: it.TeamID, PublicKey: it.PublicKey, PrivateKeyCiphertext: it.PrivateKeyCiphertext}, nil
}

// PutTeamKeyPair stores p as its team's key pair unless the team has one
// already (a conditional write: two first generates racing end with one
// pair), and returns the team's pair: p, or the one stored first.
func (s *Store) PutTeamKeyPair(ctx context.Context, p accesskey.TeamKeyPair) (accesskey.TeamKeyPair, error) {
	expr, err := expression.NewBuilder().
		WithUpdate(expression.
			Set(expression.Name(attrTeamID), expression.Value(p.TeamID)).
			Set(expression.Name(attrPublicKey), expression.Value(p.PublicKey)).
			Set(expression.Name(attrPrivateKeyCiphertxt), expression.Value(p.PrivateKeyCiphertext)).
			Set(expression.Name(attrCreatedAt), expression.Value(s.now().UTC().Format(timestampLayout)))).
		WithCondition(expression.AttributeNotExists(expression.Name(attrPK))).
		Build()
	if err != nil {
		return accesskey.TeamKeyPair{}, err
	}
	// An UpdateItem, not a PutItem: the store's DynamoDB interface stays
	// as it is; with attribute_not_exists(pk) it only ever creates.
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       teamKeyPairKey(p.TeamID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var condErr *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &condErr):
		// Another writer made the team's pair first: use theirs.
		return s.TeamKeyPair(ctx, p.TeamID)
	case err != nil:
		return accesskey.TeamKeyPair{}, fmt.Errorf("put key pair of team %s: %w", p.TeamID, awsclient.Classify(err))
	}
	return p, nil
}
