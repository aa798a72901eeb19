package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
)

// DefaultPageSize is the team list's page size when the request names none.
const DefaultPageSize = defaultPageSize

// AllDeps is every function's dependencies at once.
type AllDeps struct {
	Common
	Store interface {
		Creator
		Lister
		KeyReader
		StatusSetter
		Deleter
		PolicyStore
		Rotate(ctx context.Context, r accesskey.Rotation) error
		MemberOffboarder
		AuditLister
		LeakResponder
	}
	Sealer     Sealer
	PageTokens PageTokens
	Verifier   Verifier
	GitHubKeys leak.Keys
}

// NewAll serves every route of the table from one handler, for the unit
// tests; each route's handler is the one its function serves.
func NewAll(d AllDeps) http.Handler {
	a := &api{Common: d.Common, creator: d.Store, lister: d.Store, reader: d.Store, statuses: d.Store, deleter: d.Store, policies: d.Store, policyReader: d.Store, rotator: d.Store, offboarder: d.Store, audits: d.Store,
		sealer: d.Sealer, pageTokens: d.PageTokens, verifier: d.Verifier, policyCache: newPolicyCache(), leaks: d.Store, githubKeys: d.GitHubKeys}
	return a.handler(Routes)
}

// ReportColumns are the credential report's CSV header.
var ReportColumns = reportColumns

// ReportRowBytes are the bytes of k's row in the JSON report (with its
// comma) and in the CSV report (with its line end), under a policy that
// disables keys unused for unusedDays (nil: off).
func ReportRowBytes(k accesskey.Key, now time.Time, unusedDays *int) (jsonBytes, csvBytes int) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	row := reportRow(k, now, unusedDays)
	_ = enc.Encode(row)
	jsonBytes = b.Len() // the newline stands for the comma
	b.Reset()
	w := csv.NewWriter(&b)
	_ = w.Write(csvRecord(row))
	w.Flush()
	return jsonBytes, b.Len()
}

// ReportQueryPageBytes is the most one Query page of 1 MB renders to.
const ReportQueryPageBytes = reportQueryPageBytes
