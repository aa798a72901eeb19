package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// byTeamAttributes are the attributes of a key item that the ByTeam index
// holds (template.yaml: the table's and the index's keys, and its
// NonKeyAttributes).
var byTeamAttributes = strings.Fields(`pk sk gsi1pk gsi1sk accessKeyId teamId memberId status description createdAt
	createdBy expiresAt rotatedFrom lastUsedAt lastUsedIp lastUsedScheme allowedCidrs scopes`)

// indexItemBytes is the size DynamoDB counts for k's item in the ByTeam
// index: each attribute's name and value (strings and binary: their
// bytes), without the per-item overhead, so at most what a Query counts.
func indexItemBytes(t *testing.T, k accesskey.Key) int {
	t.Helper()
	item, err := dynamostore.New(nil, "table").KeyItem(k, accesskey.SealedSecret{Ciphertext: []byte("ct"), SHA256: "h"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range byTeamAttributes {
		switch v := item[name].(type) {
		case nil:
		case *types.AttributeValueMemberS:
			n += len(name) + len(v.Value)
		case *types.AttributeValueMemberL:
			// A List: its name, 3 bytes, and 1 byte and the value of
			// each String in it (DynamoDB's item size rules).
			n += len(name) + 3
			for _, e := range v.Value {
				n += 1 + len(e.(*types.AttributeValueMemberS).Value)
			}
		default:
			t.Fatalf("attribute %s is a %T", name, v)
		}
	}
	return n
}

// TestReportRowsAtMostTwiceTheirItems holds the report's page bound (see
// report.go) to the table's layout: a key's row, JSON or CSV, is at most
// twice the bytes of its item in the ByTeam index, for the keys that
// render largest for their size: every optional field and the smallest
// ids, or a description or creator made of the characters that JSON or
// CSV escape. So one Query page (1 MB of items) renders to at most
// ReportQueryPageBytes.
func TestReportRowsAtMostTwiceTheirItems(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	old := now.Add(-99999 * 24 * time.Hour)
	used := now.Add(-99998 * 24 * time.Hour)
	full := func(k accesskey.Key) accesskey.Key {
		k.AccessKeyID, k.TeamID, k.Status, k.CreatedAt = accesskey.NewAccessKeyID(), "t", accesskey.StatusInactive, old
		k.ExpiresAt, k.RotatedFrom, k.LastUsedAt = &used, accesskey.NewAccessKeyID(), &used
		k.LastUsedIP, k.LastUsedScheme = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "AWS4-HMAC-SHA256"
		if k.MemberID == "" {
			k.MemberID = "m"
		}
		if k.CreatedBy == "" {
			k.CreatedBy = "a"
		}
		return k
	}
	for name, k := range map[string]accesskey.Key{
		"smallest ids, every field": full(accesskey.Key{}),
		"fewest fields": {AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t", MemberID: "m", Status: accesskey.StatusActive,
			CreatedAt: now, CreatedBy: "a"},
		"description of quotes":        full(accesskey.Key{Description: strings.Repeat(`"`, accesskey.MaxDescriptionLength)}),
		"description of backslashes":   full(accesskey.Key{Description: strings.Repeat(`\`, accesskey.MaxDescriptionLength)}),
		"description of <>&":           full(accesskey.Key{Description: strings.Repeat(`<>&`, 85)}),
		"creator of quotes":            full(accesskey.Key{CreatedBy: strings.Repeat(`"`, 5000)}),
		"creator a formula":            full(accesskey.Key{CreatedBy: `=1"`}),
		"creator of one quote":         full(accesskey.Key{CreatedBy: `"`}),
		"member of dots":               full(accesskey.Key{MemberID: strings.Repeat(".", 64)}),
		"restricted, shortest entries": full(accesskey.Key{AllowedCIDRs: []string{"::/0"}, Scopes: []string{"a", "b", "c"}}),
		"no scopes":                    full(accesskey.Key{Scopes: []string{}}),
		// Active and not expired: it shows dormantDisableAt.
		"active, every field, dormant soon": func() accesskey.Key {
			k := full(accesskey.Key{})
			far := now.Add(99999 * 24 * time.Hour)
			k.Status, k.ExpiresAt, k.DormantAt = accesskey.StatusActive, &far, &used
			return k
		}(),
	} {
		item := indexItemBytes(t, k)
		// The longest policy: a dormantDisableAt for every active key.
		days := accesskey.MaxUnusedDays
		j, c := httpapi.ReportRowBytes(k, now, &days)
		if j > 2*item || c > 2*item {
			t.Errorf("%s: a row of %d bytes (JSON) or %d (CSV) for an item of %d", name, j, c, item)
		}
		t.Logf("%s: item %d bytes, JSON row %d, CSV row %d", name, item, j, c)
	}
	if httpapi.ReportQueryPageBytes < 2*(1<<20) {
		t.Errorf("a Query page is counted as %d bytes rendered, under twice 1 MB", httpapi.ReportQueryPageBytes)
	}
}
