package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// reportPageSize is how many keys the report reads per Query: the report
// is written a page at a time, never held whole.
const reportPageSize = 100

// reportColumns are the credential report's columns, in order.
var reportColumns = []string{"memberId", "accessKeyId", "status", "createdAt", "createdBy", "expiresAt",
	"lastUsedAt", "lastUsedSourceIp", "lastUsedScheme", "ageDays", "daysSinceLastUse"}

// reportRowJSON is one key of the report in its JSON form.
type reportRowJSON struct {
	keyJSON
	AgeDays          int  `json:"ageDays"`
	DaysSinceLastUse *int `json:"daysSinceLastUse"`
}

// report writes the team's credential report: one row per key, like IAM's
// credential report but per team and current (read as it is written, no
// generation delay). CSV unless the client accepts application/json first.
func (a *api) report(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionListTeam, false, false)
	if err != nil {
		return err
	}
	now := a.Now().UTC()
	// All of its values: the Lambda adapter splits a header on commas.
	asJSON := prefersJSON(strings.Join(r.Header.Values("Accept"), ","))
	var (
		csvw    *csv.Writer
		started bool
	)
	var after map[string]string
	for {
		keys, next, err := a.lister.ListTeam(r.Context(), t.ref.TeamID, reportPageSize, after)
		if err != nil {
			if started {
				// The header is out: end the body short; the client sees a
				// truncated report, and the log has why.
				a.Log.Error("credential report cut short", "requestId", RequestID(r.Context()), "error", err.Error())
				return nil
			}
			return err
		}
		if !started {
			started = true
			h := w.Header()
			h.Set("Cache-Control", "no-store")
			if asJSON {
				h.Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"teamId":` + strconv.Quote(t.ref.TeamID) + `,"generatedAt":"` + now.Format(time.RFC3339) + `","keys":[`))
			} else {
				h.Set("Content-Type", "text/csv; charset=utf-8")
				h.Set("Content-Disposition", `attachment; filename="teamkeys-`+t.ref.TeamID+`-credential-report.csv"`)
				w.WriteHeader(http.StatusOK)
				csvw = csv.NewWriter(w)
				_ = csvw.Write(reportColumns)
			}
		}
		for i, k := range keys {
			row := reportRow(k, now)
			if asJSON {
				b, _ := json.Marshal(row)
				if i > 0 || after != nil {
					_, _ = w.Write([]byte(","))
				}
				_, _ = w.Write(b)
				continue
			}
			_ = csvw.Write(csvRecord(row))
		}
		if csvw != nil {
			csvw.Flush()
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if next == nil {
			break
		}
		after = next
	}
	if asJSON {
		_, _ = w.Write([]byte("]}\n"))
	}
	return nil
}

func reportRow(k accesskey.Key, now time.Time) reportRowJSON {
	row := reportRowJSON{keyJSON: toJSON(k, now), AgeDays: int(now.Sub(k.CreatedAt).Hours() / 24)}
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
		str(row.LastUsedAt), row.LastUsedSourceIP, row.LastUsedScheme, strconv.Itoa(row.AgeDays), days}
	for i, cell := range rec {
		rec[i] = csvSafe(cell)
	}
	return rec
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet (CSV
// injection): one that starts with = + - @, a tab or a carriage return gets
// a leading apostrophe. Of the report's cells only createdBy (the JWT's
// subject) can start so.
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
