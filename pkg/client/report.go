package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
)

// The credential report comes in pages (each under 5 MB): a page that is
// not the last names the next in its Link header (rel="next") and, in
// JSON, in nextToken. The methods here read one page, or follow them all.

// CredentialReportPage reads one page of the credential report as JSON;
// params.NextToken names it (nil or empty: the first). The page's
// NextToken names the next one, nil on the last.
func (c *Client) CredentialReportPage(ctx context.Context, teamID string, params *CredentialReportParams) (*CredentialReport, error) {
	q := url.Values{"format": {"json"}}
	if params != nil {
		setString(q, "nextToken", params.NextToken)
	}
	var out CredentialReport
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: teamPath(teamID) + "/access-keys/report", query: q, expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// CredentialReportPages yields the JSON pages of the report in order; it
// stops at the first error, which it yields: a report read to the end
// without an error is whole.
func (c *Client) CredentialReportPages(ctx context.Context, teamID string) iter.Seq2[*CredentialReport, error] {
	return func(yield func(*CredentialReport, error) bool) {
		params := &CredentialReportParams{}
		for {
			page, err := c.CredentialReportPage(ctx, teamID, params)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) || page.NextToken == nil || *page.NextToken == "" {
				return
			}
			params.NextToken = page.NextToken
		}
	}
}

// CSVReportPage is one page of the credential report as CSV.
type CSVReportPage struct {
	// CSV is the page as the service wrote it: the header row, then a row
	// per key.
	CSV []byte
	// NextToken names the next page (from the Link header); "" on the last.
	NextToken string
}

// CredentialReportCSVPage reads one page of the credential report as CSV;
// nextToken names it ("" the first).
func (c *Client) CredentialReportCSVPage(ctx context.Context, teamID, nextToken string) (*CSVReportPage, error) {
	q := url.Values{"format": {"csv"}}
	setString(q, "nextToken", &nextToken)
	var (
		out    CSVReportPage
		header http.Header
	)
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: teamPath(teamID) + "/access-keys/report", query: q,
		accept: "text/csv", expect: http.StatusOK, raw: &out.CSV, respHeader: &header})
	if err != nil {
		return nil, err
	}
	if out.NextToken, err = nextFromLink(header); err != nil {
		return nil, err
	}
	return &out, nil
}

// CredentialReportCSVPages yields the CSV pages of the report in order,
// each with its header row; it stops at the first error, which it yields.
func (c *Client) CredentialReportCSVPages(ctx context.Context, teamID string) iter.Seq2[*CSVReportPage, error] {
	return func(yield func(*CSVReportPage, error) bool) {
		token := ""
		for {
			page, err := c.CredentialReportCSVPage(ctx, teamID, token)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) || page.NextToken == "" {
				return
			}
			token = page.NextToken
		}
	}
}

// CredentialReportCSV returns the team's whole credential report as CSV
// (the credentialReport operation's text/csv answer): every page read, the
// header row once.
func (c *Client) CredentialReportCSV(ctx context.Context, teamID string) ([]byte, error) {
	var (
		out    []byte
		header []byte
	)
	for page, err := range c.CredentialReportCSVPages(ctx, teamID) {
		if err != nil {
			return nil, err
		}
		rest, err := SplitCSVHeader(page.CSV, header)
		if err != nil {
			return nil, err
		}
		if header == nil {
			header = page.CSV[:len(page.CSV)-len(rest)]
			out = append(out, header...)
		}
		out = append(out, rest...)
	}
	return out, nil
}

// SplitCSVHeader returns a CSV page's rows after its header row, which
// must be want (nil: any first line).
func SplitCSVHeader(page, want []byte) ([]byte, error) {
	i := bytes.IndexByte(page, '\n')
	if i < 0 {
		return nil, errors.New("client: a credential report page without its header row")
	}
	if want != nil && !bytes.Equal(page[:i+1], want) {
		return nil, fmt.Errorf("client: a credential report page whose header %q is not the first page's", page[:i])
	}
	return page[i+1:], nil
}

// nextFromLink reads the nextToken of the Link header's rel="next" target
// ("" when there is none).
func nextFromLink(h http.Header) (string, error) {
	for _, v := range h.Values("Link") {
		for link := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			next := false
			for p := range strings.SplitSeq(params, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(name, "rel") && strings.Trim(value, `"`) == "next" {
					next = true
				}
			}
			if !next {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil || u.Query().Get("nextToken") == "" {
				return "", fmt.Errorf("client: the report's next page link %q has no nextToken", target)
			}
			return u.Query().Get("nextToken"), nil
		}
	}
	return "", nil
}
