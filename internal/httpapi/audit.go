package httpapi

import (
	"net/http"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

type actorJSON struct {
	Type      string `json:"type"`
	Sub       string `json:"sub,omitempty"`
	SourceIP  string `json:"sourceIp,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

type changesJSON struct {
	StatusBefore    string  `json:"statusBefore,omitempty"`
	StatusAfter     string  `json:"statusAfter,omitempty"`
	ExpiresAt       *string `json:"expiresAt,omitempty"`
	RotatedFrom     string  `json:"rotatedFrom,omitempty"`
	MaxLifetimeDays *int    `json:"maxLifetimeDays,omitempty"`
}

// auditEventJSON is an audit record as the API (and its event) shows it.
type auditEventJSON struct {
	EventID     string      `json:"eventId"`
	Time        string      `json:"time"`
	TeamID      string      `json:"teamId"`
	MemberID    string      `json:"memberId,omitempty"`
	AccessKeyID string      `json:"accessKeyId,omitempty"`
	Action      string      `json:"action"`
	Actor       actorJSON   `json:"actor"`
	RequestID   string      `json:"requestId,omitempty"`
	Changes     changesJSON `json:"changes"`
	Leak        *leakJSON   `json:"leak,omitempty"`
}

// leakJSON is where a leaked secret was found (AccessKeyLeaked only).
type leakJSON struct {
	URL    string `json:"url,omitempty"`
	Source string `json:"source,omitempty"`
}

func auditJSON(r accesskey.AuditRecord) auditEventJSON {
	var l *leakJSON
	if r.Leak != (accesskey.Leak{}) {
		l = &leakJSON{URL: r.Leak.URL, Source: r.Leak.Source}
	}
	return auditEventJSON{
		Leak:    l,
		EventID: r.EventID, Time: r.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), TeamID: r.TeamID, MemberID: r.MemberID,
		AccessKeyID: r.AccessKeyID, Action: r.Action, RequestID: r.RequestID,
		Actor: actorJSON{Type: r.Actor.Type, Sub: r.Actor.Sub, SourceIP: r.Actor.SourceIP, UserAgent: r.Actor.UserAgent},
		Changes: changesJSON{StatusBefore: string(r.StatusBefore), StatusAfter: string(r.StatusAfter), ExpiresAt: timeJSON(r.ExpiresAt),
			RotatedFrom: r.RotatedFrom, MaxLifetimeDays: r.MaxLifetimeDays},
	}
}

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
		AuditEvents []auditEventJSON `json:"auditEvents"`
		NextToken   *string          `json:"nextToken"`
	}{AuditEvents: make([]auditEventJSON, 0, len(records)), NextToken: a.nextToken(q, next)}
	for _, rec := range records {
		out.AuditEvents = append(out.AuditEvents, auditJSON(rec))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
