package e2e

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestLongUserAgentIsCut: a 1 KB User-Agent is stored in the change's
// audit record (and so published on the event bus) as its first 256 bytes
// at most, valid UTF-8.
func TestLongUserAgentIsCut(t *testing.T) {
	s := newStack(t)
	ua := strings.Repeat("é", 512) // 1,024 bytes
	resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice"), Token: s.Token("admin", "t1", accesskey.RoleAdmin),
		Header: map[string]string{"User-Agent": ua}})
	if resp.Status != 201 {
		t.Fatalf("generate: %s", resp)
	}
	events, _ := auditEvents(t, s, "")
	if len(events) != 1 || events[0].Action != accesskey.AuditKeyCreated {
		t.Fatalf("audit records %+v", events)
	}
	got := events[0].Actor.UserAgent
	if len(got) == 0 || len(got) > accesskey.MaxUserAgentLength || !utf8.ValidString(got) || !strings.HasPrefix(ua, got) {
		t.Fatalf("stored User-Agent of %d bytes (valid UTF-8 %v), want a prefix of at most %d bytes", len(got), utf8.ValidString(got), accesskey.MaxUserAgentLength)
	}
}
