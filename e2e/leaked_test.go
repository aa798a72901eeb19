package e2e

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// leakView is what every view of a key shows of a leak report.
type leakView struct {
	AccessKeyID string  `json:"accessKeyId"`
	Status      string  `json:"status"`
	LeakedAt    *string `json:"leakedAt"`
	LeakURL     *string `json:"leakUrl"`
}

// TestLeakedKeyIsNeverEnabledAgain: a key a leak report disabled (GitHub's,
// with its URL; an admin's, without) shows leakedAt and leakUrl in every
// view (the key, the member's and the team's lists, the report in JSON and
// CSV); enabling it is 409 KeyLeaked, saying when and where, and changes
// nothing, records nothing; it still rotates (the new key is not leaked)
// and deletes; a key disabled by hand still enables.
func TestLeakedKeyIsNeverEnabledAgain(t *testing.T) {
	gh := newGitHub(t)
	s := gh.stack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	byGitHub := s.Generate("t1", "alice", "leaked on GitHub")
	byAdmin := s.Generate("t1", "carol", "reported by an admin")
	byHand := s.Generate("t1", "bob", "disabled by hand")
	began := time.Now().UTC().Truncate(time.Second)
	if fb := feedbackOf(t, s.Do(gh.report(t, byGitHub.SecretAccessKey))); len(fb) != 1 {
		t.Fatalf("feedback %+v", fb)
	}
	if resp := s.Do(request{Method: "POST", Path: "/v1/teams/t1/leaks", Token: admin, Body: `{"secretAccessKey":"` + byAdmin.SecretAccessKey + `"}`}); resp.Status != 200 {
		t.Fatalf("admin's report: %s", resp)
	}
	if resp := s.Do(request{Method: "POST", Path: keyPath(byHand) + "/disable", Token: admin}); resp.Status != 200 {
		t.Fatalf("disable: %s", resp)
	}
	want := map[string]*string{byGitHub.AccessKeyID: ptr(leakURL), byAdmin.AccessKeyID: nil, byHand.AccessKeyID: nil}
	leaked := map[string]bool{byGitHub.AccessKeyID: true, byAdmin.AccessKeyID: true}

	// Every view.
	check := func(view string, k leakView) {
		t.Helper()
		if _, ours := want[k.AccessKeyID]; !ours {
			return
		}
		if k.Status != "Inactive" {
			t.Errorf("%s: %s is %s, want Inactive", view, k.AccessKeyID, k.Status)
		}
		if got, wantURL := k.LeakURL, want[k.AccessKeyID]; (got == nil) != (wantURL == nil) || got != nil && *got != *wantURL {
			t.Errorf("%s: %s leakUrl %v, want %v", view, k.AccessKeyID, deref(got), deref(wantURL))
		}
		if !leaked[k.AccessKeyID] {
			if k.LeakedAt != nil {
				t.Errorf("%s: %s, disabled by hand, shows leakedAt %s", view, k.AccessKeyID, *k.LeakedAt)
			}
			return
		}
		at, err := time.Parse(time.RFC3339, deref(k.LeakedAt))
		if err != nil || at.Before(began) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: %s leakedAt %q, want an RFC 3339 time of the report", view, k.AccessKeyID, deref(k.LeakedAt))
		}
	}
	for _, key := range []createdKey{byGitHub, byAdmin, byHand} {
		var k leakView
		resp := s.Do(request{Method: "GET", Path: keyPath(key), Token: admin})
		resp.Decode(t, &k)
		check("get", k)
		var list struct{ AccessKeys []leakView }
		resp = s.Do(request{Method: "GET", Path: keysPath("t1", key.MemberID), Token: admin})
		resp.Decode(t, &list)
		for _, k := range list.AccessKeys {
			check("member list", k)
		}
	}
	var team struct{ AccessKeys []leakView }
	s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys", Token: admin}).Decode(t, &team)
	var report struct{ Keys []leakView }
	s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys/report?format=json", Token: admin}).Decode(t, &report)
	if len(team.AccessKeys) != 3 || len(report.Keys) != 3 {
		t.Fatalf("team list %d keys, report %d, want 3", len(team.AccessKeys), len(report.Keys))
	}
	for i := range 3 {
		check("team list", team.AccessKeys[i])
		check("JSON report", report.Keys[i])
	}
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys/report?format=csv", Token: admin})
	rows, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("CSV report: %v: %s", err, resp)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, row := range rows[1:] {
		k := leakView{AccessKeyID: row[col["accessKeyId"]], Status: row[col["status"]]}
		if v := row[col["leakedAt"]]; v != "" {
			k.LeakedAt = &v
		}
		if v := row[col["leakUrl"]]; v != "" {
			k.LeakURL = &v
		}
		check("CSV report", k)
	}

	// Enable: refused for the leaked keys, nothing changed or recorded.
	recorded := len(auditList(t, s))
	for _, key := range []createdKey{byGitHub, byAdmin} {
		resp := s.Do(request{Method: "POST", Path: keyPath(key) + "/enable", Token: admin})
		if resp.Status != http.StatusConflict || resp.ErrorCode(t) != "KeyLeaked" {
			t.Fatalf("enable of leaked %s: %s, want 409 KeyLeaked", key.AccessKeyID, resp)
		}
		var body struct{ Error struct{ Message string } }
		resp.Decode(t, &body)
		msg := body.Error.Message
		if !strings.HasPrefix(msg, "The access key was reported leaked at "+time.Now().UTC().Format("2006-01-02")) || !strings.HasSuffix(msg, "rotate or delete it.") ||
			strings.Contains(msg, leakURL) != (key == byGitHub) {
			t.Errorf("enable of leaked %s says %q", key.AccessKeyID, msg)
		}
		if st := keyStatus(t, s, key); st != "Inactive" {
			t.Errorf("leaked %s is %s after a refused enable", key.AccessKeyID, st)
		}
		if refused := s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now())); refused.Status != http.StatusUnauthorized {
			t.Errorf("leaked %s signs after a refused enable: %s", key.AccessKeyID, refused)
		}
	}
	if n := len(auditList(t, s)); n != recorded {
		t.Errorf("refused enables recorded %d audit records", n-recorded)
	}

	// A key disabled by hand enables.
	if resp := s.Do(request{Method: "POST", Path: keyPath(byHand) + "/enable", Token: admin}); resp.Status != 200 {
		t.Fatalf("enable of a key disabled by hand: %s", resp)
	}
	// The leaked key rotates: the new key is not leaked, and works.
	resp = s.Do(request{Method: "POST", Path: rotatePath(byGitHub), Token: admin, Body: `{"gracePeriodSeconds":0}`})
	if resp.Status != http.StatusCreated {
		t.Fatalf("rotate of a leaked key: %s", resp)
	}
	var fresh rotated
	resp.Decode(t, &fresh)
	var shown leakView
	s.Do(request{Method: "GET", Path: keyPath(fresh.key()), Token: admin}).Decode(t, &shown)
	if shown.Status != "Active" || shown.LeakedAt != nil || shown.LeakURL != nil {
		t.Fatalf("the leaked key's replacement: %+v", shown)
	}
	if who := s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", fresh.AccessKeyID, fresh.SecretAccessKey, time.Now())); who.Status != http.StatusOK {
		t.Fatalf("the replacement signs: %s", who)
	}
	// And the other deletes.
	if resp := s.Do(request{Method: "DELETE", Path: keyPath(byAdmin), Token: admin}); resp.Status != http.StatusNoContent {
		t.Fatalf("delete of a leaked key: %s", resp)
	}
	checkInvariants(t, s)
}

func keyPath(k createdKey) string { return keysPath(k.TeamID, k.MemberID) + "/" + k.AccessKeyID }

func ptr(s string) *string { return &s }

func deref(p *string) string {
	if p == nil {
		return "<absent>"
	}
	return *p
}

// auditList is every audit record of team t1.
func auditList(t *testing.T, s *stack) []auditEvent {
	t.Helper()
	var all []auditEvent
	for query := "?limit=100"; ; {
		page, next := auditEvents(t, s, query)
		all = append(all, page...)
		if next == nil {
			return all
		}
		query = "?limit=100&nextToken=" + *next
	}
}

// TestConsoleShowsALeakedKey: the console marks a leaked key with a
// badge, the time of the report and a link to where it was found, and
// its Enable button is disabled, saying why.
func TestConsoleShowsALeakedKey(t *testing.T) {
	exe := findChromium(t)
	gh := newGitHub(t)
	s := gh.stack(t)
	key := s.Generate("t1", "alice", "")
	feedbackOf(t, s.Do(gh.report(t, key.SecretAccessKey)))
	p := openBrowser(t, exe)
	p.do("open the console", chromedp.Navigate(s.URL+"/console"))
	p.waitUntil("the sign-in form", `!document.getElementById('signin-section').hidden`)
	p.do("sign in as admin of t1",
		clearInput("#signin-member"), chromedp.SendKeys(chromedp.CSS("#signin-member"), "admin"),
		clearInput("#signin-team"), chromedp.SendKeys(chromedp.CSS("#signin-team"), "t1\n"))
	row := fmt.Sprintf(`document.querySelector('tr[data-key-id=%q]')`, key.AccessKeyID)
	p.waitUntil("the leaked badge", row+`?.querySelector('.status-leaked')?.textContent === 'Leaked'`)
	if href := evaluate[string](p, "the leak's link", row+`.querySelector('a.leak-url').href`); href != leakURL {
		t.Errorf("the leak's link goes to %q, want %q", href, leakURL)
	}
	if text := evaluate[string](p, "the leak's time", row+`.querySelector('.leak .sub').textContent`); !strings.HasPrefix(text, "reported ") {
		t.Errorf("the leak's time reads %q", text)
	}
	if !evaluate[bool](p, "the Enable button", `document.querySelector(`+fmt.Sprintf("%q", rowButton("enable", key.AccessKeyID))+`).disabled`) {
		t.Error("a leaked key's Enable button is enabled")
	}
	if title := evaluate[string](p, "the Enable button's title", `document.querySelector(`+fmt.Sprintf("%q", rowButton("enable", key.AccessKeyID))+`).title`); !strings.Contains(title, "Rotate or delete it") {
		t.Errorf("the Enable button says %q", title)
	}
	p.shot("leaked-key")
}
