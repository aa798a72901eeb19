package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// restrictionsOf is the text of a key's restrictions, under its description.
func restrictionsOf(keyID string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('tr[data-key-id=%q] .restrictions .restriction')].map((e) => e.textContent.replace(/\s+/g, ' ').trim()).join(' ')`, keyID)
}

// TestConsoleRestrictions: in headless Chromium against the local server,
// generate a key with source networks and scopes (an entry the service
// can't read is refused in the dialog, naming it), see them in the table
// as the service stored them, edit them from the key's row (the signed
// request from this machine is then refused, in the page), lift them
// again, and read the change in the audit panel.
func TestConsoleRestrictions(t *testing.T) {
	exe := findChromium(t)
	s := newStack(t)
	p := openBrowser(t, exe)

	p.do("open the console", chromedp.Navigate(s.URL+"/console"))
	p.waitUntil("the sign-in form", `!document.getElementById('signin-section').hidden`)
	p.do("sign in as admin of t1",
		clearInput("#signin-member"),
		chromedp.SendKeys(chromedp.CSS("#signin-member"), "admin"),
		clearInput("#signin-team"),
		chromedp.SendKeys(chromedp.CSS("#signin-team"), "t1\n"))
	p.waitUntil("the keys table after sign-in", `!document.getElementById('keys-section').hidden && document.getElementById('keys-count').textContent === '(0)'`)

	// A bad network: the service's 400 in the dialog, naming the entry.
	p.do("open Generate key", chromedp.Click(chromedp.CSS("#generate-open")))
	p.waitUntil("the generate dialog", `document.getElementById('generate-dialog').open && document.getElementById('generate-scopes').hidden`)
	p.do("fill in a bad network",
		chromedp.SendKeys(chromedp.CSS("#generate-member"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#generate-cidrs"), "127.0.0.1, 10.0.0.0/33"))
	p.do("confirm", chromedp.Click(chromedp.CSS("#generate-confirm")))
	p.waitUntil("the refusal in the dialog", `!document.getElementById('generate-alert').hidden`)
	p.wantText("#generate-alert", "ValidationError")
	p.wantText("#generate-alert", "10.0.0.0/33")

	// Fix it, with scopes: the key shows them as stored (canonical, sorted).
	p.do("fix the networks, pick scopes",
		clearInput("#generate-cidrs"),
		chromedp.SendKeys(chromedp.CSS("#generate-cidrs"), "2001:db8::1/48\n127.0.0.1"),
		chromedp.SetValue(chromedp.CSS("#generate-scopes-mode"), "list"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('generate-scopes-mode').dispatchEvent(new Event('change'))`))
	p.waitUntil("the scopes list to show", `!document.getElementById('generate-scopes').hidden`)
	p.do("type scopes", chromedp.SendKeys(chromedp.CSS("#generate-scopes"), "orders:read, invoices:*"))
	p.shot("20-generate-restricted")
	p.do("confirm", chromedp.Click(chromedp.CSS("#generate-confirm")))
	p.waitUntil("the secret dialog", `document.getElementById('secret-dialog').open && document.getElementById('secret-value').value !== ''`)
	key := p.readSecret()
	p.closeSecret(key)
	p.waitUntil("the key's restrictions in the table", restrictionsOf(key.id)+` === 'Networks: 127.0.0.1/32, 2001:db8::/48 Scopes: invoices:*, orders:read'`)
	p.shot("21-restricted-in-table")

	// Try a key from this machine (127.0.0.1, inside): it shows them too.
	p.do("try the key",
		chromedp.SendKeys(chromedp.CSS("#try-key-id"), key.id),
		chromedp.SendKeys(chromedp.CSS("#try-secret"), key.secret),
		chromedp.Click(chromedp.CSS("#try-send")))
	p.waitUntil("Try a key to show alice", `!document.getElementById('try-result').hidden && document.getElementById('try-member').textContent === 'alice'`)
	p.wantText("#try-cidrs", "127.0.0.1/32, 2001:db8::/48")
	p.wantText("#try-scopes", "invoices:*, orders:read")

	// The try reloads the table (the key's last use) in the background:
	// click in the table once it is done.
	p.waitUntil("the table reloaded after the try", `!document.body.dataset.keysLoading`)
	// Edit from the key's row: the dialog holds the key's values.
	p.do("click Edit", chromedp.Click(chromedp.CSS(rowButton("edit", key.id))))
	p.waitUntil("the edit dialog with the key's values", `document.getElementById('edit-dialog').open &&
		document.getElementById('edit-cidrs').value === '127.0.0.1/32\n2001:db8::/48' &&
		document.getElementById('edit-scopes-mode').value === 'list' && !document.getElementById('edit-scopes').hidden &&
		document.activeElement.id === 'edit-description'`)
	p.wantText("#edit-message", "Key "+key.id+" of alice")
	// A bad scope: refused in the dialog, naming it.
	p.do("type a bad scope", clearInput("#edit-scopes"), chromedp.SendKeys(chromedp.CSS("#edit-scopes"), "orders:*:read"),
		chromedp.Click(chromedp.CSS("#edit-confirm")))
	p.waitUntil("the refusal in the edit dialog", `!document.getElementById('edit-alert').hidden`)
	p.wantText("#edit-alert", "orders:*:read")
	// Another network, no scope, a description.
	p.do("edit the key",
		clearInput("#edit-cidrs"),
		chromedp.SendKeys(chromedp.CSS("#edit-cidrs"), "203.0.113.9/24"),
		chromedp.SetValue(chromedp.CSS("#edit-scopes-mode"), "none"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('edit-scopes-mode').dispatchEvent(new Event('change'))`),
		chromedp.SendKeys(chromedp.CSS("#edit-description"), "office only"))
	p.shot("22-edit")
	p.do("save", chromedp.Click(chromedp.CSS("#edit-confirm")))
	p.waitUntil("the edit dialog to close", `!document.getElementById('edit-dialog').open`)
	p.waitUntil("the edited restrictions in the table", restrictionsOf(key.id)+` === 'Networks: 203.0.113.0/24 Scopes: none'`)
	p.waitUntil("the new description", fmt.Sprintf(`document.querySelector('tr[data-key-id=%q]').textContent.includes('office only')`, key.id))
	p.shot("23-edited")

	// From this machine the key is refused now (within the key cache's
	// second; the page shows the service's code and the address).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p.do("send the signed request", chromedp.Evaluate[chromedp.Void](`document.getElementById('alert').hidden = true`),
			chromedp.Click(chromedp.CSS("#try-send")))
		p.waitUntil("the answer", `!document.getElementById('try-send').disabled`)
		alert := evaluate[string](p, "the alert", `document.getElementById('alert').hidden ? '' : document.getElementById('alert').textContent`)
		if strings.Contains(alert, "SourceIpNotAllowed") && strings.Contains(alert, "127.0.0.1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Try a key from 127.0.0.1 after the edit, within 1 s (waited up to 10 s): alert %q", alert)
		}
	}
	p.shot("24-source-refused")
	p.do("clear Try a key", chromedp.Click(chromedp.CSS("#try-clear")))

	// Lift both: any network, every scope.
	p.do("click Edit", chromedp.Click(chromedp.CSS(rowButton("edit", key.id))))
	p.waitUntil("the edit dialog", `document.getElementById('edit-dialog').open && document.getElementById('edit-scopes-mode').value === 'none'`)
	p.do("lift both",
		clearInput("#edit-cidrs"),
		chromedp.SetValue(chromedp.CSS("#edit-scopes-mode"), "all"),
		chromedp.Click(chromedp.CSS("#edit-confirm")))
	p.waitUntil("the lifted restrictions in the table", restrictionsOf(key.id)+` === 'Networks: any Scopes: all'`)

	// The audit panel says what changed.
	p.waitUntil("the update in the audit panel", `document.getElementById('audit-body').textContent.includes('AccessKeyUpdated') &&
		document.getElementById('audit-body').textContent.includes('networks 203.0.113.0/24 → any')`)
	p.wantNoSecrets(s, []string{key.secret})
}
