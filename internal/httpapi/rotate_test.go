package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/teamkeys/teamkeys/internal/accesskey"
)

const rotatePath = memberKeys + "/TKAKAAAAAAAAAAAAAAAAAAAA/rotate"

// Rotate answers the new key as generate does, plus rotatedFrom, and hands
// the store the old key's end: now plus the grace period (a day unless
// said), its own earlier expiry, or none with a grace of zero (deleted).
func TestRotate(t *testing.T) {
	earlier := harnessNow.Add(time.Hour)
	tests := []struct {
		name        string
		body        string
		oldStatus   accesskey.Status
		oldExpires  *time.Time
		policy      *int
		wantOldEnds *time.Time
		wantDesc    string
		wantExpires *time.Time
	}{
		{"default grace", ``, accesskey.StatusActive, nil, nil, ptrTime(harnessNow.Add(24 * time.Hour)), "old one", nil},
		{"a minute of grace, a new description", `{"gracePeriodSeconds":60,"description":"new one"}`, accesskey.StatusActive, nil, nil, ptrTime(harnessNow.Add(time.Minute)), "new one", nil},
		{"no grace: replaced at once", `{"gracePeriodSeconds":0}`, accesskey.StatusActive, nil, nil, nil, "old one", nil},
		{"the old key's earlier expiry stays", `{"gracePeriodSeconds":86400}`, accesskey.StatusActive, &earlier, nil, &earlier, "old one", nil},
		{"an inactive key rotates to an active one", `{}`, accesskey.StatusInactive, nil, nil, ptrTime(harnessNow.Add(24 * time.Hour)), "old one", nil},
		{"the policy dates the new key", `{}`, accesskey.StatusActive, nil, days(7), ptrTime(harnessNow.Add(24 * time.Hour)), "old one", ptrTime(harnessNow.AddDate(0, 0, 7))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.policy = accesskey.KeyPolicy{MaxLifetimeDays: tt.policy}
			old := accesskey.Key{AccessKeyID: "TKAKAAAAAAAAAAAAAAAAAAAA", TeamID: "t1", MemberID: "bob", Status: tt.oldStatus,
				Description: "old one", CreatedAt: harnessNow.Add(-time.Hour), ExpiresAt: tt.oldExpires}
			h.store.getKey = func(ref accesskey.Ref) (accesskey.Key, error) {
				if ref != old.Ref() {
					return accesskey.Key{}, accesskey.ErrNotFound
				}
				return old, nil
			}
			_, resp := h.do(t, request{method: "POST", path: rotatePath, body: tt.body, contentType: "application/json"})
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			var got struct {
				AccessKeyID     string  `json:"accessKeyId"`
				SecretAccessKey string  `json:"secretAccessKey"`
				Status          string  `json:"status"`
				Description     string  `json:"description"`
				RotatedFrom     string  `json:"rotatedFrom"`
				ExpiresAt       *string `json:"expiresAt"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			if got.RotatedFrom != old.AccessKeyID || got.Status != "Active" || got.Description != tt.wantDesc ||
				!accesskey.ValidSecretFormat(got.SecretAccessKey) || got.AccessKeyID == old.AccessKeyID {
				t.Fatalf("rotate answered %s", resp.Body)
			}
			if len(h.store.rotations) != 1 {
				t.Fatalf("%d rotations stored", len(h.store.rotations))
			}
			r := h.store.rotations[0]
			if r.Old.AccessKeyID != old.AccessKeyID || r.New.AccessKeyID != got.AccessKeyID || r.New.RotatedFrom != old.AccessKeyID {
				t.Fatalf("rotation %+v", r)
			}
			if (r.OldExpiresAt == nil) != (tt.wantOldEnds == nil) || r.OldExpiresAt != nil && !r.OldExpiresAt.Equal(*tt.wantOldEnds) {
				t.Fatalf("old key ends %v, want %v", r.OldExpiresAt, tt.wantOldEnds)
			}
			if (r.New.ExpiresAt == nil) != (tt.wantExpires == nil) || r.New.ExpiresAt != nil && !r.New.ExpiresAt.Equal(*tt.wantExpires) {
				t.Fatalf("new key expires %v, want %v", r.New.ExpiresAt, tt.wantExpires)
			}
			if len(h.sealer.refs) != 1 || h.sealer.refs[0] != r.New.Ref() || h.sealer.secrets[0] != got.SecretAccessKey {
				t.Fatalf("sealed %v, want the new key's secret for %+v", h.sealer.refs, r.New.Ref())
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

// What rotate refuses, and how.
func TestRotateRefusals(t *testing.T) {
	member := map[string]string{"sub": "bob", "team_id": "t1", "team_role": "member"}
	tests := []struct {
		name     string
		req      request
		storeErr error
		status   int
		code     string
		message  string
	}{
		{"grace below 0", request{body: `{"gracePeriodSeconds":-1}`}, nil, 400, "ValidationError", "gracePeriodSeconds"},
		{"grace above a week", request{body: `{"gracePeriodSeconds":604801}`}, nil, 400, "ValidationError", "604800"},
		{"grace as a string", request{body: `{"gracePeriodSeconds":"60"}`}, nil, 400, "ValidationError", ""},
		{"an unknown field", request{body: `{"expiresAt":"2030-01-01T00:00:00Z"}`}, nil, 400, "ValidationError", ""},
		{"the member itself", request{claims: member}, nil, 403, "Forbidden", ""},
		{"no such key here", request{path: memberKeys + "/TKAKBBBBBBBBBBBBBBBBBBBB/rotate"}, nil, 404, "NotFound", ""},
		{"at the cap with a grace period", request{}, accesskey.ErrRotateAtCap, 409, "LimitExceeded", "gracePeriodSeconds 0"},
		{"rotated already", request{}, accesskey.ErrAlreadyRotated, 409, "AlreadyRotated", ""},
		{"gone meanwhile", request{}, accesskey.ErrNotFound, 404, "NotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.getKey = func(ref accesskey.Ref) (accesskey.Key, error) {
				if ref.AccessKeyID != "TKAKAAAAAAAAAAAAAAAAAAAA" {
					return accesskey.Key{}, accesskey.ErrNotFound
				}
				return accesskey.Key{AccessKeyID: ref.AccessKeyID, TeamID: ref.TeamID, MemberID: ref.MemberID, Status: accesskey.StatusActive}, nil
			}
			h.store.rotate = func(accesskey.Rotation) error { return tt.storeErr }
			req := tt.req
			req.method = "POST"
			if req.path == "" {
				req.path = rotatePath
			}
			if req.body != "" {
				req.contentType = "application/json"
			}
			ev, resp := h.do(t, req)
			msg := assertError(t, resp, tt.status, tt.code, ev.RequestContext.RequestID)
			if !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not say %q", msg, tt.message)
			}
			if tt.storeErr == nil && len(h.store.rotations) != 0 {
				t.Fatalf("a refused rotation was stored: %+v", h.store.rotations)
			}
		})
	}
}

// An Idempotency-Key makes generate and rotate answer a retry with the
// first answer, exactly, marked Idempotent-Replayed; the same key for
// another body is 422; a key that is not 1 to 255 printable ASCII
// characters is 400; without one, nothing is read or sealed for replay.
func TestIdempotencyKey(t *testing.T) {
	for _, route := range []struct{ name, path, body, other string }{
		{"generate", memberKeys, `{"description":"ci"}`, `{"description":"cd"}`},
		{"rotate", rotatePath, `{"gracePeriodSeconds":0}`, `{"gracePeriodSeconds":60}`},
	} {
		t.Run(route.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.getKey = func(ref accesskey.Ref) (accesskey.Key, error) {
				return accesskey.Key{AccessKeyID: ref.AccessKeyID, TeamID: ref.TeamID, MemberID: ref.MemberID, Status: accesskey.StatusActive}, nil
			}
			send := func(body, key string) (string, events.APIGatewayV2HTTPResponse) {
				ev, resp := h.do(t, request{method: "POST", path: route.path, body: body, contentType: "application/json",
					headers: map[string]string{"idempotency-key": key}})
				return ev.RequestContext.RequestID, resp
			}
			_, first := send(route.body, "k-1")
			_, again := send(route.body, "k-1")
			if first.StatusCode != 201 || again.StatusCode != 201 || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" || first.Headers["Idempotent-Replayed"] != "" {
				t.Fatalf("first %d %s\nagain %d %s %v", first.StatusCode, first.Body, again.StatusCode, again.Body, again.Headers)
			}
			if len(h.sealer.secrets) != 1 || len(h.store.created)+len(h.store.rotations) != 1 {
				t.Fatalf("a replay sealed or stored again: %d secrets, %d keys, %d rotations", len(h.sealer.secrets), len(h.store.created), len(h.store.rotations))
			}
			id, reused := send(route.other, "k-1")
			assertError(t, reused, 422, "IdempotencyKeyReused", id)
			for _, bad := range []string{strings.Repeat("x", 256), "a\x01b", "ключ"} {
				id, resp := send(route.body, bad)
				assertError(t, resp, 400, "ValidationError", id)
			}
			if _, other := send(route.body, "k-2"); other.StatusCode != 201 || other.Body == first.Body {
				t.Fatalf("another key: %d %s", other.StatusCode, other.Body)
			}
		})
	}
}
