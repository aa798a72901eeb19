package teststack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/local/tabledef"
)

// Table is one table of DynamoDB Local, read behind the service's back.
type Table struct {
	Name string
	DB   *dynamodb.Client // no calls counted

	t testing.TB // nil outside a test
}

var tableSeq atomic.Int64

// TableName is a table name of this process that no other call returns:
// label (its characters that a table name cannot hold made '-'), the time
// and a sequence number.
func TableName(label string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, label)
	name := fmt.Sprintf("%s-%d-%d", clean, time.Now().UnixNano(), tableSeq.Add(1))
	return name[max(0, len(name)-255):] // the unique end, if it is too long
}

// templateMu serialises reading the table definition: goformation's
// ParseYAML registers its YAML tags in a global map on every call, so
// tabledef.CreateTableInput is not safe for concurrent use.
var templateMu sync.Mutex

// NewTable creates a fresh table from template.yaml's definition, with no
// server in front of it, and deletes it when the test ends.
func NewTable(t testing.TB) *Table {
	t.Helper()
	ctx := context.Background()
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tb := &Table{Name: TableName(t.Name()), DB: dynamodb.NewFromConfig(cfg), t: t}
	templateMu.Lock()
	input, err := tabledef.CreateTableInput(teamkeys.TemplateYAML, tb.Name)
	templateMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := tabledef.EnsureTable(ctx, tb.DB, input); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = tb.DB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(tb.Name)})
	})
	return tb
}

// RawItem reads the item with key pk, sk, strongly consistent; nil if
// there is none.
func (tb *Table) RawItem(pk, sk string) map[string]types.AttributeValue {
	tb.helper()
	out, err := tb.DB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(tb.Name),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		tb.fatalf("get item %s %s: %v", pk, sk, err)
	}
	return out.Item
}

// Item is RawItem as Go values (numbers float64, binary []byte).
func (tb *Table) Item(pk, sk string) map[string]any {
	tb.helper()
	item := tb.RawItem(pk, sk)
	if item == nil {
		return nil
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(item, &m); err != nil {
		tb.fatalf("item %s %s: %v", pk, sk, err)
	}
	return m
}

// Check runs the table's invariant check (dynamostore.Check).
func (tb *Table) Check(ctx context.Context) (dynamostore.Report, error) {
	return dynamostore.Check(ctx, tb.DB, tb.Name)
}
