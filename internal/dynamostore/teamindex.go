package dynamostore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// teamShards is how many partitions of the ByTeam index a team's keys
// spread over, by member (items.go). Every change of a key writes its
// entry there (status, expiry and last use are projected): one partition
// per team capped a team at 1,000 index writes a second, 500 rotations
// (two entries each). With 16, 4,000 changes a second are ~250 units a
// second on each.
const teamShards = 16

// teamShardPartition is the ByTeam partition of a member's keys: all of a
// member's keys share one, so a member's list stays one Query.
func teamShardPartition(teamID, memberID string) string {
	return teamPartition(teamID) + "#" + fmt.Sprintf("%02d", shardOf(memberID, teamShards))
}

// teamPartitions are every ByTeam partition of a team: the partition keys
// were written in before the shards (TEAM#<teamId>, still read, first) and
// the shards.
func teamPartitions(teamID string) []string {
	parts := make([]string, 0, teamShards+1)
	parts = append(parts, teamPartition(teamID))
	for shard := range teamShards {
		parts = append(parts, teamPartition(teamID)+"#"+fmt.Sprintf("%02d", shard))
	}
	return parts
}

// ListMember returns a member's keys, oldest first: its shard's and, for
// keys made before the shards, the team's unsharded partition's.
func (s *Store) ListMember(ctx context.Context, teamID, memberID string) ([]accesskey.Key, error) {
	parts := []string{teamPartition(teamID), teamShardPartition(teamID, memberID)}
	pages := make([]teamPage, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	for i, part := range parts {
		g.Go(func() error {
			var err error
			cond := expression.Key(attrGSI1PK).Equal(expression.Value(part)).
				And(expression.Key(attrGSI1SK).BeginsWith(memberSortPrefix(memberID)))
			pages[i], err = s.queryTeam(gctx, cond, 0, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var items []keyItem
	for _, p := range pages {
		items = append(items, p.items...)
	}
	// A member holds a handful of keys: a 1 MB page never cuts them short.
	slices.SortFunc(items, func(a, b keyItem) int { return strings.Compare(a.GSI1SK, b.GSI1SK) })
	return s.keysWithExtras(ctx, items)
}

// ListTeam returns up to limit keys of a team, ordered by member and then by
// creation, starting after the cursor (nil for the first page); the
// returned cursor is nil on the last page. It queries every partition of
// the team at once and merges them by sort key (MEMBER#<memberId>#
// <createdAt>#<accessKeyId>, unique and the same order in every
// partition): the cursor is one sort key, in the form {gsi1pk:
// TEAM#<teamId>, gsi1sk} of the release before the shards, whose tokens
// keep working. Where a partition's Query stopped at 1 MB, the page ends
// where it stopped, so that nothing below is skipped.
//
// With limit 0 (the credential report, whose order is not the list's) it
// returns one whole Query page (at most 1 MB of index items) of one
// partition at a time, partition after partition: the cursor names the
// partition and where in it to go on.
func (s *Store) ListTeam(ctx context.Context, teamID string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
	parts := teamPartitions(teamID)
	if after != nil && !slices.Contains(parts, after[attrGSI1PK]) {
		return nil, nil, accesskey.Invalid("nextToken", "does not belong to this listing")
	}
	if limit <= 0 {
		return s.teamPartitionPage(ctx, parts, after)
	}
	if after != nil && after[attrGSI1PK] != teamPartition(teamID) {
		// A partition-by-partition cursor is the report's, not the list's.
		return nil, nil, accesskey.Invalid("nextToken", "does not belong to this listing")
	}
	var from string
	if after != nil {
		from = after[attrGSI1SK]
	}
	pages := make([]teamPage, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	for i, part := range parts {
		g.Go(func() error {
			cond := expression.Key(attrGSI1PK).Equal(expression.Value(part))
			if from != "" {
				cond = cond.And(expression.Key(attrGSI1SK).GreaterThan(expression.Value(from)))
			}
			var err error
			pages[i], err = s.queryTeam(gctx, cond, limit+1, nil)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	answers, horizons := make([][]keyItem, len(pages)), make([]string, len(pages))
	for i, p := range pages {
		answers[i], horizons[i] = p.items, p.horizon
	}
	items, next := mergePartitions(answers, horizons, func(it keyItem) string { return it.GSI1SK }, false, limit)
	keys, err := s.keysWithExtras(ctx, items)
	if err != nil || next == "" {
		return keys, nil, err
	}
	return keys, map[string]string{attrGSI1PK: teamPartition(teamID), attrGSI1SK: next}, nil
}

// teamPartitionPage is ListTeam with no limit: one whole Query page of the
// partition the cursor names (the first, with none), and the cursor of
// what follows: the rest of that partition, or the start of the next.
func (s *Store) teamPartitionPage(ctx context.Context, parts []string, after map[string]string) ([]accesskey.Key, map[string]string, error) {
	i := 0
	var start map[string]string
	if after != nil {
		i = slices.Index(parts, after[attrGSI1PK])
		if after[attrGSI1SK] != "" {
			start = after
		}
	}
	p, err := s.queryTeam(ctx, expression.Key(attrGSI1PK).Equal(expression.Value(parts[i])), 0, start)
	if err != nil {
		return nil, nil, err
	}
	keys, err := s.keysWithExtras(ctx, p.items)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case p.last != nil:
		return keys, p.last, nil
	case i+1 < len(parts):
		return keys, map[string]string{attrGSI1PK: parts[i+1]}, nil
	}
	return keys, nil, nil
}

// teamPage is one ByTeam Query's answer: its items in sort-key order, and,
// when the 1 MB limit stopped it with more to read, the sort key up to
// which it read and its LastEvaluatedKey.
type teamPage struct {
	items   []keyItem
	horizon string
	last    map[string]string
}

// queryTeam runs one Query on the ByTeam index, of at most limit items
// (0: as many as 1 MB holds), from after's key (nil: the start).
func (s *Store) queryTeam(ctx context.Context, cond expression.KeyConditionBuilder, limit int, after map[string]string) (teamPage, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return teamPage{}, err
	}
	input := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(indexByTeam),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if limit > 0 {
		input.Limit = aws.Int32(int32(limit))
	}
	if after != nil {
		input.ExclusiveStartKey = cursorAttributes(after)
	}
	out, err := s.db.Query(ctx, input)
	if err != nil {
		return teamPage{}, fmt.Errorf("query keys: %w", awsclient.Classify(err))
	}
	var p teamPage
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &p.items); err != nil {
		return teamPage{}, fmt.Errorf("unmarshal keys: %w", err)
	}
	// A Query that stopped at its Limit has read what was asked: only one
	// the 1 MB limit stopped has more than it returned below the horizon.
	if len(out.LastEvaluatedKey) > 0 && (limit == 0 || len(p.items) < limit) {
		p.last = cursorFromAttributes(out.LastEvaluatedKey)
		if sk, ok := out.LastEvaluatedKey[attrGSI1SK].(*types.AttributeValueMemberS); ok {
			p.horizon = sk.Value
		}
	}
	return p, nil
}

func keysOf(items []keyItem) ([]accesskey.Key, error) {
	keys := make([]accesskey.Key, 0, len(items))
	for _, it := range items {
		k, err := it.key()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}
