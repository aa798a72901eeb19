package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestCredentialReportOf5000Keys: a team of 5,000 keys (2,500 members, two
// each; long descriptions and creators, so that the index holds several
// 1 MB Query pages of them), real key items written straight to the real
// table (BatchWriteItem: 5,000 Creates take a minute on a busy machine): the report comes in pages
// of whole Query pages, each under 5 MB, as CSV and as JSON; following the
// Link header (and nextToken) gives every key exactly once and no other
// team's; every CSV page starts with the header row; the last page has no
// Link and a null nextToken.
func TestCredentialReportOf5000Keys(t *testing.T) {
	s := newStack(t)
	created := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	creator := "admin-" + strings.Repeat("x", 700) // a long JWT subject
	description := strings.Repeat("鍵", accesskey.MaxDescriptionLength)
	keys := make([]accesskey.Key, 5000)
	for i := range keys {
		keys[i] = accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: fmt.Sprintf("m%04d", i/2),
			Status: accesskey.StatusActive, CreatedAt: created, CreatedBy: creator, Description: description}
	}
	seedStart := time.Now()
	if err := s.PutKeys(context.Background(), keys, accesskey.SealedSecret{Ciphertext: []byte("ct")}); err != nil {
		t.Fatal(err)
	}
	t.Logf("5,000 key items written in %v", time.Since(seedStart))
	other := s.Generate("t2", "zed", "") // another team's key is not in the report
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)

	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			s.Calls.Take()
			path := "/v1/teams/t1/access-keys/report"
			accept := map[string]string{"csv": "text/csv", "json": "application/json"}[format]
			seen := map[string]bool{}
			var sizes []int
			for path != "" {
				resp := s.Do(request{Method: "GET", Path: path, Token: admin, Header: map[string]string{"Accept": accept}})
				if resp.Status != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), accept) {
					t.Fatalf("page %d: %.300s", len(sizes)+1, resp)
				}
				sizes = append(sizes, len(resp.Body))
				if len(resp.Body) >= 5_000_000 {
					t.Errorf("page %d is %d bytes", len(sizes), len(resp.Body))
				}
				next := nextPage(t, path, resp.Header.Get("Link"))
				var ids []string
				if format == "json" {
					var page struct {
						TeamID string
						Keys   []struct {
							AccessKeyID string
							AgeDays     int
						}
						NextToken *string
					}
					if err := json.Unmarshal(resp.Body, &page); err != nil || page.TeamID != "t1" {
						t.Fatalf("JSON page %d: %v", len(sizes), err)
					}
					if (page.NextToken == nil) != (next == "") || page.NextToken != nil && !strings.Contains(next, url.Values{"nextToken": {*page.NextToken}}.Encode()) {
						t.Fatalf("JSON page %d: nextToken %v, Link to %q", len(sizes), page.NextToken, next)
					}
					for _, k := range page.Keys {
						if k.AgeDays != 2 {
							t.Fatalf("JSON row %+v", k)
						}
						ids = append(ids, k.AccessKeyID)
					}
				} else {
					rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
					if err != nil || len(rows) == 0 || rows[0][0] != "memberId" || rows[0][1] != "accessKeyId" {
						t.Fatalf("CSV page %d does not start with the header: %v", len(sizes), err)
					}
					for _, r := range rows[1:] {
						if r[2] != "Active" || r[9] != "2" || r[10] != "" || r[4] != creator {
							t.Fatalf("row %v", r)
						}
						ids = append(ids, r[1])
					}
				}
				for _, id := range ids {
					if seen[id] || id == other.AccessKeyID {
						t.Fatalf("key %s twice, or another team's", id)
					}
					seen[id] = true
				}
				path = next
			}
			calls := s.Calls.Take()
			t.Logf("%s: %d pages of %v bytes, %d DynamoDB Queries, %d BatchGetItems", format, len(sizes), sizes, calls["DynamoDB.Query"], calls["DynamoDB.BatchGetItem"])
			if len(seen) != 5000 || len(sizes) < 2 {
				t.Fatalf("%d keys in %d pages; want 5000 in several", len(seen), len(sizes))
			}
			// Each Query page's keys' restrictions and leak marks (not in
			// the ByTeam index): one BatchGetItem per 100 keys of it.
			// And the team's policy (dormantDisableAt): a GetItem of a
			// policy copy, and of the legacy item when the copy is
			// absent, each page.
			queries, batches, gets := calls["DynamoDB.Query"], calls["DynamoDB.BatchGetItem"], calls["DynamoDB.GetItem"]
			if len(calls) != 3 || batches < 5000/100 || batches > 5000/100+queries || gets < len(sizes) || gets > 2*len(sizes) {
				t.Errorf("the report made %v, want Queries, 50 to 50+Queries BatchGetItems (one per 100 keys of a Query page) and one or two GetItems a page", calls)
			}
		})
	}
}

// nextPage is the path and query of the Link header's next page, resolved
// against the request's path ("" when there is none).
func nextPage(t *testing.T, path, link string) string {
	t.Helper()
	if link == "" {
		return ""
	}
	target, ok := strings.CutSuffix(link, `>; rel="next"`)
	if !ok || !strings.HasPrefix(target, "<") {
		t.Fatalf("Link %q", link)
	}
	base, _ := url.Parse(path)
	ref, err := url.Parse(target[1:])
	if err != nil || ref.Host != "" {
		t.Fatalf("Link %q is not relative: %v", link, err)
	}
	return base.ResolveReference(ref).String()
}
