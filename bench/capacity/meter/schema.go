package meter

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// keys is one key schema: the table's or an index's.
type keys struct {
	Index string // "" for the base table
	Hash  string
	Range string // "" when there is none
	// Projected says whether a non-key attribute is in the index's entries
	// (nil for the base table: everything).
	Projected func(attr string) bool
}

// schema is a table's key schema and its global secondary indexes, as
// DescribeTable tells them: nothing here names an attribute of teamkeys.
type schema struct {
	Table   keys
	Indexes []keys
}

func describe(ctx context.Context, db *dynamodb.Client, table string) (*schema, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		return nil, fmt.Errorf("meter: describe table %s: %w", table, err)
	}
	d := out.Table
	s := &schema{Table: keysOf("", d.KeySchema)}
	tableKey := map[string]bool{s.Table.Hash: true, s.Table.Range: true}
	for _, g := range d.GlobalSecondaryIndexes {
		k := keysOf(*g.IndexName, g.KeySchema)
		k.Projected = projected(g.Projection, tableKey)
		s.Indexes = append(s.Indexes, k)
	}
	// A local secondary index shares the base table's partition: its writes
	// land on the same partition key, so they are counted there.
	return s, nil
}

func keysOf(index string, ks []types.KeySchemaElement) keys {
	k := keys{Index: index}
	for _, e := range ks {
		switch e.KeyType {
		case types.KeyTypeHash:
			k.Hash = *e.AttributeName
		case types.KeyTypeRange:
			k.Range = *e.AttributeName
		}
	}
	return k
}

func projected(p *types.Projection, tableKey map[string]bool) func(string) bool {
	if p == nil {
		return func(string) bool { return false }
	}
	switch p.ProjectionType {
	case types.ProjectionTypeAll:
		return func(string) bool { return true }
	case types.ProjectionTypeInclude:
		in := map[string]bool{}
		for _, a := range p.NonKeyAttributes {
			in[a] = true
		}
		return func(a string) bool { return in[a] || tableKey[a] }
	default: // KEYS_ONLY
		return func(a string) bool { return tableKey[a] }
	}
}

// primaryKey is the base table's key attributes of item.
func (s *schema) primaryKey(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	k := map[string]types.AttributeValue{s.Table.Hash: item[s.Table.Hash]}
	if s.Table.Range != "" {
		k[s.Table.Range] = item[s.Table.Range]
	}
	return k
}

// byIndex returns the key schema of index ("" for the table).
func (s *schema) byIndex(index string) (keys, bool) {
	if index == "" {
		return s.Table, true
	}
	for _, k := range s.Indexes {
		if k.Index == index {
			return k, true
		}
	}
	return keys{}, false
}

// in says whether item has an entry under k (a sparse index leaves out the
// items without its key attributes), and the partition key value.
func (k keys) in(item map[string]types.AttributeValue) (string, bool) {
	if item == nil {
		return "", false
	}
	h, ok := item[k.Hash]
	if !ok {
		return "", false
	}
	if k.Range != "" {
		if _, ok := item[k.Range]; !ok {
			return "", false
		}
	}
	return valueString(h), true
}

// entrySize is the size of item's entry under index k: its key, the base
// table's key, its projected attributes, plus the 100 bytes of overhead
// DynamoDB counts for each index entry.
func (k keys) entrySize(item map[string]types.AttributeValue) int {
	n := 100
	for name, v := range item {
		if name == k.Hash || name == k.Range || k.Projected(name) {
			n += len(name) + valueSize(v)
		}
	}
	return n
}

// changed says whether a write from old to new changes k's entry: a key or
// a projected attribute.
func (k keys) changed(old, new map[string]types.AttributeValue) bool {
	names := map[string]bool{}
	for n := range old {
		names[n] = true
	}
	for n := range new {
		names[n] = true
	}
	for n := range names {
		if n != k.Hash && n != k.Range && !k.Projected(n) {
			continue
		}
		if valueString(old[n]) != valueString(new[n]) {
			return true
		}
	}
	return false
}
