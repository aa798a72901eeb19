package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestErrorContract sends one request per row and checks the status and the
// error code; every error body must be exactly the error shape.
func TestErrorContract(t *testing.T) {
	s := newStack(t)
	admin := s.token("admin", "t1", accesskey.RoleAdmin)
	owner := s.token("olga", "t1", accesskey.RoleOwner)
	member := s.token("alice", "t1", accesskey.RoleMember)
	otherTeamOwner := s.token("mallory", "t2", accesskey.RoleOwner)
	expired := s.mintRaw(jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin", "exp": time.Now().Add(-time.Minute).Unix()}, jwtSecret)
	wrongSecret := s.mintRaw(jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin", "exp": time.Now().Add(time.Hour).Unix()}, "not-the-secret")
	noExp := s.mintRaw(jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin"}, jwtSecret)
	noTeam := s.mintRaw(jwt.MapClaims{"sub": "admin", "team_role": "admin", "exp": time.Now().Add(time.Hour).Unix()}, jwtSecret)

	existing := s.generate("t1", "bob", "existing")
	keyPath := keysPath("t1", "bob") + "/" + existing.AccessKeyID
	missingKey := accesskey.NewAccessKeyID()

	cases := []struct {
		name       string
		req        request
		wantStatus int
		wantCode   string
	}{
		{"no token", request{method: "POST", path: keysPath("t1", "alice")}, 401, "Unauthenticated"},
		{"malformed token", request{method: "POST", path: keysPath("t1", "alice"), token: "not.a.jwt"}, 401, "Unauthenticated"},
		{"wrongly signed token", request{method: "POST", path: keysPath("t1", "alice"), token: wrongSecret}, 401, "Unauthenticated"},
		{"expired token", request{method: "POST", path: keysPath("t1", "alice"), token: expired}, 401, "Unauthenticated"},
		{"token without exp", request{method: "GET", path: keysPath("t1", "alice"), token: noExp}, 401, "Unauthenticated"},
		{"token without team", request{method: "GET", path: keysPath("t1", "alice"), token: noTeam}, 401, "Unauthenticated"},
		{"basic auth instead of bearer", request{method: "GET", path: keysPath("t1", "alice"), header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "Unauthenticated"},
		{"another team's owner generates", request{method: "POST", path: keysPath("t1", "alice"), token: otherTeamOwner}, 403, "Forbidden"},
		{"another team's owner lists the team", request{method: "GET", path: "/v1/teams/t1/access-keys", token: otherTeamOwner}, 403, "Forbidden"},
		{"another team's owner deletes", request{method: "DELETE", path: keyPath, token: otherTeamOwner}, 403, "Forbidden"},
		{"member generates for itself", request{method: "POST", path: keysPath("t1", "alice"), token: member}, 403, "Forbidden"},
		{"member lists another member", request{method: "GET", path: keysPath("t1", "bob"), token: member}, 403, "Forbidden"},
		{"member lists the team", request{method: "GET", path: "/v1/teams/t1/access-keys", token: member}, 403, "Forbidden"},
		{"member disables another's key", request{method: "POST", path: keyPath + "/disable", token: member}, 403, "Forbidden"},
		{"member enables", request{method: "POST", path: keysPath("t1", "alice") + "/" + missingKey + "/enable", token: member}, 403, "Forbidden"},
		{"member deletes its own key", request{method: "DELETE", path: keysPath("t1", "alice") + "/" + missingKey, token: member}, 403, "Forbidden"},
		{"bad team id", request{method: "POST", path: keysPath("-t1", "alice"), token: admin}, 400, "ValidationError"},
		{"team id too long", request{method: "GET", path: "/v1/teams/" + strings.Repeat("t", 65) + "/access-keys", token: admin}, 400, "ValidationError"},
		{"bad member id", request{method: "POST", path: keysPath("t1", "al%20ice"), token: admin}, 400, "ValidationError"},
		{"encoded slash in member id", request{method: "POST", path: keysPath("t1", "a%2Fb"), token: admin}, 400, "ValidationError"},
		{"malformed access key id", request{method: "POST", path: keysPath("t1", "bob") + "/nope/disable", token: admin}, 400, "ValidationError"},
		{"description too long", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":"` + strings.Repeat("é", 257) + `"}`}, 400, "ValidationError"},
		{"description with control character", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":"a\nb"}`}, 400, "ValidationError"},
		{"description null", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":null}`}, 400, "ValidationError"},
		{"description not a string", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":5}`}, 400, "ValidationError"},
		{"duplicate field", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":"a","description":"b"}`}, 400, "ValidationError"},
		{"field name in another case", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"Description":"a"}`}, 400, "ValidationError"},
		{"unknown field", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":"x","admin":true}`}, 400, "ValidationError"},
		{"malformed JSON", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":`}, 400, "ValidationError"},
		{"JSON array", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `[]`}, 400, "ValidationError"},
		{"trailing data", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{} {}`}, 400, "ValidationError"},
		{"limit zero", request{method: "GET", path: "/v1/teams/t1/access-keys?limit=0", token: admin}, 400, "ValidationError"},
		{"limit over 100", request{method: "GET", path: "/v1/teams/t1/access-keys?limit=101", token: admin}, 400, "ValidationError"},
		{"limit not a number", request{method: "GET", path: "/v1/teams/t1/access-keys?limit=ten", token: admin}, 400, "ValidationError"},
		{"forged nextToken", request{method: "GET", path: "/v1/teams/t1/access-keys?nextToken=eyJwayI6IktFWSJ9.AAAA", token: admin}, 400, "ValidationError"},
		{"disable a key that does not exist", request{method: "POST", path: keysPath("t1", "bob") + "/" + missingKey + "/disable", token: admin}, 404, "NotFound"},
		{"delete a key that does not exist", request{method: "DELETE", path: keysPath("t1", "bob") + "/" + missingKey, token: owner}, 404, "NotFound"},
		{"unknown route", request{method: "GET", path: "/v1/teams/t1/nothing", token: admin}, 404, "NotFound"},
		{"unclean path", request{method: "GET", path: "/v1/teams/t1/../t2/access-keys", token: admin}, 404, "NotFound"},
		{"wrong method", request{method: "PUT", path: keysPath("t1", "alice"), token: admin}, 405, "MethodNotAllowed"},
		{"body over 16 KiB", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":"` + strings.Repeat("a", 16<<10) + `"}`}, 413, "PayloadTooLarge"},
		{"text/plain body", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `{"description":"x"}`, contentType: "text/plain"}, 415, "UnsupportedMediaType"},
		{"form body", request{method: "POST", path: keysPath("t1", "alice"), token: admin, body: `description=x`, contentType: "application/x-www-form-urlencoded"}, 415, "UnsupportedMediaType"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.do(tc.req)
			if resp.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.wantStatus, resp.body)
			}
			if code := resp.errorCode(t); code != tc.wantCode {
				t.Fatalf("code %q, want %q", code, tc.wantCode)
			}
			if tc.wantStatus == 405 && resp.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}

	// None of the refused requests wrote anything: alice holds no key and
	// bob's key is untouched.
	if got := s.listMember("t1", "alice").AccessKeys; len(got) != 0 {
		t.Fatalf("refused requests created keys: %+v", got)
	}
	bob := s.listMember("t1", "bob").AccessKeys
	if len(bob) != 1 || bob[0].Status != "Active" {
		t.Fatalf("bob's key changed: %+v", bob)
	}
}

func (s *stack) mintRaw(claims jwt.MapClaims, secret string) string {
	s.t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

var (
	accessKeyIDShape = regexp.MustCompile(`^TKAK[A-Z2-7]{20}$`)
	secretShape      = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// TestKeyLifecycle walks one key through generate, list, disable, enable and
// delete, as an admin would from a console.
func TestKeyLifecycle(t *testing.T) {
	s := newStack(t)
	admin := s.token("root", "t1", accesskey.RoleAdmin)
	before := time.Now().UTC().Add(-time.Second)

	created := s.generate("t1", "alice", "CI deploys")
	if !accessKeyIDShape.MatchString(created.AccessKeyID) || !secretShape.MatchString(created.SecretAccessKey) {
		t.Fatalf("id %q / secret shape wrong", created.AccessKeyID)
	}
	createdAt, err := time.Parse(time.RFC3339, created.CreatedAt)
	if err != nil || !strings.HasSuffix(created.CreatedAt, "Z") || createdAt.Before(before) || createdAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("createdAt %q is not RFC 3339 UTC now", created.CreatedAt)
	}
	want := listedKey{AccessKeyID: created.AccessKeyID, Status: "Active", TeamID: "t1", MemberID: "alice",
		Description: "CI deploys", CreatedAt: created.CreatedAt, CreatedBy: "admin"}
	if created.Status != "Active" || created.TeamID != "t1" || created.MemberID != "alice" || created.CreatedBy != "admin" || created.Description != "CI deploys" {
		t.Fatalf("created %+v", created)
	}

	list := s.listMember("t1", "alice")
	if len(list.AccessKeys) != 1 || list.AccessKeys[0] != want || list.NextToken != nil {
		t.Fatalf("list %+v, want [%+v]", list, want)
	}

	keyPath := keysPath("t1", "alice") + "/" + created.AccessKeyID
	for _, step := range []struct {
		action, wantStatus string
	}{
		{"disable", "Inactive"}, {"disable", "Inactive"}, // idempotent
		{"enable", "Active"}, {"enable", "Active"},
		{"disable", "Inactive"},
	} {
		resp := s.do(request{method: "POST", path: keyPath + "/" + step.action, token: admin})
		var got listedKey
		resp.decode(t, &got)
		want.Status = step.wantStatus
		if resp.status != http.StatusOK || got != want {
			t.Fatalf("%s: %d %+v, want %+v", step.action, resp.status, got, want)
		}
		if strings.Contains(string(resp.body), created.SecretAccessKey) {
			t.Fatalf("%s response carries the secret", step.action)
		}
	}
	if got := s.listMember("t1", "alice").AccessKeys; got[0].Status != "Inactive" {
		t.Fatalf("list after disable: %+v", got)
	}

	resp := s.do(request{method: "DELETE", path: keyPath, token: admin})
	if resp.status != http.StatusNoContent || len(resp.body) != 0 {
		t.Fatalf("delete: %d %s", resp.status, resp.body)
	}
	if got := s.listMember("t1", "alice").AccessKeys; len(got) != 0 {
		t.Fatalf("list after delete: %+v", got)
	}
	resp = s.do(request{method: "DELETE", path: keyPath, token: admin})
	if resp.status != http.StatusNotFound || resp.errorCode(t) != "NotFound" {
		t.Fatalf("second delete: %d %s", resp.status, resp.body)
	}
	resp = s.do(request{method: "POST", path: keyPath + "/enable", token: admin})
	if resp.status != http.StatusNotFound {
		t.Fatalf("enable after delete: %d %s", resp.status, resp.body)
	}
}

// TestCapAndSlotRelease: two keys per member, disabled ones included; a
// delete frees a slot at once.
func TestCapAndSlotRelease(t *testing.T) {
	s := newStack(t)
	admin := s.token("admin", "t1", accesskey.RoleAdmin)
	first := s.generate("t1", "alice", "")
	if resp := s.do(request{method: "POST", path: keysPath("t1", "alice") + "/" + first.AccessKeyID + "/disable", token: admin}); resp.status != 200 {
		t.Fatalf("disable: %d %s", resp.status, resp.body)
	}
	s.generate("t1", "alice", "")

	resp := s.do(request{method: "POST", path: keysPath("t1", "alice"), token: admin})
	if resp.status != http.StatusConflict || resp.errorCode(t) != "LimitExceeded" {
		t.Fatalf("third key: %d %s", resp.status, resp.body)
	}
	// Another member of the team, and the same member id in another team,
	// have slots of their own.
	s.generate("t1", "bob", "")
	s.generate("t2", "alice", "")

	if resp := s.do(request{method: "DELETE", path: keysPath("t1", "alice") + "/" + first.AccessKeyID, token: admin}); resp.status != 204 {
		t.Fatalf("delete: %d %s", resp.status, resp.body)
	}
	s.generate("t1", "alice", "after delete")
	if got := len(s.listMember("t1", "alice").AccessKeys); got != 2 {
		t.Fatalf("alice holds %d keys", got)
	}
	if n := s.item("MEMBER#t1#alice", "COUNTER")["keyCount"]; n != float64(2) {
		t.Fatalf("alice's slot counter %v, want 2", n)
	}
}

// TestKeysOutsideThePathAreNotFound: a key is only reachable through its own
// team and member; through any other path it does not exist, and nothing
// happens to it.
func TestKeysOutsideThePathAreNotFound(t *testing.T) {
	s := newStack(t)
	key := s.generate("t1", "alice", "")
	t1Admin := s.token("admin", "t1", accesskey.RoleAdmin)
	t2Admin := s.token("admin", "t2", accesskey.RoleAdmin)
	paths := []struct {
		name, path, token string
	}{
		{"other member of the same team", keysPath("t1", "bob") + "/" + key.AccessKeyID, t1Admin},
		{"same member id in another team", keysPath("t2", "alice") + "/" + key.AccessKeyID, t2Admin},
	}
	for _, p := range paths {
		for _, op := range []struct{ method, suffix string }{{"POST", "/disable"}, {"POST", "/enable"}, {"DELETE", ""}} {
			resp := s.do(request{method: op.method, path: p.path + op.suffix, token: p.token})
			if resp.status != http.StatusNotFound || resp.errorCode(t) != "NotFound" {
				t.Fatalf("%s %s%s via %s: %d %s", op.method, p.path, op.suffix, p.name, resp.status, resp.body)
			}
			if strings.Contains(string(resp.body), "alice") && p.name == "other member of the same team" {
				t.Fatalf("404 reveals the owner: %s", resp.body)
			}
		}
	}
	got := s.listMember("t1", "alice").AccessKeys
	if len(got) != 1 || got[0].Status != "Active" {
		t.Fatalf("key changed through a foreign path: %+v", got)
	}
	if n := s.item("MEMBER#t1#alice", "COUNTER")["keyCount"]; n != float64(1) {
		t.Fatalf("slot counter %v, want 1", n)
	}
}

// TestMemberSelfService: a member sees its own keys and may disable them,
// and nothing more.
func TestMemberSelfService(t *testing.T) {
	s := newStack(t)
	key := s.generate("t1", "alice", "")
	alice := s.token("alice", "t1", accesskey.RoleMember)
	keyPath := keysPath("t1", "alice") + "/" + key.AccessKeyID
	steps := []struct {
		method, path string
		want         int
	}{
		{"GET", keysPath("t1", "alice"), 200},
		{"POST", keyPath + "/disable", 200},
		{"POST", keyPath + "/enable", 403},
		{"DELETE", keyPath, 403},
		{"POST", keysPath("t1", "alice"), 403},
		{"GET", "/v1/teams/t1/access-keys", 403},
	}
	for _, st := range steps {
		if resp := s.do(request{method: st.method, path: st.path, token: alice}); resp.status != st.want {
			t.Fatalf("%s %s: %d, want %d: %s", st.method, st.path, resp.status, st.want, resp.body)
		}
	}
	if got := s.listMember("t1", "alice").AccessKeys; got[0].Status != "Inactive" {
		t.Fatalf("self-disable did not stick: %+v", got)
	}
}
