package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Enabling a key a leak report disabled is 409 KeyLeaked, the message
// saying when and where; keys show leakedAt and leakUrl only when leaked.
func TestEnableLeakedKey(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	const url = "https://github.com/octo/repo/blob/abc/config.yml"
	for _, tt := range []struct {
		name string
		key  accesskey.Key
		want string
	}{
		{"reported by GitHub", accesskey.Key{LeakedAt: &at, LeakURL: url},
			"The access key was reported leaked at 2026-12-03T09:30:00Z (" + url + "); it cannot be enabled again: rotate or delete it."},
		{"reported by an admin", accesskey.Key{LeakedAt: &at},
			"The access key was reported leaked at 2026-12-03T09:30:00Z; it cannot be enabled again: rotate or delete it."},
		{"reported before leakedAt", accesskey.Key{LeakURL: url},
			"The access key was reported leaked (" + url + "); it cannot be enabled again: rotate or delete it."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.setStatus = func(accesskey.Ref, accesskey.Status) (accesskey.Key, error) {
				return accesskey.Key{}, accesskey.KeyLeaked(tt.key)
			}
			ev, resp := h.do(t, request{method: "POST", path: "/v1/teams/t1/members/alice/access-keys/TKAKAAAAAAAAAAAAAAAAAAAA/enable"})
			if msg := assertError(t, resp, 409, "KeyLeaked", ev.RequestContext.RequestID); msg != tt.want {
				t.Errorf("message %q, want %q", msg, tt.want)
			}
		})
	}
	h := newHarness(t)
	h.store.setStatus = func(ref accesskey.Ref, st accesskey.Status) (accesskey.Key, error) {
		return accesskey.Key{AccessKeyID: ref.AccessKeyID, TeamID: ref.TeamID, MemberID: ref.MemberID, Status: st, CreatedAt: at}, nil
	}
	_, resp := h.do(t, request{method: "POST", path: "/v1/teams/t1/members/alice/access-keys/TKAKAAAAAAAAAAAAAAAAAAAA/enable"})
	var shown map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &shown); err != nil || resp.StatusCode != 200 {
		t.Fatalf("enable: %d %s", resp.StatusCode, resp.Body)
	}
	if _, ok := shown["leakedAt"]; ok {
		t.Errorf("a key never leaked shows leakedAt: %s", resp.Body)
	}
	if _, ok := shown["leakUrl"]; ok {
		t.Errorf("a key never leaked shows leakUrl: %s", resp.Body)
	}
}
