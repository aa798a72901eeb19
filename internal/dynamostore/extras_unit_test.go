package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
)

// unitTeam is a ByTeam Query's answer of n keys in the unsharded partition.
func unitTeam(n int) *dynamodb.QueryOutput {
	out := &dynamodb.QueryOutput{}
	for i := range n {
		id := fmt.Sprintf("TKAK%020d", i)
		out.Items = append(out.Items, map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + id}, "sk": &types.AttributeValueMemberS{Value: "KEY"},
			"gsi1pk":      &types.AttributeValueMemberS{Value: "TEAM#t1"},
			"gsi1sk":      &types.AttributeValueMemberS{Value: fmt.Sprintf("MEMBER#m%04d#2025-01-02T03:04:05Z#%s", i, id)},
			"accessKeyId": &types.AttributeValueMemberS{Value: id}, "teamId": &types.AttributeValueMemberS{Value: "t1"},
			"memberId": &types.AttributeValueMemberS{Value: fmt.Sprintf("m%04d", i)}, "status": &types.AttributeValueMemberS{Value: "Active"},
			"createdAt": &types.AttributeValueMemberS{Value: "2025-01-02T03:04:05Z"}, "createdBy": &types.AttributeValueMemberS{Value: "admin"},
		})
	}
	return out
}

// A report page's keys are read 100 a BatchGetItem, eventually
// consistent; keys DynamoDB leaves unprocessed are asked again, within
// bounds; past them, or when the call fails, the page is an error (503),
// never a page without its keys' restrictions.
func TestListBatchGet(t *testing.T) {
	for _, tt := range []struct {
		name        string
		keys        int
		unprocessed int // calls that leave every key unprocessed
		err         error
		wantCalls   int
		wantErr     bool
	}{
		{"one page, one call", 3, 0, nil, 1, false},
		{"250 keys, three calls", 250, 0, nil, 3, false},
		{"unprocessed twice, then read", 3, 2, nil, 3, false},
		{"unprocessed past the retries", 3, 100, nil, 4, true},
		{"throttled", 3, 0, unitSDKErr("BatchGetItem", &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}), 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := &unitDB{queryOut: unitTeam(tt.keys), batchUnprocessed: tt.unprocessed, batchErr: tt.err}
			s := dynamostore.New(db, unitTable).WithConflictRetry(unitFastRetry)
			keys, _, err := s.ListTeam(context.Background(), "t1", 0, nil)
			switch {
			case tt.wantErr && !errors.Is(err, accesskey.ErrUnavailable):
				t.Fatalf("ListTeam: %d keys, %v; want ErrUnavailable", len(keys), err)
			case !tt.wantErr && (err != nil || len(keys) != tt.keys):
				t.Fatalf("ListTeam: %d keys, %v; want %d", len(keys), err, tt.keys)
			}
			if len(db.batchInputs) != tt.wantCalls {
				t.Errorf("%d BatchGetItems, want %d", len(db.batchInputs), tt.wantCalls)
			}
			for _, in := range db.batchInputs {
				ka := in.RequestItems[unitTable]
				if len(ka.Keys) > 100 || aws.ToBool(ka.ConsistentRead) || ka.ProjectionExpression == nil {
					t.Errorf("BatchGetItem of %d keys, ConsistentRead %v, projection %v", len(ka.Keys), aws.ToBool(ka.ConsistentRead), ka.ProjectionExpression)
				}
			}
		})
	}
}
