package httpapi

import (
	"net/http"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/auditevent"
)

// listAudit answers a team's audit records, newest first, a page at a time,
// optionally those of one member and of one key; the nextToken is bound to
// the team and the filter.
func (a *api) listAudit(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionListTeam, false, false)
	if err != nil {
		return err
	}
	q, limit, after, err := a.page(r, "audit:"+t.ref.TeamID, []string{"memberId", "accessKeyId"})
	if err != nil {
		return err
	}
	member, key := q.Get("memberId"), q.Get("accessKeyId")
	if q.Has("memberId") && !accesskey.ValidTeamOrMemberID(member) {
		return accesskey.Invalid("memberId", "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
	}
	if q.Has("accessKeyId") && !accesskey.ValidAccessKeyID(key) {
		return accesskey.Invalid("accessKeyId", "is not an access key id")
	}
	records, next, err := a.audits.ListAudit(r.Context(), t.ref.TeamID, member, key, limit, after)
	if err != nil {
		return err
	}
	out := struct {
		AuditEvents []auditevent.Detail `json:"auditEvents"`
		NextToken   *string             `json:"nextToken"`
	}{AuditEvents: make([]auditevent.Detail, 0, len(records)), NextToken: a.nextToken(q, next)}
	for _, rec := range records {
		out.AuditEvents = append(out.AuditEvents, auditevent.FromRecord(rec))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
