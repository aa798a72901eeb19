package dynamostore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/sweep"
	"github.com/teamkeys/teamkeys/internal/testing/fakeclock"
)

// TestDormantKeys: on DynamoDB Local with a fake clock, a key unused for
// its team's disableUnusedAfterDays is warned once seven days before, then
// disabled by the system (reason unused); a use restarts its clock; a key
// an admin enables again gets a full period from the disable; rotated keys
// and teams without the setting are left alone; a pass repeated writes
// nothing new.
func TestDormantKeys(t *testing.T) {
	ctx := context.Background()
	tb, _, store := newShardStore(t)
	start := time.Now().UTC().Truncate(time.Second)
	clock := fakeclock.New(start)
	log := slog.New(slog.DiscardHandler)
	admin := accesskey.Audit{Actor: accesskey.UserActor("admin", "192.0.2.1", "test"), At: start}
	const d = 24 * time.Hour

	mk := func(id, team string) accesskey.Ref {
		t.Helper()
		k := accesskey.Key{AccessKeyID: id, TeamID: team, MemberID: "m" + id, Status: accesskey.StatusActive, CreatedAt: start, CreatedBy: "admin"}
		if err := store.Create(ctx, k, accesskey.SealedSecret{Ciphertext: []byte("ct"), SHA256: accesskey.SecretSHA256(accesskey.NewSecret())}, accesskey.KeyPolicy{}, admin); err != nil {
			t.Fatal(err)
		}
		return accesskey.Ref{TeamID: team, MemberID: "m" + id, AccessKeyID: id}
	}
	set := func(ref accesskey.Ref, attr string, v string) {
		t.Helper()
		if _, err := tb.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tb.Name),
			Key:                      map[string]types.AttributeValue{"pk": sv("KEY#" + ref.AccessKeyID), "sk": sv("KEY")},
			UpdateExpression:         aws.String("SET #a = :v"),
			ExpressionAttributeNames: map[string]string{"#a": attr}, ExpressionAttributeValues: map[string]types.AttributeValue{":v": sv(v)}}); err != nil {
			t.Fatal(err)
		}
	}
	at := func(off time.Duration) string { return start.Add(off).Format(time.RFC3339) }

	unused := mk("TKAKDORMUNUSED0000000001", "d1")
	used := mk("TKAKDORMUSED000000000001", "d1")
	rotated := mk("TKAKDORMROTATED000000001", "d1")
	off := mk("TKAKDORMOFF0000000000001", "d2")
	set(used, "lastUsedAt", at(10*d))
	set(rotated, "rotatedTo", "TKAKNEW")
	thirty := 30
	if err := store.SetPolicy(ctx, "d1", accesskey.KeyPolicy{DisableUnusedAfterDays: &thirty, UpdatedAt: &start, UpdatedBy: "owner"}, admin); err != nil {
		t.Fatal(err)
	}
	if err := store.SetPolicy(ctx, "d2", accesskey.KeyPolicy{UpdatedAt: &start, UpdatedBy: "owner"}, admin); err != nil {
		t.Fatal(err)
	}

	records := func(ref accesskey.Ref) []string {
		t.Helper()
		recs, _, err := store.ListAudit(ctx, ref.TeamID, "", ref.AccessKeyID, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(recs) - 1; i >= 0; i-- {
			r := recs[i]
			if r.Actor.Sub != "dormant" {
				continue
			}
			if r.Actor.Type != "system" || r.KeyChanges == nil || r.KeyChanges.Reason != "unused" {
				t.Fatalf("dormant record %+v", r)
			}
			out = append(out, r.Action)
		}
		return out
	}
	pass := func(offset time.Duration) {
		t.Helper()
		clock.AdvancePast(start.Add(offset))
		for range 2 { // a pass repeated writes nothing new
			if _, err := sweep.Dormant(ctx, store, clock.Now(), log); err != nil {
				t.Fatal(err)
			}
		}
	}
	status := func(ref accesskey.Ref) accesskey.Status {
		t.Helper()
		k, err := store.GetKey(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return k.Status
	}
	expect := func(when string, want map[accesskey.Ref][]string) {
		t.Helper()
		for _, ref := range []accesskey.Ref{unused, used, rotated, off} {
			got := records(ref)
			if len(got) != len(want[ref]) {
				t.Fatalf("%s: key %s has dormant records %v, want %v", when, ref.AccessKeyID, got, want[ref])
			}
			for i := range got {
				if got[i] != want[ref][i] {
					t.Fatalf("%s: key %s has dormant records %v, want %v", when, ref.AccessKeyID, got, want[ref])
				}
			}
		}
	}
	const warn, disable = accesskey.AuditKeyDormant, accesskey.AuditKeyDisabled

	pass(22*d + time.Hour) // 8 days before: nothing yet
	expect("after 22 days", nil)
	pass(23*d + time.Hour)
	expect("after 23 days", map[accesskey.Ref][]string{unused: {warn}})
	pass(30*d + time.Hour)
	expect("after 30 days", map[accesskey.Ref][]string{unused: {warn, disable}})
	if status(unused) != accesskey.StatusInactive || status(used) != accesskey.StatusActive || status(off) != accesskey.StatusActive {
		t.Fatal("after 30 days: only the unused key is disabled")
	}

	admin.At = start.Add(31 * d)
	if _, err := store.SetStatus(ctx, unused, accesskey.StatusActive, admin); err != nil {
		t.Fatal(err)
	}
	pass(33*d + 2*time.Hour) // used: last use 10 d, 7 days before its 40 d
	expect("after 33 days", map[accesskey.Ref][]string{unused: {warn, disable}, used: {warn}})

	set(used, "lastUsedAt", at(35*d)) // a use restarts the clock
	pass(40*d + 2*time.Hour)
	expect("after 40 days", map[accesskey.Ref][]string{unused: {warn, disable}, used: {warn}})
	if status(used) != accesskey.StatusActive || status(unused) != accesskey.StatusActive {
		t.Fatal("after 40 days: a key used again and a key enabled again stay active")
	}
	pass(54*d + 2*time.Hour) // enabled again: its clock started at the disable (30 d)
	expect("after 54 days", map[accesskey.Ref][]string{unused: {warn, disable, warn}, used: {warn}})
	pass(61*d + 2*time.Hour)
	expect("after 61 days", map[accesskey.Ref][]string{unused: {warn, disable, warn, disable}, used: {warn, warn}})
}
