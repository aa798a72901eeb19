package dynamostore_test

// Unit tests of the store against a fake DynamoDB client: the cap's
// transaction, its conflict retries and the mapping of DynamoDB's failures
// to the domain's errors. No DynamoDB Local is needed.

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
)

const unitTable = "keys-unit"

// unitDB is a fake dynamostore.DynamoDB: each method records its input and
// answers with the next scripted reply (the last one repeats).
type unitDB struct {
	mu sync.Mutex

	transactInputs []*dynamodb.TransactWriteItemsInput
	transactErrs   []error
	onTransact     func(call int) // runs inside each TransactWriteItems call

	updateInputs []*dynamodb.UpdateItemInput
	updateOut    *dynamodb.UpdateItemOutput
	updateErr    error

	queryInputs []*dynamodb.QueryInput
	queryOut    *dynamodb.QueryOutput
	queryErr    error

	getOut *dynamodb.GetItemOutput
	getErr error

	// BatchGetItem answers each key it is asked with the key alone (an
	// item with no restrictions or leak marks), but the first
	// batchUnprocessed calls leave every key unprocessed, and batchErr
	// fails every call.
	batchInputs      []*dynamodb.BatchGetItemInput
	batchUnprocessed int
	batchErr         error
}

var _ dynamostore.DynamoDB = (*unitDB)(nil)

func (f *unitDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.mu.Lock()
	f.transactInputs = append(f.transactInputs, in)
	call := len(f.transactInputs)
	var err error
	if n := len(f.transactErrs); n > 0 {
		err = f.transactErrs[min(call, n)-1]
	}
	hook := f.onTransact
	f.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	if err != nil {
		return nil, err
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (f *unitDB) GetItem(_ context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return nil, f.getErr
	}
	if f.getOut == nil {
		return &dynamodb.GetItemOutput{}, nil
	}
	return f.getOut, nil
}

func (f *unitDB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batchInputs = append(f.batchInputs, in)
	if f.batchErr != nil {
		return nil, f.batchErr
	}
	if len(f.batchInputs) <= f.batchUnprocessed {
		return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
	}
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, ka := range in.RequestItems {
		out.Responses[table] = append(out.Responses[table], ka.Keys...)
	}
	return out, nil
}

func (f *unitDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateInputs = append(f.updateInputs, in)
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	if f.updateOut == nil {
		return &dynamodb.UpdateItemOutput{}, nil
	}
	return f.updateOut, nil
}

func (f *unitDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queryInputs = append(f.queryInputs, in)
	if f.queryErr != nil {
		return nil, f.queryErr
	}
	if f.queryOut == nil {
		return &dynamodb.QueryOutput{}, nil
	}
	if aws.ToString(in.IndexName) == "ByTeam" {
		return byTeamPartition(f.queryOut, in), nil
	}
	return f.queryOut, nil
}

// byTeamPartition is the part of out in the ByTeam partition that in
// queries (a team's keys spread over partitions, each queried alone): the
// items whose gsi1pk is a value of the query's, and the LastEvaluatedKey
// when it is one of them.
func byTeamPartition(out *dynamodb.QueryOutput, in *dynamodb.QueryInput) *dynamodb.QueryOutput {
	values := map[string]bool{}
	for _, v := range in.ExpressionAttributeValues {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			values[s.Value] = true
		}
	}
	inPartition := func(item map[string]types.AttributeValue) bool {
		pk, ok := item["gsi1pk"].(*types.AttributeValueMemberS)
		return ok && values[pk.Value]
	}
	part := &dynamodb.QueryOutput{}
	for _, it := range out.Items {
		if inPartition(it) {
			part.Items = append(part.Items, it)
		}
	}
	if inPartition(out.LastEvaluatedKey) {
		part.LastEvaluatedKey = out.LastEvaluatedKey
	}
	return part
}

func (f *unitDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return &dynamodb.PutItemOutput{}, nil
}

func (f *unitDB) transactCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.transactInputs)
}

// unitSDKErr wraps err the way the SDK's operations do.
func unitSDKErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: err}
}

// unitCancelled is a TransactionCanceledException with one reason per action.
func unitCancelled(codes ...string) error {
	reasons := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		reasons[i] = types.CancellationReason{Code: aws.String(c)}
	}
	return unitSDKErr("TransactWriteItems", &types.TransactionCanceledException{
		Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons"),
		CancellationReasons: reasons,
	})
}

var (
	unitConflict  = unitCancelled("None", "TransactionConflict")
	unitThrottled = unitSDKErr("TransactWriteItems", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
)

// unitFastRetry keeps the backoff short enough for a unit test.
var unitFastRetry = dynamostore.ConflictRetry{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

func unitKey() accesskey.Key {
	return accesskey.Key{
		AccessKeyID: "TKAKABCDEFGHIJKLMNOPQRST",
		TeamID:      "t1",
		MemberID:    "bob",
		Status:      accesskey.StatusActive,
		Description: "ci deploy",
		CreatedAt:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		CreatedBy:   "alice",
	}
}

var unitAudit = accesskey.Audit{Actor: accesskey.UserActor("alice", "192.0.2.1", "unit-test"), RequestID: "req-1",
	At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}

var unitRef = accesskey.Ref{TeamID: "t1", MemberID: "bob", AccessKeyID: "TKAKABCDEFGHIJKLMNOPQRST"}

func TestStoreTransactionOutcomes(t *testing.T) {
	type op func(context.Context, *dynamostore.Store) error
	create := func(ctx context.Context, s *dynamostore.Store) error {
		return s.Create(ctx, unitKey(), accesskey.SealedSecret{Ciphertext: []byte("ciphertext")}, accesskey.KeyPolicy{}, unitAudit)
	}
	del := func(ctx context.Context, s *dynamostore.Store) error { return s.Delete(ctx, unitRef, unitAudit) }

	tests := []struct {
		name      string
		op        op
		errs      []error // one per call; the last repeats
		wantCalls int
		wantErr   error // nil: success; errUnitAny: some error that is none of the domain's
	}{
		{"create goes through", create, nil, 1, nil},
		{"create: two conflicts, then through", create, []error{unitConflict, unitConflict, nil}, 3, nil},
		{"create: conflict listed first", create, []error{unitCancelled("TransactionConflict", "None"), nil}, 2, nil},
		{"create: always conflicting", create, []error{unitConflict}, unitFastRetry.Attempts, accesskey.ErrUnavailable},
		{"create: member at the cap", create, []error{unitCancelled("ConditionalCheckFailed", "None")}, 1, accesskey.ErrLimitExceeded},
		{"create: at the cap after a conflict", create, []error{unitConflict, unitCancelled("ConditionalCheckFailed", "None")}, 2, accesskey.ErrLimitExceeded},
		{"create: id already in use", create, []error{unitCancelled("None", "ConditionalCheckFailed")}, 1, errUnitAny},
		{"create: throttled", create, []error{unitThrottled}, 1, accesskey.ErrUnavailable},
		{"create: throttled inside the transaction", create, []error{unitCancelled("ThrottlingError", "None")}, 1, accesskey.ErrUnavailable},
		{"create: capacity exceeded inside the transaction", create, []error{unitCancelled("None", "ProvisionedThroughputExceeded")}, 1, accesskey.ErrUnavailable},
		{"create: validation error", create, []error{unitSDKErr("TransactWriteItems", &smithy.GenericAPIError{Code: "ValidationException"})}, 1, errUnitAny},
		{"delete goes through", del, nil, 1, nil},
		{"delete: no such key for this member", del, []error{unitCancelled("ConditionalCheckFailed", "None")}, 1, accesskey.ErrNotFound},
		{"delete: conflict, then through", del, []error{unitConflict, nil}, 2, nil},
		{"delete: always conflicting", del, []error{unitConflict}, unitFastRetry.Attempts, accesskey.ErrUnavailable},
		{"delete: counter already zero", del, []error{unitCancelled("None", "ConditionalCheckFailed")}, 1, errUnitAny},
		{"delete: throttled", del, []error{unitThrottled}, 1, accesskey.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &unitDB{transactErrs: tt.errs}
			s := dynamostore.New(db, unitTable).WithConflictRetry(unitFastRetry)
			err := tt.op(context.Background(), s)
			if got := db.transactCalls(); got != tt.wantCalls {
				t.Errorf("TransactWriteItems called %d times, want %d", got, tt.wantCalls)
			}
			switch tt.wantErr {
			case nil:
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			case errUnitAny:
				if err == nil {
					t.Fatal("err = nil, want an error")
				}
				for _, domain := range []error{accesskey.ErrNotFound, accesskey.ErrLimitExceeded, accesskey.ErrUnavailable, accesskey.ErrForbidden} {
					if errors.Is(err, domain) {
						t.Errorf("err = %v, which wraps %v; want an internal error", err, domain)
					}
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want one wrapping %v", err, tt.wantErr)
				}
			}
			// A retry resends the very same transaction: the same key id,
			// never a fresh one the caller was not told about.
			for i, in := range db.transactInputs[1:] {
				if in != db.transactInputs[0] {
					t.Errorf("call %d sent another input than call 1", i+2)
				}
			}
		})
	}
}

// errUnitAny stands for "an error, but none of the domain's".
var errUnitAny = errors.New("any non-domain error")

func TestStoreRetryStopsWhenContextEnds(t *testing.T) {
	tests := []struct {
		name   string
		cancel func(cancel context.CancelFunc) func(call int)
	}{
		{"cancelled during the first call", func(cancel context.CancelFunc) func(int) {
			return func(int) { cancel() }
		}},
		{"cancelled while backing off", func(cancel context.CancelFunc) func(int) {
			return func(int) { time.AfterFunc(20*time.Millisecond, cancel) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			db := &unitDB{transactErrs: []error{unitConflict}}
			db.onTransact = tt.cancel(cancel)
			// A backoff far longer than the test: only the context ends it.
			s := dynamostore.New(db, unitTable).WithConflictRetry(dynamostore.ConflictRetry{Attempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour})
			done := make(chan error, 1)
			go func() {
				done <- s.Create(ctx, unitKey(), accesskey.SealedSecret{Ciphertext: []byte("ciphertext")}, accesskey.KeyPolicy{}, unitAudit)
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Create still backing off 5 s after its context ended")
			}
			if !errors.Is(err, accesskey.ErrUnavailable) {
				t.Fatalf("err = %v, want one wrapping ErrUnavailable", err)
			}
			if got := db.transactCalls(); got != 1 {
				t.Fatalf("TransactWriteItems called %d times, want 1", got)
			}
		})
	}
}

func TestStoreCreateTransaction(t *testing.T) {
	db := &unitDB{}
	s := dynamostore.New(db, unitTable)
	secret := accesskey.NewSecret()
	ciphertext := []byte{0x01, 0x02, 0x03, 0xfe, 0xff, 0x00, 0x10}
	k := unitKey()
	if err := s.Create(context.Background(), k, accesskey.SealedSecret{Ciphertext: bytes.Clone(ciphertext), SHA256: accesskey.SecretSHA256(secret)}, accesskey.KeyPolicy{}, unitAudit); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(db.transactInputs) != 1 {
		t.Fatalf("TransactWriteItems called %d times, want 1", len(db.transactInputs))
	}
	items := db.transactInputs[0].TransactItems
	if len(items) != 4 {
		t.Fatalf("transaction has %d actions, want 4", len(items))
	}
	// And the change's audit record, in the same transaction.
	if rec := unitStringAttrs(items[3].Put.Item); !strings.HasPrefix(rec["pk"], "AUDIT#t1#") || rec["action"] != "AccessKeyCreated" || rec["accessKeyId"] != k.AccessKeyID ||
		rec["statusAfter"] != "Active" || rec["actorType"] != "user" || rec["actorSub"] != "alice" {
		t.Errorf("action 4 = %v, want the key's creation record", rec)
	}
	for name, v := range items[3].Put.Item {
		if b, ok := v.(*types.AttributeValueMemberB); ok || strings.Contains(name, "ecret") {
			t.Errorf("the audit record holds %s = %v", name, b)
		}
	}
	// Last: the team's key policy is still the one the expiry came from.
	if cc := items[2].ConditionCheck; cc == nil || unitStringAttrs(cc.Key)["pk"] != dynamostore.PolicyCopyPK("t1", k.MemberID) || aws.ToString(cc.ConditionExpression) == "" {
		t.Errorf("action 3 = %+v, want a ConditionCheck of the member's copy of the team's policy", items[2])
	}

	// First: take a slot on the member's counter, conditionally.
	upd := items[0].Update
	if upd == nil || items[0].Put != nil || items[0].Delete != nil || items[0].ConditionCheck != nil {
		t.Fatalf("action 1 = %+v, want an Update of the counter", items[0])
	}
	if aws.ToString(upd.TableName) != unitTable {
		t.Errorf("counter update on table %q, want %q", aws.ToString(upd.TableName), unitTable)
	}
	wantCounter := map[string]string{"pk": "MEMBER#t1#bob", "sk": "COUNTER"}
	if got := unitStringAttrs(upd.Key); !maps.Equal(got, wantCounter) {
		t.Errorf("counter key = %v, want %v", got, wantCounter)
	}
	if aws.ToString(upd.ConditionExpression) == "" {
		t.Error("the counter update has no condition: the cap is not enforced")
	}
	if !unitHasNumber(upd.ExpressionAttributeValues, "2") {
		t.Errorf("the counter update's values %v do not carry the cap of %d", upd.ExpressionAttributeValues, accesskey.MaxKeysPerMember)
	}

	// Second: put the key item, only if its id is new.
	put := items[1].Put
	if put == nil || items[1].Update != nil || items[1].Delete != nil || items[1].ConditionCheck != nil {
		t.Fatalf("action 2 = %+v, want a Put of the key item", items[1])
	}
	if aws.ToString(put.TableName) != unitTable {
		t.Errorf("key put on table %q, want %q", aws.ToString(put.TableName), unitTable)
	}
	if aws.ToString(put.ConditionExpression) == "" {
		t.Error("the key put has no condition: it could overwrite another key")
	}
	wantAttrs := map[string]string{
		"pk":          "KEY#TKAKABCDEFGHIJKLMNOPQRST",
		"sk":          "KEY",
		"accessKeyId": "TKAKABCDEFGHIJKLMNOPQRST",
		"teamId":      "t1",
		"memberId":    "bob",
		"status":      "Active",
		"description": "ci deploy",
		"createdAt":   "2025-01-02T03:04:05Z",
		"createdBy":   "alice",
	}
	got := unitStringAttrs(put.Item)
	for name, want := range wantAttrs {
		if got[name] != want {
			t.Errorf("key item %s = %q, want %q", name, got[name], want)
		}
	}
	// bob's ByTeam shard: one of the team's 16, two digits.
	if !regexp.MustCompile(`^TEAM#t1#[01][0-9]$`).MatchString(got["gsi1pk"]) {
		t.Errorf("key item gsi1pk = %q, want one of TEAM#t1#00..15", got["gsi1pk"])
	}
	if !strings.HasPrefix(got["gsi1sk"], "MEMBER#bob#") {
		t.Errorf("key item gsi1sk = %q, want it under MEMBER#bob#", got["gsi1sk"])
	}
	sealed, ok := put.Item["secretCiphertext"].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("key item secretCiphertext = %#v, want a binary attribute", put.Item["secretCiphertext"])
	}
	if !bytes.Equal(sealed.Value, ciphertext) {
		t.Errorf("secretCiphertext = %x, want the bytes passed, %x", sealed.Value, ciphertext)
	}
	for name, v := range put.Item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			if strings.Contains(v.Value, secret) {
				t.Errorf("key item %s holds the secret's plaintext", name)
			}
		case *types.AttributeValueMemberB:
			if bytes.Contains(v.Value, []byte(secret)) {
				t.Errorf("key item %s holds the secret's plaintext", name)
			}
		}
	}
}

// A key that Create wrote, read back by a list, is the same key.
func TestStoreCreateThenListRoundTrip(t *testing.T) {
	db := &unitDB{}
	s := dynamostore.New(db, unitTable)
	k := unitKey()
	if err := s.Create(context.Background(), k, accesskey.SealedSecret{Ciphertext: []byte("sealed")}, accesskey.KeyPolicy{}, unitAudit); err != nil {
		t.Fatalf("Create: %v", err)
	}
	stored := db.transactInputs[0].TransactItems[1].Put.Item
	used := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	withUse := maps.Clone(stored)
	withUse["lastUsedAt"] = &types.AttributeValueMemberS{Value: used.Format(time.RFC3339)}
	db.queryOut = &dynamodb.QueryOutput{Items: []map[string]types.AttributeValue{stored, withUse}}

	keys, err := s.ListMember(context.Background(), "t1", "bob")
	if err != nil {
		t.Fatalf("ListMember: %v", err)
	}
	if len(keys) != 2 {
		t.Fatalf("ListMember returned %d keys, want 2", len(keys))
	}
	if got := keys[0]; got.LastUsedAt != nil || !unitSameKey(got, k) {
		t.Errorf("ListMember()[0] = %+v, want %+v", got, k)
	}
	if got := keys[1]; got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || !unitSameKey(got, k) {
		t.Errorf("ListMember()[1] = %+v, want %+v last used %v", got, k, used)
	}
	// Its shard, and the team's partition of keys made before the shards.
	if len(db.queryInputs) != 2 {
		t.Errorf("ListMember made %d Queries, want 2", len(db.queryInputs))
	}
	for _, q := range db.queryInputs {
		if aws.ToString(q.IndexName) != "ByTeam" || aws.ToString(q.TableName) != unitTable {
			t.Errorf("query on %s/%s, want %s/ByTeam", aws.ToString(q.TableName), aws.ToString(q.IndexName), unitTable)
		}
		if q.Limit != nil {
			t.Errorf("a member's list is limited to %d; a member has at most %d keys and all are listed", *q.Limit, accesskey.MaxKeysPerMember)
		}
	}
}

func unitSameKey(a, b accesskey.Key) bool {
	return a.AccessKeyID == b.AccessKeyID && a.TeamID == b.TeamID && a.MemberID == b.MemberID &&
		a.Status == b.Status && a.Description == b.Description && a.CreatedAt.Equal(b.CreatedAt) && a.CreatedBy == b.CreatedBy
}

func TestStoreListTeamPages(t *testing.T) {
	item := func(member, id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk":          &types.AttributeValueMemberS{Value: "KEY#" + id},
			"sk":          &types.AttributeValueMemberS{Value: "KEY"},
			"gsi1pk":      &types.AttributeValueMemberS{Value: "TEAM#t1"},
			"gsi1sk":      &types.AttributeValueMemberS{Value: "MEMBER#" + member + "#2025-01-02T03:04:05Z#" + id},
			"accessKeyId": &types.AttributeValueMemberS{Value: id},
			"teamId":      &types.AttributeValueMemberS{Value: "t1"},
			"memberId":    &types.AttributeValueMemberS{Value: member},
			"status":      &types.AttributeValueMemberS{Value: "Active"},
			"createdAt":   &types.AttributeValueMemberS{Value: "2025-01-02T03:04:05Z"},
			"createdBy":   &types.AttributeValueMemberS{Value: "alice"},
		}
	}
	a := item("ann", "TKAKAAAAAAAAAAAAAAAAAAAA")
	b := item("bob", "TKAKBBBBBBBBBBBBBBBBBBBB")
	c := item("cat", "TKAKCCCCCCCCCCCCCCCCCCCC")
	tests := []struct {
		name      string
		limit     int
		out       *dynamodb.QueryOutput
		wantIDs   []string
		wantLimit int32
		wantNext  map[string]string
	}{
		{"one more than the page: a next page", 2,
			&dynamodb.QueryOutput{Items: []map[string]types.AttributeValue{a, b, c}},
			[]string{"TKAKAAAAAAAAAAAAAAAAAAAA", "TKAKBBBBBBBBBBBBBBBBBBBB"}, 3,
			map[string]string{"gsi1pk": "TEAM#t1", "gsi1sk": "MEMBER#bob#2025-01-02T03:04:05Z#TKAKBBBBBBBBBBBBBBBBBBBB"}},
		{"exactly the page: the last page", 2,
			&dynamodb.QueryOutput{Items: []map[string]types.AttributeValue{a, b}},
			[]string{"TKAKAAAAAAAAAAAAAAAAAAAA", "TKAKBBBBBBBBBBBBBBBBBBBB"}, 3, nil},
		{"stopped early by the 1 MB limit", 5,
			&dynamodb.QueryOutput{Items: []map[string]types.AttributeValue{a}, LastEvaluatedKey: map[string]types.AttributeValue{
				"pk": a["pk"], "sk": a["sk"], "gsi1pk": a["gsi1pk"], "gsi1sk": a["gsi1sk"],
			}},
			[]string{"TKAKAAAAAAAAAAAAAAAAAAAA"}, 6,
			map[string]string{"gsi1pk": "TEAM#t1", "gsi1sk": "MEMBER#ann#2025-01-02T03:04:05Z#TKAKAAAAAAAAAAAAAAAAAAAA"}},
		{"empty team", 50, &dynamodb.QueryOutput{}, nil, 51, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &unitDB{queryOut: tt.out}
			s := dynamostore.New(db, unitTable)
			keys, next, err := s.ListTeam(context.Background(), "t1", tt.limit, nil)
			if err != nil {
				t.Fatalf("ListTeam: %v", err)
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.AccessKeyID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
			if !maps.Equal(next, tt.wantNext) || (next == nil) != (tt.wantNext == nil) {
				t.Errorf("next = %v, want %v", next, tt.wantNext)
			}
			// Every partition of the team (16 shards and the one of
			// before them), each asked for one key more than the page.
			if len(db.queryInputs) != 17 {
				t.Errorf("ListTeam made %d Queries, want 17", len(db.queryInputs))
			}
			for _, q := range db.queryInputs {
				if got := aws.ToInt32(q.Limit); got != tt.wantLimit {
					t.Errorf("query Limit = %d, want %d", got, tt.wantLimit)
				}
			}
			if next == nil {
				return
			}
			// The cursor, handed back, starts every partition's Query
			// after its sort key.
			db.queryInputs = nil
			if _, _, err := s.ListTeam(context.Background(), "t1", tt.limit, next); err != nil {
				t.Fatalf("ListTeam with the cursor: %v", err)
			}
			for _, q := range db.queryInputs {
				if !strings.Contains(aws.ToString(q.KeyConditionExpression), ">") || !slices.ContainsFunc(slices.Collect(maps.Values(unitStringAttrs(q.ExpressionAttributeValues))),
					func(v string) bool { return v == next["gsi1sk"] }) {
					t.Errorf("Query after the cursor: %s %v, want %s > %s", aws.ToString(q.KeyConditionExpression), unitStringAttrs(q.ExpressionAttributeValues), "gsi1sk", next["gsi1sk"])
				}
			}
		})
	}
}

func TestStoreListTeamRefusesAnotherTeamsCursor(t *testing.T) {
	db := &unitDB{}
	s := dynamostore.New(db, unitTable)
	for _, cursor := range []map[string]string{
		{"pk": "KEY#X", "sk": "KEY", "gsi1pk": "TEAM#t2", "gsi1sk": "MEMBER#bob#"},
		{"pk": "KEY#X", "sk": "KEY"},
		{},
	} {
		_, _, err := s.ListTeam(context.Background(), "t1", 10, cursor)
		var invalid *accesskey.ValidationError
		if !errors.As(err, &invalid) {
			t.Errorf("ListTeam(t1, cursor %v) = %v, want a ValidationError", cursor, err)
		}
	}
	if len(db.queryInputs) != 0 {
		t.Errorf("Query called %d times for refused cursors", len(db.queryInputs))
	}
}

func TestStoreQueryErrors(t *testing.T) {
	tests := []struct {
		name            string
		err             error
		wantUnavailable bool
	}{
		{"throttled", unitSDKErr("Query", &smithy.GenericAPIError{Code: "ThrottlingException"}), true},
		{"capacity exceeded", unitSDKErr("Query", &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}), true},
		{"deadline", unitSDKErr("Query", context.DeadlineExceeded), true},
		{"missing table", unitSDKErr("Query", &types.ResourceNotFoundException{Message: aws.String("no table")}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dynamostore.New(&unitDB{queryErr: tt.err}, unitTable)
			_, err1 := s.ListMember(context.Background(), "t1", "bob")
			_, _, err2 := s.ListTeam(context.Background(), "t1", 10, nil)
			for _, err := range []error{err1, err2} {
				if err == nil {
					t.Fatal("err = nil, want an error")
				}
				if got := errors.Is(err, accesskey.ErrUnavailable); got != tt.wantUnavailable {
					t.Errorf("err = %v: wraps ErrUnavailable %v, want %v", err, got, tt.wantUnavailable)
				}
			}
		})
	}
}

// SetStatus reads the key (no ciphertext), then writes the new status and
// its audit record in one transaction that holds the status to the one read;
// the status it already has writes nothing.
func TestStoreSetStatus(t *testing.T) {
	k := unitKey() // Active
	active := map[string]types.AttributeValue{
		"pk":          &types.AttributeValueMemberS{Value: "KEY#" + k.AccessKeyID},
		"accessKeyId": &types.AttributeValueMemberS{Value: k.AccessKeyID},
		"teamId":      &types.AttributeValueMemberS{Value: k.TeamID},
		"memberId":    &types.AttributeValueMemberS{Value: k.MemberID},
		"status":      &types.AttributeValueMemberS{Value: "Active"},
		"description": &types.AttributeValueMemberS{Value: k.Description},
		"createdAt":   &types.AttributeValueMemberS{Value: "2025-01-02T03:04:05Z"},
		"createdBy":   &types.AttributeValueMemberS{Value: k.CreatedBy},
	}
	tests := []struct {
		name         string
		db           *unitDB
		status       accesskey.Status
		transactions int
		wantErr      error // nil: success; errUnitAny: an internal error
	}{
		{"disabled", &unitDB{getOut: &dynamodb.GetItemOutput{Item: active}}, accesskey.StatusInactive, 1, nil},
		{"already active: nothing written", &unitDB{getOut: &dynamodb.GetItemOutput{Item: active}}, accesskey.StatusActive, 0, nil},
		{"no such key", &unitDB{}, accesskey.StatusInactive, 0, accesskey.ErrNotFound},
		{"changed meanwhile, three times", &unitDB{getOut: &dynamodb.GetItemOutput{Item: active},
			transactErrs: []error{unitCancelled("ConditionalCheckFailed", "None")}}, accesskey.StatusInactive, 3, accesskey.ErrUnavailable},
		{"throttled", &unitDB{getErr: unitSDKErr("GetItem", &smithy.GenericAPIError{Code: "ThrottlingException"})}, accesskey.StatusInactive, 0, accesskey.ErrUnavailable},
		{"other failure", &unitDB{getOut: &dynamodb.GetItemOutput{Item: active},
			transactErrs: []error{unitSDKErr("TransactWriteItems", &smithy.GenericAPIError{Code: "ValidationException"})}}, accesskey.StatusInactive, 1, errUnitAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dynamostore.New(tt.db, unitTable)
			got, err := s.SetStatus(context.Background(), unitRef, tt.status, unitAudit)
			if n := tt.db.transactCalls(); n != tt.transactions {
				t.Fatalf("TransactWriteItems called %d times, want %d", n, tt.transactions)
			}
			if tt.transactions > 0 {
				items := tt.db.transactInputs[0].TransactItems
				upd, audit := items[0].Update, items[1].Put
				if len(items) != 2 || upd == nil || audit == nil {
					t.Fatalf("transaction %+v, want the key's Update and an audit Put", items)
				}
				if !unitHasString(upd.ExpressionAttributeValues, "t1") || !unitHasString(upd.ExpressionAttributeValues, "bob") ||
					!unitHasString(upd.ExpressionAttributeValues, "Active") || !unitHasString(upd.ExpressionAttributeValues, "Inactive") {
					t.Errorf("Update values %v do not hold the team, the member, the status read and the new one", upd.ExpressionAttributeValues)
				}
				rec := unitStringAttrs(audit.Item)
				if !strings.HasPrefix(rec["pk"], "AUDIT#t1#") || rec["action"] != "AccessKeyDisabled" || rec["statusBefore"] != "Active" ||
					rec["statusAfter"] != "Inactive" || rec["actorSub"] != "alice" || rec["requestId"] != "req-1" {
					t.Errorf("audit record %v", rec)
				}
			}
			switch tt.wantErr {
			case nil:
				if err != nil || got.Status != tt.status || got.AccessKeyID != k.AccessKeyID {
					t.Fatalf("SetStatus = %+v, %v", got, err)
				}
			case errUnitAny:
				if err == nil || errors.Is(err, accesskey.ErrNotFound) || errors.Is(err, accesskey.ErrUnavailable) {
					t.Fatalf("err = %v, want an internal error", err)
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want one wrapping %v", err, tt.wantErr)
				}
			}
		})
	}
}

func unitStringAttrs(av map[string]types.AttributeValue) map[string]string {
	out := map[string]string{}
	for name, v := range av {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out[name] = s.Value
		}
	}
	return out
}

func unitHasNumber(av map[string]types.AttributeValue, n string) bool {
	for _, v := range av {
		if num, ok := v.(*types.AttributeValueMemberN); ok && num.Value == n {
			return true
		}
	}
	return false
}

func unitHasString(av map[string]types.AttributeValue, s string) bool {
	for _, v := range av {
		if str, ok := v.(*types.AttributeValueMemberS); ok && str.Value == s {
			return true
		}
	}
	return false
}

// A rotation is one transaction: with a grace period, the old key marked
// rotated (once) and given its expiry, the new key, the policy check and a
// slot; without one, the old key deleted and the new key in its slot.
func TestStoreRotateTransactions(t *testing.T) {
	old := unitKey()
	next := unitKey()
	next.AccessKeyID = "TKAKBBBBBBBBBBBBBBBBBBBB"
	next.RotatedFrom = old.AccessKeyID
	ends := time.Date(2025, 1, 3, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		until *time.Time
		kinds []string
	}{
		{"grace", &ends, []string{"Update", "Put", "ConditionCheck", "Update", "Put"}},
		{"no grace", nil, []string{"Delete", "Put", "ConditionCheck", "Put"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &unitDB{}
			s := dynamostore.New(db, unitTable)
			err := s.Rotate(context.Background(), accesskey.Rotation{Old: old, New: next, Sealed: accesskey.SealedSecret{Ciphertext: []byte("ct")}, OldExpiresAt: tc.until, Audit: unitAudit})
			if err != nil {
				t.Fatal(err)
			}
			if len(db.transactInputs) != 1 {
				t.Fatalf("%d transactions, want 1", len(db.transactInputs))
			}
			items := db.transactInputs[0].TransactItems
			var kinds []string
			for _, it := range items {
				switch {
				case it.Update != nil:
					kinds = append(kinds, "Update")
				case it.Put != nil:
					kinds = append(kinds, "Put")
				case it.Delete != nil:
					kinds = append(kinds, "Delete")
				case it.ConditionCheck != nil:
					kinds = append(kinds, "ConditionCheck")
				}
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Fatalf("actions %v, want %v", kinds, tc.kinds)
			}
			first := items[0]
			var cond string
			var names map[string]string
			if first.Update != nil {
				cond, names = aws.ToString(first.Update.ConditionExpression), first.Update.ExpressionAttributeNames
				if got := unitStringAttrs(first.Update.Key)["pk"]; got != "KEY#"+old.AccessKeyID {
					t.Errorf("the old key's update is on %s", got)
				}
			} else {
				cond, names = aws.ToString(first.Delete.ConditionExpression), first.Delete.ExpressionAttributeNames
			}
			if !slices.Contains(slices.Collect(maps.Values(names)), "rotatedTo") || cond == "" {
				t.Errorf("the old key's condition %q (names %v) does not hold it to not rotated yet", cond, names)
			}
			if tc.until != nil && unitStringAttrs(items[3].Update.Key)["pk"] != "MEMBER#t1#bob" {
				t.Errorf("the slot is taken on %v", unitStringAttrs(items[3].Update.Key))
			}
		})
	}
}

// The outcomes of a rotation the transaction refuses.
func TestStoreRotateRefusals(t *testing.T) {
	old := unitKey()
	next := unitKey()
	next.AccessKeyID = "TKAKBBBBBBBBBBBBBBBBBBBB"
	ends := time.Date(2025, 1, 3, 3, 4, 5, 0, time.UTC)
	oldItem := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "KEY#" + old.AccessKeyID}, "sk": &types.AttributeValueMemberS{Value: "KEY"},
		"teamId": &types.AttributeValueMemberS{Value: "t1"}, "memberId": &types.AttributeValueMemberS{Value: "bob"},
		"createdAt": &types.AttributeValueMemberS{Value: "2025-01-02T03:04:05Z"},
	}
	for _, tc := range []struct {
		name  string
		codes []string
		item  map[string]types.AttributeValue
		want  error
	}{
		{"the old key gone", []string{"ConditionalCheckFailed", "None", "None", "None"}, nil, accesskey.ErrNotFound},
		{"the old key rotated meanwhile", []string{"ConditionalCheckFailed", "None", "None", "None"}, oldItem, accesskey.ErrAlreadyRotated},
		{"the policy changed", []string{"None", "None", "ConditionalCheckFailed", "None"}, nil, accesskey.ErrPolicyChanged},
		{"no slot and no expired key", []string{"None", "None", "None", "ConditionalCheckFailed"}, nil, accesskey.ErrRotateAtCap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &unitDB{transactErrs: []error{unitCancelled(tc.codes...)}}
			if tc.item != nil {
				db.getOut = &dynamodb.GetItemOutput{Item: tc.item}
			}
			s := dynamostore.New(db, unitTable)
			err := s.Rotate(context.Background(), accesskey.Rotation{Old: old, New: next, OldExpiresAt: &ends})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Rotate = %v, want %v", err, tc.want)
			}
		})
	}
}

// DisableLeaked: one Query of BySecretHash by the hash, then one
// transaction (the key's status, held to its team, member and the status
// the index showed, and the AccessKeyLeaked record); an index behind the
// table (the status changed since) costs one more transaction with the
// other status; no key, another team's key or a key gone meanwhile writes
// nothing that stays.
func TestStoreDisableLeaked(t *testing.T) {
	hash := accesskey.SecretSHA256("tksk_x")
	indexed := func(status string) *dynamodb.QueryOutput {
		return &dynamodb.QueryOutput{Items: []map[string]types.AttributeValue{{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + unitRef.AccessKeyID}, "sk": &types.AttributeValueMemberS{Value: "KEY"},
			"secretSha256": &types.AttributeValueMemberS{Value: hash}, "teamId": &types.AttributeValueMemberS{Value: unitRef.TeamID},
			"memberId": &types.AttributeValueMemberS{Value: unitRef.MemberID}, "status": &types.AttributeValueMemberS{Value: status},
		}}}
	}
	failed := unitCancelled("ConditionalCheckFailed", "None")
	tests := []struct {
		name    string
		db      *unitDB
		team    string
		matched bool
		befores []string // statusBefore of each transaction's record
		wantErr error
	}{
		{"active key", &unitDB{queryOut: indexed("Active")}, "", true, []string{"Active"}, nil},
		{"reported again", &unitDB{queryOut: indexed("Inactive")}, "", true, []string{"Inactive"}, nil},
		{"of this team", &unitDB{queryOut: indexed("Active")}, unitRef.TeamID, true, []string{"Active"}, nil},
		{"index behind the table", &unitDB{queryOut: indexed("Active"), transactErrs: []error{failed, nil}}, "", true, []string{"Active", "Inactive"}, nil},
		{"gone meanwhile", &unitDB{queryOut: indexed("Active"), transactErrs: []error{failed}}, "", false, []string{"Active", "Inactive"}, nil},
		{"no key", &unitDB{queryOut: &dynamodb.QueryOutput{}}, "", false, nil, nil},
		{"another team's key", &unitDB{queryOut: indexed("Active")}, "t2", false, nil, nil},
		{"throttled", &unitDB{queryErr: unitSDKErr("Query", &smithy.GenericAPIError{Code: "ThrottlingException"})}, "", false, nil, accesskey.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dynamostore.New(tt.db, unitTable)
			ref, matched, err := s.DisableLeaked(context.Background(), hash, tt.team, accesskey.NewLeak("https://github.com/o/r", "content"), unitAudit)
			if !errors.Is(err, tt.wantErr) || matched != tt.matched || (matched && ref != unitRef) {
				t.Fatalf("DisableLeaked = %+v, %v, %v; want matched %v, err %v", ref, matched, err, tt.matched, tt.wantErr)
			}
			if len(tt.db.queryInputs) != 1 || aws.ToString(tt.db.queryInputs[0].IndexName) != "BySecretHash" || !unitHasString(tt.db.queryInputs[0].ExpressionAttributeValues, hash) {
				t.Fatalf("queries %+v, want one of BySecretHash by the hash", tt.db.queryInputs)
			}
			if n := tt.db.transactCalls(); n != len(tt.befores) {
				t.Fatalf("TransactWriteItems called %d times, want %d", n, len(tt.befores))
			}
			for i, before := range tt.befores {
				items := tt.db.transactInputs[i].TransactItems
				if len(items) != 2 || items[0].Update == nil || items[1].Put == nil {
					t.Fatalf("transaction %+v, want the key's Update and an audit Put", items)
				}
				upd := items[0].Update
				if !unitHasString(upd.ExpressionAttributeValues, unitRef.TeamID) || !unitHasString(upd.ExpressionAttributeValues, unitRef.MemberID) ||
					!unitHasString(upd.ExpressionAttributeValues, before) || !unitHasString(upd.ExpressionAttributeValues, "Inactive") {
					t.Errorf("Update values %v do not hold the team, the member, the status %s and Inactive", upd.ExpressionAttributeValues, before)
				}
				rec := unitStringAttrs(items[1].Put.Item)
				if !strings.HasPrefix(rec["pk"], "AUDIT#"+unitRef.TeamID+"#") || rec["action"] != "AccessKeyLeaked" || rec["statusBefore"] != before ||
					rec["statusAfter"] != "Inactive" || rec["leakUrl"] != "https://github.com/o/r" || rec["leakSource"] != "content" {
					t.Errorf("audit record %v", rec)
				}
			}
		})
	}
}
