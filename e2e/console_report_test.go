package e2e

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// reportSplitter serves the credential report in two pages where the
// server answers one (a team small enough for a browser test): the
// server's own first page cut in two, the second half behind a Link
// (nextToken "split-2"), or a 503 in the API's error shape when fail is
// set. The console's following of the pages is what is under test; the
// server's paging is TestCredentialReportOf5000Keys's.
type reportSplitter struct {
	mu   sync.Mutex
	rest []byte
	fail bool
}

func (sp *reportSplitter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/access-keys/report") {
			next.ServeHTTP(w, r)
			return
		}
		sp.mu.Lock()
		defer sp.mu.Unlock()
		if r.URL.Query().Get("nextToken") == "split-2" {
			if sp.fail {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"error":{"code":"ServiceUnavailable","message":"The service is briefly unavailable; retry later.","requestId":"split-2"}}`))
				return
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			_, _ = w.Write(sp.rest)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		lines := bytes.SplitAfter(body, []byte("\n"))
		if rec.Code != http.StatusOK || rec.Header().Get("Link") != "" || len(lines) < 4 {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
			return
		}
		// header, rows..., "" (after the last newline)
		half := 1 + (len(lines)-2)/2
		sp.rest = append(append([]byte(nil), lines[0]...), bytes.Join(lines[half:], nil)...)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Link", `<report?format=csv&nextToken=split-2>; rel="next"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(bytes.Join(lines[:half], nil))
	})
}

// TestConsoleReportFollowsPages: Download report follows the report's
// pages into one .csv (the header row once), saying how far it is; a page
// that fails shows the error and saves nothing.
func TestConsoleReportFollowsPages(t *testing.T) {
	exe := findChromium(t)
	split := &reportSplitter{}
	s := teststack.New(t, teststack.Options{Wrap: split.wrap})
	var ids []string
	for _, m := range []string{"alice", "alice", "bob", "carol"} {
		ids = append(ids, s.Generate("t1", m, "").AccessKeyID)
	}
	p := openBrowser(t, exe)
	p.do("open the console", chromedp.Navigate(s.URL+"/console"))
	p.waitUntil("the sign-in form", `!document.getElementById('signin-section').hidden`)
	p.do("sign in as admin of t1",
		clearInput("#signin-member"), chromedp.SendKeys(chromedp.CSS("#signin-member"), "admin"),
		clearInput("#signin-team"), chromedp.SendKeys(chromedp.CSS("#signin-team"), "t1\n"))
	p.waitUntil("the four keys", `document.getElementById('keys-count').textContent === '(4)'`)

	p.setDownloads()
	p.do("download the report", chromedp.Click(chromedp.CSS("#report-download")))
	file := filepath.Join(p.downloads, "teamkeys-t1-credential-report.csv")
	got := waitForFile(t, file)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "memberId,accessKeyId,") || strings.Count(got, "memberId,") != 1 {
		t.Fatalf("the report download:\n%s", got)
	}
	for _, id := range ids {
		if strings.Count(got, id) != 1 {
			t.Errorf("key %s is in the download %d times", id, strings.Count(got, id))
		}
	}
	p.waitUntil("the report's progress", `document.getElementById('status').textContent.includes('2 pages, 4 keys')`)
	p.wantText("#status", "Downloaded teamkeys-t1-credential-report.csv: 2 pages, 4 keys.")

	// The second page fails: an error, nothing saved.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	split.mu.Lock()
	split.fail = true
	split.mu.Unlock()
	p.do("download the report again", chromedp.Click(chromedp.CSS("#report-download")))
	p.waitUntil("the error of the failed page", `!document.getElementById('alert').hidden && document.getElementById('alert').textContent.includes('ServiceUnavailable')`)
	p.wantText("#status", "Credential report not downloaded: 1 page, 2 keys read before the error.")
	if entries, _ := os.ReadDir(p.downloads); len(entries) != 0 {
		t.Errorf("a failed report left %v in the downloads", entries)
	}
}
