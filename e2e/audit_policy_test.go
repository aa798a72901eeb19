package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestPolicyChangeRecordsThePolicy: a KeyPolicyChanged record's
// changes.policy is the whole key policy as it became, every field (null
// where none, the warning thresholds in force), in the team's audit trail.
func TestPolicyChangeRecordsThePolicy(t *testing.T) {
	s := newStack(t)
	owner := s.Token("olga", "t1", accesskey.RoleOwner)
	put := func(body string) {
		t.Helper()
		if resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: owner, Body: body}); resp.Status != http.StatusOK {
			t.Fatalf("set the policy %s: %s", body, resp)
		}
	}
	policies := func() []string {
		t.Helper()
		resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/audit-events?limit=100", Token: s.Token("admin", "t1", accesskey.RoleAdmin)})
		var page struct {
			AuditEvents []struct {
				Action  string
				Changes struct {
					Policy json.RawMessage
				}
			}
		}
		if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &page) != nil {
			t.Fatalf("audit events: %s", resp)
		}
		var out []string
		for _, e := range page.AuditEvents {
			if e.Action == "KeyPolicyChanged" {
				out = append(out, string(e.Changes.Policy))
			}
		}
		return out
	}

	put(`{"maxLifetimeDays":90,"allowedCidrs":["10.0.0.0/8"],"defaultScopes":["orders:read"],"expiryWarningDays":[14,2],"disableUnusedAfterDays":60,"allowSelfRotation":true}`)
	put(`{"maxLifetimeDays":null,"defaultScopes":[]}`)
	got := policies()
	want := []string{ // newest first
		`{"maxLifetimeDays":null,"allowedCidrs":null,"defaultScopes":[],"expiryWarningDays":[30,7,1],"disableUnusedAfterDays":null,"allowSelfRotation":false}`,
		`{"maxLifetimeDays":90,"allowedCidrs":["10.0.0.0/8"],"defaultScopes":["orders:read"],"expiryWarningDays":[14,2],"disableUnusedAfterDays":60,"allowSelfRotation":true}`,
	}
	if len(got) != len(want) {
		t.Fatalf("KeyPolicyChanged records' policies %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: changes.policy %s, want %s", i, got[i], want[i])
		}
	}
}
