package dynamostore

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// KeyItem is the item Create puts for k, sealed as given, and nothing
// else (no slot taken, no audit record). Tests and benchmarks write it
// with BatchWriteItem to seed thousands of real key items fast
// (teststack.Table.PutKeys); the service never writes a key without its
// transaction.
func (s *Store) KeyItem(k accesskey.Key, sealed accesskey.SealedSecret) (map[string]types.AttributeValue, error) {
	put, err := s.txPutKey(k, sealed)
	if err != nil {
		return nil, err
	}
	if put.Put == nil {
		return nil, fmt.Errorf("key item of %s: not a put", k.AccessKeyID)
	}
	return put.Put.Item, nil
}
