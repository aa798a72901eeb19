package httpapi_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
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
				return queryPages(keys, 100)(team, limit, after)
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
			want := []string{"memberId", "accessKeyId", "status", "createdAt", "createdBy", "expiresAt", "lastUsedAt", "lastUsedSourceIp", "lastUsedScheme", "ageDays", "daysSinceLastUse", "leakedAt", "leakUrl", "allowedCidrs", "scopes", "dormantDisableAt", "dormantSoon"}
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

// queryPages is a ListTeam over keys that answers, as the store does
// without a limit, a Query page of perPage keys, its cursor in "pk".
func queryPages(keys []accesskey.Key, perPage int) func(string, int, map[string]string) ([]accesskey.Key, map[string]string, error) {
	return func(_ string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
		if limit != 0 {
			return nil, nil, fmt.Errorf("the report asked for %d keys, not Query pages", limit)
		}
		start := 0
		if after != nil {
			fmt.Sscan(after["pk"], &start)
		}
		end := min(start+perPage, len(keys))
		var next map[string]string
		if end < len(keys) {
			next = map[string]string{"pk": fmt.Sprint(end)}
		}
		return keys[start:end], next, nil
	}
}

// reportPage is one response of the paged report.
type reportPage struct {
	status int
	body   string
	link   string // the next page's path and query, "" on the last
	token  *string
	ids    []string
}

// getReportPage asks for path and reads the page's rows, the next page
// from its Link header, and (JSON) its nextToken.
func getReportPage(t *testing.T, h *harness, path string, accept string) reportPage {
	t.Helper()
	_, resp := h.do(t, request{method: "GET", path: path, headers: map[string]string{"accept": accept}})
	p := reportPage{status: resp.StatusCode, body: resp.Body}
	if resp.StatusCode != http.StatusOK {
		return p
	}
	if l := resp.Headers["Link"]; l != "" {
		target, ok := strings.CutSuffix(l, `>; rel="next"`)
		if !ok || !strings.HasPrefix(target, "<") {
			t.Fatalf("Link %q", l)
		}
		base, _ := url.Parse(path)
		ref, err := url.Parse(target[1:])
		if err != nil {
			t.Fatalf("Link %q: %v", l, err)
		}
		p.link = base.ResolveReference(ref).String()
	}
	if strings.HasPrefix(resp.Headers["Content-Type"], "application/json") {
		var got struct {
			Keys      []struct{ AccessKeyID string }
			NextToken *string
		}
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
			t.Fatalf("JSON page: %v", err)
		}
		for _, k := range got.Keys {
			p.ids = append(p.ids, k.AccessKeyID)
		}
		p.token = got.NextToken
		return p
	}
	rows, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil || len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(httpapi.ReportColumns, ",") {
		t.Fatalf("CSV page does not start with the header: %v (%.200s)", err, resp.Body)
	}
	for _, r := range rows[1:] {
		p.ids = append(p.ids, r[1])
	}
	return p
}

// bulkyKeys are n keys whose rows are about 2 KB in JSON and 1 KB in CSV:
// a description of 256 three-byte characters and a long createdBy.
func bulkyKeys(n int) []accesskey.Key {
	keys := make([]accesskey.Key, n)
	for i := range keys {
		keys[i] = accesskey.Key{AccessKeyID: fmt.Sprintf("TKAK%020d", i), TeamID: "t1", MemberID: fmt.Sprintf("member-%06d", i/2),
			Status: accesskey.StatusActive, CreatedAt: harnessNow.Add(-72 * time.Hour), CreatedBy: strings.Repeat("s", 1000),
			Description: strings.Repeat("鍵", accesskey.MaxDescriptionLength)}
	}
	return keys
}

// TestCredentialReportPaged: a report of 9,000 bulky keys, read by Query
// pages of 1,000 (about 2 MB of JSON, 1 MB of CSV), is several responses of
// whole Query pages (two in JSON, three in CSV), each under 5 MB, each
// Query page read once; following the Link header (and, in JSON,
// nextToken) gives every key exactly once; every CSV page starts with the
// header; the last page has no Link and a null nextToken. A format
// parameter wins over Accept.
func TestCredentialReportPaged(t *testing.T) {
	keys := bulkyKeys(9000)
	for _, tc := range []struct {
		name, accept, format string
		json                 bool
	}{
		{"csv", "text/csv", "", false},
		{"json", "application/json", "", true},
		{"format=json over Accept", "text/csv", "json", true},
		{"format=csv over Accept", "application/json", "csv", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			queries := 0
			h.store.listTeam = func(team string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
				queries++
				return queryPages(keys, 1000)(team, limit, after)
			}
			path := "/v1/teams/t1/access-keys/report"
			if tc.format != "" {
				path += "?format=" + tc.format
			}
			seen := map[string]bool{}
			var responses []reportPage
			for path != "" {
				p := getReportPage(t, h, path, tc.accept)
				if p.status != http.StatusOK {
					t.Fatalf("page %d: %d %.300s", len(responses)+1, p.status, p.body)
				}
				if len(p.body) >= 5_000_000 {
					t.Errorf("page %d is %d bytes", len(responses)+1, len(p.body))
				}
				if tc.json {
					if (p.token == nil) != (p.link == "") {
						t.Errorf("page %d: nextToken %v but Link %q", len(responses)+1, p.token, p.link)
					}
					if p.token != nil && !strings.Contains(p.link, url.Values{"nextToken": {*p.token}}.Encode()) {
						t.Errorf("page %d: Link %q does not carry nextToken %q", len(responses)+1, p.link, *p.token)
					}
				}
				if p.link != "" && !strings.Contains(p.link, "format="+map[bool]string{true: "json", false: "csv"}[tc.json]) {
					t.Errorf("Link %q lacks the format", p.link)
				}
				if len(p.ids)%1000 != 0 {
					t.Errorf("page %d has %d keys, not whole Query pages", len(responses)+1, len(p.ids))
				}
				for _, id := range p.ids {
					if seen[id] {
						t.Fatalf("key %s on two pages", id)
					}
					seen[id] = true
				}
				responses = append(responses, p)
				path = p.link
			}
			want := map[bool]int{true: 5, false: 3}[tc.json]
			if len(seen) != len(keys) || len(responses) != want || queries != 9 {
				t.Fatalf("%d keys in %d responses after %d Queries; want %d in %d after 9", len(seen), len(responses), queries, len(keys), want)
			}
		})
	}
}

// TestCredentialReportOverBound: a Query page that renders to more than
// the bound after another is left for the next response (read again
// there), never sent in a body over 5 MB with another; alone, it is sent.
func TestCredentialReportOverBound(t *testing.T) {
	small := bulkyKeys(100)
	huge := bulkyKeys(400)
	for i := range huge {
		// Control characters in a JWT subject: 6 bytes each in JSON.
		huge[i].AccessKeyID = fmt.Sprintf("TKAK%020d", 100+i)
		huge[i].CreatedBy = strings.Repeat("\x01", 2500)
	}
	keys := append(small, huge...)
	h := newHarness(t)
	h.store.listTeam = func(team string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
		if after == nil {
			return queryPages(keys, 100)(team, limit, after)
		}
		return queryPages(keys, 400)(team, limit, after)
	}
	p1 := getReportPage(t, h, "/v1/teams/t1/access-keys/report", "application/json")
	if p1.status != 200 || len(p1.ids) != 100 || p1.link == "" || len(p1.body) >= 5_000_000 {
		t.Fatalf("first page: %d, %d keys, %d bytes, Link %q", p1.status, len(p1.ids), len(p1.body), p1.link)
	}
	p2 := getReportPage(t, h, p1.link, "application/json")
	if p2.status != 200 || len(p2.ids) != 400 || p2.link != "" {
		t.Fatalf("second page: %d, %d keys, Link %q", p2.status, len(p2.ids), p2.link)
	}
}

// TestCredentialReportFailure: a store that fails on any Query of a page
// makes that page an error in the API's shape (503 for an unavailable
// store, 500 otherwise), never a 200 with rows missing; the pages before
// it were whole.
func TestCredentialReportFailure(t *testing.T) {
	keys := bulkyKeys(9000)
	for _, tc := range []struct {
		name    string
		okPages int // pages answered before the failing one
		later   int // the failing Query: the page's first (0) or a later one
		err     error
		status  int
		code    string
	}{
		{"second Query of the first page", 0, 1, fmt.Errorf("query keys: %w", accesskey.ErrUnavailable), 503, "ServiceUnavailable"},
		{"first Query of the second page", 1, 0, fmt.Errorf("query keys: %w", accesskey.ErrUnavailable), 503, "ServiceUnavailable"},
		{"second Query of the second page", 1, 1, errors.New("unmarshal keys: boom"), 500, "InternalError"},
	} {
		for _, accept := range []string{"text/csv", "application/json"} {
			t.Run(tc.name+"/"+accept, func(t *testing.T) {
				h := newHarness(t)
				failAt := -1 // the first key of the Query that fails
				h.store.listTeam = func(team string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
					start := 0
					if after != nil {
						fmt.Sscan(after["pk"], &start)
					}
					if start == failAt {
						return nil, nil, tc.err
					}
					return queryPages(keys, 1000)(team, limit, after)
				}
				path := "/v1/teams/t1/access-keys/report"
				pageStart := 0
				for i := range tc.okPages {
					p := getReportPage(t, h, path, accept)
					if p.status != 200 || len(p.ids) < 2000 || p.link == "" {
						t.Fatalf("page %d: %d, %d keys, Link %q", i+1, p.status, len(p.ids), p.link)
					}
					path = p.link
					pageStart += len(p.ids)
				}
				failAt = pageStart + 1000*tc.later
				ev, resp := h.do(t, request{method: "GET", path: path, headers: map[string]string{"accept": accept}})
				assertError(t, resp, tc.status, tc.code, ev.RequestContext.RequestID)
				if resp.Headers["Link"] != "" {
					t.Errorf("an error answer with Link %q", resp.Headers["Link"])
				}
			})
		}
	}
}

// TestCredentialReportQuery: a format other than csv or json, a repeated
// parameter, or a nextToken the report did not issue is a 400.
func TestCredentialReportQuery(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{"format=xml", "format=", "format=csv&format=json", "nextToken=bogus", "nextToken=tok:team:t1:5", "nextToken=a&nextToken=b"} {
		ev, resp := h.do(t, request{method: "GET", path: "/v1/teams/t1/access-keys/report?" + q})
		assertError(t, resp, 400, "ValidationError", ev.RequestContext.RequestID)
	}
}

// TestCredentialReportQueriesPerPage: however small the rows, a page makes
// at most 24 store calls (for time: a team's partitions are read one after
// another, and small Query pages are cheap).
func TestCredentialReportQueriesPerPage(t *testing.T) {
	keys := make([]accesskey.Key, 3000)
	for i := range keys {
		keys[i] = accesskey.Key{AccessKeyID: fmt.Sprintf("TKAK%020d", i), TeamID: "t1", MemberID: "m", Status: accesskey.StatusActive,
			CreatedAt: harnessNow, CreatedBy: "a"}
	}
	h := newHarness(t)
	queries := 0
	h.store.listTeam = func(team string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
		queries++
		return queryPages(keys, 100)(team, limit, after)
	}
	p := getReportPage(t, h, "/v1/teams/t1/access-keys/report", "text/csv")
	if p.status != 200 || len(p.ids) != 2400 || queries != 24 || p.link == "" {
		t.Fatalf("first page: %d, %d keys after %d Queries, Link %q", p.status, len(p.ids), queries, p.link)
	}
	p = getReportPage(t, h, p.link, "text/csv")
	if p.status != 200 || len(p.ids) != 600 || queries != 30 || p.link != "" {
		t.Fatalf("second page: %d, %d keys after %d Queries, Link %q", p.status, len(p.ids), queries, p.link)
	}
}
