package dynamostore_test

// The indexes project what the release that created them showed (a
// deployed index's projection cannot change): a list, the report and a
// member's or key's audit history read the rest from the table with one
// BatchGetItem a page, on DynamoDB Local whose table is template.yaml's.

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// callCounter is DynamoDB Local's client counting Queries and
// BatchGetItems, and what each BatchGetItem asked for.
type callCounter struct {
	dynamostore.DynamoDB
	queries, batches atomic.Int64
	projections      []string
	// beforeBatch, if set, runs before each BatchGetItem.
	beforeBatch func()
}

func (c *callCounter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.DynamoDB.Query(ctx, in, opts...)
}

func (c *callCounter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.batches.Add(1)
	for _, ka := range in.RequestItems {
		p := aws.ToString(ka.ProjectionExpression)
		for alias, name := range ka.ExpressionAttributeNames {
			p = replaceWord(p, alias, name)
		}
		c.projections = append(c.projections, p)
		if aws.ToBool(ka.ConsistentRead) {
			c.projections = append(c.projections, "ConsistentRead")
		}
	}
	if c.beforeBatch != nil {
		c.beforeBatch()
	}
	return c.DynamoDB.BatchGetItem(ctx, in, opts...)
}

func replaceWord(s, old, new string) string {
	out := ""
	for _, part := range splitKeep(s) {
		if part == old {
			part = new
		}
		out += part
	}
	return out
}

func splitKeep(s string) []string {
	var parts []string
	start := 0
	for i, r := range s {
		if r == ',' || r == ' ' {
			parts = append(parts, s[start:i], string(r))
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func (c *callCounter) reset() { c.queries.Store(0); c.batches.Store(0); c.projections = nil }

func TestViewsReadWhatTheIndexesDoNotProject(t *testing.T) {
	ctx := context.Background()
	tb := teststack.NewTable(t)
	// The table is template.yaml's: ByTeam projects no restriction and no
	// leak mark, the audit indexes no changes.
	desc, err := tb.DB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tb.Name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, gsi := range desc.Table.GlobalSecondaryIndexes {
		unprojected := map[string][]string{"ByTeam": {"allowedCidrs", "scopes", "leakedAt", "leakUrl"}, "ByMemberAudit": {"changes"}, "ByKeyAudit": {"changes"}}
		for _, a := range unprojected[aws.ToString(gsi.IndexName)] {
			if slices.Contains(gsi.Projection.NonKeyAttributes, a) {
				t.Fatalf("index %s projects %s: the test would not test the BatchGetItem", aws.ToString(gsi.IndexName), a)
			}
		}
	}
	db := &callCounter{DynamoDB: tb.DB}
	store := dynamostore.New(db, tb.Name)
	plain := dynamostore.New(tb.DB, tb.Name)
	restricted := restrictedKey(t, plain, "alice", []string{"10.0.0.0/8", "2001:db8::/32"}, []string{"orders:*"})
	noScopes := restrictedKey(t, plain, "alice", nil, []string{})
	at := time.Now().UTC().Truncate(time.Second)
	bobs := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: "bob", Status: accesskey.StatusActive,
		CreatedAt: at, CreatedBy: "admin", AllowedCIDRs: []string{"192.0.2.0/24"}}
	hash := accesskey.SecretSHA256(accesskey.NewSecret())
	if err := plain.Create(ctx, bobs, accesskey.SealedSecret{Ciphertext: []byte{1}, SHA256: hash}, accesskey.KeyPolicy{},
		accesskey.Audit{Actor: accesskey.SystemActor("test"), At: at}); err != nil {
		t.Fatal(err)
	}
	if _, matched, err := plain.DisableLeaked(ctx, hash, "", accesskey.NewLeak("https://github.com/o/r/blob/x", "content"),
		accesskey.Audit{Actor: accesskey.LeakReportActor("github"), At: at}); err != nil || !matched {
		t.Fatalf("DisableLeaked: %v %v", matched, err)
	}
	leakedID := bobs.AccessKeyID
	want := map[string]accesskey.Key{}
	for _, k := range []accesskey.Key{restricted, noScopes, bobs} {
		want[k.AccessKeyID] = k
	}
	check := func(view string, keys []accesskey.Key, wantN int) {
		t.Helper()
		if len(keys) != wantN {
			t.Fatalf("%s: %d keys, want %d", view, len(keys), wantN)
		}
		for _, k := range keys {
			w := want[k.AccessKeyID]
			if !sameLists(k.AllowedCIDRs, w.AllowedCIDRs) || !sameLists(k.Scopes, w.Scopes) {
				t.Errorf("%s: %s allowedCidrs %#v scopes %#v, want %#v %#v", view, k.AccessKeyID, k.AllowedCIDRs, k.Scopes, w.AllowedCIDRs, w.Scopes)
			}
			if (k.AccessKeyID == leakedID) != (k.LeakedAt != nil && k.LeakURL != "") {
				t.Errorf("%s: %s leakedAt %v leakUrl %q (leaked: %v)", view, k.AccessKeyID, k.LeakedAt, k.LeakURL, k.AccessKeyID == leakedID)
			}
		}
	}
	costs := func(view string, queries, batches int64) {
		t.Helper()
		if db.queries.Load() != queries || db.batches.Load() != batches {
			t.Errorf("%s cost %d Queries and %d BatchGetItems, want %d and %d", view, db.queries.Load(), db.batches.Load(), queries, batches)
		}
		for _, p := range db.projections {
			if p != "pk, sk, allowedCidrs, scopes, leakedAt, leakUrl, dormantAt" && p != "pk, sk, changes" {
				t.Errorf("%s: a BatchGetItem projected to %q", view, p)
			}
		}
		db.reset()
	}

	db.reset()
	member, err := store.ListMember(ctx, "t1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	check("member list", member, 2)
	costs("member list", 2, 1) // the unsharded partition and the member's shard
	team, _, err := store.ListTeam(ctx, "t1", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("team list", team, 3)
	costs("team list page", 17, 1) // every partition, one BatchGetItem
	var report []accesskey.Key
	pages := int64(0)
	for after := map[string]string(nil); ; {
		page, next, err := store.ListTeam(ctx, "t1", 0, after)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		report = append(report, page...)
		if after = next; next == nil {
			break
		}
	}
	check("report", report, 3)
	// One Query a page, one BatchGetItem a page that has keys.
	costs("report", pages, 2)

	// A member's and a key's history through their indexes: the
	// AccessKeyUpdated record's changes come from the table.
	audit := accesskey.Audit{Actor: accesskey.UserActor("owner", "192.0.2.9", "test"), RequestID: "r1", At: time.Now()}
	if _, err := plain.UpdateKey(ctx, restricted.Ref(), accesskey.KeyUpdate{Scopes: accesskey.ListField{Set: true, Value: []string{"orders:read"}}}, audit); err != nil {
		t.Fatal(err)
	}
	for _, h := range []struct{ view, member, key string }{{"member history", "alice", ""}, {"key history", "", restricted.AccessKeyID}} {
		recs, _, err := store.ListAudit(ctx, "t1", h.member, h.key, 50, nil)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(recs, func(r accesskey.AuditRecord) bool { return r.Action == accesskey.AuditKeyUpdated })
		if i < 0 || recs[i].KeyChanges == nil || recs[i].KeyChanges.Scopes == nil ||
			!sameLists(recs[i].KeyChanges.Scopes.Before, []string{"orders:*"}) || !sameLists(recs[i].KeyChanges.Scopes.After, []string{"orders:read"}) {
			t.Errorf("%s: %+v, want an AccessKeyUpdated record with its scopes' change", h.view, recs)
		}
		costs(h.view, 2, 1) // the index and the legacy partition, one BatchGetItem
	}
	// A history page with no AccessKeyUpdated record costs no BatchGetItem.
	if _, _, err := store.ListAudit(ctx, "t1", "bob", "", 50, nil); err != nil {
		t.Fatal(err)
	}
	costs("bob's history", 2, 0)
	// The team's trail reads the table itself, changes included.
	recs, _, err := store.ListAudit(ctx, "t1", "", "", 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(recs, func(r accesskey.AuditRecord) bool { return r.Action == accesskey.AuditKeyUpdated }); i < 0 || recs[i].KeyChanges == nil {
		t.Errorf("team trail: %+v, want the AccessKeyUpdated record with its changes", recs)
	}
	costs("team trail", dynamostore.AuditShards+1, 0)
}

// A key deleted between the index's Query and the BatchGetItem is left out
// of the page: the list a moment later.
func TestListDropsAKeyDeletedMeanwhile(t *testing.T) {
	ctx := context.Background()
	tb := teststack.NewTable(t)
	plain := dynamostore.New(tb.DB, tb.Name)
	kept := restrictedKey(t, plain, "alice", []string{"10.0.0.0/8"}, nil)
	gone := restrictedKey(t, plain, "alice", nil, []string{"a"})
	db := &callCounter{DynamoDB: tb.DB}
	db.beforeBatch = func() {
		db.beforeBatch = nil
		if err := plain.Delete(ctx, gone.Ref(), accesskey.Audit{Actor: accesskey.SystemActor("test"), At: time.Now()}); err != nil {
			t.Error(err)
		}
	}
	keys, err := dynamostore.New(db, tb.Name).ListMember(ctx, "t1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].AccessKeyID != kept.AccessKeyID || !sameLists(keys[0].AllowedCIDRs, kept.AllowedCIDRs) {
		t.Errorf("list %+v, want %s only, with its restriction", keys, kept.AccessKeyID)
	}
}
