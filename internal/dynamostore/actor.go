package dynamostore

import (
	"strings"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// An event actor's id and account are kept in the audit item's actorSub,
// after its detail-type: "<detail-type>#<account>#<event id>". No new
// attribute, so the audit indexes' projections (which name every attribute
// they carry) and Mappings.Writes.AuditRecord stay as they are. Neither an
// account id (12 digits) nor an EventBridge event id (a UUID) holds a #.
const actorSubSeparator = "#"

// storedActorSub is the actorSub attribute of a.
func storedActorSub(a accesskey.Actor) string {
	if a.Type == accesskey.ActorTypeAccessKey {
		return a.AccessKeyID
	}
	if a.Type != accesskey.ActorTypeEvent {
		return a.Sub
	}
	return a.Sub + actorSubSeparator + a.Account + actorSubSeparator + a.EventID
}

// storedActor is the actor an audit item's attributes name.
func storedActor(typ, sub, sourceIP, userAgent string) accesskey.Actor {
	a := accesskey.Actor{Type: typ, Sub: sub, SourceIP: sourceIP, UserAgent: userAgent}
	if typ == accesskey.ActorTypeAccessKey {
		a.Sub, a.AccessKeyID = "", sub
	}
	if typ == accesskey.ActorTypeEvent {
		if what, rest, ok := strings.Cut(sub, actorSubSeparator); ok {
			a.Sub = what
			a.Account, a.EventID, _ = strings.Cut(rest, actorSubSeparator)
		}
	}
	return a
}
