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

// TestExpiryWarnings: on DynamoDB Local with a fake clock, each threshold
// warns once per key whatever the passes' repeats; a key inside several
// thresholds warns once, for the smallest; rotated and disabled keys stay
// silent; a key enabled again warns for the thresholds it has not been
// warned for; a team's own thresholds apply.
func TestExpiryWarnings(t *testing.T) {
	ctx := context.Background()
	tb, _, store := newShardStore(t)
	start := time.Now().UTC().Truncate(time.Second)
	clock := fakeclock.New(start)
	log := slog.New(slog.DiscardHandler)
	admin := accesskey.Audit{Actor: accesskey.UserActor("admin", "192.0.2.1", "test"), At: start}

	mk := func(id, team string, expiresIn time.Duration) accesskey.Ref {
		t.Helper()
		exp := start.Add(expiresIn)
		k := accesskey.Key{AccessKeyID: id, TeamID: team, MemberID: "m" + id, Status: accesskey.StatusActive,
			CreatedAt: start, CreatedBy: "admin", ExpiresAt: &exp}
		if err := store.Create(ctx, k, accesskey.SealedSecret{Ciphertext: []byte("ct"), SHA256: accesskey.SecretSHA256(accesskey.NewSecret())}, accesskey.KeyPolicy{}, admin); err != nil {
			t.Fatal(err)
		}
		return accesskey.Ref{TeamID: team, MemberID: "m" + id, AccessKeyID: id}
	}
	const d = 24 * time.Hour
	steady := mk("TKAKWARNSTEADY0000000001", "t1", 40*d)        // crosses 30, 7, 1 one at a time
	late := mk("TKAKWARNLATE000000000001", "t1", 3*d+time.Hour) // inside 30 and 7 from the start
	rotated := mk("TKAKWARNROTATED000000001", "t1", 5*d)
	disabled := mk("TKAKWARNDISABLED00000001", "t1", 40*d)
	custom := mk("TKAKWARNCUSTOM0000000001", "t2", 20*d)
	never := mk("TKAKWARNNEVER00000000001", "t1", 400*d) // outside every window

	if _, err := tb.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tb.Name),
		Key:              map[string]types.AttributeValue{"pk": sv("KEY#" + rotated.AccessKeyID), "sk": sv("KEY")},
		UpdateExpression: aws.String("SET rotatedTo = :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": sv("TKAKNEW")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetStatus(ctx, disabled, accesskey.StatusInactive, admin); err != nil {
		t.Fatal(err)
	}
	p := accesskey.KeyPolicy{ExpiryWarningDays: []int{10}, UpdatedAt: &start, UpdatedBy: "owner"}
	if err := store.SetPolicy(ctx, "t2", p, admin); err != nil {
		t.Fatal(err)
	}

	type warning struct{ threshold, daysLeft int }
	warnings := func(ref accesskey.Ref) []warning {
		t.Helper()
		recs, _, err := store.ListAudit(ctx, ref.TeamID, "", ref.AccessKeyID, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []warning
		for i := len(recs) - 1; i >= 0; i-- { // oldest first
			r := recs[i]
			if r.Action != accesskey.AuditKeyExpiring {
				continue
			}
			if r.Actor.Type != "system" || r.Actor.Sub != "expiry-warning" || r.ExpiresAt == nil || r.KeyChanges == nil ||
				r.KeyChanges.ThresholdDays == nil || r.KeyChanges.DaysLeft == nil {
				t.Fatalf("warning record %+v", r)
			}
			out = append(out, warning{*r.KeyChanges.ThresholdDays, *r.KeyChanges.DaysLeft})
		}
		return out
	}
	pass := func(at time.Duration, repeats int) {
		t.Helper()
		clock.AdvancePast(start.Add(at))
		for range repeats {
			if _, err := sweep.WarnExpiring(ctx, store, clock.Now(), log); err != nil {
				t.Fatal(err)
			}
		}
	}
	expect := func(when string, want map[accesskey.Ref][]warning) {
		t.Helper()
		for _, ref := range []accesskey.Ref{steady, late, rotated, disabled, custom, never} {
			got := warnings(ref)
			if len(got) != len(want[ref]) {
				t.Fatalf("%s: key %s has warnings %v, want %v", when, ref.AccessKeyID, got, want[ref])
			}
			for i := range got {
				if got[i] != want[ref][i] {
					t.Fatalf("%s: key %s has warnings %v, want %v", when, ref.AccessKeyID, got, want[ref])
				}
			}
		}
	}

	pass(time.Minute, 2) // a pass repeated writes nothing new
	expect("at the start", map[accesskey.Ref][]warning{late: {{7, 4}}})

	pass(10*d+time.Hour, 3) // steady: 29 d 23 h left; custom: 9 d 23 h left
	expect("after 10 days", map[accesskey.Ref][]warning{late: {{7, 4}}, steady: {{30, 30}}, custom: {{10, 10}}})

	pass(33*d+time.Hour, 2) // steady and disabled: 6 d 23 h left; late has expired
	expect("after 33 days", map[accesskey.Ref][]warning{late: {{7, 4}}, steady: {{30, 30}, {7, 7}}, custom: {{10, 10}}})

	if _, err := store.SetStatus(ctx, disabled, accesskey.StatusActive, admin); err != nil {
		t.Fatal(err)
	}
	pass(33*d+2*time.Hour, 2) // enabled again: warns for 7, 30 counts as used
	expect("re-enabled", map[accesskey.Ref][]warning{late: {{7, 4}}, steady: {{30, 30}, {7, 7}}, custom: {{10, 10}}, disabled: {{7, 7}}})

	pass(39*d+time.Hour, 2)
	expect("after 39 days", map[accesskey.Ref][]warning{late: {{7, 4}}, steady: {{30, 30}, {7, 7}, {1, 1}}, custom: {{10, 10}}, disabled: {{7, 7}, {1, 1}}})
}

// TestWarnPassOncePerInterval: sweeps run a warning pass at most once a
// sweep.WarnInterval (claimed on the lease item).
func TestWarnPassOncePerInterval(t *testing.T) {
	ctx := context.Background()
	_, _, store := newShardStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	exp := now.Add(48 * time.Hour)
	k := accesskey.Key{AccessKeyID: "TKAKWARNPASS000000000001", TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive,
		CreatedAt: now, CreatedBy: "admin", ExpiresAt: &exp}
	admin := accesskey.Audit{Actor: accesskey.UserActor("admin", "192.0.2.1", "test"), At: now}
	if err := store.Create(ctx, k, accesskey.SealedSecret{Ciphertext: []byte("ct"), SHA256: accesskey.SecretSHA256(accesskey.NewSecret())}, accesskey.KeyPolicy{}, admin); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for i, tt := range []struct {
		at         time.Time
		wantWarned int
	}{
		{now, 1},                  // warns for 7 days
		{now.Add(time.Minute), 0}, // no pass within the interval
		{now.Add(sweep.WarnInterval + 23*time.Hour), 1}, // 1 day left: a pass, warns for 1
	} {
		res, err := sweep.Run(ctx, store, tt.at, log)
		if err != nil || res.Warned != tt.wantWarned {
			t.Fatalf("run %d: %+v, %v; want %d warned", i, res, err, tt.wantWarned)
		}
	}
}
