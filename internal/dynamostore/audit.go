package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// auditShards is how many partitions a team's audit records spread over
// (items.go): at 2 write units a record (a transaction's write of up to
// 1 KB), 4,000 changes/s of one team are 500 units/s on each, half of a
// partition's 1,000.
const auditShards = 16

// The audit indexes (template.yaml's KeysTable, parameter AuditIndexes):
// a member's and a key's records, newest last, each one partition.
const (
	indexByMemberAudit = "ByMemberAudit"
	indexByKeyAudit    = "ByKeyAudit"
	attrGSI3PK         = "gsi3pk"
	attrGSI3SK         = "gsi3sk"
	attrGSI4PK         = "gsi4pk"
	attrGSI4SK         = "gsi4sk"
)

// AuditIndexes says which audit indexes the table has: an index is created
// one per deploy (CloudFormation adds one index per stack update), and
// until it exists its history is a filter over the team's shards.
type AuditIndexes struct{ Member, Key bool }

// AuditIndexesNamed reads the template parameter AuditIndexes: None,
// Member, or MemberAndKey (anything else, the default: both).
func AuditIndexesNamed(name string) AuditIndexes {
	switch name {
	case "None":
		return AuditIndexes{}
	case "Member":
		return AuditIndexes{Member: true}
	}
	return AuditIndexes{Member: true, Key: true}
}

// WithAuditIndexes returns a copy of s that queries the audit indexes ix
// names (TEAMKEYS_AUDIT_INDEXES); New assumes both.
func (s *Store) WithAuditIndexes(ix AuditIndexes) *Store {
	c := *s
	c.auditIndexes = ix
	return &c
}

// auditSource is one partition ListAudit reads: a shard of the table, the
// legacy partition, or an index's.
type auditSource struct {
	index          string // "" for the table
	pkName, skName string
	pk             string
	// filter keeps a member's or a key's records of a partition that holds
	// others too.
	filter *expression.ConditionBuilder
}

// ListAudit returns up to limit of a team's audit records, newest first,
// from after (nil for the first page): those of memberID and of accessKeyID
// only, when given. It queries every partition that may hold them at once
// (auditSources) and merges them by sort key (<time>#<eventId>, the same
// in every shard and index): the cursor is one sort key, the last record
// returned or the point down to which every partition was read, in the
// form {pk: AUDIT#<teamId>, sk} of today's release, whose tokens keep
// working. A page may hold fewer than limit records and still have a next
// one (filters, the 1 MB page). Records past their retention are left out,
// DynamoDB's TTL deletion being lazy.
func (s *Store) ListAudit(ctx context.Context, teamID, memberID, accessKeyID string, limit int, after map[string]string) ([]accesskey.AuditRecord, map[string]string, error) {
	if after != nil && (after[attrPK] != auditPK(teamID) || after[attrSK] == "") {
		return nil, nil, accesskey.Invalid("nextToken", "does not belong to this listing")
	}
	var before string
	if after != nil {
		before = after[attrSK]
	}
	sources := s.auditSources(teamID, memberID, accessKeyID)
	pages := make([]auditPage, len(sources))
	g, gctx := errgroup.WithContext(ctx)
	for i, src := range sources {
		g.Go(func() error {
			p, err := s.queryAudit(gctx, src, before, limit)
			pages[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	answers, horizons := make([][]auditItem, len(pages)), make([]string, len(pages))
	for i, p := range pages {
		answers[i], horizons[i] = p.items, p.horizon
	}
	items, next := mergePartitions(answers, horizons, func(it auditItem) string { return it.SK }, true, limit)
	if err := s.withAuditChanges(ctx, items); err != nil {
		return nil, nil, err
	}
	records := make([]accesskey.AuditRecord, 0, len(items))
	for _, it := range items {
		records = append(records, it.record())
	}
	if next == "" {
		return records, nil, nil
	}
	return records, map[string]string{attrPK: auditPK(teamID), attrSK: next}, nil
}

// auditSources are the partitions that hold a team's records (of memberID
// and of accessKeyID, when given): one index partition when the index
// exists, else every shard (filtered); and the legacy partition, filtered,
// whose records no index holds.
func (s *Store) auditSources(teamID, memberID, accessKeyID string) []auditSource {
	var filter *expression.ConditionBuilder
	and := func(name, value string) {
		c := expression.Name(name).Equal(expression.Value(value))
		if filter != nil {
			c = filter.And(c)
		}
		filter = &c
	}
	if memberID != "" {
		and(attrMemberID, memberID)
	}
	if accessKeyID != "" {
		and("accessKeyId", accessKeyID)
	}
	legacy := auditSource{pkName: attrPK, skName: attrSK, pk: auditPK(teamID), filter: filter}
	switch {
	case accessKeyID != "" && s.auditIndexes.Key:
		// A key is its member's: the member filter, if any, is cheap.
		var f *expression.ConditionBuilder
		if memberID != "" {
			c := expression.Name(attrMemberID).Equal(expression.Value(memberID))
			f = &c
		}
		return []auditSource{{index: indexByKeyAudit, pkName: attrGSI4PK, skName: attrGSI4SK, pk: auditKeyPK(teamID, accessKeyID), filter: f}, legacy}
	case accessKeyID == "" && memberID != "" && s.auditIndexes.Member:
		return []auditSource{{index: indexByMemberAudit, pkName: attrGSI3PK, skName: attrGSI3SK, pk: auditMemberPK(teamID, memberID)}, legacy}
	}
	sources := make([]auditSource, 0, auditShards+1)
	for shard := range auditShards {
		sources = append(sources, auditSource{pkName: attrPK, skName: attrSK, pk: auditShardPK(teamID, shard), filter: filter})
	}
	return append(sources, legacy)
}

// auditPage is one partition's answer: its records, newest first, and,
// when it has more below them, the sort key down to which it was read.
type auditPage struct {
	items   []auditItem
	horizon string
}

// queryAudit reads up to limit records of src below before ("": from the
// newest), with one Query.
func (s *Store) queryAudit(ctx context.Context, src auditSource, before string, limit int) (auditPage, error) {
	key := expression.Key(src.pkName).Equal(expression.Value(src.pk))
	if before != "" {
		key = key.And(expression.Key(src.skName).LessThan(expression.Value(before)))
	}
	filter := expression.Name(attrTTL).GreaterThan(expression.Value(s.now().Unix()))
	if src.filter != nil {
		filter = filter.And(*src.filter)
	}
	expr, err := expression.NewBuilder().WithKeyCondition(key).WithFilter(filter).Build()
	if err != nil {
		return auditPage{}, err
	}
	input := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if src.index == "" {
		input.ConsistentRead = aws.Bool(true)
	} else {
		// An index is eventually consistent (ConsistentRead is an error
		// there): a record may show a moment after its change.
		input.IndexName = aws.String(src.index)
	}
	out, err := s.db.Query(ctx, input)
	if err != nil {
		return auditPage{}, fmt.Errorf("query audit records: %w", awsclient.Classify(err))
	}
	var p auditPage
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &p.items); err != nil {
		return auditPage{}, fmt.Errorf("unmarshal audit records: %w", err)
	}
	for i := range p.items {
		p.items[i].fromIndex = src.index != ""
	}
	if sk, ok := out.LastEvaluatedKey[src.skName].(*types.AttributeValueMemberS); ok {
		p.horizon = sk.Value
	}
	return p, nil
}
