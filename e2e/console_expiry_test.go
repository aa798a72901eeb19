package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// expiryMarkOf is the text of a key's expiry mark in the table ("" for none).
func expiryMarkOf(keyID string) string {
	return fmt.Sprintf(`(document.querySelector('tr[data-key-id=%q] .status-expiring') || {textContent: ''}).textContent`, keyID)
}

// TestConsoleExpiryMarks: in headless Chromium against the local server,
// an active key that expires within the smallest of its team's
// expiryWarningDays is marked "expires in N days" (N rounded up), and a key
// further away, one that never expires and a disabled one are not; a team
// without a policy gets the default's smallest threshold, 1 day.
func TestConsoleExpiryMarks(t *testing.T) {
	exe := findChromium(t)
	s := newStack(t)
	now := time.Now().UTC()
	const day = 24 * time.Hour
	owner := func(team string) string { return s.Token("olga", team, accesskey.RoleOwner) }
	generate := func(team, member string, in time.Duration) string {
		t.Helper()
		body := `{}`
		if in != 0 {
			body = `{"expiresAt":"` + now.Add(in).Format(time.RFC3339) + `"}`
		}
		resp := s.Do(request{Method: "POST", Path: "/v1/teams/" + team + "/members/" + member + "/access-keys", Token: owner(team), Body: body})
		var created struct{ AccessKeyID string }
		if resp.Status != http.StatusCreated || json.Unmarshal(resp.Body, &created) != nil {
			t.Fatalf("generate: %s", resp)
		}
		return created.AccessKeyID
	}
	// t1 warns at 10 and 3 days: the console marks within 3.
	if resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: owner("t1"),
		Body: `{"maxLifetimeDays":null,"expiryWarningDays":[10,3]}`}); resp.Status != http.StatusOK {
		t.Fatalf("set policy: %s", resp)
	}
	soon := generate("t1", "alice", 2*day-time.Hour)
	mid := generate("t1", "alice", 5*day)
	far := generate("t1", "bob", 60*day)
	never := generate("t1", "bob", 0)
	off := generate("t1", "carol", day)
	if resp := s.Do(request{Method: "POST", Path: "/v1/teams/t1/members/carol/access-keys/" + off + "/disable", Token: owner("t1")}); resp.Status != http.StatusOK {
		t.Fatalf("disable: %s", resp)
	}
	// t2 has no policy: the default thresholds, the smallest 1 day.
	t2soon := generate("t2", "dave", 20*time.Hour)
	t2later := generate("t2", "dave", 2*day)

	p := openBrowser(t, exe)
	signIn := func(team string) {
		p.do("open the console", chromedp.Navigate(s.URL+"/console"))
		p.waitUntil("the sign-in form", `!document.getElementById('signin-section').hidden`)
		p.do("sign in as admin of "+team,
			clearInput("#signin-member"),
			chromedp.SendKeys(chromedp.CSS("#signin-member"), "admin"),
			clearInput("#signin-team"),
			chromedp.SendKeys(chromedp.CSS("#signin-team"), team+"\n"))
	}
	signIn("t1")
	p.waitUntil("t1's five keys", `!document.getElementById('keys-section').hidden && document.getElementById('keys-count').textContent === '(5)'`)
	p.shot("30-expiry-marks")
	for id, want := range map[string]string{soon: "expires in 2 days", mid: "", far: "", never: "", off: ""} {
		if got := evaluate[string](p, "the mark of "+id, expiryMarkOf(id)); got != want {
			t.Errorf("t1 key %s: mark %q, want %q", id, got, want)
		}
	}

	p.do("sign out", chromedp.Click(chromedp.CSS("#signout")))
	signIn("t2")
	p.waitUntil("t2's two keys", `!document.getElementById('keys-section').hidden && document.getElementById('keys-count').textContent === '(2)'`)
	for id, want := range map[string]string{t2soon: "expires in 1 day", t2later: ""} {
		if got := evaluate[string](p, "the mark of "+id, expiryMarkOf(id)); got != want {
			t.Errorf("t2 key %s: mark %q, want %q", id, got, want)
		}
	}
}
