package httpapi_test

import (
	"slices"
	"strings"
	"testing"
)

// The key policy's expiryWarningDays: optional in the PUT (left out or
// null: the default), shown by GET and the PUT's answer; out of range or
// of the wrong type, 400 naming the field and nothing written.
func TestExpiryWarningDaysPolicy(t *testing.T) {
	owner := map[string]string{"sub": "olga", "team_id": "t1", "team_role": "owner"}
	const policy = "/v1/teams/t1/key-policy"
	for _, tt := range []struct {
		name   string
		body   string
		status int
		stored []int  // what SetPolicy got (nil: the default)
		shown  string // what the answer shows, largest first
	}{
		{"left out", `{"maxLifetimeDays":90}`, 200, nil, "[30,7,1]"},
		{"null", `{"maxLifetimeDays":90,"expiryWarningDays":null}`, 200, nil, "[30,7,1]"},
		{"set", `{"maxLifetimeDays":null,"expiryWarningDays":[14,3]}`, 200, []int{14, 3}, "[14,3]"},
		{"five", `{"maxLifetimeDays":null,"expiryWarningDays":[1,2,3,4,365]}`, 200, []int{1, 2, 3, 4, 365}, "[365,4,3,2,1]"},
		{"six", `{"maxLifetimeDays":null,"expiryWarningDays":[1,2,3,4,5,6]}`, 400, nil, ""},
		{"empty", `{"maxLifetimeDays":null,"expiryWarningDays":[]}`, 400, nil, ""},
		{"0", `{"maxLifetimeDays":null,"expiryWarningDays":[0]}`, 400, nil, ""},
		{"366", `{"maxLifetimeDays":null,"expiryWarningDays":[366]}`, 400, nil, ""},
		{"twice the same", `{"maxLifetimeDays":null,"expiryWarningDays":[7,7]}`, 400, nil, ""},
		{"a fraction", `{"maxLifetimeDays":null,"expiryWarningDays":[1.5]}`, 400, nil, ""},
		{"a number", `{"maxLifetimeDays":null,"expiryWarningDays":7}`, 400, nil, ""},
		{"strings", `{"maxLifetimeDays":null,"expiryWarningDays":["7"]}`, 400, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, resp := h.do(t, request{method: "PUT", path: policy, body: tt.body, contentType: "application/json", claims: owner})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.status != 200 {
				if len(h.store.policySets) != 0 || !strings.Contains(resp.Body, `"ValidationError","message":"expiryWarningDays:`) {
					t.Fatalf("a refused policy: writes %v, body %s", h.store.policySets, resp.Body)
				}
				return
			}
			if len(h.store.policySets) != 1 || !slices.Equal(h.store.policySets[0].ExpiryWarningDays, tt.stored) {
				t.Fatalf("policy writes %+v, want thresholds %v", h.store.policySets, tt.stored)
			}
			want := `"expiryWarningDays":` + tt.shown
			if !strings.Contains(resp.Body, want) {
				t.Fatalf("answer %s, want %s", resp.Body, want)
			}
		})
	}
	h := newHarness(t)
	_, resp := h.do(t, request{method: "GET", path: policy})
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"expiryWarningDays":[30,7,1]`) {
		t.Fatalf("GET of a default policy: %d %s", resp.StatusCode, resp.Body)
	}
}

// disableUnusedAfterDays: optional (left out or null: off), 1 to 3650,
// shown by GET; anything else 400 naming the field, nothing written.
func TestDisableUnusedAfterDaysPolicy(t *testing.T) {
	owner := map[string]string{"sub": "olga", "team_id": "t1", "team_role": "owner"}
	const policy = "/v1/teams/t1/key-policy"
	for _, tt := range []struct {
		name   string
		body   string
		status int
		shown  string
	}{
		{"left out", `{"maxLifetimeDays":null}`, 200, "null"},
		{"null", `{"maxLifetimeDays":null,"disableUnusedAfterDays":null}`, 200, "null"},
		{"90", `{"maxLifetimeDays":null,"disableUnusedAfterDays":90}`, 200, "90"},
		{"3650", `{"maxLifetimeDays":null,"disableUnusedAfterDays":3650}`, 200, "3650"},
		{"0", `{"maxLifetimeDays":null,"disableUnusedAfterDays":0}`, 400, ""},
		{"3651", `{"maxLifetimeDays":null,"disableUnusedAfterDays":3651}`, 400, ""},
		{"a fraction", `{"maxLifetimeDays":null,"disableUnusedAfterDays":1.5}`, 400, ""},
		{"a string", `{"maxLifetimeDays":null,"disableUnusedAfterDays":"90"}`, 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, resp := h.do(t, request{method: "PUT", path: policy, body: tt.body, contentType: "application/json", claims: owner})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.status != 200 {
				if len(h.store.policySets) != 0 || !strings.Contains(resp.Body, `"ValidationError","message":"disableUnusedAfterDays:`) {
					t.Fatalf("a refused policy: writes %v, body %s", h.store.policySets, resp.Body)
				}
				return
			}
			if len(h.store.policySets) != 1 || !strings.Contains(resp.Body, `"disableUnusedAfterDays":`+tt.shown) {
				t.Fatalf("policy writes %+v, answer %s", h.store.policySets, resp.Body)
			}
		})
	}
}
