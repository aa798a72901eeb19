package httpapi_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The credential report is every key of the team, read a page at a time,
// as CSV or, when the client ranks it first, JSON; a cell that a
// spreadsheet would run as a formula is defused.
func TestCredentialReport(t *testing.T) {
	used := harnessNow.Add(-50 * time.Hour)
	expired := harnessNow.Add(-time.Hour)
	keys := make([]accesskey.Key, 250)
	for i := range keys {
		keys[i] = accesskey.Key{AccessKeyID: fmt.Sprintf("TKAK%020d", i), TeamID: "t1", MemberID: fmt.Sprintf("m%03d", i/2),
			Status: accesskey.StatusActive, CreatedAt: harnessNow.Add(-72 * time.Hour), CreatedBy: "alice"}
	}
	keys[0].LastUsedAt, keys[0].LastUsedIP, keys[0].LastUsedScheme = &used, "203.0.113.7", "AWS4-HMAC-SHA256"
	keys[1].ExpiresAt = &expired
	keys[2].CreatedBy = "=HYPERLINK(\"http://evil\")"
	pages := 0
	for _, tc := range []struct {
		accept string
		json   bool
	}{
		{"", false}, {"text/csv", false}, {"*/*", false}, {"application/json", true},
		{"application/json, text/plain, */*", true}, {"text/csv, application/json", false},
		{"text/csv;q=0.5, application/json", true},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			h := newHarness(t)
			pages = 0
			h.store.listTeam = func(team string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
				pages++
				start := 0
				if after != nil {
					fmt.Sscan(after["i"], &start)
				}
				end := min(start+limit, len(keys))
				var next map[string]string
				if end < len(keys) {
					next = map[string]string{"i": fmt.Sprint(end)}
				}
				return keys[start:end], next, nil
			}
			_, resp := h.do(t, request{method: "GET", path: "/v1/teams/t1/access-keys/report", headers: map[string]string{"accept": tc.accept}})
			if resp.StatusCode != http.StatusOK || pages != 3 {
				t.Fatalf("status %d after %d pages: %.300s", resp.StatusCode, pages, resp.Body)
			}
			if tc.json {
				var got struct {
					TeamID string
					Keys   []map[string]any
				}
				if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || resp.Headers["Content-Type"] != "application/json" {
					t.Fatalf("JSON report: %v (%s)", err, resp.Headers["Content-Type"])
				}
				if len(got.Keys) != 250 || got.Keys[0]["daysSinceLastUse"] != float64(2) || got.Keys[0]["ageDays"] != float64(3) ||
					got.Keys[1]["status"] != "Expired" || got.Keys[3]["daysSinceLastUse"] != nil {
					t.Fatalf("JSON report: %d keys, first %v, second %v", len(got.Keys), got.Keys[0], got.Keys[1])
				}
				return
			}
			if !strings.HasPrefix(resp.Headers["Content-Type"], "text/csv") {
				t.Fatalf("Content-Type %q", resp.Headers["Content-Type"])
			}
			rows, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
			if err != nil || len(rows) != 251 {
				t.Fatalf("CSV: %d rows, %v", len(rows), err)
			}
			want := []string{"memberId", "accessKeyId", "status", "createdAt", "createdBy", "expiresAt", "lastUsedAt", "lastUsedSourceIp", "lastUsedScheme", "ageDays", "daysSinceLastUse"}
			if strings.Join(rows[0], ",") != strings.Join(want, ",") {
				t.Fatalf("header %v", rows[0])
			}
			if r := rows[1]; r[1] != keys[0].AccessKeyID || r[7] != "203.0.113.7" || r[9] != "3" || r[10] != "2" {
				t.Fatalf("first row %v", r)
			}
			if rows[2][2] != "Expired" || rows[3][4] != `'=HYPERLINK("http://evil")` {
				t.Fatalf("rows %v / %v", rows[2], rows[3])
			}
		})
	}
	// Who may read it.
	h := newHarness(t)
	for claims, want := range map[string]int{"member": 403, "admin": 200, "owner": 200} {
		_, resp := h.do(t, request{method: "GET", path: "/v1/teams/t1/access-keys/report",
			claims: map[string]string{"sub": "x", "team_id": "t1", "team_role": claims}})
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", claims, resp.StatusCode, want)
		}
	}
}
