package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/pkg/client"
)

const (
	reportPath   = "/v1/teams/t1/access-keys/report"
	reportHeader = "memberId,accessKeyId,status\n"
)

func link(format, token string) map[string]string {
	return map[string]string{"Link": "<report?" + url.Values{"format": {format}, "nextToken": {token}}.Encode() + `>; rel="next"`}
}

func jsonReportPage(ids []string, next string) string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = strings.Replace(strings.TrimSuffix(fakeKey, "}")+`,"ageDays":1,"daysSinceLastUse":null}`, fakeKeyID, id, 1)
	}
	n := "null"
	if next != "" {
		n = `"` + next + `"`
	}
	return `{"teamId":"t1","generatedAt":"2026-12-02T10:00:00Z","keys":[` + strings.Join(keys, ",") + `],"nextToken":` + n + `}`
}

// reportAPI is a fake API whose report has three pages, the third failing
// when fail is set.
func reportAPI(t *testing.T, fail bool) *fakeAPI {
	last := fakeAnswer{200, reportHeader + "m3,k4,Active\n"}
	lastJSON := fakeAnswer{200, jsonReportPage([]string{"TKAKDDDDDDDDDDDDDDDDDDDD"}, "")}
	if fail {
		last = fakeAnswer{503, `{"error":{"code":"ServiceUnavailable","message":"retry later","requestId":"r-503"}}`}
		lastJSON = last
	}
	api := newFakeAPI(t, map[string]fakeAnswer{
		"GET " + reportPath + "?format=csv":               {200, reportHeader + "m1,k1,Active\nm1,k2,Inactive\n"},
		"GET " + reportPath + "?format=csv&nextToken=p2":  {200, reportHeader + "m2,\"k,3\",Active\n"},
		"GET " + reportPath + "?format=csv&nextToken=p3":  last,
		"GET " + reportPath + "?format=json":              {200, jsonReportPage([]string{"TKAKAAAAAAAAAAAAAAAAAAAA", "TKAKBBBBBBBBBBBBBBBBBBBB"}, "p2")},
		"GET " + reportPath + "?format=json&nextToken=p2": {200, jsonReportPage([]string{"TKAKCCCCCCCCCCCCCCCCCCCC"}, "p3")},
		"GET " + reportPath + "?format=json&nextToken=p3": lastJSON,
	})
	api.answerHeaders = map[string]map[string]string{
		"GET " + reportPath + "?format=csv":              link("csv", "p2"),
		"GET " + reportPath + "?format=csv&nextToken=p2": link("csv", "p3"),
	}
	return api
}

// TestReportFollowsEveryPage: report reads every page into one CSV (the
// header once) or one JSON report, says its progress on stderr, and with
// --output-file writes the file only once the report is whole.
func TestReportFollowsEveryPage(t *testing.T) {
	api := reportAPI(t, false)
	res := want(t, api.env().exec(t, "report"), exitOK)
	if res.stdout != reportHeader+"m1,k1,Active\nm1,k2,Inactive\nm2,\"k,3\",Active\nm3,k4,Active\n" {
		t.Errorf("CSV:\n%s", res.stdout)
	}
	if !strings.Contains(res.stderr, "report: 2 pages, 3 keys\n") || !strings.HasSuffix(res.stderr, "report: 3 pages, 4 keys\n") {
		t.Errorf("progress:\n%s", res.stderr)
	}

	res = want(t, api.env().exec(t, "report", "-o", "json"), exitOK)
	var r client.CredentialReport
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil || len(r.Keys) != 4 || r.Keys[3].AccessKeyId != "TKAKDDDDDDDDDDDDDDDDDDDD" || r.TeamId != "t1" || r.NextToken != nil {
		t.Fatalf("JSON %+v, %v:\n%s", r, err, res.stdout)
	}
	var indented strings.Builder
	if err := printJSON(&indented, r); err != nil || indented.String() != res.stdout {
		t.Errorf("JSON is not printJSON's of the whole report:\n%s\nwant\n%s", res.stdout, indented.String())
	}

	rows := tableRows(t, want(t, api.env().exec(t, "report", "-o", "table"), exitOK).stdout)
	if len(rows) != 4 {
		t.Errorf("table: %d rows", len(rows))
	}

	file := filepath.Join(t.TempDir(), "report.csv")
	res = want(t, api.env().exec(t, "report", "--output-file", file), exitOK)
	got, err := os.ReadFile(file)
	if err != nil || string(got) != reportHeader+"m1,k1,Active\nm1,k2,Inactive\nm2,\"k,3\",Active\nm3,k4,Active\n" || res.stdout != "" {
		t.Errorf("file %q, %v; stdout %q", got, err, res.stdout)
	}
}

// TestReportFailsOnAFailedPage: a page that fails (after the client's
// retries) makes report exit 1 with the error on stderr; an --output-file
// is not written (an existing one is left as it was) and no temporary file
// stays.
func TestReportFailsOnAFailedPage(t *testing.T) {
	api := reportAPI(t, true)
	for _, o := range []string{"csv", "json", "table"} {
		res := want(t, api.env().exec(t, "report", "-o", o, "--timeout", "5s"), exitFailure)
		if !strings.Contains(res.stderr, "ServiceUnavailable") {
			t.Errorf("-o %s: %s", o, res)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.csv")
	if err := os.WriteFile(file, []byte("last week's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := want(t, api.env().exec(t, "report", "--output-file", file, "--timeout", "5s"), exitFailure)
	if got, _ := os.ReadFile(file); string(got) != "last week's\n" {
		t.Errorf("the file became %q: %s", got, res)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the folder: %v", entries)
	}
}
