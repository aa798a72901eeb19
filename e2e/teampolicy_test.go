package e2e

// The team's key policy's networks and default scopes through the local
// API on DynamoDB Local and local-kms: the PUT/GET round trip, generate,
// rotate and PATCH refused outside the team's networks, default scopes,
// and the count of keys outside the policy.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// teamPolicy is a policy answer's fields this file checks.
type teamPolicy struct {
	MaxLifetimeDays           *int      `json:"maxLifetimeDays"`
	AllowedCidrs              *[]string `json:"allowedCidrs"`
	DefaultScopes             *[]string `json:"defaultScopes"`
	KeysOutsidePolicy         *int      `json:"keysOutsidePolicy"`
	KeysOutsidePolicyComplete *bool     `json:"keysOutsidePolicyComplete"`
}

func putPolicy(t *testing.T, s *stack, token, body string) (response, teamPolicy) {
	t.Helper()
	resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: token, Body: body})
	var p teamPolicy
	if resp.Status == http.StatusOK {
		resp.Decode(t, &p)
	}
	return resp, p
}

func getPolicy(t *testing.T, s *stack, token string) teamPolicy {
	t.Helper()
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/key-policy", Token: token})
	if resp.Status != http.StatusOK {
		t.Fatalf("get the policy: %s", resp)
	}
	var p teamPolicy
	resp.Decode(t, &p)
	return p
}

func outside(p teamPolicy) string {
	if p.KeysOutsidePolicy == nil || p.KeysOutsidePolicyComplete == nil {
		return "missing"
	}
	if !*p.KeysOutsidePolicyComplete {
		return "at least " + strings.Repeat("I", *p.KeysOutsidePolicy)
	}
	return strings.Repeat("I", *p.KeysOutsidePolicy) + "."
}

func TestTeamPolicyRoundTrip(t *testing.T) {
	s := newStack(t)
	owner := s.Token("olga", "t1", accesskey.RoleOwner)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	for _, tt := range []struct {
		name, body, cidrs, scopes string
	}{
		{"absent", `{"maxLifetimeDays":null}`, "null", "null"},
		{"null", `{"maxLifetimeDays":null,"allowedCidrs":null,"defaultScopes":null}`, "null", "null"},
		{"canonical", `{"maxLifetimeDays":30,"allowedCidrs":["2001:DB8::1/32","10.1.2.3/8","192.0.2.7","10.0.0.0/8"],"defaultScopes":["users:read","orders:*","users:read"]}`,
			"[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]", "[orders:* users:read]"},
		{"no default scopes", `{"maxLifetimeDays":null,"defaultScopes":[]}`, "null", "[]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, put := putPolicy(t, s, owner, tt.body)
			if resp.Status != http.StatusOK {
				t.Fatalf("PUT: %s", resp)
			}
			got := getPolicy(t, s, admin)
			for _, p := range []teamPolicy{put, got} {
				if show(p.AllowedCidrs) != tt.cidrs || show(p.DefaultScopes) != tt.scopes || outside(p) != "." {
					t.Errorf("policy %s %s outside %s, want %s %s and none", show(p.AllowedCidrs), show(p.DefaultScopes), outside(p), tt.cidrs, tt.scopes)
				}
			}
		})
	}
	// Bad entries: 400 ValidationError naming them, nothing changed.
	before := s.Do(request{Method: "GET", Path: "/v1/teams/t1/key-policy", Token: admin}).Body
	for _, tt := range []struct{ name, body, names string }{
		{"empty allowedCidrs", `{"maxLifetimeDays":null,"allowedCidrs":[]}`, "allowedCidrs"},
		{"garbage prefix", `{"maxLifetimeDays":null,"allowedCidrs":["10.0.0.0/8","nonsense"]}`, "nonsense"},
		{"zone id", `{"maxLifetimeDays":null,"allowedCidrs":["fe80::1%eth0"]}`, "fe80::1%eth0"},
		{"bad default scope", `{"maxLifetimeDays":null,"defaultScopes":["orders*"]}`, "defaultScopes[0]"},
		{"not an array", `{"maxLifetimeDays":null,"defaultScopes":"orders:read"}`, "defaultScopes"},
	} {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			resp, _ := putPolicy(t, s, owner, tt.body)
			if resp.Status != http.StatusBadRequest || resp.ErrorCode(t) != "ValidationError" || !strings.Contains(string(resp.Body), tt.names) {
				t.Fatalf("%s, want 400 ValidationError naming %q", resp, tt.names)
			}
		})
	}
	if after := s.Do(request{Method: "GET", Path: "/v1/teams/t1/key-policy", Token: admin}).Body; string(after) != string(before) {
		t.Errorf("a refused PUT changed the policy: %s to %s", before, after)
	}
	if resp, _ := putPolicy(t, s, admin, `{"maxLifetimeDays":null,"allowedCidrs":["10.0.0.0/8"]}`); resp.Status != http.StatusForbidden {
		t.Errorf("an admin's PUT: %s, want 403", resp)
	}
}

func TestTeamPolicyNetworks(t *testing.T) {
	s := newStack(t)
	owner := s.Token("olga", "t1", accesskey.RoleOwner)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	keyPath := func(member, id string) string { return keysPath("t1", member) + "/" + id }

	// Before the policy: an unrestricted key, one inside, one outside, a
	// disabled unrestricted one, an expired unrestricted one.
	unrestricted := s.Generate("t1", "alice", "unrestricted")
	inside := fieldsOf(t, s.Do(request{Method: "POST", Path: keysPath("t1", "bob"), Token: admin, Body: `{"allowedCidrs":["10.1.0.0/16"]}`}).Body)
	outsideKey := fieldsOf(t, s.Do(request{Method: "POST", Path: keysPath("t1", "carol"), Token: admin, Body: `{"allowedCidrs":["10.1.0.0/16","198.51.100.0/24"]}`}).Body)
	disabled := s.Generate("t1", "dave", "disabled")
	if resp := s.Do(request{Method: "POST", Path: keyPath("dave", disabled.AccessKeyID) + "/disable", Token: admin}); resp.Status != http.StatusOK {
		t.Fatalf("disable: %s", resp)
	}
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	if err := s.PutKeys(context.Background(), []accesskey.Key{{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: "erin",
		Status: accesskey.StatusActive, CreatedAt: past.Add(-time.Hour), CreatedBy: "admin", ExpiresAt: &past}},
		accesskey.SealedSecret{Ciphertext: []byte("x"), SHA256: strings.Repeat("0", 64)}); err != nil {
		t.Fatal(err)
	}

	// The policy counts the active unrestricted key and the one outside.
	resp, p := putPolicy(t, s, owner, `{"maxLifetimeDays":null,"allowedCidrs":["10.0.0.0/8"],"defaultScopes":["orders:read"]}`)
	if resp.Status != http.StatusOK || outside(p) != "II." || outside(getPolicy(t, s, admin)) != "II." {
		t.Fatalf("PUT %s: outside %s, want 2, complete", resp, outside(p))
	}

	// Generate under the policy.
	for _, tt := range []struct {
		name, body, code, names, scopes string
	}{
		{"no allowedCidrs", `{}`, "PolicyViolation", "requires", ""},
		{"null allowedCidrs", `{"allowedCidrs":null}`, "PolicyViolation", "requires", ""},
		{"an entry outside", `{"allowedCidrs":["10.2.0.0/16","192.0.2.0/24"]}`, "PolicyViolation", "192.0.2.0/24", ""},
		{"wider than the team", `{"allowedCidrs":["10.0.0.0/7"]}`, "PolicyViolation", "10.0.0.0/7", ""},
		{"inside, default scopes", `{"allowedCidrs":["10.2.0.0/16"]}`, "", "", "[orders:read]"},
		{"inside, scopes null", `{"allowedCidrs":["10.2.0.0/16"],"scopes":null}`, "", "", "null"},
		{"inside, scopes given", `{"allowedCidrs":["10.2.0.0/16"],"scopes":["users:read"]}`, "", "", "[users:read]"},
	} {
		t.Run("generate "+tt.name, func(t *testing.T) {
			member := "gen-" + strings.ReplaceAll(tt.name, " ", "-")
			member = strings.ReplaceAll(member, ",", "")
			resp := s.Do(request{Method: "POST", Path: keysPath("t1", member), Token: admin, Body: tt.body})
			if tt.code != "" {
				if resp.Status != http.StatusBadRequest || resp.ErrorCode(t) != tt.code || !strings.Contains(string(resp.Body), tt.names) {
					t.Fatalf("%s, want 400 %s naming %q", resp, tt.code, tt.names)
				}
				if n := len(s.ListMember("t1", member).AccessKeys); n != 0 {
					t.Fatalf("a refused generate made %d keys", n)
				}
				return
			}
			if resp.Status != http.StatusCreated {
				t.Fatalf("%s, want 201", resp)
			}
			if got := fieldsOf(t, resp.Body); show(got.Scopes) != tt.scopes {
				t.Errorf("scopes %s, want %s", show(got.Scopes), tt.scopes)
			}
		})
	}

	// Rotate: a copy outside is refused, telling the caller to set
	// allowedCidrs; setting them inside works; the copy of a key inside
	// works.
	if resp := s.Do(request{Method: "POST", Path: keyPath("alice", unrestricted.AccessKeyID) + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0}`}); resp.Status != http.StatusBadRequest ||
		resp.ErrorCode(t) != "PolicyViolation" || !strings.Contains(string(resp.Body), "set allowedCidrs") {
		t.Errorf("rotate copying no networks: %s, want 400 PolicyViolation telling to set allowedCidrs", resp)
	}
	if resp := s.Do(request{Method: "POST", Path: keyPath("carol", outsideKey.AccessKeyID) + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0}`}); resp.Status != http.StatusBadRequest ||
		resp.ErrorCode(t) != "PolicyViolation" || !strings.Contains(string(resp.Body), "198.51.100.0/24") {
		t.Errorf("rotate copying a network outside: %s, want 400 PolicyViolation naming it", resp)
	}
	if resp := s.Do(request{Method: "POST", Path: keyPath("carol", outsideKey.AccessKeyID) + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0,"allowedCidrs":["203.0.113.0/24"]}`}); resp.Status != http.StatusBadRequest ||
		resp.ErrorCode(t) != "PolicyViolation" || !strings.Contains(string(resp.Body), "203.0.113.0/24") {
		t.Errorf("rotate setting a network outside: %s, want 400 PolicyViolation naming it", resp)
	}
	rotated := s.Do(request{Method: "POST", Path: keyPath("carol", outsideKey.AccessKeyID) + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0,"allowedCidrs":["10.3.0.0/16"]}`})
	if rotated.Status != http.StatusCreated {
		t.Fatalf("rotate setting networks inside: %s", rotated)
	}
	if resp := s.Do(request{Method: "POST", Path: keyPath("bob", inside.AccessKeyID) + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0}`}); resp.Status != http.StatusCreated {
		t.Errorf("rotate copying networks inside: %s", resp)
	} else if got := fieldsOf(t, resp.Body); show(got.AllowedCidrs) != "[10.1.0.0/16]" || show(got.Scopes) != "null" {
		t.Errorf("rotation copied %s %s (not the default scopes)", show(got.AllowedCidrs), show(got.Scopes))
	}
	// Now only alice's unrestricted key is outside.
	if got := outside(getPolicy(t, s, admin)); got != "I." {
		t.Errorf("outside after the rotations: %s, want 1", got)
	}

	// PATCH: the description alone is allowed on a key outside; setting
	// networks outside (or lifting them) is refused; inside is allowed.
	alice := keyPath("alice", unrestricted.AccessKeyID)
	for _, tt := range []struct {
		name, body string
		status     int
		names      string
	}{
		{"description alone", `{"description":"still here"}`, 200, ""},
		{"scopes alone", `{"scopes":["orders:read"]}`, 200, ""},
		{"networks outside", `{"allowedCidrs":["10.0.0.0/8","100.64.0.0/10"]}`, 400, "100.64.0.0/10"},
		{"networks lifted", `{"allowedCidrs":null}`, 400, "requires"},
		{"networks inside", `{"allowedCidrs":["10.9.9.9"]}`, 200, ""},
	} {
		t.Run("patch "+tt.name, func(t *testing.T) {
			before := s.Do(request{Method: "GET", Path: alice, Token: admin}).Body
			resp := s.Do(request{Method: "PATCH", Path: alice, Token: admin, Body: tt.body})
			if resp.Status != tt.status {
				t.Fatalf("%s, want %d", resp, tt.status)
			}
			if tt.status != 200 {
				after := s.Do(request{Method: "GET", Path: alice, Token: admin}).Body
				if resp.ErrorCode(t) != "PolicyViolation" || !strings.Contains(string(resp.Body), tt.names) || string(before) != string(after) {
					t.Errorf("refusal %s (want PolicyViolation naming %q) or the key changed: %s to %s", resp, tt.names, before, after)
				}
			}
		})
	}
	if got := outside(getPolicy(t, s, admin)); got != "." {
		t.Errorf("outside after the PATCH: %s, want none", got)
	}

	// Lifting the networks: anything goes again.
	if resp, p := putPolicy(t, s, owner, `{"maxLifetimeDays":null}`); resp.Status != http.StatusOK || outside(p) != "." || p.AllowedCidrs != nil || p.DefaultScopes != nil {
		t.Fatalf("lift: %s", resp)
	}
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "frank"), Token: admin, Body: `{}`}); resp.Status != http.StatusCreated {
		t.Errorf("generate after the policy is lifted: %s", resp)
	} else if got := fieldsOf(t, resp.Body); show(got.Scopes) != "null" {
		t.Errorf("scopes after the default is lifted: %s", show(got.Scopes))
	}
}
