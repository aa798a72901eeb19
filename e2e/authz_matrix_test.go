package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/signature"
)

// authzRow is one route of the contract's "Who may call" column, as the
// status each kind of caller gets. The target is always a fresh member of
// team t1 holding one fresh key (disabled first for the enable route).
type authzRow struct {
	operation string // httpapi.Route.Operation
	// Callers:
	none            int // no Authorization header
	otherTeamOwner  int // owner of team t2
	owner           int // owner of t1
	admin           int // admin of t1
	self            int // the target member itself (role member)
	otherMember     int // another member of t1
	sameIDElsewhere int // a member of t2 whose id is the target member's
	signed          int // SigV4 with the target member's active key, no JWT
}

// TestAuthzMatrix: every route against every kind of caller. A 401 on a
// JWT route is Unauthenticated, on /v1/whoami MissingSignature (a bearer
// token is not a signature); a 403 is Forbidden.
func TestAuthzMatrix(t *testing.T) {
	start := time.Now()
	matrix := []authzRow{
		//  operation               none other-team-owner owner admin self other-member same-id-elsewhere signed
		{"generateAccessKey", 401, 403, 201, 201, 403, 403, 403, 401},
		{"listMemberAccessKeys", 401, 403, 200, 200, 200, 403, 403, 401},
		{"listTeamAccessKeys", 401, 403, 200, 200, 403, 403, 403, 401},
		{"credentialReport", 401, 403, 200, 200, 403, 403, 403, 401},
		{"listAuditEvents", 401, 403, 200, 200, 403, 403, 403, 401},
		{"disableAccessKey", 401, 403, 200, 200, 200, 403, 403, 401},
		{"enableAccessKey", 401, 403, 200, 200, 403, 403, 403, 401},
		{"deleteAccessKey", 401, 403, 204, 204, 403, 403, 403, 401},
		{"getAccessKey", 401, 403, 200, 200, 200, 403, 403, 401},
		// Owners and admins change a key's restrictions; not the member.
		{"updateAccessKey", 401, 403, 200, 200, 403, 403, 403, 401},
		{"offboardMember", 401, 403, 200, 200, 403, 403, 403, 401},
		// No grace: the target's one key is replaced in place.
		{"rotateAccessKey", 401, 403, 201, 201, 403, 403, 403, 401},
		{"getKeyPolicy", 401, 403, 200, 200, 403, 403, 403, 401},
		// Only the owner sets the team's key policy.
		{"putKeyPolicy", 401, 403, 200, 403, 403, 403, 403, 401},
		{"whoAmIGet", 401, 401, 401, 401, 401, 401, 401, 200},
		{"whoAmIPost", 401, 401, 401, 401, 401, 401, 401, 200},
		// A bearer token is not a signature; the key itself is refused by
		// the team's default policy (no allowSelfRotation), nothing changed
		// (allowed: e2e/selfrotate_test.go).
		{"rotateSelf", 401, 401, 401, 401, 401, 401, 401, 403},
		// Owners and admins report a leaked secret of their team.
		{"reportTeamLeak", 401, 403, 200, 200, 403, 403, 403, 401},
		// Public, for GitHub only: no bearer token and no access key's
		// signature is GitHub's, so every caller here is 401
		// MissingSignature and the key reported stays Active (GitHub's
		// signed reports: TestGitHubLeakReport).
		{"reportGitHubLeaks", 401, 401, 401, 401, 401, 401, 401, 401},
	}
	routes := map[string]httpapi.Route{}
	for _, r := range httpapi.Routes {
		routes[r.Operation] = r
	}
	if len(matrix) != len(httpapi.Routes) {
		t.Fatalf("the matrix has %d rows for %d routes", len(matrix), len(httpapi.Routes))
	}

	s := newStack(t)
	adminToken := s.Token("root", "t1", accesskey.RoleAdmin)
	cells := 0
	for i, row := range matrix {
		route, ok := routes[row.operation]
		if !ok {
			t.Fatalf("no route %q", row.operation)
		}
		columns := []struct {
			caller string
			want   int
		}{
			{"none", row.none}, {"other team's owner", row.otherTeamOwner}, {"owner", row.owner}, {"admin", row.admin},
			{"the member itself", row.self}, {"another member", row.otherMember},
			{"same member id in another team", row.sameIDElsewhere}, {"signed request", row.signed},
		}
		for j, col := range columns {
			cells++
			t.Run(row.operation+"/"+col.caller, func(t *testing.T) {
				member := fmt.Sprintf("m%d-%d", i, j)
				key := s.Generate("t1", member, "")
				keyPath := keysPath("t1", member) + "/" + key.AccessKeyID
				if route.Operation == "enableAccessKey" {
					if resp := s.Do(request{Method: "POST", Path: keyPath + "/disable", Token: adminToken}); resp.Status != 200 {
						t.Fatalf("setup disable: %d %s", resp.Status, resp.Body)
					}
				}
				path := strings.NewReplacer("{teamId}", "t1", "{memberId}", member, "{accessKeyId}", key.AccessKeyID).Replace(route.Path)
				body := ""
				switch route.Operation {
				case "whoAmIPost":
					body = `{"hello":"world"}`
				case "putKeyPolicy":
					body = `{"maxLifetimeDays":3650}`
				case "rotateAccessKey":
					body = `{"gracePeriodSeconds":0}`
				case "updateAccessKey":
					body = `{"scopes":["orders:read"]}`
				case "reportTeamLeak":
					body = `{"secretAccessKey":"` + key.SecretAccessKey + `"}`
				case "reportGitHubLeaks":
					body = `[{"token":"` + key.SecretAccessKey + `","type":"teamkeys_secret_access_key","url":"https://github.com/o/r","source":"content"}]`
				}

				var resp response
				switch col.caller {
				case "signed request":
					resp = s.Send(sdkSigned(t, s, route.Method, path, body, key.AccessKeyID, key.SecretAccessKey, time.Now()))
				default:
					token := map[string]string{
						"none":                           "",
						"other team's owner":             s.Token("mallory", "t2", accesskey.RoleOwner),
						"owner":                          s.Token("olga", "t1", accesskey.RoleOwner),
						"admin":                          s.Token("root", "t1", accesskey.RoleAdmin),
						"the member itself":              s.Token(member, "t1", accesskey.RoleMember),
						"another member":                 s.Token("bob", "t1", accesskey.RoleMember),
						"same member id in another team": s.Token(member, "t2", accesskey.RoleMember),
					}[col.caller]
					resp = s.Do(request{Method: route.Method, Path: path, Token: token, Body: body})
				}

				if resp.Status != col.want {
					t.Fatalf("%s %s as %s: %d, want %d: %s", route.Method, path, col.caller, resp.Status, col.want, resp.Body)
				}
				switch col.want {
				case 401:
					want := "Unauthenticated"
					if route.Public() {
						want = "MissingSignature"
					}
					if code := resp.ErrorCode(t); code != want {
						t.Fatalf("code %q, want %q", code, want)
					}
				case 403:
					want := "Forbidden"
					if route.Operation == "rotateSelf" {
						want = "SelfRotationNotAllowed"
					}
					if code := resp.ErrorCode(t); code != want {
						t.Fatalf("code %q, want %s", code, want)
					}
				}
				checkAuthzEffect(t, s, route.Operation, resp, key, col.want < 300)
			})
		}
	}
	t.Logf("%d routes x %d callers = %d cells in %v", len(matrix), cells/len(matrix), cells, time.Since(start))
}

// checkAuthzEffect checks what a cell did to the target member's keys: its
// effect if allowed, nothing at all if refused.
func checkAuthzEffect(t *testing.T, s *stack, operation string, resp response, key createdKey, allowed bool) {
	t.Helper()
	keys := s.ListMember("t1", key.MemberID).AccessKeys
	status := func() string {
		for _, k := range keys {
			if k.AccessKeyID == key.AccessKeyID {
				return k.Status
			}
		}
		return "gone"
	}
	wantStatus, wantCount := "Active", 1
	switch operation {
	case "generateAccessKey":
		if allowed {
			var created createdKey
			resp.Decode(t, &created)
			if created.TeamID != "t1" || created.MemberID != key.MemberID || !accesskey.ValidSecretFormat(created.SecretAccessKey) {
				t.Fatalf("generated %+v", created)
			}
			wantCount = 2
		}
	case "credentialReport":
		if allowed && (!strings.Contains(string(resp.Body), key.AccessKeyID) || strings.Contains(string(resp.Body), key.SecretAccessKey)) {
			t.Fatalf("report: %s", resp.Body)
		}
	case "listAuditEvents":
		if allowed && (!strings.Contains(string(resp.Body), `"accessKeyId":"`+key.AccessKeyID+`"`) || strings.Contains(string(resp.Body), key.SecretAccessKey)) {
			t.Fatalf("audit events: %s", resp.Body)
		}
	case "listMemberAccessKeys", "listTeamAccessKeys":
		if allowed {
			var l keyList
			resp.Decode(t, &l)
			if len(l.AccessKeys) == 0 || strings.Contains(string(resp.Body), key.SecretAccessKey) {
				t.Fatalf("list: %s", resp.Body)
			}
		}
	case "disableAccessKey":
		if allowed {
			wantStatus = "Inactive"
		}
	case "enableAccessKey":
		if !allowed {
			wantStatus = "Inactive"
		}
	case "deleteAccessKey":
		if allowed {
			wantStatus, wantCount = "gone", 0
			if len(resp.Body) != 0 {
				t.Fatalf("204 with a body: %s", resp.Body)
			}
		}
	case "whoAmIGet", "whoAmIPost":
		if allowed {
			wantWhoAmI(t, resp, key, signature.SchemeSigV4)
		}
	case "offboardMember":
		if allowed {
			var got struct{ Deleted []string }
			resp.Decode(t, &got)
			if len(got.Deleted) != 1 || got.Deleted[0] != key.AccessKeyID {
				t.Fatalf("offboard answered %s", resp.Body)
			}
			wantStatus, wantCount = "gone", 0
		}
	case "rotateAccessKey":
		if allowed {
			var created struct {
				createdKey
				RotatedFrom string `json:"rotatedFrom"`
			}
			resp.Decode(t, &created)
			if created.RotatedFrom != key.AccessKeyID || !accesskey.ValidSecretFormat(created.SecretAccessKey) {
				t.Fatalf("rotated %s", resp.Body)
			}
			wantStatus = "gone" // replaced in place: one key, the new one
		}
	case "getAccessKey":
		if allowed {
			var got listedKey
			resp.Decode(t, &got)
			if got.AccessKeyID != key.AccessKeyID || got.MemberID != key.MemberID || strings.Contains(string(resp.Body), key.SecretAccessKey) {
				t.Fatalf("get: %s", resp.Body)
			}
		}
	case "reportTeamLeak":
		if allowed {
			var got struct {
				Matched     bool   `json:"matched"`
				AccessKeyID string `json:"accessKeyId"`
			}
			resp.Decode(t, &got)
			if !got.Matched || got.AccessKeyID != key.AccessKeyID {
				t.Fatalf("leak report answered %s", resp.Body)
			}
			wantStatus = "Inactive"
		}
	case "getKeyPolicy", "putKeyPolicy":
		if allowed {
			var got struct {
				TeamID          string `json:"teamId"`
				MaxLifetimeDays *int   `json:"maxLifetimeDays"`
			}
			resp.Decode(t, &got)
			if got.TeamID != "t1" || operation == "putKeyPolicy" && (got.MaxLifetimeDays == nil || *got.MaxLifetimeDays != 3650) {
				t.Fatalf("%s answered %s", operation, resp.Body)
			}
		}
	}
	if resp.Status == http.StatusOK && (operation == "disableAccessKey" || operation == "enableAccessKey") {
		var got listedKey
		resp.Decode(t, &got)
		if got.AccessKeyID != key.AccessKeyID || got.Status != wantStatus {
			t.Fatalf("%s answered %+v", operation, got)
		}
	}
	if got := status(); got != wantStatus || len(keys) != wantCount {
		t.Fatalf("after %s (allowed %v): key %s, %d keys; want %s, %d", operation, allowed, got, len(keys), wantStatus, wantCount)
	}
}
