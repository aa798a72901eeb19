package accesskey_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// A user's actor keeps at most 256 bytes of the User-Agent, cut where a
// character starts, so the record stays valid UTF-8 and bounded whatever
// the client sends.
func TestUserAgentCut(t *testing.T) {
	for _, tt := range []struct {
		name, ua string
		want     int // bytes kept
	}{
		{"short", "teamkeys-cli/1.2", 16},
		{"exactly 256", strings.Repeat("a", 256), 256},
		{"1 KB of ASCII", strings.Repeat("a", 1024), 256},
		{"1 KB of 2-byte characters", strings.Repeat("é", 512), 256},
		{"1 KB of 3-byte characters", strings.Repeat("€", 342), 255},
		{"4-byte characters", strings.Repeat("😀", 100), 256},
		{"empty", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := accesskey.UserActor("alice", "192.0.2.1", tt.ua).UserAgent
			if len(got) != tt.want || !utf8.ValidString(got) || !strings.HasPrefix(tt.ua, got) {
				t.Fatalf("kept %d bytes (valid UTF-8 %v, a prefix %v), want %d", len(got), utf8.ValidString(got), strings.HasPrefix(tt.ua, got), tt.want)
			}
		})
	}
}
