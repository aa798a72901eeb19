package dynamostore_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestTeamListAcrossShards: a team's keys, written across the ByTeam
// shards (and some in the unsharded partition of the release before
// them), list in member-then-creation order across pages of 7 with no key
// twice and none missing, with a cursor of the release before the shards
// accepted; the report's partition-by-partition pages hold every key once;
// a member's list is its shard plus the old partition.
func TestTeamListAcrossShards(t *testing.T) {
	tb, db, store := newShardStore(t)
	ctx := context.Background()
	const team = "big"
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	var keys []accesskey.Key
	for i := range 60 {
		keys = append(keys, accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: team, MemberID: fmt.Sprintf("m%02d", i%30),
			Status: accesskey.StatusActive, CreatedAt: created.Add(time.Duration(i) * time.Second), CreatedBy: "admin"})
	}
	if err := tb.PutKeys(ctx, keys[:50], accesskey.SealedSecret{Ciphertext: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	shards := map[string]bool{}
	for _, k := range keys[:50] {
		shards[tb.Item("KEY#"+k.AccessKeyID, "KEY")["gsi1pk"].(string)] = true
	}
	if len(shards) < 8 {
		t.Fatalf("50 keys of 30 members in %d ByTeam partitions, want them spread (%v)", len(shards), shards)
	}
	// The last 10 as the release before the shards wrote them.
	for _, k := range keys[50:] {
		at := k.CreatedAt.Format(time.RFC3339)
		putRaw(t, tb, map[string]types.AttributeValue{
			"pk": sv("KEY#" + k.AccessKeyID), "sk": sv("KEY"), "gsi1pk": sv("TEAM#" + team),
			"gsi1sk": sv("MEMBER#" + k.MemberID + "#" + at + "#" + k.AccessKeyID), "accessKeyId": sv(k.AccessKeyID),
			"teamId": sv(team), "memberId": sv(k.MemberID), "status": sv("Active"), "description": sv(""),
			"createdAt": sv(at), "createdBy": sv("admin"),
		})
	}
	want := make([]string, 0, len(keys))
	slices.SortFunc(keys, func(a, b accesskey.Key) int {
		return strings.Compare(a.MemberID+a.CreatedAt.Format(time.RFC3339)+a.AccessKeyID, b.MemberID+b.CreatedAt.Format(time.RFC3339)+b.AccessKeyID)
	})
	for _, k := range keys {
		want = append(want, k.AccessKeyID)
	}

	t.Run("the list, paged", func(t *testing.T) {
		var got []string
		var after map[string]string
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatal("more than 20 pages of 7 for 60 keys")
			}
			db.takeQueries()
			ks, next, err := store.ListTeam(ctx, team, 7, after)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if q := db.takeQueries(); len(q) != 17 {
				t.Fatalf("page %d made %d Queries, want 17 (16 shards and the old partition)", page, len(q))
			}
			if len(ks) > 7 {
				t.Fatalf("page %d holds %d keys, want at most 7", page, len(ks))
			}
			for _, k := range ks {
				got = append(got, k.AccessKeyID)
			}
			if next == nil {
				break
			}
			after = next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("listed %d keys %v,\nwant %d in member and creation order %v", len(got), got, len(want), want)
		}
	})

	t.Run("a cursor of the release before the shards", func(t *testing.T) {
		k := keys[9]
		old := map[string]string{"pk": "KEY#" + k.AccessKeyID, "sk": "KEY", "gsi1pk": "TEAM#" + team,
			"gsi1sk": "MEMBER#" + k.MemberID + "#" + k.CreatedAt.Format(time.RFC3339) + "#" + k.AccessKeyID}
		ks, _, err := store.ListTeam(ctx, team, 3, old)
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 3 || ks[0].AccessKeyID != want[10] || ks[2].AccessKeyID != want[12] {
			t.Fatalf("after the old cursor of key 10: %v, want %v", ks, want[10:13])
		}
	})

	t.Run("the report, partition by partition", func(t *testing.T) {
		seen := map[string]int{}
		var after map[string]string
		for page := 0; ; page++ {
			if page > 40 {
				t.Fatal("more than 40 report pages for 60 keys in 17 partitions")
			}
			db.takeQueries()
			ks, next, err := store.ListTeam(ctx, team, 0, after)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if q := db.takeQueries(); len(q) != 1 || q[0].Limit != nil {
				t.Fatalf("report page %d made %d Queries, want 1 whole Query page", page, len(q))
			}
			for _, k := range ks {
				seen[k.AccessKeyID]++
			}
			if next == nil {
				break
			}
			if _, _, err := store.ListTeam(ctx, team, 7, next); err == nil {
				t.Fatalf("the list accepted a report cursor %v", next)
			}
			after = next
		}
		if len(seen) != len(want) || slices.ContainsFunc(slices.Collect(maps.Values(seen)), func(n int) bool { return n != 1 }) {
			t.Fatalf("the report's pages hold %d keys (%v), want each of %d once", len(seen), seen, len(want))
		}
	})

	t.Run("a member's keys", func(t *testing.T) {
		for _, member := range []string{"m00", "m21", "m29"} {
			db.takeQueries()
			ks, err := store.ListMember(ctx, team, member)
			if err != nil {
				t.Fatal(err)
			}
			var got, wantMember []string
			for _, k := range ks {
				got = append(got, k.AccessKeyID)
			}
			for _, k := range keys {
				if k.MemberID == member {
					wantMember = append(wantMember, k.AccessKeyID)
				}
			}
			if !slices.Equal(got, wantMember) {
				t.Errorf("%s's keys %v, want %v (oldest first)", member, got, wantMember)
			}
			if q := db.takeQueries(); len(q) != 2 {
				t.Errorf("%s's list made %d Queries, want 2 (its shard and the old partition)", member, len(q))
			}
		}
	})
}
