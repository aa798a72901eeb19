package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// ConflictRetry lets the tests bound the conflict retries.
type ConflictRetry = conflictRetry

// WithConflictRetry returns a copy of s that retries conflicts as r says.
func (s *Store) WithConflictRetry(r ConflictRetry) *Store { return s.withConflictRetry(r) }

// WriteAudit writes records as a change's transaction writes them (the
// same items, shards and index attributes), in one transaction.
func (s *Store) WriteAudit(ctx context.Context, records ...accesskey.AuditRecord) error {
	actions, _, err := s.withRecords(nil, nil, records...)
	if err != nil {
		return err
	}
	_, err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	return err
}

// PolicyCopyPK is the pk of the policy copy memberID's changes check.
func PolicyCopyPK(teamID, memberID string) string {
	return policyCopyPK(teamID, shardOf(memberID, policyCopies))
}

// PolicyCopies and AuditShards are the layout's shard counts.
const (
	PolicyCopies = policyCopies
	AuditShards  = auditShards
)
