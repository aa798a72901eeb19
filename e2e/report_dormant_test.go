package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestCredentialReportDormant: the credential report says when each active
// key will be disabled as unused (dormantDisableAt: the latest of its last
// use, creation and last dormant disable, plus the team's
// disableUnusedAfterDays) and whether that is within seven days
// (dormantSoon), in JSON and CSV; nothing while the setting is off, and
// nothing for a disabled key. Seeded on DynamoDB Local with past
// lastUsedAt and dormantAt.
func TestCredentialReportDormant(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	const d = 24 * time.Hour
	ago := func(days int) *time.Time { t := now.Add(-time.Duration(days) * d); return &t }
	mk := func(id string, created int, used *time.Time, status accesskey.Status) accesskey.Key {
		return accesskey.Key{AccessKeyID: id, TeamID: "t1", MemberID: "m-" + id[len(id)-4:], Status: status,
			CreatedAt: *ago(created), CreatedBy: "admin", LastUsedAt: used}
	}
	keys := []accesskey.Key{
		mk("TKAKDORMREPORTSOON000001", 25, nil, accesskey.StatusActive),     // disabled in 5 days
		mk("TKAKDORMREPORTUSED000002", 25, ago(1), accesskey.StatusActive),  // in 29 days
		mk("TKAKDORMREPORTAGAIN00003", 40, ago(40), accesskey.StatusActive), // dormantAt 24 days ago: in 6 days
		mk("TKAKDORMREPORTOFF0000004", 40, nil, accesskey.StatusInactive),   // disabled: none
		mk("TKAKDORMREPORTLATE000005", 60, nil, accesskey.StatusActive),     // overdue: the pass has not run yet
	}
	if err := s.PutKeys(ctx, keys, accesskey.SealedSecret{Ciphertext: []byte("ct")}); err != nil {
		t.Fatal(err)
	}
	// PutKeys writes a new key's item: the uses and the dormant disable
	// are set apart.
	set := func(id, attr string, at *time.Time) {
		t.Helper()
		if _, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.Name),
			Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "KEY#" + id}, "sk": &types.AttributeValueMemberS{Value: "KEY"}},
			UpdateExpression:          aws.String("SET #a = :v"),
			ExpressionAttributeNames:  map[string]string{"#a": attr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: at.Format(time.RFC3339)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		if k.LastUsedAt != nil {
			set(k.AccessKeyID, "lastUsedAt", k.LastUsedAt)
		}
	}
	set(keys[2].AccessKeyID, "dormantAt", ago(24))
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	type row struct {
		at   string
		soon bool
	}
	report := func(format string) map[string]row {
		t.Helper()
		resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys/report?format=" + format, Token: admin})
		if resp.Status != http.StatusOK {
			t.Fatalf("report: %s", resp)
		}
		got := map[string]row{}
		if format == "json" {
			var page struct {
				Keys []struct {
					AccessKeyID      string
					DormantDisableAt *string
					DormantSoon      bool
				}
			}
			if err := json.Unmarshal(resp.Body, &page); err != nil {
				t.Fatal(err)
			}
			for _, k := range page.Keys {
				r := row{soon: k.DormantSoon}
				if k.DormantDisableAt != nil {
					r.at = *k.DormantDisableAt
				}
				got[k.AccessKeyID] = r
			}
			return got
		}
		rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
		if err != nil || len(rows) < 1 {
			t.Fatalf("CSV: %v", err)
		}
		col := map[string]int{}
		for i, name := range rows[0] {
			col[name] = i
		}
		for _, r := range rows[1:] {
			got[r[col["accessKeyId"]]] = row{at: r[col["dormantDisableAt"]], soon: r[col["dormantSoon"]] == "true"}
		}
		return got
	}
	in := func(days int) string { return now.Add(time.Duration(days) * d).Format(time.RFC3339) }

	for _, format := range []string{"json", "csv"} {
		for id, r := range report(format) {
			if r != (row{}) {
				t.Errorf("%s, setting off: %s shows %+v", format, id, r)
			}
		}
	}
	if resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: s.Token("olga", "t1", accesskey.RoleOwner),
		Body: `{"maxLifetimeDays":null,"disableUnusedAfterDays":30}`}); resp.Status != http.StatusOK {
		t.Fatalf("set policy: %s", resp)
	}
	want := map[string]row{
		keys[0].AccessKeyID: {in(5), true},
		keys[1].AccessKeyID: {in(29), false},
		keys[2].AccessKeyID: {in(6), true},
		keys[3].AccessKeyID: {},
		keys[4].AccessKeyID: {in(-30), true},
	}
	for _, format := range []string{"json", "csv"} {
		got := report(format)
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: %s shows %+v, want %+v", format, id, got[id], w)
			}
		}
	}
}
