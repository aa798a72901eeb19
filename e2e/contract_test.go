package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// TestErrorContract sends one request per row and checks the status and the
// error code; every error body must be exactly the error shape.
func TestErrorContract(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	owner := s.Token("olga", "t1", accesskey.RoleOwner)
	member := s.Token("alice", "t1", accesskey.RoleMember)
	otherTeamOwner := s.Token("mallory", "t2", accesskey.RoleOwner)
	expired := mintRaw(t, jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin", "exp": time.Now().Add(-time.Minute).Unix()}, s.JWTSecret)
	wrongSecret := mintRaw(t, jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin", "exp": time.Now().Add(time.Hour).Unix()}, "not-the-secret")
	noExp := mintRaw(t, jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin"}, s.JWTSecret)
	noTeam := mintRaw(t, jwt.MapClaims{"sub": "admin", "team_role": "admin", "exp": time.Now().Add(time.Hour).Unix()}, s.JWTSecret)

	existing := s.Generate("t1", "bob", "existing")
	keyPath := keysPath("t1", "bob") + "/" + existing.AccessKeyID
	missingKey := accesskey.NewAccessKeyID()

	cases := []struct {
		name       string
		req        request
		wantStatus int
		wantCode   string
	}{
		{"no token", request{Method: "POST", Path: keysPath("t1", "alice")}, 401, "Unauthenticated"},
		{"malformed token", request{Method: "POST", Path: keysPath("t1", "alice"), Token: "not.a.jwt"}, 401, "Unauthenticated"},
		{"wrongly signed token", request{Method: "POST", Path: keysPath("t1", "alice"), Token: wrongSecret}, 401, "Unauthenticated"},
		{"expired token", request{Method: "POST", Path: keysPath("t1", "alice"), Token: expired}, 401, "Unauthenticated"},
		{"token without exp", request{Method: "GET", Path: keysPath("t1", "alice"), Token: noExp}, 401, "Unauthenticated"},
		{"token without team", request{Method: "GET", Path: keysPath("t1", "alice"), Token: noTeam}, 401, "Unauthenticated"},
		{"basic auth instead of bearer", request{Method: "GET", Path: keysPath("t1", "alice"), Header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "Unauthenticated"},
		{"another team's owner generates", request{Method: "POST", Path: keysPath("t1", "alice"), Token: otherTeamOwner}, 403, "Forbidden"},
		{"another team's owner lists the team", request{Method: "GET", Path: "/v1/teams/t1/access-keys", Token: otherTeamOwner}, 403, "Forbidden"},
		{"another team's owner deletes", request{Method: "DELETE", Path: keyPath, Token: otherTeamOwner}, 403, "Forbidden"},
		{"member generates for itself", request{Method: "POST", Path: keysPath("t1", "alice"), Token: member}, 403, "Forbidden"},
		{"member lists another member", request{Method: "GET", Path: keysPath("t1", "bob"), Token: member}, 403, "Forbidden"},
		{"member lists the team", request{Method: "GET", Path: "/v1/teams/t1/access-keys", Token: member}, 403, "Forbidden"},
		{"member disables another's key", request{Method: "POST", Path: keyPath + "/disable", Token: member}, 403, "Forbidden"},
		{"member enables", request{Method: "POST", Path: keysPath("t1", "alice") + "/" + missingKey + "/enable", Token: member}, 403, "Forbidden"},
		{"member deletes its own key", request{Method: "DELETE", Path: keysPath("t1", "alice") + "/" + missingKey, Token: member}, 403, "Forbidden"},
		{"bad team id", request{Method: "POST", Path: keysPath("-t1", "alice"), Token: admin}, 400, "ValidationError"},
		{"team id too long", request{Method: "GET", Path: "/v1/teams/" + strings.Repeat("t", 65) + "/access-keys", Token: admin}, 400, "ValidationError"},
		{"bad member id", request{Method: "POST", Path: keysPath("t1", "al%20ice"), Token: admin}, 400, "ValidationError"},
		{"encoded slash in member id", request{Method: "POST", Path: keysPath("t1", "a%2Fb"), Token: admin}, 400, "ValidationError"},
		{"malformed access key id", request{Method: "POST", Path: keysPath("t1", "bob") + "/nope/disable", Token: admin}, 400, "ValidationError"},
		{"description too long", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":"` + strings.Repeat("é", 257) + `"}`}, 400, "ValidationError"},
		{"description with control character", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":"a\nb"}`}, 400, "ValidationError"},
		{"description null", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":null}`}, 400, "ValidationError"},
		{"description not a string", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":5}`}, 400, "ValidationError"},
		{"duplicate field", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":"a","description":"b"}`}, 400, "ValidationError"},
		{"field name in another case", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"Description":"a"}`}, 400, "ValidationError"},
		{"unknown field", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":"x","admin":true}`}, 400, "ValidationError"},
		{"malformed JSON", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":`}, 400, "ValidationError"},
		{"JSON array", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `[]`}, 400, "ValidationError"},
		{"trailing data", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{} {}`}, 400, "ValidationError"},
		{"limit zero", request{Method: "GET", Path: "/v1/teams/t1/access-keys?limit=0", Token: admin}, 400, "ValidationError"},
		{"limit over 100", request{Method: "GET", Path: "/v1/teams/t1/access-keys?limit=101", Token: admin}, 400, "ValidationError"},
		{"limit not a number", request{Method: "GET", Path: "/v1/teams/t1/access-keys?limit=ten", Token: admin}, 400, "ValidationError"},
		{"forged nextToken", request{Method: "GET", Path: "/v1/teams/t1/access-keys?nextToken=eyJwayI6IktFWSJ9.AAAA", Token: admin}, 400, "ValidationError"},
		{"disable a key that does not exist", request{Method: "POST", Path: keysPath("t1", "bob") + "/" + missingKey + "/disable", Token: admin}, 404, "NotFound"},
		{"delete a key that does not exist", request{Method: "DELETE", Path: keysPath("t1", "bob") + "/" + missingKey, Token: owner}, 404, "NotFound"},
		{"unknown route", request{Method: "GET", Path: "/v1/teams/t1/nothing", Token: admin}, 404, "NotFound"},
		{"unclean path", request{Method: "GET", Path: "/v1/teams/t1/../t2/access-keys", Token: admin}, 404, "NotFound"},
		{"wrong method", request{Method: "PUT", Path: keysPath("t1", "alice"), Token: admin}, 405, "MethodNotAllowed"},
		{"body over 16 KiB", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":"` + strings.Repeat("a", 16<<10) + `"}`}, 413, "PayloadTooLarge"},
		{"text/plain body", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `{"description":"x"}`, ContentType: "text/plain"}, 415, "UnsupportedMediaType"},
		{"form body", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Body: `description=x`, ContentType: "application/x-www-form-urlencoded"}, 415, "UnsupportedMediaType"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.Do(tc.req)
			if resp.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.wantStatus, resp.Body)
			}
			if code := resp.ErrorCode(t); code != tc.wantCode {
				t.Fatalf("code %q, want %q", code, tc.wantCode)
			}
			if tc.wantStatus == 405 && resp.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}

	// None of the refused requests wrote anything: alice holds no key and
	// bob's key is untouched.
	if got := s.ListMember("t1", "alice").AccessKeys; len(got) != 0 {
		t.Fatalf("refused requests created keys: %+v", got)
	}
	bob := s.ListMember("t1", "bob").AccessKeys
	if len(bob) != 1 || bob[0].Status != "Active" {
		t.Fatalf("bob's key changed: %+v", bob)
	}
}

// mintRaw signs claims with HS256 and secret as they are.
func mintRaw(t *testing.T, claims jwt.MapClaims, secret string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var (
	accessKeyIDShape = regexp.MustCompile(`^TKAK[A-Z2-7]{20}$`)
	// The documented shape of a secret (docs/API.md): tksk_, 43 base62
	// characters, a 6-character base62 CRC32.
	secretShape = regexp.MustCompile(`^tksk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$`)
)

// TestKeyLifecycle walks one key through generate, list, disable, enable and
// delete, as an admin would from a console.
func TestKeyLifecycle(t *testing.T) {
	s := newStack(t)
	admin := s.Token("root", "t1", accesskey.RoleAdmin)
	before := time.Now().UTC().Add(-time.Second)

	created := s.Generate("t1", "alice", "CI deploys")
	if !accessKeyIDShape.MatchString(created.AccessKeyID) || !secretShape.MatchString(created.SecretAccessKey) || !accesskey.ValidSecretFormat(created.SecretAccessKey) {
		t.Fatalf("id %q / secret shape wrong", created.AccessKeyID)
	}
	createdAt, err := time.Parse(time.RFC3339, created.CreatedAt)
	if err != nil || !strings.HasSuffix(created.CreatedAt, "Z") || createdAt.Before(before) || createdAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("createdAt %q is not RFC 3339 UTC now", created.CreatedAt)
	}
	want := listedKey{Key: teststack.Key{AccessKeyID: created.AccessKeyID, Status: "Active", TeamID: "t1", MemberID: "alice",
		Description: "CI deploys", CreatedAt: created.CreatedAt, CreatedBy: "admin", AllowedCidrs: "null", Scopes: "null"}}
	if created.Status != "Active" || created.TeamID != "t1" || created.MemberID != "alice" || created.CreatedBy != "admin" || created.Description != "CI deploys" {
		t.Fatalf("created %+v", created)
	}

	list := s.ListMember("t1", "alice")
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
		resp := s.Do(request{Method: "POST", Path: keyPath + "/" + step.action, Token: admin})
		var got listedKey
		resp.Decode(t, &got)
		want.Status = step.wantStatus
		if resp.Status != http.StatusOK || got != want {
			t.Fatalf("%s: %d %+v, want %+v", step.action, resp.Status, got, want)
		}
		if strings.Contains(string(resp.Body), created.SecretAccessKey) {
			t.Fatalf("%s response carries the secret", step.action)
		}
	}
	if got := s.ListMember("t1", "alice").AccessKeys; got[0].Status != "Inactive" {
		t.Fatalf("list after disable: %+v", got)
	}

	resp := s.Do(request{Method: "DELETE", Path: keyPath, Token: admin})
	if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	if got := s.ListMember("t1", "alice").AccessKeys; len(got) != 0 {
		t.Fatalf("list after delete: %+v", got)
	}
	resp = s.Do(request{Method: "DELETE", Path: keyPath, Token: admin})
	if resp.Status != http.StatusNotFound || resp.ErrorCode(t) != "NotFound" {
		t.Fatalf("second delete: %d %s", resp.Status, resp.Body)
	}
	resp = s.Do(request{Method: "POST", Path: keyPath + "/enable", Token: admin})
	if resp.Status != http.StatusNotFound {
		t.Fatalf("enable after delete: %d %s", resp.Status, resp.Body)
	}
}

// TestCapAndSlotRelease: two keys per member, disabled ones included; a
// delete frees a slot at once.
func TestCapAndSlotRelease(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	first := s.Generate("t1", "alice", "")
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice") + "/" + first.AccessKeyID + "/disable", Token: admin}); resp.Status != 200 {
		t.Fatalf("disable: %d %s", resp.Status, resp.Body)
	}
	s.Generate("t1", "alice", "")

	resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin})
	if resp.Status != http.StatusConflict || resp.ErrorCode(t) != "LimitExceeded" {
		t.Fatalf("third key: %d %s", resp.Status, resp.Body)
	}
	// Another member of the team, and the same member id in another team,
	// have slots of their own.
	s.Generate("t1", "bob", "")
	s.Generate("t2", "alice", "")

	if resp := s.Do(request{Method: "DELETE", Path: keysPath("t1", "alice") + "/" + first.AccessKeyID, Token: admin}); resp.Status != 204 {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	s.Generate("t1", "alice", "after delete")
	wantHolds(t, s, "t1", "alice", 2)
}

// TestKeysOutsideThePathAreNotFound: a key is only reachable through its own
// team and member; through any other path it does not exist, and nothing
// happens to it.
func TestKeysOutsideThePathAreNotFound(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	t1Admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	t2Admin := s.Token("admin", "t2", accesskey.RoleAdmin)
	paths := []struct {
		name, path, token string
	}{
		{"other member of the same team", keysPath("t1", "bob") + "/" + key.AccessKeyID, t1Admin},
		{"same member id in another team", keysPath("t2", "alice") + "/" + key.AccessKeyID, t2Admin},
	}
	for _, p := range paths {
		for _, op := range []struct{ method, suffix string }{{"POST", "/disable"}, {"POST", "/enable"}, {"DELETE", ""}} {
			resp := s.Do(request{Method: op.method, Path: p.path + op.suffix, Token: p.token})
			if resp.Status != http.StatusNotFound || resp.ErrorCode(t) != "NotFound" {
				t.Fatalf("%s %s%s via %s: %d %s", op.method, p.path, op.suffix, p.name, resp.Status, resp.Body)
			}
			if strings.Contains(string(resp.Body), "alice") && p.name == "other member of the same team" {
				t.Fatalf("404 reveals the owner: %s", resp.Body)
			}
		}
	}
	if got := s.ListMember("t1", "alice").AccessKeys; len(got) != 1 || got[0].Status != "Active" {
		t.Fatalf("key changed through a foreign path: %+v", got)
	}
	wantHolds(t, s, "t1", "alice", 1)
}

// TestMemberSelfService: a member sees its own keys and may disable them,
// and nothing more.
func TestMemberSelfService(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	alice := s.Token("alice", "t1", accesskey.RoleMember)
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
		if resp := s.Do(request{Method: st.method, Path: st.path, Token: alice}); resp.Status != st.want {
			t.Fatalf("%s %s: %d, want %d: %s", st.method, st.path, resp.Status, st.want, resp.Body)
		}
	}
	if got := s.ListMember("t1", "alice").AccessKeys; got[0].Status != "Inactive" {
		t.Fatalf("self-disable did not stick: %+v", got)
	}
}
