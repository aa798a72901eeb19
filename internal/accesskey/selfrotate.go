package accesskey

import "errors"

// ErrSelfRotationNotAllowed is a self-rotation (a key rotating itself,
// signed by itself) in a team whose key policy does not allow it
// (KeyPolicy.AllowSelfRotation).
var ErrSelfRotationNotAllowed = errors.New("the team's key policy does not allow self-rotation")

// ActorTypeAccessKey is an access key acting on itself (a self-rotation):
// the actor names the key, not a person.
const ActorTypeAccessKey = "access-key"

// AccessKeyActor is a request signed by the access key accessKeyID, from
// where, with what.
func AccessKeyActor(accessKeyID, sourceIP, userAgent string) Actor {
	return Actor{Type: ActorTypeAccessKey, AccessKeyID: accessKeyID, SourceIP: sourceIP, UserAgent: cut(userAgent, MaxUserAgentLength)}
}

// SelfRotationSubject is the subject a self-rotation acts as where a
// caller's subject is needed (its Idempotency-Key's replay record): the
// key, never a member's subject, so the key's and its member's records
// never meet.
func SelfRotationSubject(accessKeyID string) string { return "access-key:" + accessKeyID }
