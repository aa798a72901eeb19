package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/teamkeys/teamkeys/pkg/signing"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browserWait bounds every wait on the page: generous, since a cold
// browser on a busy CI machine is slow; nothing asserts a duration.
const browserWait = 60 * time.Second

// consoleShots is the git-ignored folder of the screenshots, from the
// repository's root.
var consoleShots = filepath.Join("..", ".screenshots", "console")

// secretPattern and tokenPattern match any teamkeys secret and any JWT: no
// URL, storage or console message of the page may hold one.
var (
	secretPattern = regexp.MustCompile(`tksk_[A-Za-z0-9]+`)
	tokenPattern  = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
)

// TestConsole walks the console page in headless Chromium against the local
// server on the real emulators, as a new user would after make run: sign
// in, generate a key and read its secret once (and download it), sign a
// request with it (from Go and from the page), hit the cap, disable,
// enable, rotate, delete, and read the audit trail; and no secret or token
// is left in a URL, the page's storage, a cookie or the console. Each
// state's screenshot is saved under .screenshots/console/ (docs/console.png
// is a copy of 06-keys.png).
func TestConsole(t *testing.T) {
	exe := findChromium(t)
	s := newStack(t)
	p := openBrowser(t, exe)

	// Sign in, with the keyboard: Enter in the form submits it.
	p.do("open the console", chromedp.Navigate(s.URL+"/console"))
	p.waitUntil("the sign-in form", `!document.getElementById('signin-section').hidden`)
	if loc := evaluate[string](p, "the page's address", `location.pathname`); loc != "/console/" {
		t.Errorf("/console led to %s, want /console/", loc)
	}
	p.shot("01-sign-in")
	p.do("sign in as admin of t1",
		clearInput("#signin-member"),
		chromedp.SendKeys(chromedp.CSS("#signin-member"), "admin"),
		clearInput("#signin-team"),
		chromedp.SendKeys(chromedp.CSS("#signin-team"), "t1\n"))
	p.waitUntil("the keys table after sign-in", `!document.getElementById('keys-section').hidden && document.getElementById('keys-count').textContent === '(0)'`)
	p.wantText("#session-bar", "Signed in as admin")
	p.wantText("#session-bar", "admin of team t1")
	p.shot("02-signed-in")

	// Escape closes a dialog and gives the focus back.
	p.do("open Generate key", chromedp.Click(chromedp.CSS("#generate-open")))
	p.waitUntil("the generate dialog with the focus on the member", `document.getElementById('generate-dialog').open && document.activeElement.id === 'generate-member'`)
	p.do("press Escape", chromedp.KeyEvent(kb.Escape))
	p.waitUntil("the generate dialog to close on Escape, the focus back on Generate key", `!document.getElementById('generate-dialog').open && document.activeElement.id === 'generate-open'`)

	// Generate for alice, read the secret once, download it.
	first := p.generate("alice", "CI deploys", "03-generate", "04-secret")
	p.setDownloads()
	p.do("download the .csv", chromedp.Click(chromedp.CSS("#secret-download")))
	csvFile := filepath.Join(p.downloads, first.id+"_accessKeys.csv")
	wantCSV := "Access key ID,Secret access key\r\n" + first.id + "," + first.secret + "\r\n"
	if got := waitForFile(t, csvFile); got != wantCSV {
		t.Errorf("%s holds %q, want %q", filepath.Base(csvFile), got, wantCSV)
	}
	p.closeSecret(first)

	// The secret signs a request, from Go (pkg/signing, SigV4)...
	if who := whoAmIFromGo(t, s, first); who.MemberID != "alice" || who.AccessKeyID != first.id || who.TeamID != "t1" {
		t.Fatalf("whoami with the console's secret: %+v, want alice's key %s in t1", who, first.id)
	}
	// ...and from the page's own "Try a key" panel (SigV4 in WebCrypto).
	p.do("type the key into Try a key",
		chromedp.SendKeys(chromedp.CSS("#try-key-id"), first.id),
		chromedp.SendKeys(chromedp.CSS("#try-secret"), first.secret),
		chromedp.Click(chromedp.CSS("#try-send")))
	p.waitUntil("Try a key to show alice", `!document.getElementById('try-result').hidden && document.getElementById('try-member').textContent === 'alice'`)
	p.wantText("#try-answer-key", first.id)
	p.wantText("#try-scheme", "AWS4-HMAC-SHA256")
	p.waitUntil("the key's last use in the table", fmt.Sprintf(`(document.querySelector('tr[data-key-id=%q]') || {}).textContent?.includes('from 127.0.0.1')`, first.id))
	p.shot("05-try-a-key")
	p.do("clear Try a key", chromedp.Click(chromedp.CSS("#try-clear")))

	// A key for bob, a second for alice: the table the README shows.
	bob := p.generate("bob", "laptop", "", "")
	p.closeSecret(bob)
	second := p.generate("alice", "staging deploys", "", "")
	p.closeSecret(second)
	p.waitUntil("three keys in the table", `document.querySelectorAll('#keys-body tr').length === 3`)
	p.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	if evaluate[bool](p, "the table's width", `(() => { const w = document.getElementById('keys-table').parentElement; return w.scrollWidth > w.clientWidth; })()`) {
		t.Errorf("the keys table is wider than a 1280-pixel window: its columns scroll")
	}
	p.shot("06-keys")

	// A third for alice: the cap, in words.
	p.do("open Generate key", chromedp.Click(chromedp.CSS("#generate-open")))
	p.waitUntil("the generate dialog", `document.getElementById('generate-dialog').open`)
	p.do("generate a third key for alice",
		chromedp.SendKeys(chromedp.CSS("#generate-member"), "alice"),
		chromedp.Click(chromedp.CSS("#generate-confirm")))
	p.waitUntil("the cap message", `!document.getElementById('generate-alert').hidden`)
	p.wantText("#generate-alert", "alice already has two keys: rotate or delete one.")
	p.wantText("#generate-alert", "Request id: ")
	p.shot("07-cap")
	p.do("cancel", chromedp.Click(chromedp.CSS("#generate-dialog [data-close]")))
	p.waitUntil("the generate dialog to close", `!document.getElementById('generate-dialog').open`)

	// Disable, behind the page's own confirmation naming key and member.
	p.do("click Disable", chromedp.Click(chromedp.CSS(rowButton("disable", first.id))))
	p.waitUntil("the confirmation", `document.getElementById('confirm-dialog').open`)
	p.wantText("#confirm-message", "Disable key "+first.id+" of alice?")
	p.shot("08-confirm-disable")
	p.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	p.waitUntil("status Inactive", statusIs(first.id, "Inactive"))
	p.shot("09-disabled")
	// Refused within 1 s: the key's item may be cached that long.
	refusedWithinTheBound(t, func() response { return s.Send(signedWhoAmI(t, s, first)) }, "KeyDisabled")
	p.do("click Enable", chromedp.Click(chromedp.CSS(rowButton("enable", first.id))))
	p.waitUntil("status Active", statusIs(first.id, "Active"))

	// Rotating one of alice's two keys with a grace period needs a third
	// slot: the page says so, and what to do instead.
	p.do("click Rotate", chromedp.Click(chromedp.CSS(rowButton("rotate", first.id))))
	p.waitUntil("the rotate dialog", `document.getElementById('rotate-dialog').open`)
	p.do("rotate with the default grace period", chromedp.Click(chromedp.CSS("#rotate-confirm")))
	p.waitUntil("the cap message of a rotation", `!document.getElementById('rotate-alert').hidden`)
	p.wantText("#rotate-alert", "alice already has two keys, so the new key has no slot during the grace period: rotate with a grace period of 0")
	p.do("cancel", chromedp.Click(chromedp.CSS("#rotate-dialog [data-close]")))
	p.waitUntil("the rotate dialog to close", `!document.getElementById('rotate-dialog').open`)

	// Rotate bob's key with a grace period: a new key, its secret shown once.
	p.do("click Rotate", chromedp.Click(chromedp.CSS(rowButton("rotate", bob.id))))
	p.waitUntil("the rotate dialog", `document.getElementById('rotate-dialog').open`)
	p.wantText("#rotate-message", "Rotate key "+bob.id+" of bob")
	p.do("a grace period of an hour", clearInput("#rotate-grace"), chromedp.SendKeys(chromedp.CSS("#rotate-grace"), "3600"))
	p.shot("10-rotate")
	p.do("confirm the rotation", chromedp.Click(chromedp.CSS("#rotate-confirm")))
	p.waitUntil("the new key's secret", `document.getElementById('secret-dialog').open && document.getElementById('secret-value').value !== ''`)
	p.wantText("#secret-title", "Access key rotated")
	rotated := p.readSecret()
	if rotated.id == bob.id || !strings.HasPrefix(rotated.secret, "tksk_") {
		t.Fatalf("rotation showed %s / %q, want a new key and its secret", rotated.id, rotated.secret)
	}
	p.shot("11-rotated")
	p.do("Try this key", chromedp.Click(chromedp.CSS("#secret-try")))
	p.waitUntil("the secret dialog to close", `!document.getElementById('secret-dialog').open`)
	p.do("send the signed request", chromedp.Click(chromedp.CSS("#try-send")))
	p.waitUntil("Try a key to show bob", `!document.getElementById('try-result').hidden && document.getElementById('try-member').textContent === 'bob'`)
	p.wantText("#try-answer-key", rotated.id)
	p.do("clear Try a key", chromedp.Click(chromedp.CSS("#try-clear")))
	p.waitUntil("the new key in the table", fmt.Sprintf(`(document.querySelector('tr[data-key-id=%q]') || {}).textContent?.includes('rotated from %s')`, rotated.id, bob.id))
	p.waitUntil("the old key to expire after the grace period", fmt.Sprintf(`!(document.querySelector('tr[data-key-id=%q]') || {textContent: 'Never'}).children[5]?.textContent.includes('Never')`, bob.id))

	// Delete alice's second key, behind a confirmation (once the table the
	// try reloads in the background is done).
	p.waitUntil("the table reloaded after the try", `!document.body.dataset.keysLoading`)
	p.do("click Delete", chromedp.Click(chromedp.CSS(rowButton("delete", second.id))))
	p.waitUntil("the confirmation", `document.getElementById('confirm-dialog').open`)
	p.wantText("#confirm-message", "Delete key "+second.id+" of alice?")
	p.shot("12-confirm-delete")
	p.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	p.waitUntil("the deleted key to leave the table", fmt.Sprintf(`document.querySelector('tr[data-key-id=%q]') === null && document.querySelectorAll('#keys-body tr').length === 3`, second.id))
	p.shot("13-deleted")

	// The audit panel lists what was done.
	for _, action := range []string{"AccessKeyCreated", "AccessKeyDisabled", "AccessKeyEnabled", "AccessKeyRotated", "AccessKeyDeleted"} {
		p.waitUntil("audit event "+action, fmt.Sprintf(`document.getElementById('audit-body').textContent.includes(%q)`, action))
	}
	p.do("scroll to the audit events", chromedp.Evaluate[chromedp.Void](`document.getElementById('audit-section').scrollIntoView()`))
	p.shot("14-audit")

	// Every control is labelled, every table has a caption and headers.
	if unlabelled := evaluate[[]string](p, "unlabelled controls", `[...document.querySelectorAll('input, select, textarea, button')].filter((e) =>
		e.tagName === 'BUTTON' ? !(e.textContent.trim() || e.getAttribute('aria-label')) : !((e.labels && e.labels.length) || e.getAttribute('aria-label'))
	).map((e) => e.id || e.outerHTML.slice(0, 80))`); len(unlabelled) > 0 {
		t.Errorf("controls without a label: %v", unlabelled)
	}
	if !evaluate[bool](p, "table captions", `[...document.querySelectorAll('table')].every((t) => t.caption && t.caption.textContent.trim() && t.tHead.querySelectorAll('th[scope=col]').length > 0)`) {
		t.Errorf("a table lacks a caption or column headers")
	}

	// Nothing secret is left where it outlives the page or shows in a log.
	secrets := []string{first.secret, second.secret, bob.secret, rotated.secret}
	p.wantNoSecrets(s, secrets)
}

// findChromium returns the browser to drive: TEAMKEYS_CHROMIUM when set,
// else Debian's chromium. A missing browser fails the test, saying how to
// install it, unless TEAMKEYS_SKIP_BROWSER=1 skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("TEAMKEYS_SKIP_BROWSER") == "1" {
		t.Skip("TEAMKEYS_SKIP_BROWSER=1: the console's browser test is skipped")
	}
	want := chromiumPath
	if exe := os.Getenv("TEAMKEYS_CHROMIUM"); exe != "" {
		want = exe
	} else if _, err := os.Stat(chromiumPath); err != nil {
		if exe, err := exec.LookPath("chromium"); err == nil {
			want = exe
		}
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("the console's browser test needs Debian's chromium, and %s is missing: install it with "+
			"`make chromium` (apt-get update && apt-get install -y chromium), or set TEAMKEYS_SKIP_BROWSER=1 to skip this test", want)
	}
	return want
}

// consolePage is the console in one tab of a headless Chromium.
type consolePage struct {
	t         *testing.T
	ctx       context.Context // a chromedp context that has run once
	downloads string

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// openBrowser starts chromium for the test (stopped when it ends) and
// collects the page's console messages.
func openBrowser(t *testing.T, exe string) *consolePage {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1280, 800))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })

	// The first Do starts the browser for the life of ctx: no timeout on
	// it, but a bound on the wait.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", exe, err)
		}
	case <-time.After(browserWait):
		t.Fatalf("%s did not start within %v", exe, browserWait)
	}
	p := &consolePage{t: t, ctx: ctx, downloads: t.TempDir()}
	p.do("set a 1280x800 viewport", chromedp.EmulateViewport(1280, 800))
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.messages = append(p.messages, m)
			p.mu.Unlock()
		}
	}()
	if err := os.MkdirAll(consoleShots, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// do runs actions, each bounded by browserWait.
func (p *consolePage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s (within %v): %v", what, browserWait, err)
	}
}

func evaluate[T any](p *consolePage, what, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("read %s: %v", what, err)
	}
	return v
}

// waitUntil waits for a JavaScript condition to hold on the page.
func (p *consolePage) waitUntil(what, condition string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](condition,
		chromedp.WithPollingTimeout(browserWait), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		alert := evaluate[string](p, "the alert", `document.getElementById('alert').hidden ? '' : document.getElementById('alert').textContent.trim()`)
		p.t.Fatalf("waited %v for %s: %v (page alert: %q)", browserWait, what, err, alert)
	}
}

// wantText checks that the element's text holds want.
func (p *consolePage) wantText(selector, want string) {
	p.t.Helper()
	got := evaluate[string](p, selector, fmt.Sprintf(`document.querySelector(%q).textContent`, selector))
	if !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
		p.t.Errorf("%s says %q, want it to say %q", selector, got, want)
	}
}

// shot saves a PNG of the page as the user sees it.
func (p *consolePage) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(consoleShots, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// setDownloads sends the page's downloads to a temporary folder (headless
// downloads go nowhere otherwise).
func (p *consolePage) setDownloads() {
	p.t.Helper()
	_, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: p.downloads})
	if err != nil {
		p.t.Fatalf("set the download folder: %v", err)
	}
}

type shownKey struct{ id, secret string }

// generate makes a key through the Generate key dialog and returns what
// the secret dialog shows, leaving it open; shots name the screenshots of
// the filled dialog and of the secret (none when empty).
func (p *consolePage) generate(member, description, formShot, secretShot string) shownKey {
	p.t.Helper()
	p.do("open Generate key", chromedp.Click(chromedp.CSS("#generate-open")))
	p.waitUntil("the generate dialog", `document.getElementById('generate-dialog').open`)
	p.do("fill in the generate dialog",
		chromedp.SendKeys(chromedp.CSS("#generate-member"), member),
		chromedp.SendKeys(chromedp.CSS("#generate-description"), description))
	if formShot != "" {
		p.shot(formShot)
	}
	p.do("confirm", chromedp.Click(chromedp.CSS("#generate-confirm")))
	p.waitUntil("the secret dialog for "+member, `document.getElementById('secret-dialog').open && document.getElementById('secret-value').value !== ''`)
	p.wantText("#secret-warning", "This is the only time the secret access key can be viewed or downloaded. You cannot recover it later.")
	p.wantText("#secret-subtitle", "For "+member+" of team t1")
	key := p.readSecret()
	if !strings.HasPrefix(key.id, "TKAK") || !strings.HasPrefix(key.secret, "tksk_") {
		p.t.Fatalf("the secret dialog shows %q / %q, want an access key id and a tksk_ secret", key.id, key.secret)
	}
	if secretShot != "" {
		p.shot(secretShot)
	}
	return key
}

func (p *consolePage) readSecret() shownKey {
	p.t.Helper()
	return shownKey{
		id:     evaluate[string](p, "the access key id", `document.getElementById('secret-key-id').value`),
		secret: evaluate[string](p, "the secret", `document.getElementById('secret-value').value`),
	}
}

// closeSecret closes the secret dialog with Done and checks that the
// secret is gone from the page.
func (p *consolePage) closeSecret(key shownKey) {
	p.t.Helper()
	p.do("close the secret dialog", chromedp.Click(chromedp.CSS("#secret-done")))
	p.waitUntil("the secret dialog to close", `!document.getElementById('secret-dialog').open`)
	p.waitUntil("the new key in the table", fmt.Sprintf(`document.querySelector('tr[data-key-id=%q]') !== null`, key.id))
	// The dialog's close event, which forgets the secret, follows close().
	secret, _ := json.Marshal(key.secret)
	p.waitUntil("the secret of "+key.id+" to leave the page once its dialog closed", fmt.Sprintf(`!document.documentElement.outerHTML.includes(%s) &&
		![...document.querySelectorAll('input, textarea')].some((e) => e.value.includes(%s))`, secret, secret))
}

// wantNoSecrets checks the page's storage, cookies, URLs and console
// messages for the secrets shown and for any secret or token at all.
func (p *consolePage) wantNoSecrets(s *stack, secrets []string) {
	p.t.Helper()
	if n := evaluate[int](p, "the page's storage", `localStorage.length + sessionStorage.length`); n != 0 {
		p.t.Errorf("the page keeps %d items in localStorage/sessionStorage, want none", n)
	}
	if c := evaluate[string](p, "document.cookie", `document.cookie`); c != "" {
		p.t.Errorf("the page has cookies %q, want none", c)
	}
	cookies, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.URL}})
	if err != nil {
		p.t.Fatalf("read the browser's cookies: %v", err)
	}
	var places []string // every URL and message the page produced
	for _, c := range cookies.Cookies {
		places = append(places, "cookie "+c.Name+"="+c.Value)
	}
	places = append(places, evaluate[[]string](p, "the page's URLs", `[location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]`)...)
	history, err := chromedp.Run(p.ctx, chromedp.NavigationEntries())
	if err != nil {
		p.t.Fatalf("read the history: %v", err)
	}
	for _, e := range history.Entries {
		places = append(places, e.URL)
	}
	p.mu.Lock()
	messages := p.messages
	p.mu.Unlock()
	for _, m := range messages {
		places = append(places, "console: "+m.String())
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			p.t.Errorf("the page's console shows %s", m)
		}
	}
	for _, place := range places {
		leaked := secretPattern.MatchString(place) || tokenPattern.MatchString(place)
		for _, secret := range secrets {
			leaked = leaked || strings.Contains(place, secret)
		}
		if leaked {
			p.t.Errorf("a secret or token in %q", place)
		}
	}
}

// clearInput empties an input, as select-all and Delete would.
// (chromedp v0.23.1's SetValue with "" sets the value "undefined".)
func clearInput(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ''`, selector))
}

func rowButton(action, keyID string) string {
	return fmt.Sprintf(`button[data-action=%q][data-key-id=%q]`, action, keyID)
}

func statusIs(keyID, status string) string {
	return fmt.Sprintf(`(document.querySelector('tr[data-key-id=%q] .status') || {}).textContent === %q`, keyID, status)
}

// waitForFile waits for a finished download and returns its content.
func waitForFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return string(b)
		}
		if !errors.Is(err, os.ErrNotExist) && err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(filepath.Dir(path))
			t.Fatalf("waited %v for the download %s; the folder holds %v", browserWait, filepath.Base(path), entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func signedWhoAmI(t *testing.T, s *stack, key shownKey) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+"/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.SignSigV4(req, nil, key.id, key.secret, s.Config.SigningRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func whoAmIFromGo(t *testing.T, s *stack, key shownKey) whoAmI {
	t.Helper()
	resp := s.Send(signedWhoAmI(t, s, key))
	if resp.Status != http.StatusOK {
		t.Fatalf("whoami signed with the secret the console showed: %s", resp)
	}
	var got whoAmI
	resp.Decode(t, &got)
	return got
}
