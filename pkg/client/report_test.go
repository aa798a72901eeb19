package client

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

const reportHeader = "memberId,accessKeyId,status,createdAt,createdBy,expiresAt,lastUsedAt,lastUsedSourceIp,lastUsedScheme,ageDays,daysSinceLastUse\n"

func csvPage(rows, next string) answer {
	a := answer{status: 200, body: reportHeader + rows, header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}}
	if next != "" {
		a.header["Link"] = "<report?" + url.Values{"format": {"csv"}, "nextToken": {next}}.Encode() + `>; rel="next"`
	}
	return a
}

func jsonPage(id, next string) answer {
	n := "null"
	if next != "" {
		n = `"` + next + `"`
	}
	row := strings.Replace(keyJSON, "}", `,"ageDays":1,"daysSinceLastUse":null}`, 1)
	return answer{status: 200, body: `{"teamId":"t1","generatedAt":"2026-12-01T00:00:00Z","keys":[` + strings.Replace(row, "TKAKABCDEFGHIJKLMNOPQRST", id, 1) + `],"nextToken":` + n + `}`}
}

// The whole-report methods follow every page (the Link header's
// nextToken in CSV, nextToken in JSON): one CSV with the header once, one
// report with every page's keys.
func TestCredentialReportFollowsEveryPage(t *testing.T) {
	ctx := context.Background()
	f := &fakeAPI{answers: []answer{csvPage("m1,k1\n", "p 2/+"), csvPage("m2,k2\nm3,k3\n", "p3"), csvPage("", "")}}
	c, _ := testClient(t, f)
	got, err := c.CredentialReportCSV(ctx, "t1")
	if err != nil || string(got) != reportHeader+"m1,k1\nm2,k2\nm3,k3\n" {
		t.Fatalf("CSV %q, %v", got, err)
	}
	if q := f.requests()[1].query; q != "format=csv&nextToken=p+2%2F%2B" {
		t.Errorf("second page asked with %q", q)
	}

	f = &fakeAPI{answers: []answer{jsonPage("TKAKAAAAAAAAAAAAAAAAAAAA", "p2"), jsonPage("TKAKBBBBBBBBBBBBBBBBBBBB", "")}}
	c, _ = testClient(t, f)
	r, err := c.CredentialReport(ctx, "t1")
	if err != nil || len(r.Keys) != 2 || r.Keys[1].AccessKeyId != "TKAKBBBBBBBBBBBBBBBBBBBB" || r.NextToken != nil {
		t.Fatalf("report %+v, %v", r, err)
	}
	if q := f.requests()[1].query; q != "format=json&nextToken=p2" {
		t.Errorf("second page asked with %q", q)
	}
}

// A page that fails (after the client's retries) fails the whole report:
// never a report with rows missing.
func TestCredentialReportFailsOnAFailedPage(t *testing.T) {
	ctx := context.Background()
	internal := answer{status: 500, body: `{"error":{"code":"InternalError","message":"x","requestId":"r-500"}}`}
	f := &fakeAPI{answers: []answer{csvPage("m1,k1\n", "p2"), internal}}
	c, _ := testClient(t, f)
	got, err := c.CredentialReportCSV(ctx, "t1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || got != nil {
		t.Fatalf("CSV %q, %v", got, err)
	}
	f = &fakeAPI{answers: []answer{jsonPage("TKAKAAAAAAAAAAAAAAAAAAAA", "p2"), internal}}
	c, _ = testClient(t, f)
	if r, err := c.CredentialReport(ctx, "t1"); !errors.As(err, &apiErr) || r != nil {
		t.Fatalf("report %+v, %v", r, err)
	}
	// A page whose header is not the first page's is refused.
	f = &fakeAPI{answers: []answer{csvPage("m1,k1\n", "p2"), {status: 200, body: "other\nx\n", header: map[string]string{"Content-Type": "text/csv"}}}}
	c, _ = testClient(t, f)
	if got, err := c.CredentialReportCSV(ctx, "t1"); err == nil {
		t.Fatalf("CSV %q with a changed header", got)
	}
}
