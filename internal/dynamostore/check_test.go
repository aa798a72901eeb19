package dynamostore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeScan serves items pageSize at a time, the way DynamoDB pages a Scan.
type fakeScan struct {
	items    []map[string]types.AttributeValue
	pageSize int
	calls    int
	failAt   int // 1-based call that fails; 0: none
	t        *testing.T
}

func (f *fakeScan) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	f.calls++
	if !aws.ToBool(in.ConsistentRead) {
		f.t.Error("Scan without ConsistentRead")
	}
	if aws.ToString(in.TableName) != "tbl" {
		f.t.Errorf("table %q", aws.ToString(in.TableName))
	}
	if f.calls == f.failAt {
		return nil, errors.New("boom")
	}
	start := 0
	if k := in.ExclusiveStartKey; k != nil {
		start, _ = strconv.Atoi(k["pk"].(*types.AttributeValueMemberS).Value)
	}
	end := min(start+f.pageSize, len(f.items))
	out := &dynamodb.ScanOutput{Items: f.items[start:end]}
	if end < len(f.items) {
		out.LastEvaluatedKey = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: strconv.Itoa(end)}}
	}
	return out, nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }

var keySeq int

func key(team, member string) map[string]types.AttributeValue {
	keySeq++
	id := "TKAK" + strconv.Itoa(keySeq)
	return map[string]types.AttributeValue{"pk": s("KEY#" + id), "sk": s("KEY"), "teamId": s(team), "memberId": s(member)}
}

func counter(team, member string, count int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s("MEMBER#" + team + "#" + member), "sk": s("COUNTER"), "teamId": s(team), "memberId": s(member), "keyCount": n(count)}
}

func check(t *testing.T, pageSize int, items ...map[string]types.AttributeValue) (Report, *fakeScan) {
	t.Helper()
	f := &fakeScan{items: items, pageSize: pageSize, t: t}
	r, err := Check(context.Background(), f, "tbl")
	if err != nil {
		t.Fatal(err)
	}
	return r, f
}

func TestCleanTableAcrossPages(t *testing.T) {
	items := []map[string]types.AttributeValue{
		counter("t1", "alice", 2), key("t1", "alice"), key("t1", "alice"),
		key("t1", "bob"), counter("t1", "bob", 1),
		counter("t1", "carol", 0),                       // every key deleted
		{"pk": s("MEMBER#t2#dave"), "sk": s("COUNTER")}, // keyCount absent: 0
		{"pk": s("SOMETHING#else"), "sk": s("OTHER")},   // not of the layout: ignored
	}
	r, f := check(t, 3, items...)
	if !r.OK() {
		t.Fatalf("violations: %s", r)
	}
	if f.calls != 3 {
		t.Fatalf("%d Scan calls for 8 items by 3, want 3", f.calls)
	}
	if r.Items != 8 || r.Keys != 3 || r.Counters != 4 || r.Members != 4 {
		t.Fatalf("report %+v", r)
	}
	if !strings.Contains(r.String(), "OK") {
		t.Fatalf("report text: %s", r)
	}
}

func TestViolations(t *testing.T) {
	r, _ := check(t, 2,
		// over the cap, counter agrees (as if the cap had been bypassed)
		counter("t1", "alice", 3), key("t1", "alice"), key("t1", "alice"), key("t1", "alice"),
		// counter says 2, one key
		counter("t1", "bob", 2), key("t1", "bob"),
		// a key without a counter
		key("t2", "carol"),
		// a counter of 1 without keys
		counter("t2", "dave", 1),
		// a key item without its member
		map[string]types.AttributeValue{"pk": s("KEY#TKAKX"), "sk": s("KEY")},
		// a counter with a garbled keyCount
		map[string]types.AttributeValue{"pk": s("MEMBER#t3#erin"), "sk": s("COUNTER"), "keyCount": s("two")},
	)
	want := []Violation{
		{Kind: Malformed, Detail: "key item KEY#TKAKX lacks teamId or memberId"},
		{Kind: OverCap, TeamID: "t1", MemberID: "alice", Keys: 3, Counter: 3, HasCounter: true},
		{Kind: CounterMismatch, TeamID: "t1", MemberID: "bob", Keys: 1, Counter: 2, HasCounter: true},
		{Kind: MissingCounter, TeamID: "t2", MemberID: "carol", Keys: 1},
		{Kind: CounterMismatch, TeamID: "t2", MemberID: "dave", Keys: 0, Counter: 1, HasCounter: true},
		{Kind: Malformed, TeamID: "t3", MemberID: "erin", Detail: "counter item MEMBER#t3#erin has an unreadable keyCount"},
	}
	if len(r.Violations) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(r.Violations), len(want), r)
	}
	for i := range want {
		if r.Violations[i] != want[i] {
			t.Errorf("violation %d: got %+v, want %+v", i, r.Violations[i], want[i])
		}
	}
	text := r.String()
	for _, s := range []string{"6 violation(s)", "OverCap: member t1/alice: 3 key item(s), counter 3 (cap 2)", "MissingCounter: member t2/carol: 1 key item(s), counter absent"} {
		if !strings.Contains(text, s) {
			t.Errorf("report lacks %q:\n%s", s, text)
		}
	}
}

func TestOverCapAndMismatchTogether(t *testing.T) {
	r, _ := check(t, 10, counter("t1", "a", 1), key("t1", "a"), key("t1", "a"), key("t1", "a"))
	if len(r.Violations) != 2 || r.Violations[0].Kind != CounterMismatch || r.Violations[1].Kind != OverCap {
		t.Fatalf("%s", r)
	}
}

func TestScanErrorIsAnError(t *testing.T) {
	f := &fakeScan{items: []map[string]types.AttributeValue{key("t", "m"), key("t", "m")}, pageSize: 1, failAt: 2, t: t}
	if _, err := Check(context.Background(), f, "tbl"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v", err)
	}
}

// A key that expires must sit in the ByExpiry index under its expiresAt, or
// the sweep never finds it; keys already expired are counted, not faulted.
func TestExpiryChecks(t *testing.T) {
	expiring := func(expiresAt, g2pk, g2sk string) map[string]types.AttributeValue {
		item := key("t1", "m")
		if expiresAt != "" {
			item["expiresAt"] = s(expiresAt)
		}
		id := strings.TrimPrefix(item["pk"].(*types.AttributeValueMemberS).Value, "KEY#")
		switch g2pk {
		case "<shard>":
			g2pk = expiryPartitionOf(id)
		case "<another shard>":
			g2pk = expiryPartitionOf(id + "x")
			if g2pk == expiryPartitionOf(id) {
				g2pk = expiryPartitionOf(id + "y")
			}
		}
		if g2pk != "" {
			item["gsi2pk"] = s(g2pk)
		}
		if g2sk != "" {
			item["gsi2sk"] = s(strings.ReplaceAll(g2sk, "<id>", strings.TrimPrefix(item["pk"].(*types.AttributeValueMemberS).Value, "KEY#")))
		}
		return item
	}
	past, future := "2001-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
	for _, tc := range []struct {
		name    string
		item    map[string]types.AttributeValue
		kind    ViolationKind
		expired int
	}{
		{"never expires", expiring("", "", ""), "", 0},
		{"expires later, indexed", expiring(future, "EXPIRY", future+"#<id>"), "", 0},
		{"expired, indexed", expiring(past, "EXPIRY", past+"#<id>"), "", 1},
		{"expires later, indexed in its shard", expiring(future, "<shard>", future+"#<id>"), "", 0},
		{"expired, indexed in its shard", expiring(past, "<shard>", past+"#<id>"), "", 1},
		{"indexed in another shard", expiring(future, "<another shard>", future+"#<id>"), ExpiryUnindexed, 0},
		{"expires, not indexed", expiring(future, "", ""), ExpiryUnindexed, 0},
		{"indexed under another time", expiring(future, "EXPIRY", past+"#<id>"), ExpiryUnindexed, 0},
		{"indexed without an expiry", expiring("", "EXPIRY", past+"#<id>"), ExpiryUnindexed, 0},
		{"unreadable expiry", expiring("soon", "EXPIRY", "soon#<id>"), ExpiryUnindexed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := check(t, 10, tc.item, counter("t1", "m", 1))
			if r.Expired != tc.expired {
				t.Errorf("Expired = %d, want %d", r.Expired, tc.expired)
			}
			if tc.kind == "" && !r.OK() || tc.kind != "" && (len(r.Violations) != 1 || r.Violations[0].Kind != tc.kind) {
				t.Errorf("violations %v, want %q", r.Violations, tc.kind)
			}
		})
	}
}

// A replay record carries a ttl within the idempotency window of its
// creation; records past their ttl are counted, not faulted.
func TestReplayChecks(t *testing.T) {
	record := func(created string, ttl int64) map[string]types.AttributeValue {
		item := map[string]types.AttributeValue{"pk": s("IDEMPOTENCY#abc"), "sk": s("IDEMPOTENCY")}
		if created != "" {
			item["createdAt"] = s(created)
		}
		if ttl != 0 {
			item["ttl"] = n(int(ttl))
		}
		return item
	}
	at := func(v string) int64 { tm, _ := time.Parse(time.RFC3339, v); return tm.Unix() }
	for _, tc := range []struct {
		name   string
		item   map[string]types.AttributeValue
		ok     bool
		stale  int
		replay int
	}{
		{"live", record("2999-01-01T00:00:00Z", at("2999-01-02T00:00:00Z")), true, 0, 1},
		{"past its ttl", record("2001-01-01T00:00:00Z", at("2001-01-02T00:00:00Z")), true, 1, 1},
		{"no ttl", record("2999-01-01T00:00:00Z", 0), false, 0, 1},
		{"a ttl past the window", record("2999-01-01T00:00:00Z", at("2999-01-03T00:00:00Z")), false, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := check(t, 10, tc.item)
			if r.OK() != tc.ok || r.StaleReplays != tc.stale || r.Replays != tc.replay {
				t.Fatalf("report %+v", r)
			}
		})
	}
}

// A key created within the audit retention has its creation record (or its
// rotation's): no change without its record.
func TestAuditRecordChecks(t *testing.T) {
	recent := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	old := time.Now().AddDate(-2, 0, 0).UTC().Format(time.RFC3339)
	keyAt := func(created string) map[string]types.AttributeValue {
		item := key("t1", "m")
		item["createdAt"] = s(created)
		return item
	}
	record := func(action string, item map[string]types.AttributeValue) map[string]types.AttributeValue {
		id := strings.TrimPrefix(item["pk"].(*types.AttributeValueMemberS).Value, "KEY#")
		return map[string]types.AttributeValue{"pk": s("AUDIT#t1"), "sk": s("2026-01-01T00:00:00.000Z#" + id), "action": s(action), "accessKeyId": s(id)}
	}
	k1, k2, k3, k4 := keyAt(recent), keyAt(recent), keyAt(old), keyAt(recent)
	r, _ := check(t, 10, k1, record("AccessKeyCreated", k1), k2, record("AccessKeyRotated", k2), k3, k4, record("AccessKeyDisabled", k4), counter("t1", "m", 4))
	var missing []string
	for _, v := range r.Violations {
		if v.Kind == MissingAuditRecord {
			missing = append(missing, v.Detail)
		}
	}
	if r.AuditRecords != 3 || len(missing) != 1 || !strings.Contains(missing[0], k4["pk"].(*types.AttributeValueMemberS).Value) {
		t.Fatalf("report %+v; missing %v (want only the recent key with no creation record)", r, missing)
	}
}
