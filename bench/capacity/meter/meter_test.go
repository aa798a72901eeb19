package meter_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/bench/capacity/meter"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/testing/testenv"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// touch is what a step should ask of one partition.
type touch struct {
	Reads, Writes, Checks int
	WU                    float64
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// TestAccounting runs, on DynamoDB Local and local-kms, calls whose
// partitions are known, and holds the meter to them: a table (pk, sk) with
// one index ByG (gpk, gsk) that projects v only.
func TestAccounting(t *testing.T) {
	ctx := context.Background()
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := dynamodb.NewFromConfig(cfg)
	table := teststack.TableName("meter")
	str := types.ScalarAttributeTypeS
	attr := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: str}
	}
	key := func(h, r string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(h), KeyType: types.KeyTypeHash}, {AttributeName: aws.String(r), KeyType: types.KeyTypeRange}}
	}
	if _, err := raw.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &table,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{attr("pk"), attr("sk"), attr("gpk"), attr("gsk")},
		KeySchema:            key("pk", "sk"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("ByG"),
			KeySchema:  key("gpk", "gsk"),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"v"}},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = raw.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })

	m := meter.New(raw)
	db := dynamodb.NewFromConfig(cfg, m.DynamoDB)
	keys := kms.NewFromConfig(cfg, m.KMS)
	pk := func(p string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": s(p), "sk": s("1")}
	}
	base := func(p string) string { return table + " " + p }
	index := func(p string) string { return table + "/ByG " + p }
	update := func(p, expr string, values map[string]types.AttributeValue) func() error {
		return func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: pk(p), UpdateExpression: &expr, ExpressionAttributeValues: values})
			return err
		}
	}
	steps := []struct {
		name    string
		do      func() error
		want    map[string]touch
		ops     map[string]int
		txItems map[string]int
	}{
		{"a put setting both index keys writes the table's and the index's partitions",
			func() error {
				_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
					"pk": s("X"), "sk": s("1"), "gpk": s("Y"), "gsk": s("a"), "v": s("1")}})
				return err
			},
			map[string]touch{base("X"): {Writes: 1, WU: 1}, index("Y"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.PutItem": 1}, nil},
		{"an update of a projected attribute writes the index",
			update("X", "SET v = :v", map[string]types.AttributeValue{":v": s("2")}),
			map[string]touch{base("X"): {Writes: 1, WU: 1}, index("Y"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.UpdateItem": 1}, nil},
		{"an update of an attribute the index does not project writes the table only",
			update("X", "SET w = :w", map[string]types.AttributeValue{":w": s("3")}),
			map[string]touch{base("X"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.UpdateItem": 1}, nil},
		{"an update removing the index key writes the index partition it leaves",
			update("X", "REMOVE gpk", nil),
			map[string]touch{base("X"): {Writes: 1, WU: 1}, index("Y"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.UpdateItem": 1}, nil},
		{"an update setting the index key again writes the index partition it enters",
			update("X", "SET gpk = :g", map[string]types.AttributeValue{":g": s("Y3")}),
			map[string]touch{base("X"): {Writes: 1, WU: 1}, index("Y3"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.UpdateItem": 1}, nil},
		{"an update moving the index key writes the old and the new index partition",
			update("X", "SET gpk = :g", map[string]types.AttributeValue{":g": s("Y4")}),
			map[string]touch{base("X"): {Writes: 1, WU: 1}, index("Y3"): {Writes: 1, WU: 1}, index("Y4"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.UpdateItem": 1}, nil},
		{"a transaction of a ConditionCheck and a Put counts both items, at transactional cost",
			func() error {
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
					{ConditionCheck: &types.ConditionCheck{TableName: &table, Key: pk("X"), ConditionExpression: aws.String("attribute_exists(pk)")}},
					{Put: &types.Put{TableName: &table, Item: map[string]types.AttributeValue{"pk": s("Z"), "sk": s("1"), "gpk": s("Y2"), "gsk": s("b")}}},
				}})
				return err
			},
			map[string]touch{base("X"): {Writes: 1, Checks: 1, WU: 2}, base("Z"): {Writes: 1, WU: 2}, index("Y2"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.TransactWriteItems": 1}, map[string]int{table + " X 1": 1, table + " Z 1": 1}},
		{"a query of the index reads that index partition",
			func() error {
				_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &table, IndexName: aws.String("ByG"),
					KeyConditionExpression:    aws.String("#h = :h AND begins_with(gsk, :p)"),
					ExpressionAttributeNames:  map[string]string{"#h": "gpk"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":h": s("Y2"), ":p": s("b")}})
				return err
			},
			map[string]touch{index("Y2"): {Reads: 1}},
			map[string]int{"DynamoDB.Query": 1}, nil},
		{"a consistent get reads the table partition",
			func() error {
				_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: pk("Z"), ConsistentRead: aws.Bool(true)})
				return err
			},
			map[string]touch{base("Z"): {Reads: 1}},
			map[string]int{"DynamoDB.GetItem": 1}, nil},
		{"a delete writes the table and removes the index entry",
			func() error {
				_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: pk("Z")})
				return err
			},
			map[string]touch{base("Z"): {Writes: 1, WU: 1}, index("Y2"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.DeleteItem": 1}, nil},
		{"a failed conditional put still costs its write, and writes no index",
			func() error {
				_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
					Item: map[string]types.AttributeValue{"pk": s("X"), "sk": s("1"), "gpk": s("Q"), "gsk": s("c")}})
				if _, ok := errorAs[*types.ConditionalCheckFailedException](err); !ok {
					return fmt.Errorf("want a condition failure, got %v", err)
				}
				return nil
			},
			map[string]touch{base("X"): {Writes: 1, WU: 1}},
			map[string]int{"DynamoDB.PutItem": 1}, nil},
		{"KMS Encrypt and Decrypt are counted",
			func() error {
				enc, err := keys.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(config.DefaultKMSKeyID), Plaintext: []byte("x")})
				if err != nil {
					return err
				}
				_, err = keys.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
				return err
			},
			map[string]touch{},
			map[string]int{"KMS.Encrypt": 1, "KMS.Decrypt": 1}, nil},
	}
	m.Take()
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got := m.Take()
		gotTouch := map[string]touch{}
		for p, l := range got.Partitions {
			// Read units depend on the item's size: only their presence is asserted.
			if l.Reads > 0 && l.RU <= 0 {
				t.Errorf("%s: %s read with no read units", step.name, p)
			}
			gotTouch[p.String()] = touch{Reads: l.Reads, Writes: l.Writes, Checks: l.Checks, WU: l.WU}
		}
		if fmt.Sprint(gotTouch) != fmt.Sprint(step.want) {
			t.Errorf("%s:\n got partitions %v\nwant %v", step.name, gotTouch, step.want)
		}
		ops := map[string]int{}
		for op, o := range got.Ops {
			ops[op] = o.Calls
		}
		if fmt.Sprint(ops) != fmt.Sprint(step.ops) {
			t.Errorf("%s: got calls %v, want %v", step.name, ops, step.ops)
		}
		if step.txItems == nil {
			step.txItems = map[string]int{}
		}
		if fmt.Sprint(got.TxItems) != fmt.Sprint(step.txItems) {
			t.Errorf("%s: got transaction items %v, want %v", step.name, got.TxItems, step.txItems)
		}
		// DynamoDB Local reports consumed capacity when asked: the meter
		// asks on every call.
		if o, ok := got.Ops["DynamoDB.GetItem"]; ok && o.Reported <= 0 {
			t.Errorf("%s: no consumed capacity reported: the meter did not ask for it", step.name)
		}
		for op, o := range got.Ops {
			t.Logf("%s: %s reported %.1f capacity units", step.name, op, o.Reported)
		}
	}
}

func errorAs[E error](err error) (E, bool) {
	var e E
	for err != nil {
		if x, ok := err.(E); ok {
			return x, true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	return e, false
}

func TestCeilings(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name        string
		limit, load float64
		requests    int
		want        float64
	}{
		{"one strongly consistent read per request: the partition's 3,000/s", 3000, 10_000, 10_000, 3000},
		{"a transactional write (2 units) per request: 500/s", 1000, 2000, 1000, 500},
		{"a read per second per environment at 100,000/s over 10 environments", 3000, 10, 100_000, 30_000_000},
		{"0.87 KMS calls per request under a 10,000/s quota", 10_000, 870, 1000, 10_000 / 0.87},
		{"one transaction per request on one item at 40/s", 40, 500, 500, 40},
		{"no load: no ceiling", 1000, 0, 100, inf},
		{"no requests: no ceiling", 1000, 5, 0, inf},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := meter.At(c.limit, c.load, c.requests); math.Abs(got-c.want) > 1e-6*math.Max(1, c.want) && got != c.want {
				t.Errorf("At(%g, %g, %d) = %g, want %g", c.limit, c.load, c.requests, got, c.want)
			}
		})
	}

	// Ceilings picks the busiest partition and the hottest item.
	snap := meter.Snapshot{
		Ops: map[string]meter.Op{"KMS.Decrypt": {Calls: 50}, "DynamoDB.GetItem": {Calls: 100}},
		Partitions: map[meter.Partition]*meter.Load{
			{Table: "t", Key: "A"}:             {Reads: 100, RU: 100},
			{Table: "t", Key: "B"}:             {Writes: 10, WU: 20},
			{Table: "t", Index: "I", Key: "C"}: {Writes: 100, WU: 100},
		},
		TxItems: map[string]int{"t P": 100, "t Q": 10},
	}
	cs := meter.Ceilings(snap, 100, meter.DefaultLimits)
	want := []struct {
		where string
		rate  float64
	}{{"t A", 3000}, {"t/I C", 1000}, {"t P", 40}, {"the region's quota", 20_000}}
	if len(cs) != len(want) {
		t.Fatalf("got %d ceilings, want %d: %v", len(cs), len(want), cs)
	}
	for i, w := range want {
		if cs[i].Where != w.where || cs[i].Rate != w.rate {
			t.Errorf("ceiling %d: got %v, want %s at %g/s", i, cs[i], w.where, w.rate)
		}
	}
	if low := meter.Lowest(cs); low.Where != "t P" {
		t.Errorf("lowest: got %v, want the transaction item", low)
	}
	if got := meter.Rate(1234567.4); got != "1,234,567" {
		t.Errorf("Rate: got %q", got)
	}
}

// TestKMSContexts: each KMS call is listed with its encryption context, so
// a workload can tell a call for one key from a shared one.
func TestKMSContexts(t *testing.T) {
	ctx := context.Background()
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := meter.New(dynamodb.NewFromConfig(cfg))
	keys := kms.NewFromConfig(cfg, m.KMS)
	enc, err := keys.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(config.DefaultKMSKeyID), Plaintext: []byte("x"),
		EncryptionContext: map[string]string{"key": "K1", "team": "T1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"key": "K1", "team": "T1"}}); err != nil {
		t.Fatal(err)
	}
	got := m.Take()
	if len(got.KMS) != 2 || got.KMS[0].Op != "KMS.Encrypt" || got.KMS[1].Op != "KMS.Decrypt" {
		t.Fatalf("got KMS calls %v, want an Encrypt and a Decrypt", got.KMS)
	}
	if !got.KMS[1].Names(map[string]bool{"K1": true}) || got.KMS[1].Names(map[string]bool{"K2": true}) {
		t.Errorf("the Decrypt's context %v: Names should find K1 only", got.KMS[1].Context)
	}
}
