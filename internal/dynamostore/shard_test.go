package dynamostore_test

// Tests of the sharded layout on DynamoDB Local: the policy copies, the
// audit shards and their merged list, the audit indexes, and the legacy
// (unsharded) layout that today's release wrote.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/testing/testenv"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// recordingDB is DynamoDB Local's client, recording the Query and
// TransactWriteItems inputs the store sends.
type recordingDB struct {
	dynamostore.DynamoDB
	mu        sync.Mutex
	queries   []*dynamodb.QueryInput
	transacts []*dynamodb.TransactWriteItemsInput
}

func (r *recordingDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	r.mu.Lock()
	r.queries = append(r.queries, in)
	r.mu.Unlock()
	return r.DynamoDB.Query(ctx, in, opts...)
}

func (r *recordingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	r.mu.Lock()
	r.transacts = append(r.transacts, in)
	r.mu.Unlock()
	return r.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

// takeQueries returns the Query inputs since the last call.
func (r *recordingDB) takeQueries() []*dynamodb.QueryInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queries
	r.queries = nil
	return q
}

func (r *recordingDB) takeTransacts() []*dynamodb.TransactWriteItemsInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.transacts
	r.transacts = nil
	return t
}

// partitionOf is the partition key value a Query asks for: the one
// expression value that names a pk or index partition.
func partitionOf(in *dynamodb.QueryInput) string {
	for _, v := range in.ExpressionAttributeValues {
		if s, ok := v.(*types.AttributeValueMemberS); ok && strings.HasPrefix(s.Value, "AUDIT") {
			return s.Value
		}
	}
	return ""
}

func newShardStore(t *testing.T) (*teststack.Table, *recordingDB, *dynamostore.Store) {
	t.Helper()
	tb := teststack.NewTable(t)
	db := &recordingDB{DynamoDB: tb.DB}
	return tb, db, dynamostore.New(db, tb.Name)
}

func sv(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// putRaw writes item as today's release would have, behind the store's back.
func putRaw(t *testing.T, tb *teststack.Table, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := tb.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tb.Name), Item: item}); err != nil {
		t.Fatal(err)
	}
}

const auditMillis = "2006-01-02T15:04:05.000Z07:00"

// TestAuditListAcrossShards: a team's records, written across the shards
// (and some in today's unsharded partition), list newest first across
// pages of 7 with no record twice and none missing, for the whole team,
// one member and one key; a member's and a key's history are each one
// Query of its index (plus the legacy partition), or, without the index, a
// filter over the shards.
func TestAuditListAcrossShards(t *testing.T) {
	ctx := context.Background()
	tb, db, store := newShardStore(t)
	const team = "t1"
	members := []string{"m0", "m1", "m2"}
	keys := make([]string, 6) // key j is member j%3's
	for j := range keys {
		keys[j] = accesskey.NewAccessKeyID()
	}
	type rec struct{ sk, member, key string }
	var all []rec
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	var records []accesskey.AuditRecord
	for i := range 60 {
		// Pairs share a millisecond: the event id orders them.
		at := base.Add(time.Duration(i/2) * time.Second)
		r := accesskey.Audit{Actor: accesskey.SystemActor("test"), At: at}.Record(accesskey.AuditKeyDisabled,
			accesskey.Ref{TeamID: team, MemberID: members[(i%6)%3], AccessKeyID: keys[i%6]})
		if i%10 == 9 { // a team's own change: no member, no key
			r = accesskey.Audit{Actor: accesskey.SystemActor("test"), At: at}.Record(accesskey.AuditPolicyChanged, accesskey.Ref{TeamID: team})
		}
		records = append(records, r)
		all = append(all, rec{at.Format(auditMillis) + "#" + r.EventID, r.MemberID, r.AccessKeyID})
	}
	for chunk := range slices.Chunk(records, 25) {
		if err := store.WriteAudit(ctx, chunk...); err != nil {
			t.Fatal(err)
		}
	}
	// Today's layout: one partition, no index attributes; times interleaved
	// with the new records' to hold the merge to the sort key alone.
	for j := range 14 {
		at := base.Add(time.Duration(j)*2*time.Second + 500*time.Millisecond).Format(auditMillis)
		id := fmt.Sprintf("legacy-%02d", j)
		member, key := members[(j%6)%3], keys[j%6]
		putRaw(t, tb, map[string]types.AttributeValue{"pk": sv("AUDIT#" + team), "sk": sv(at + "#" + id), "eventId": sv(id), "time": sv(at),
			"teamId": sv(team), "memberId": sv(member), "accessKeyId": sv(key), "action": sv(accesskey.AuditKeyEnabled), "actorType": sv("system"),
			"ttl": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 10)}})
		all = append(all, rec{at + "#" + id, member, key})
	}
	// Another team's records are never listed.
	if err := store.WriteAudit(ctx, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: base}.Record(accesskey.AuditKeyDisabled,
		accesskey.Ref{TeamID: "t2", MemberID: "m1", AccessKeyID: keys[1]})); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b rec) int { return strings.Compare(b.sk, a.sk) })

	// The records are spread over at least 8 shards.
	shards := map[string]bool{}
	for shard := range dynamostore.AuditShards {
		out, err := tb.DB.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(tb.Name), KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv("AUDIT#" + team + "#" + strconv.Itoa(shard))}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) > 0 {
			shards[strconv.Itoa(shard)] = true
		}
	}
	if len(shards) < 8 {
		t.Fatalf("60 records in %d shards, want at least 8", len(shards))
	}

	for _, tc := range []struct {
		name    string
		indexes dynamostore.AuditIndexes
		member  string
		key     string
		// index is the one index each page queries ("": every shard).
		index, indexPartition string
	}{
		{name: "the team", indexes: dynamostore.AuditIndexes{Member: true, Key: true}},
		{name: "a member, by its index", indexes: dynamostore.AuditIndexes{Member: true, Key: true}, member: "m1",
			index: "ByMemberAudit", indexPartition: "AUDITMEMBER#t1#m1"},
		{name: "a key, by its index", indexes: dynamostore.AuditIndexes{Member: true, Key: true}, key: keys[4],
			index: "ByKeyAudit", indexPartition: "AUDITKEY#t1#" + keys[4]},
		{name: "a member's key, by the key's index", indexes: dynamostore.AuditIndexes{Member: true, Key: true}, member: "m1", key: keys[1],
			index: "ByKeyAudit", indexPartition: "AUDITKEY#t1#" + keys[1]},
		{name: "another member's key: none", indexes: dynamostore.AuditIndexes{Member: true, Key: true}, member: "m2", key: keys[1],
			index: "ByKeyAudit", indexPartition: "AUDITKEY#t1#" + keys[1]},
		{name: "a member, no index yet", indexes: dynamostore.AuditIndexes{}, member: "m1"},
		{name: "a key, only the member index yet", indexes: dynamostore.AuditIndexes{Member: true}, key: keys[4]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, r := range all {
				if (tc.member == "" || r.member == tc.member) && (tc.key == "" || r.key == tc.key) {
					want = append(want, r.sk)
				}
			}
			s := store.WithAuditIndexes(tc.indexes)
			db.takeQueries()
			var got []string
			var after map[string]string
			for page := 1; ; page++ {
				if page > 100 {
					t.Fatalf("still paging after 100 pages of 7 (%d records so far)", len(got))
				}
				recs, next, err := s.ListAudit(ctx, team, tc.member, tc.key, 7, after)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) > 7 {
					t.Fatalf("page %d holds %d records, limit 7", page, len(recs))
				}
				for _, r := range recs {
					if r.TeamID != team {
						t.Fatalf("record %s of team %s listed", r.EventID, r.TeamID)
					}
					got = append(got, r.Time.UTC().Format(auditMillis)+"#"+r.EventID)
				}
				var partitions []string
				for _, q := range db.takeQueries() {
					p := partitionOf(q)
					if aws.ToString(q.IndexName) != "" {
						p = aws.ToString(q.IndexName) + ":" + p
					}
					partitions = append(partitions, p)
				}
				slices.Sort(partitions)
				var wantPartitions []string
				if tc.index != "" {
					wantPartitions = []string{"AUDIT#t1", tc.index + ":" + tc.indexPartition}
				} else {
					wantPartitions = append(wantPartitions, "AUDIT#t1")
					for shard := range dynamostore.AuditShards {
						wantPartitions = append(wantPartitions, "AUDIT#t1#"+strconv.Itoa(shard))
					}
					slices.Sort(wantPartitions)
				}
				if !slices.Equal(partitions, wantPartitions) {
					t.Fatalf("page %d queried %v, want %v", page, partitions, wantPartitions)
				}
				if next == nil {
					break
				}
				after = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("listed %d records:\n%v\nwant %d, newest first:\n%v", len(got), got, len(want), want)
			}
		})
	}

	// A cursor of another team's listing is refused.
	if _, _, err := store.ListAudit(ctx, "t2", "", "", 7, map[string]string{"pk": "AUDIT#t1", "sk": all[3].sk}); !errors.As(err, new(*accesskey.ValidationError)) {
		t.Errorf("t1's cursor on t2's listing: %v, want invalid input", err)
	}
}

// TestPolicyCopies: a generate checks the policy copy of its member's
// shard, and only it; a team whose policy today's release wrote (the
// legacy item) keeps it enforced until a SetPolicy, which writes every
// copy and deletes the legacy item, and refuses a generate that read the
// policy before.
func TestPolicyCopies(t *testing.T) {
	ctx := context.Background()
	days := func(n int) *int { return &n }
	legacyPolicy := func(d *int) map[string]types.AttributeValue {
		it := map[string]types.AttributeValue{"pk": sv("POLICY#t1"), "sk": sv("POLICY"), "teamId": sv("t1"),
			"updatedAt": sv("2026-01-01T00:00:00Z"), "updatedBy": sv("old-admin")}
		if d != nil {
			it["maxLifetimeDays"] = &types.AttributeValueMemberN{Value: strconv.Itoa(*d)}
		}
		return it
	}
	for _, tc := range []struct {
		name string
		// legacy is the team's policy item as today's release wrote it
		// (nil: none).
		legacy map[string]types.AttributeValue
		// set, when not nil, is the policy SetPolicy writes between the
		// generate's read and its transaction.
		set *int
		// readFirst is the policy the generate reads; wantErr its outcome.
		readFirst *int
		wantErr   error
	}{
		{name: "no policy", readFirst: nil},
		{name: "legacy policy, enforced", legacy: legacyPolicy(days(30)), readFirst: days(30)},
		{name: "legacy policy without a bound", legacy: legacyPolicy(nil), readFirst: nil},
		{name: "legacy policy changed after the read", legacy: legacyPolicy(days(30)), readFirst: days(30), set: days(60), wantErr: accesskey.ErrPolicyChanged},
		{name: "legacy unbounded policy bounded after the read", legacy: legacyPolicy(nil), readFirst: nil, set: days(60), wantErr: accesskey.ErrPolicyChanged},
		{name: "no policy, one set after the read", readFirst: nil, set: days(60), wantErr: accesskey.ErrPolicyChanged},
		{name: "legacy policy set again the same after the read", legacy: legacyPolicy(days(30)), readFirst: days(30), set: days(30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, db, store := newShardStore(t)
			if tc.legacy != nil {
				putRaw(t, tb, tc.legacy)
			}
			p, err := store.Policy(ctx, "t1")
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(deref(p.MaxLifetimeDays)) != fmt.Sprint(deref(tc.readFirst)) {
				t.Fatalf("Policy = %v days, want %v", deref(p.MaxLifetimeDays), deref(tc.readFirst))
			}
			if tc.set != nil {
				now := time.Now().UTC().Truncate(time.Second)
				if err := store.SetPolicy(ctx, "t1", accesskey.KeyPolicy{MaxLifetimeDays: tc.set, UpdatedAt: &now, UpdatedBy: "admin"},
					accesskey.Audit{Actor: accesskey.SystemActor("test"), At: now}); err != nil {
					t.Fatal(err)
				}
				// Every copy written, the legacy item gone.
				if item := tb.RawItem("POLICY#t1", "POLICY"); item != nil {
					t.Errorf("legacy policy item left after SetPolicy: %v", item)
				}
				for shard := range dynamostore.PolicyCopies {
					it := tb.Item("POLICY#t1#"+strconv.Itoa(shard), "POLICY")
					if it == nil || fmt.Sprint(it["maxLifetimeDays"]) != strconv.Itoa(*tc.set) {
						t.Fatalf("policy copy %d: %v, want maxLifetimeDays %d", shard, it, *tc.set)
					}
				}
			}
			db.takeTransacts()
			err = createKey(ctx, store, "t1", "m1", p)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Create: %v, want %v", err, tc.wantErr)
			}
			// The transaction checked the copy of m1's shard, and nothing
			// else of the policy.
			tx := db.takeTransacts()
			if len(tx) != 1 {
				t.Fatalf("%d transactions, want 1", len(tx))
			}
			var checked []string
			for _, a := range tx[0].TransactItems {
				if a.ConditionCheck != nil {
					checked = append(checked, a.ConditionCheck.Key["pk"].(*types.AttributeValueMemberS).Value)
				}
			}
			if want := []string{dynamostore.PolicyCopyPK("t1", "m1")}; !slices.Equal(checked, want) {
				t.Errorf("checked %v, want %v", checked, want)
			}
			if errors.Is(err, accesskey.ErrPolicyChanged) {
				// Read again, the generate goes through on the new policy.
				p, err := store.Policy(ctx, "t1")
				if err != nil {
					t.Fatal(err)
				}
				if err := createKey(ctx, store, "t1", "m1", p); err != nil {
					t.Fatalf("Create after reading the policy again: %v", err)
				}
			}
		})
	}

	// Members' generates check different copies: the team's creates spread.
	copies := map[string]bool{}
	for i := range 40 {
		copies[dynamostore.PolicyCopyPK("t1", "member-"+strconv.Itoa(i))] = true
	}
	if len(copies) < 20 {
		t.Errorf("40 members check %d policy copies, want them spread", len(copies))
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func createKey(ctx context.Context, store *dynamostore.Store, team, member string, p accesskey.KeyPolicy) error {
	now := time.Now().UTC().Truncate(time.Second)
	k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: team, MemberID: member, Status: accesskey.StatusActive,
		CreatedAt: now, CreatedBy: "admin"}
	if p.MaxLifetimeDays != nil {
		e := now.Add(time.Duration(*p.MaxLifetimeDays) * 24 * time.Hour)
		k.ExpiresAt = &e
	}
	return store.Create(ctx, k, accesskey.SealedSecret{Ciphertext: []byte{1}, SHA256: strings.Repeat("ab", 32)}, p,
		accesskey.Audit{Actor: accesskey.SystemActor("test"), At: now})
}
