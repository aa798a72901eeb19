package accesskey

import (
	"crypto/rand"
	"encoding/hex"
	"time"
	"unicode/utf8"
)

// Audit actions: what a change did. They are the events' detail-types too.
const (
	AuditKeyCreated     = "AccessKeyCreated"
	AuditKeyRotated     = "AccessKeyRotated"
	AuditKeyDisabled    = "AccessKeyDisabled"
	AuditKeyEnabled     = "AccessKeyEnabled"
	AuditKeyDeleted     = "AccessKeyDeleted"
	AuditKeyExpired     = "AccessKeyExpired"
	AuditKeyLeaked      = "AccessKeyLeaked"
	AuditKeyUpdated     = "AccessKeyUpdated"
	AuditPolicyChanged  = "KeyPolicyChanged"
	DefaultAuditDays    = 400
	actorUser           = "user"
	actorSystem         = "system"
	ActorTypeLeakReport = "leak-report"
	ActorTypeEvent      = "event"
)

// Actor is who made a change: a user (the JWT's subject, from where, with
// what), or the system (the expiry sweep), or another system's event (an
// offboarding: its detail-type, id and the account that put it), or a leak
// report.
type Actor struct {
	Type      string
	Sub       string
	SourceIP  string
	UserAgent string
	// EventID and Account are an event actor's: the EventBridge event's id
	// and the AWS account that put it on the bus.
	EventID string
	Account string
	// AccessKeyID is an access-key actor's key (ActorTypeAccessKey).
	AccessKeyID string
}

// UserActor is a caller of the API.
func UserActor(sub, sourceIP, userAgent string) Actor {
	return Actor{Type: actorUser, Sub: sub, SourceIP: sourceIP, UserAgent: cut(userAgent, MaxUserAgentLength)}
}

// MaxUserAgentLength bounds the User-Agent an actor records (bytes, cut at
// a rune boundary): it is stored in every audit record and published on
// the event bus, and a client chooses its length.
const MaxUserAgentLength = 256

// LeakReportActor is a leak report: who sent it ("github" for GitHub's
// secret scanning).
func LeakReportActor(reporter string) Actor { return Actor{Type: ActorTypeLeakReport, Sub: reporter} }

// SystemActor is the service itself, doing what: "sweep".
func SystemActor(what string) Actor { return Actor{Type: actorSystem, Sub: what} }

// EventActor is another system's event that made the change: its
// detail-type ("TeamMemberRemoved"), its id, and the account that put it.
func EventActor(detailType, eventID, account string) Actor {
	return Actor{Type: ActorTypeEvent, Sub: detailType, EventID: eventID, Account: account}
}

// Audit is who makes a change, in which request, and when: what every
// change's audit record carries besides what changed.
type Audit struct {
	Actor     Actor
	RequestID string
	At        time.Time
}

// AuditRecord is one change on the record: written in the same transaction
// as the change. Never a secret, a token, a ciphertext or a secret's hash.
type AuditRecord struct {
	EventID      string
	Time         time.Time
	TeamID       string
	MemberID     string
	AccessKeyID  string
	Action       string
	Actor        Actor
	RequestID    string
	StatusBefore Status
	StatusAfter  Status
	ExpiresAt    *time.Time
	RotatedFrom  string
	// MaxLifetimeDays is a policy change's new bound (nil: none).
	MaxLifetimeDays *int
	// Leak is where a leaked secret was found (AccessKeyLeaked only).
	Leak Leak
	// KeyChanges is what an AccessKeyUpdated changed (nil otherwise).
	KeyChanges *KeyChanges
}

// Leak is where a reported secret was found: a leak report's url and
// source (GitHub's "url" and "source", e.g. "content", "commit"), each cut
// to MaxLeakFieldLength characters. Never the secret itself.
type Leak struct {
	URL    string
	Source string
}

// MaxLeakFieldLength bounds a leak's URL and source as recorded.
const MaxLeakFieldLength = 2048

// NewLeak returns the leak at url from source, each cut to
// MaxLeakFieldLength bytes (at a rune boundary).
func NewLeak(url, source string) Leak {
	return Leak{URL: cut(url, MaxLeakFieldLength), Source: cut(source, MaxLeakFieldLength)}
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Record returns the audit record of action on ref under a.
func (a Audit) Record(action string, ref Ref) AuditRecord {
	return AuditRecord{EventID: NewEventID(), Time: a.At.UTC(), TeamID: ref.TeamID, MemberID: ref.MemberID,
		AccessKeyID: ref.AccessKeyID, Action: action, Actor: a.Actor, RequestID: a.RequestID}
}

// NewEventID is a random event id (UUID v4 form): stable for the record's
// life, so that a consumer of its event can tell a repeat.
func NewEventID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
