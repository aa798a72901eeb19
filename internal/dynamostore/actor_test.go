package dynamostore

import (
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// An actor is read back as it was written: an event's id and account
// through actorSub, every other actor's sub untouched, a # in it included.
func TestStoredActor(t *testing.T) {
	for _, a := range []accesskey.Actor{
		accesskey.EventActor("TeamMemberRemoved", "7a1d9e52-3c4b-4f8a-b6e2-0d9c8b7a6f51", "123456789012"),
		accesskey.UserActor("user#with#hashes", "192.0.2.1", "curl/8"),
		accesskey.SystemActor("sweep"),
		accesskey.LeakReportActor("github"),
	} {
		got := storedActor(a.Type, storedActorSub(a), a.SourceIP, a.UserAgent)
		if got != a {
			t.Errorf("%+v read back as %+v", a, got)
		}
	}
}
