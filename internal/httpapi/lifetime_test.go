package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The harness's clock: 2025-01-02T03:04:05Z.
var harnessNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func days(n int) *int { return &n }

// Generate takes an optional expiresAt in the future, and the team's
// maxLifetimeDays gives the expiry of a key without one and bounds the one
// asked for.
func TestGenerateExpiry(t *testing.T) {
	tests := []struct {
		name        string
		policy      *int
		body        string
		wantStatus  int
		wantExpires string // "" for none
	}{
		{"no expiry, no policy", nil, `{}`, 201, ""},
		{"asked for", nil, `{"expiresAt":"2025-02-01T00:00:00Z"}`, 201, "2025-02-01T00:00:00Z"},
		{"asked for, another offset, fractions dropped", nil, `{"expiresAt":"2025-02-01T02:00:00.9+02:00"}`, 201, "2025-02-01T00:00:00Z"},
		{"explicit null", nil, `{"expiresAt":null}`, 201, ""},
		{"policy gives the expiry", days(30), `{}`, 201, "2025-02-01T03:04:05Z"},
		{"asked for within the policy", days(30), `{"expiresAt":"2025-01-10T00:00:00Z"}`, 201, "2025-01-10T00:00:00Z"},
		{"asked for at the policy's limit", days(30), `{"expiresAt":"2025-02-01T03:04:05Z"}`, 201, "2025-02-01T03:04:05Z"},
		{"asked for past the policy", days(30), `{"expiresAt":"2025-02-01T03:04:06Z"}`, 400, ""},
		{"in the past", nil, `{"expiresAt":"2025-01-01T00:00:00Z"}`, 400, ""},
		{"now", nil, `{"expiresAt":"2025-01-02T03:04:05Z"}`, 400, ""},
		{"not a timestamp", nil, `{"expiresAt":"tomorrow"}`, 400, ""},
		{"a number", nil, `{"expiresAt":1735787045}`, 400, ""},
		{"a date without a time", nil, `{"expiresAt":"2025-02-01"}`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.policy = accesskey.KeyPolicy{MaxLifetimeDays: tt.policy}
			ev, resp := h.do(t, request{method: "POST", path: memberKeys, body: tt.body, contentType: "application/json"})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			if tt.wantStatus != 201 {
				assertError(t, resp, tt.wantStatus, "ValidationError", ev.RequestContext.RequestID)
				if len(h.store.created) != 0 || len(h.sealer.secrets) != 0 {
					t.Fatalf("a refused generate stored %d keys and sealed %d secrets", len(h.store.created), len(h.sealer.secrets))
				}
				return
			}
			var got struct {
				ExpiresAt *string `json:"expiresAt"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			stored := h.store.created[0].ExpiresAt
			switch {
			case tt.wantExpires == "" && (got.ExpiresAt != nil || stored != nil):
				t.Fatalf("expiresAt %v (stored %v), want none", got.ExpiresAt, stored)
			case tt.wantExpires != "" && (got.ExpiresAt == nil || *got.ExpiresAt != tt.wantExpires || stored == nil || stored.Format(time.RFC3339) != tt.wantExpires):
				t.Fatalf("expiresAt %v (stored %v), want %s", got.ExpiresAt, stored, tt.wantExpires)
			}
		})
	}
}

// A key shows Expired from the instant of its expiresAt on, whatever its
// stored status, and the fields of its life: expiresAt, rotatedFrom, the
// last use's source IP and scheme.
func TestKeyShowsItsLife(t *testing.T) {
	used := harnessNow.Add(-time.Hour)
	key := func(expires time.Time, status accesskey.Status) accesskey.Key {
		return accesskey.Key{AccessKeyID: "TKAKAAAAAAAAAAAAAAAAAAAA", TeamID: "t1", MemberID: "bob", Status: status,
			CreatedAt: harnessNow.Add(-48 * time.Hour), CreatedBy: "alice", ExpiresAt: &expires, RotatedFrom: "TKAKBBBBBBBBBBBBBBBBBBBB",
			LastUsedAt: &used, LastUsedIP: "203.0.113.7", LastUsedScheme: "AWS4-HMAC-SHA256"}
	}
	for _, tt := range []struct {
		name string
		key  accesskey.Key
		want string
	}{
		{"active, expires later", key(harnessNow.Add(time.Second), accesskey.StatusActive), "Active"},
		{"active, expires now", key(harnessNow, accesskey.StatusActive), "Expired"},
		{"inactive, expired", key(harnessNow.Add(-time.Second), accesskey.StatusInactive), "Expired"},
		{"inactive, expires later", key(harnessNow.Add(time.Hour), accesskey.StatusInactive), "Inactive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.getKey = func(ref accesskey.Ref) (accesskey.Key, error) {
				if ref != tt.key.Ref() {
					return accesskey.Key{}, accesskey.ErrNotFound
				}
				return tt.key, nil
			}
			_, resp := h.do(t, request{method: "GET", path: memberKeys + "/" + tt.key.AccessKeyID})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET key: %d %s", resp.StatusCode, resp.Body)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"status": tt.want, "expiresAt": tt.key.ExpiresAt.Format(time.RFC3339), "rotatedFrom": "TKAKBBBBBBBBBBBBBBBBBBBB",
				"lastUsedAt": used.Format(time.RFC3339), "lastUsedSourceIp": "203.0.113.7", "lastUsedScheme": "AWS4-HMAC-SHA256"}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (body %s)", k, got[k], v, resp.Body)
				}
			}
		})
	}
}

// Who may read one key and the key policy, and who may set the policy.
func TestKeyAndPolicyAuthorization(t *testing.T) {
	member := func(sub string) map[string]string {
		return map[string]string{"sub": sub, "team_id": "t1", "team_role": "member"}
	}
	owner := map[string]string{"sub": "olga", "team_id": "t1", "team_role": "owner"}
	otherTeam := map[string]string{"sub": "eve", "team_id": "t2", "team_role": "owner"}
	const policy = "/v1/teams/t1/key-policy"
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"admin reads a key", request{method: "GET", path: memberKeys + "/TKAKAAAAAAAAAAAAAAAAAAAA"}, 200},
		{"the member reads its own key", request{method: "GET", path: memberKeys + "/TKAKAAAAAAAAAAAAAAAAAAAA", claims: member("bob")}, 200},
		{"another member reads it", request{method: "GET", path: memberKeys + "/TKAKAAAAAAAAAAAAAAAAAAAA", claims: member("carol")}, 403},
		{"another team reads it", request{method: "GET", path: memberKeys + "/TKAKAAAAAAAAAAAAAAAAAAAA", claims: otherTeam}, 403},
		{"a malformed key id", request{method: "GET", path: memberKeys + "/nope"}, 400},
		{"admin reads the policy", request{method: "GET", path: policy}, 200},
		{"a member reads the policy", request{method: "GET", path: policy, claims: member("bob")}, 403},
		{"owner sets the policy", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":90}`, contentType: "application/json", claims: owner}, 200},
		{"owner lifts the policy", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":null}`, contentType: "application/json", claims: owner}, 200},
		{"admin sets the policy", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":90}`, contentType: "application/json"}, 403},
		{"another team's owner sets it", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":90}`, contentType: "application/json", claims: otherTeam}, 403},
		{"0 days", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":0}`, contentType: "application/json", claims: owner}, 400},
		{"3651 days", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":3651}`, contentType: "application/json", claims: owner}, 400},
		{"a fraction", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":1.5}`, contentType: "application/json", claims: owner}, 400},
		{"a string", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":"90"}`, contentType: "application/json", claims: owner}, 400},
		{"missing", request{method: "PUT", path: policy, body: `{}`, contentType: "application/json", claims: owner}, 400},
		{"an unknown field", request{method: "PUT", path: policy, body: `{"maxLifetimeDays":9,"x":1}`, contentType: "application/json", claims: owner}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.getKey = func(ref accesskey.Ref) (accesskey.Key, error) {
				return accesskey.Key{AccessKeyID: ref.AccessKeyID, TeamID: ref.TeamID, MemberID: ref.MemberID, Status: accesskey.StatusActive, CreatedAt: harnessNow}, nil
			}
			_, resp := h.do(t, tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.req.method == "PUT" && (tt.status == 200) != (len(h.store.policySets) == 1) {
				t.Fatalf("policy writes %v after a %d", h.store.policySets, resp.StatusCode)
			}
		})
	}
}

// A policy change between reading it and writing the key (the store's
// transaction refuses it) means reading the policy again: the key gets the
// expiry of the policy in force, and the secret is sealed once.
func TestGenerateFollowsAChangedPolicy(t *testing.T) {
	h := newHarness(t)
	calls := 0
	h.store.create = func(k accesskey.Key) error {
		calls++
		if calls == 1 {
			h.store.policy = accesskey.KeyPolicy{MaxLifetimeDays: days(1)}
			return accesskey.ErrPolicyChanged
		}
		return nil
	}
	ev, resp := h.do(t, request{method: "POST", path: memberKeys})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if want := harnessNow.AddDate(0, 0, 1); len(h.store.created) != 1 || h.store.created[0].ExpiresAt == nil || !h.store.created[0].ExpiresAt.Equal(want) {
		t.Fatalf("stored %+v, want one key expiring at %v", h.store.created, want)
	}
	if len(h.sealer.secrets) != 1 {
		t.Fatalf("sealed %d secrets, want 1", len(h.sealer.secrets))
	}

	// A policy that keeps changing: 503, retry later.
	h = newHarness(t)
	h.store.create = func(accesskey.Key) error { return accesskey.ErrPolicyChanged }
	ev, resp = h.do(t, request{method: "POST", path: memberKeys})
	assertError(t, resp, http.StatusServiceUnavailable, "ServiceUnavailable", ev.RequestContext.RequestID)
}
