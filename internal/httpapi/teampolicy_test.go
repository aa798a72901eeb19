package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestGenerateRacingPolicyChange: the team's policy changes between the
// generate's read of it and its transaction (the store answers
// ErrPolicyChanged once, the policy now set); the generate decides again
// on the new policy: refused outside its networks, given its default
// scopes inside.
func TestGenerateRacingPolicyChange(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
		scopes     string
	}{
		{"no networks", `{}`, 400, "PolicyViolation", ""},
		{"outside", `{"allowedCidrs":["192.0.2.0/24"]}`, 400, "PolicyViolation", ""},
		{"inside", `{"allowedCidrs":["10.2.0.0/16"]}`, 201, "", `["orders:read"]`},
		{"inside, scopes null", `{"allowedCidrs":["10.2.0.0/16"],"scopes":null}`, 201, "", `null`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			changed := false
			h.store.create = func(accesskey.Key) error {
				if changed {
					return nil
				}
				changed = true
				h.store.mu.Lock()
				h.store.policy = accesskey.KeyPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}, DefaultScopes: []string{"orders:read"}}
				h.store.mu.Unlock()
				return accesskey.ErrPolicyChanged
			}
			ev, resp := h.do(t, request{method: "POST", path: memberKeys, body: tt.body, contentType: "application/json"})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.status != 201 {
				assertError(t, resp, tt.status, tt.code, ev.RequestContext.RequestID)
				if len(h.store.created) != 0 {
					t.Fatalf("a refused generate stored %d keys", len(h.store.created))
				}
				return
			}
			var got struct {
				Scopes json.RawMessage `json:"scopes"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Scopes) != tt.scopes || len(h.store.created) != 1 || !accesskey.SameList(h.store.created[0].Scopes, mustList(tt.scopes)) {
				t.Errorf("scopes %s (stored %v), want %s", got.Scopes, h.store.created, tt.scopes)
			}
		})
	}
}

func mustList(s string) []string {
	var l []string
	_ = json.Unmarshal([]byte(s), &l)
	return l
}
