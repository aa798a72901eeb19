package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// Bounds of CountKeysOutside: a policy's answer reads at most this many of
// the team's keys, for at most this long; past either, the count is a
// lower bound (Complete false).
const (
	OutsideCountMaxKeys = 5_000
	OutsideCountMaxTime = 3 * time.Second
)

// CountKeysOutside counts the team's keys that can sign at now (active,
// not expired) whose allowedCidrs are absent or not within team (nil: 0,
// nothing read). It walks the team's keys as the credential report does
// (ListTeam with no limit: one whole Query page of one ByTeam partition at
// a time, 17 partitions), and reads the networks of the keys that can sign
// with BatchGetItem (100 keys a call, projected to the key and
// allowedCidrs: the index does not project them). It stops after the page
// that takes it past maxKeys keys, or past maxTime: the count is then of
// the keys read, a lower bound. Cost for n keys: about 17 + n/3,000 Queries
// and n/100 BatchGetItems (5,000 keys: ~19 Queries and 50 BatchGetItems).
func (s *Store) CountKeysOutside(ctx context.Context, teamID string, team accesskey.CIDRList, now time.Time, maxKeys int, maxTime time.Duration) (accesskey.OutsideCount, error) {
	var c accesskey.OutsideCount
	if team == nil {
		c.Complete = true
		return c, nil
	}
	deadline := time.Now().Add(maxTime)
	var after map[string]string
	for {
		keys, next, err := s.ListTeam(ctx, teamID, 0, after)
		if err != nil {
			return c, err
		}
		signing := make([]accesskey.Key, 0, len(keys))
		for _, k := range keys {
			if k.CanSign(now) {
				signing = append(signing, k)
			}
		}
		if signing, err = s.withNetworks(ctx, signing); err != nil {
			return c, err
		}
		for _, k := range signing {
			if accesskey.OutsidePolicy(k, team, now) {
				c.Count++
			}
		}
		c.Scanned += len(keys)
		if next == nil {
			c.Complete = true
			return c, nil
		}
		if c.Scanned >= maxKeys || !time.Now().Before(deadline) {
			return c, nil
		}
		after = next
	}
}

// networksBatch is the most keys one BatchGetItem reads.
const networksBatch = 100

// withNetworks fills in keys' allowedCidrs, which the ByTeam index does
// not project, with BatchGetItem (eventually consistent: a count, not a
// decision), projected to the key and its networks. A key gone meanwhile
// keeps none.
//
// When ListTeam fills in the unprojected fields itself (branch
// projections), this goes: the listing's keys carry their networks.
func (s *Store) withNetworks(ctx context.Context, keys []accesskey.Key) ([]accesskey.Key, error) {
	proj, err := expression.NewBuilder().WithProjection(expression.NamesList(
		expression.Name(attrPK), expression.Name(attrSK), expression.Name("accessKeyId"), expression.Name(attrAllowedCIDRs))).Build()
	if err != nil {
		return nil, err
	}
	db, ok := s.db.(batchGetter)
	if !ok {
		return nil, fmt.Errorf("read key networks: the DynamoDB client has no BatchGetItem")
	}
	byID := make(map[string]int, len(keys))
	for i, k := range keys {
		byID[k.AccessKeyID] = i
	}
	for start := 0; start < len(keys); start += networksBatch {
		pending := make([]map[string]types.AttributeValue, 0, networksBatch)
		for _, k := range keys[start:min(start+networksBatch, len(keys))] {
			pending = append(pending, itemKey(k.AccessKeyID))
		}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == 5 {
				return nil, fmt.Errorf("read key networks: unprocessed keys after %d attempts: %w", attempt, accesskey.ErrUnavailable)
			}
			out, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				s.table: {Keys: pending, ProjectionExpression: proj.Projection(), ExpressionAttributeNames: proj.Names()},
			}})
			if err != nil {
				return nil, fmt.Errorf("read key networks: %w", awsclient.Classify(err))
			}
			for _, item := range out.Responses[s.table] {
				var it struct {
					AccessKeyID  string   `dynamodbav:"accessKeyId"`
					AllowedCIDRs []string `dynamodbav:"allowedCidrs"`
				}
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return nil, fmt.Errorf("unmarshal key networks: %w", err)
				}
				if i, ok := byID[it.AccessKeyID]; ok {
					keys[i].AllowedCIDRs = it.AllowedCIDRs
				}
			}
			pending = out.UnprocessedKeys[s.table].Keys
			if len(pending) > 0 {
				time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
			}
		}
	}
	return keys, nil
}

// batchGetter is the DynamoDB call withNetworks adds to the Store's
// (asserted, so that the Store's DynamoDB interface, and its fakes, stay
// as they are).
type batchGetter interface {
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

var _ batchGetter = (*dynamodb.Client)(nil)
