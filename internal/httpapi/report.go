package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The report is paged: each response is built whole in memory, then
// written, so that a failure on any page is an error answer (never a 200
// with rows missing), and each stays far below Lambda's 6 MB response.
//
// A page is one or more full Query pages of the ByTeam index (the store's
// ListTeam with no limit: DynamoDB stops a Query at 1 MB of index items).
// How much can one Query page become once rendered? An index item holds
// every value a row shows (team and member ids twice: in gsi1pk/gsi1sk and
// in their own attributes), plus pk, sk, gsi1pk, gsi1sk and the attribute
// names: 220 bytes at least, 286 with every optional field and the
// shortest ids, whose row is 492 bytes of JSON (186 of CSV). A value can
// grow when rendered: JSON escapes '"' and '\' (2 bytes for 1; HTML
// escaping is off, and a description has no control, format or
// line-separator characters), CSV doubles '"' and quotes the cell. So a
// row is at most 2x the index item it comes from (the worst measured:
// 1.98x, a creator made of quotes; TestReportRowsAtMostTwiceTheirItems),
// and one Query page (1 MB, plus the item that crosses the limit: a few KB)
// renders to at most reportQueryPageBytes. The handler adds Query pages
// while what it has built plus one more such page stays within
// reportMaxBytes, and at least one. The one value this bound does not hold
// for is createdBy made of control characters (JSON writes \u0000, 6 bytes
// for 1): a JWT subject, which issuers make printable. Nor does it count a
// leaked key's leakedAt and leakUrl (up to 2 KB, read apart from the
// index: dynamostore/leaked.go); a leak is an incident, and a page would
// need hundreds of them with URLs of the longest to pass the bound. Should a page still
// pass reportMaxBytes, its last Query page is dropped (and read again on the
// next page), unless it is the only one.
const (
	// reportMaxBytes bounds a response's body: under 5 MB, with room for
	// the headers and the nextToken below Lambda's 6 MB.
	reportMaxBytes = 5_000_000
	// reportQueryPageBytes is the most one Query page renders to: 2x its
	// 1 MB, plus 64 KB for the crossing item and the envelope.
	reportQueryPageBytes = 2*(1<<20) + 64<<10
	// reportMaxQueryPages bounds the Queries of one response, for time: a
	// Query of 1 MB takes 0.1 to 0.3 s and its decoding a few hundred ms
	// more at 256 MB of memory (a fraction of a vCPU), so 5 of them stay
	// well inside the function's 10 s. JSON reaches the byte bound first
	// (2 or 3 Query pages); CSV leaves out the description, so its pages
	// are often these 5.
	reportMaxQueryPages = 5
	// reportMaxCalls bounds the store calls of one response: a team's keys
	// are read one ByTeam partition after another (16 shards and the
	// partition of keys made before them: dynamostore/teamindex.go), and
	// a partition's last Query page is often small. Only a Query page that
	// renders to reportFullQueryPage bytes or more counts towards
	// reportMaxQueryPages; a small one costs a round trip (~10-20 ms).
	reportMaxCalls      = 24
	reportFullQueryPage = 512 << 10
	// reportReadBudget bounds, in time, the reading of one response: no
	// Query page is added once this long has gone. A Query page of
	// Inactive keys costs one GetItem of each key's leak marks
	// (dynamostore/leaked.go; the ByTeam index does not project them),
	// ~3,500 for a full page, so a team of many Inactive keys reads
	// slower than the Query bounds above assume; the next page goes on
	// where this one stopped.
	reportReadBudget = 4 * time.Second
)

// reportColumns are the credential report's columns, in order.
var reportColumns = []string{"memberId", "accessKeyId", "status", "createdAt", "createdBy", "expiresAt",
	"lastUsedAt", "lastUsedSourceIp", "lastUsedScheme", "ageDays", "daysSinceLastUse", "leakedAt", "leakUrl", "allowedCidrs", "scopes", "dormantDisableAt", "dormantSoon"}

// reportRowJSON is one key of the report in its JSON form.
type reportRowJSON struct {
	keyJSON
	AgeDays          int  `json:"ageDays"`
	DaysSinceLastUse *int `json:"daysSinceLastUse"`
	// DormantDisableAt is when the key will be disabled as unused if it
	// stays unused (the team's disableUnusedAfterDays; accesskey
	// DormantDisableAt): null when the setting is off, the key is not
	// active, or it expires first. DormantSoon: that is within
	// DormantWarningDays (7) of the report's time, or past.
	DormantDisableAt *string `json:"dormantDisableAt"`
	DormantSoon      bool    `json:"dormantSoon"`
}

// report writes one page of the team's credential report: one row per
// key, like IAM's credential report but per team and current (read as it
// is written, no generation delay). CSV unless the query's format or, with
// none, the client's Accept ranks application/json first. A page that is
// not the last names the next one: nextToken in JSON, and in both formats
// a Link header (RFC 8288, rel="next") whose target is relative to the
// request's URL ("report?format=...&nextToken=..."), so that it holds
// behind any host, stage or base path.
func (a *api) report(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionListTeam, false, false)
	if err != nil {
		return err
	}
	asJSON, after, scope, err := a.reportQuery(r, t.ref.TeamID)
	if err != nil {
		return err
	}
	// The team's policy, read once a page: which keys the dormant pass
	// will disable, and when.
	policy, err := a.policyReader.Policy(r.Context(), t.ref.TeamID)
	if err != nil {
		return err
	}
	unusedDays := policy.DisableUnusedAfterDays
	now := a.Now().UTC()
	var body bytes.Buffer
	if asJSON {
		body.WriteString(`{"teamId":` + strconv.Quote(t.ref.TeamID) + `,"generatedAt":"` + now.Format(time.RFC3339) + `","keys":[`)
	} else {
		csvw := csv.NewWriter(&body)
		_ = csvw.Write(reportColumns)
		csvw.Flush()
	}
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	rows := 0
	next := after
	began := time.Now()
	for calls, pages := 0, 0; calls < reportMaxCalls && pages < reportMaxQueryPages && (calls == 0 || body.Len()+reportQueryPageBytes <= reportMaxBytes && time.Since(began) < reportReadBudget); calls++ {
		keys, cursor, err := a.lister.ListTeam(r.Context(), t.ref.TeamID, 0, next)
		if err != nil {
			return err
		}
		mark, markRows := body.Len(), rows
		csvw := csv.NewWriter(&body)
		for _, k := range keys {
			row := reportRow(k, now, unusedDays)
			if asJSON {
				if rows > 0 {
					body.WriteByte(',')
				}
				_ = enc.Encode(row)           // a struct of strings and ints always encodes
				body.Truncate(body.Len() - 1) // Encode's newline
			} else {
				_ = csvw.Write(csvRecord(row))
			}
			rows++
		}
		csvw.Flush()
		if body.Len()-mark >= reportFullQueryPage {
			pages++
		}
		if calls > 0 && body.Len() > reportMaxBytes {
			// Past the bound (see above): this Query page goes to the next
			// response.
			body.Truncate(mark)
			rows = markRows
			break
		}
		next = cursor
		if next == nil {
			break
		}
	}
	var token string
	if next != nil {
		token = a.pageTokens.Encode(scope, next)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if token != "" {
		q := url.Values{"format": {"csv"}, "nextToken": {token}}
		if asJSON {
			q.Set("format", "json")
		}
		h.Set("Link", "<report?"+q.Encode()+`>; rel="next"`)
	}
	if asJSON {
		body.WriteString(`],"nextToken":`)
		if token != "" {
			body.WriteString(strconv.Quote(token))
		} else {
			body.WriteString("null")
		}
		body.WriteString("}\n")
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="teamkeys-`+t.ref.TeamID+`-credential-report.csv"`)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
	return nil
}

// reportQuery reads the report's query: format (csv or json; without it
// the Accept header decides) and nextToken, each at most once.
func (a *api) reportQuery(r *http.Request, teamID string) (asJSON bool, after map[string]string, scope string, err error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return false, nil, "", accesskey.Invalid("query", "is malformed")
	}
	for _, name := range []string{"format", "nextToken"} {
		if len(query[name]) > 1 {
			return false, nil, "", accesskey.Invalid(name, "must be given at most once")
		}
	}
	switch query.Get("format") {
	case "csv":
	case "json":
		asJSON = true
	case "":
		if query.Has("format") {
			return false, nil, "", accesskey.Invalid("format", "must be csv or json")
		}
		// All of its values: the Lambda adapter splits a header on commas.
		asJSON = prefersJSON(strings.Join(r.Header.Values("Accept"), ","))
	default:
		return false, nil, "", accesskey.Invalid("format", "must be csv or json")
	}
	scope = "report:" + teamID
	if query.Has("nextToken") {
		after, err = a.pageTokens.Decode(scope, query.Get("nextToken"))
		if err != nil {
			return false, nil, "", accesskey.Invalid("nextToken", "is not a token this report issued")
		}
	}
	return asJSON, after, scope, nil
}

func reportRow(k accesskey.Key, now time.Time, unusedDays *int) reportRowJSON {
	row := reportRowJSON{keyJSON: toJSON(k, now), AgeDays: int(now.Sub(k.CreatedAt).Hours() / 24)}
	if at := k.DormantDisableAt(now, unusedDays); at != nil {
		s := at.UTC().Format(time.RFC3339)
		row.DormantDisableAt = &s
		row.DormantSoon = accesskey.DormantWithin(now, k.DormantSince(), unusedDays)
	}
	if k.LastUsedAt != nil {
		d := int(now.Sub(*k.LastUsedAt).Hours() / 24)
		row.DaysSinceLastUse = &d
	}
	return row
}

func csvRecord(row reportRowJSON) []string {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	days := ""
	if row.DaysSinceLastUse != nil {
		days = strconv.Itoa(*row.DaysSinceLastUse)
	}
	rec := []string{row.MemberID, row.AccessKeyID, row.Status, row.CreatedAt, row.CreatedBy, str(row.ExpiresAt),
		str(row.LastUsedAt), row.LastUsedSourceIP, row.LastUsedScheme, strconv.Itoa(row.AgeDays), days,
		str(row.LeakedAt), row.LeakURL, csvList(row.AllowedCidrs), csvList(row.Scopes), str(row.DormantDisableAt), strconv.FormatBool(row.DormantSoon)}
	for i, cell := range rec {
		rec[i] = csvSafe(cell)
	}
	return rec
}

// csvNone is the CSV cell of an empty restriction list (scopes that grant
// nothing): no scope or prefix can be written so.
const csvNone = "(none)"

// csvList is a restriction list as one CSV cell: its entries separated by
// spaces; empty for an unrestricted key (null in JSON), csvNone for an
// empty list. Entries are canonical prefixes and scopes: none starts with a
// formula character or holds a space.
func csvList(list []string) string {
	switch {
	case list == nil:
		return ""
	case len(list) == 0:
		return csvNone
	}
	return strings.Join(list, " ")
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet (CSV
// injection): one that starts with = + - @, a tab or a carriage return gets
// a leading apostrophe. Of the report's cells only createdBy (the JWT's
// subject) and leakUrl (an admin's report names any) can start so.
func csvSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// prefersJSON reports whether an Accept header ranks application/json
// above text/csv (the default); at equal quality the one named first wins.
func prefersJSON(accept string) bool {
	jsonQ, csvQ := 0.0, 0.0
	jsonAt, csvAt := -1, -1
	for i, part := range strings.Split(accept, ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mediaType {
		case "application/json":
			if q > jsonQ {
				jsonQ, jsonAt = q, i
			}
		case "text/csv", "text/*", "*/*":
			if q > csvQ {
				csvQ, csvAt = q, i
			}
		}
	}
	return jsonQ > csvQ || jsonQ > 0 && jsonQ == csvQ && jsonAt < csvAt
}
