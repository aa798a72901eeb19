package e2e

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// hostileCase is one request a client should never be able to turn into a
// 5xx, a redirect or an answer outside the error shape.
type hostileCase struct {
	name       string
	req        request
	wantStatus int
	wantCode   string
	skip       string // "BUG: …" when the code is known to get it wrong
}

// TestHostileRequests sends a corpus of malformed, oversized, forged and
// confused requests to the local server. Each gets the exact 4xx it
// deserves, in the error shape; none is a 5xx; nothing is written; and the
// server goes on serving a normal generate afterwards.
func TestHostileRequests(t *testing.T) {
	start := time.Now()
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	t2Admin := s.Token("admin", "t2", accesskey.RoleAdmin)
	member := s.Token("alice", "t1", accesskey.RoleMember)
	otherTeamOwner := s.Token("mallory", "t2", accesskey.RoleOwner)

	// Three keys in t1, so that the team list has pages and tokens.
	existing := s.Generate("t1", "bob", "existing")
	s.Generate("t1", "carol", "")
	s.Generate("t1", "dave", "")
	page1 := listTeamPage(t, s, admin, "t1", "limit=1")
	if page1.NextToken == nil {
		t.Fatal("no nextToken after the first page")
	}
	page2 := listTeamPage(t, s, admin, "t1", "limit=1&nextToken="+url.QueryEscape(*page1.NextToken))
	if page2.NextToken == nil {
		t.Fatal("no nextToken after the second page")
	}
	body1, mac1, _ := strings.Cut(*page1.NextToken, ".")
	body2, _, _ := strings.Cut(*page2.NextToken, ".")
	teamList := func(query string) string { return "/v1/teams/t1/access-keys?" + query }
	randomB64 := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}

	// Tokens an attacker might craft.
	claims := func(exp bool) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin"}
		if exp {
			c["exp"] = time.Now().Add(time.Hour).Unix()
		}
		return c
	}
	algNone, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(true)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs384, err := jwt.NewWithClaims(jwt.SigningMethodHS384, claims(true)).SignedString([]byte(s.JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(true)).SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	// The header says RS256, the signature is HMAC-SHA256 under the real
	// secret: the algorithm must come from the server, not the token.
	rs256HeaderHMAC := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
		p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","team_id":"t1","team_role":"admin","exp":9999999999}`))
		m := hmac.New(sha256.New, []byte(s.JWTSecret))
		m.Write([]byte(h + "." + p))
		return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}()
	noExp := mintRaw(t, claims(false), s.JWTSecret)
	expired := mintRaw(t, jwt.MapClaims{"sub": "admin", "team_id": "t1", "team_role": "admin", "exp": time.Now().Add(-time.Minute).Unix()}, s.JWTSecret)
	hugeToken := strings.Repeat("A", 100<<10)

	gen := func(member string) string { return keysPath("t1", member) }
	keyPath := keysPath("t1", "bob") + "/" + existing.AccessKeyID
	post := func(path, body string) request {
		return request{Method: "POST", Path: path, Token: admin, Body: body}
	}
	desc := func(raw string) request { return post(gen("alice"), `{"description":`+raw+`}`) }

	cases := []hostileCase{
		// Paths: traversal, encodings, odd separators.
		{name: "dot-dot traversal to another team", req: request{Method: "GET", Path: "/v1/teams/t1/../t2/access-keys", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "encoded dot-dot traversal", req: request{Method: "GET", Path: "/v1/teams/t1/%2e%2e/t2/access-keys", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "encoded dot-dot as member id", req: request{Method: "GET", Path: "/v1/teams/t1/members/%2e%2e/access-keys", Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "dot-dot as member id", req: request{Method: "GET", Path: "/v1/teams/t1/members/../access-keys", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "single dot as team id", req: request{Method: "GET", Path: "/v1/teams/./access-keys", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "encoded slash in team id", req: request{Method: "GET", Path: "/v1/teams/t1%2Fmembers%2Falice/access-keys", Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "encoded slash in access key id", req: request{Method: "DELETE", Path: keysPath("t1", "bob") + "/" + existing.AccessKeyID + "%2F..", Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "double slash", req: request{Method: "GET", Path: "/v1/teams//access-keys", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "leading double slash", req: request{Method: "GET", Path: "//v1/teams/t1/access-keys", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "trailing slash", req: request{Method: "GET", Path: "/v1/teams/t1/access-keys/", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "backslash traversal in team id", req: request{Method: "GET", Path: `/v1/teams/t1%5C..%5Ct2/access-keys`, Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "raw backslash traversal in member id", req: request{Method: "GET", Path: `/v1/teams/t1/members/..\..\t2/access-keys`, Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "upper-case version prefix", req: request{Method: "GET", Path: "/V1/teams/t1/access-keys", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		{name: "unknown action on a key", req: request{Method: "POST", Path: keyPath + "/revoke", Token: admin}, wantStatus: 404, wantCode: "NotFound"},
		// Ids: NUL, invalid UTF-8, lengths, shapes.
		{name: "NUL in member id", req: request{Method: "POST", Path: gen("ali%00ce"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "NUL in team id", req: request{Method: "GET", Path: "/v1/teams/t1%00/access-keys", Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "invalid UTF-8 in member id", req: request{Method: "POST", Path: gen("%ffalice"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "non-ASCII member id", req: request{Method: "POST", Path: gen("%C3%A9lise"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "member id of 65 characters", req: request{Method: "POST", Path: gen(strings.Repeat("a", 65)), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "member id of 1000 characters", req: request{Method: "POST", Path: gen(strings.Repeat("a", 1000)), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "team id of 1000 characters", req: request{Method: "GET", Path: "/v1/teams/" + strings.Repeat("t", 1000) + "/access-keys", Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "lower-case access key id", req: request{Method: "DELETE", Path: keysPath("t1", "bob") + "/" + strings.ToLower(existing.AccessKeyID), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "NUL in access key id", req: request{Method: "DELETE", Path: keyPath + "%00", Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		// Descriptions.
		{name: "escaped NUL in description", req: desc(`"a\u0000b"`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "raw NUL in description", req: desc("\"a\x00b\""), wantStatus: 400, wantCode: "ValidationError"},
		{name: "escaped ESC in description", req: desc(`"\u001b[31mred"`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "invalid UTF-8 in description", req: desc("\"a\xffb\""), wantStatus: 400, wantCode: "ValidationError"},
		{name: "lone surrogate escape in description", req: desc(`"a\ud800b"`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "description of 257 ASCII characters", req: desc(`"` + strings.Repeat("x", 257) + `"`), wantStatus: 400, wantCode: "ValidationError"},
		// JSON shapes.
		{name: "10k-deep nested arrays, unclosed", req: desc(strings.Repeat("[", 10000)), wantStatus: 400, wantCode: "ValidationError"},
		{name: "8k-deep nested arrays, closed", req: desc(strings.Repeat("[", 8000) + strings.Repeat("]", 8000)), wantStatus: 400, wantCode: "ValidationError"},
		{name: "10k-deep nested arrays, closed (over 16 KiB)", req: desc(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), wantStatus: 413, wantCode: "PayloadTooLarge"},
		{name: "5k-deep nested objects as description", req: desc(strings.Repeat(`{"a":`, 2500) + "1" + strings.Repeat("}", 2500)), wantStatus: 400, wantCode: "ValidationError"},
		{name: "duplicate key", req: desc(`"a","description":"b"`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "duplicate key, escaped spelling", req: desc(`"a","\u0064escription":"b"`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "description a number", req: desc(`42`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "description a bool", req: desc(`true`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "description an object", req: desc(`{"text":"x"}`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "description an array", req: desc(`["x"]`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "description a huge number", req: desc(`1e999999`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "body a huge number", req: post(gen("alice"), `1e999999`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "body null", req: post(gen("alice"), `null`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "body a string", req: post(gen("alice"), `"description"`), wantStatus: 400, wantCode: "ValidationError"},
		{name: "body with a byte-order mark", req: post(gen("alice"), "\xef\xbb\xbf{}"), wantStatus: 400, wantCode: "ValidationError"},
		{name: "body of invalid UTF-8", req: post(gen("alice"), "\xff\xfe{\x00}"), wantStatus: 400, wantCode: "ValidationError"},
		{name: "body of 16 KiB + 1", req: post(gen("alice"), `{"description":"`+strings.Repeat("a", 16<<10-18+1)+`"}`), wantStatus: 413, wantCode: "PayloadTooLarge"},
		{name: "body just under 16 KiB, invalid JSON", req: post(gen("alice"), `{"description":"`+strings.Repeat("a", 16<<10-20)), wantStatus: 400, wantCode: "ValidationError"},
		{name: "body of 1 MiB", req: post(gen("alice"), strings.Repeat(" ", 1<<20)), wantStatus: 413, wantCode: "PayloadTooLarge"},
		// Content types.
		{name: "text/plain", req: request{Method: "POST", Path: gen("alice"), Token: admin, Body: `{}`, ContentType: "text/plain"}, wantStatus: 415, wantCode: "UnsupportedMediaType"},
		{name: "application/xml", req: request{Method: "POST", Path: gen("alice"), Token: admin, Body: `<description>x</description>`, ContentType: "application/xml"}, wantStatus: 415, wantCode: "UnsupportedMediaType"},
		{name: "multipart/form-data", req: request{Method: "POST", Path: gen("alice"), Token: admin, Body: "--b\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nx\r\n--b--\r\n", ContentType: "multipart/form-data; boundary=b"}, wantStatus: 415, wantCode: "UnsupportedMediaType"},
		{name: "application/jsonp", req: request{Method: "POST", Path: gen("alice"), Token: admin, Body: `{}`, ContentType: "application/jsonp"}, wantStatus: 415, wantCode: "UnsupportedMediaType"},
		{name: "unparsable content type", req: request{Method: "POST", Path: gen("alice"), Token: admin, Body: `{}`, ContentType: "application/json; ==="}, wantStatus: 415, wantCode: "UnsupportedMediaType"},
		// Forged page tokens.
		{name: "random base64 nextToken", req: request{Method: "GET", Path: teamList("nextToken=" + randomB64(48) + "." + randomB64(32)), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "t1's nextToken replayed for t2", req: request{Method: "GET", Path: "/v1/teams/t2/access-keys?nextToken=" + url.QueryEscape(*page1.NextToken), Token: t2Admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "nextToken with another page's MAC", req: request{Method: "GET", Path: teamList("nextToken=" + url.QueryEscape(body2+"."+mac1)), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "nextToken with its MAC's padding bits altered", req: request{Method: "GET", Path: teamList("nextToken=" + url.QueryEscape(body1+"."+flipLastBase64(mac1))), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "empty nextToken", req: request{Method: "GET", Path: teamList("nextToken="), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "nextToken of 100 KB", req: request{Method: "GET", Path: teamList("nextToken=" + strings.Repeat("A", 100<<10) + "." + mac1), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		// Bearer tokens.
		{name: "alg none", req: request{Method: "GET", Path: teamList(""), Token: algNone}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "HS384 under the right secret", req: request{Method: "GET", Path: teamList(""), Token: hs384}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "RS256 under a foreign key", req: request{Method: "GET", Path: teamList(""), Token: rs256}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "RS256 header over an HMAC signature", req: request{Method: "GET", Path: teamList(""), Token: rs256HeaderHMAC}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "token without exp", req: request{Method: "GET", Path: teamList(""), Token: noExp}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "expired token", req: request{Method: "GET", Path: teamList(""), Token: expired}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "another team's owner", req: request{Method: "GET", Path: teamList(""), Token: otherTeamOwner}, wantStatus: 403, wantCode: "Forbidden"},
		{name: "member lists the team", req: request{Method: "GET", Path: teamList(""), Token: member}, wantStatus: 403, wantCode: "Forbidden"},
		{name: "Bearer with nothing after it", req: request{Method: "GET", Path: teamList(""), Header: map[string]string{"Authorization": "Bearer "}}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "Bearer garbage", req: request{Method: "GET", Path: teamList(""), Header: map[string]string{"Authorization": "Bearer ><script>"}}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "Bearer with three empty segments", req: request{Method: "GET", Path: teamList(""), Header: map[string]string{"Authorization": "Bearer .."}}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "Bearer token repeated", req: request{Method: "GET", Path: teamList(""), Header: map[string]string{"Authorization": "Bearer " + admin + " " + admin}}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "bearer token of 100 KB", req: request{Method: "GET", Path: teamList(""), Token: hugeToken}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "token in the query, not the header", req: request{Method: "GET", Path: teamList("access_token=" + admin)}, wantStatus: 401, wantCode: "Unauthenticated"},
		// Headers.
		{name: "7 KB custom header on a bad request", req: request{Method: "GET", Path: teamList("limit=0"), Token: admin, Header: map[string]string{"X-Padding": strings.Repeat("p", 7<<10)}}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "500 KB custom header, no token", req: request{Method: "GET", Path: teamList(""), Header: map[string]string{"X-Padding": strings.Repeat("p", 500<<10)}}, wantStatus: 401, wantCode: "Unauthenticated"},
		{name: "method override header is ignored", req: request{Method: "GET", Path: teamList(""), Token: member, Header: map[string]string{"X-HTTP-Method-Override": "DELETE"}}, wantStatus: 403, wantCode: "Forbidden"},
		// Query strings.
		{name: "limit=-1", req: request{Method: "GET", Path: teamList("limit=-1"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "limit=1e3", req: request{Method: "GET", Path: teamList("limit=1e3"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "limit=0x10", req: request{Method: "GET", Path: teamList("limit=0x10"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "limit empty", req: request{Method: "GET", Path: teamList("limit="), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "limit of 30 digits", req: request{Method: "GET", Path: teamList("limit=" + strings.Repeat("9", 30)), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "limit with NUL", req: request{Method: "GET", Path: teamList("limit=5%00"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "repeated limit, second out of range", req: request{Method: "GET", Path: teamList("limit=5&limit=500"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		{name: "query with a malformed escape", req: request{Method: "GET", Path: teamList("limit=%zz"), Token: admin}, wantStatus: 400, wantCode: "ValidationError"},
		// Methods.
		{name: "PUT on a key", req: request{Method: "PUT", Path: keyPath, Token: admin, Body: `{}`}, wantStatus: 405, wantCode: "MethodNotAllowed"},
		{name: "TRACE on the member list", req: request{Method: "TRACE", Path: gen("alice"), Token: admin}, wantStatus: 405, wantCode: "MethodNotAllowed"},
		{name: "OPTIONS on the team list", req: request{Method: "OPTIONS", Path: teamList(""), Token: admin}, wantStatus: 405, wantCode: "MethodNotAllowed"},
		{name: "PUT on whoami", req: request{Method: "PUT", Path: "/v1/whoami"}, wantStatus: 405, wantCode: "MethodNotAllowed"},
		{name: "lower-case get", req: request{Method: "get", Path: teamList(""), Token: admin}, wantStatus: 405, wantCode: "MethodNotAllowed"},
		{name: "HEAD on a GET route", req: request{Method: "HEAD", Path: teamList(""), Token: admin}, wantStatus: 405, wantCode: ""},
		// whoami, hostile too.
		{name: "whoami, garbage SigV4 header of 10 KB", req: request{Method: "GET", Path: "/v1/whoami", Header: map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=" + strings.Repeat("A", 10<<10)}}, wantStatus: 401, wantCode: "InvalidSignature"},
		{name: "whoami, body over 16 KiB", req: request{Method: "POST", Path: "/v1/whoami", Body: strings.Repeat("a", 16<<10+1)}, wantStatus: 413, wantCode: "PayloadTooLarge"},
		{name: "whoami, unsigned invalid UTF-8 body", req: request{Method: "POST", Path: "/v1/whoami", Body: "\xff\xfe\x00"}, wantStatus: 401, wantCode: "MissingSignature"},
		{name: "whoami, unknown key id with a NUL", req: request{Method: "GET", Path: "/v1/whoami", Header: map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=TKAK%00/20260101/us-east-1/teamkeys/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"}}, wantStatus: 401, wantCode: "InvalidSignature"},
	}
	if len(cases) < 50 {
		t.Fatalf("only %d hostile cases", len(cases))
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			resp := s.Do(tc.req)
			if resp.Status >= 500 {
				t.Fatalf("5xx: %d %s", resp.Status, resp.Body)
			}
			if resp.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", resp.Status, tc.wantStatus, resp.Body)
			}
			if tc.req.Method == "HEAD" {
				if len(resp.Body) != 0 || resp.Header.Get("Allow") != "GET" || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("HEAD: body %q, Allow %q, Content-Type %q", resp.Body, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"))
				}
				return
			}
			if code := resp.ErrorCode(t); code != tc.wantCode {
				t.Fatalf("code %q, want %q: %s", code, tc.wantCode, resp.Body)
			}
			if tc.wantStatus == 405 && resp.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}

	// A header block over net/http's own limit (1 MB) is refused by
	// net/http before any of our code runs: 431, plain text.
	t.Run("header block over 1 MB", func(t *testing.T) {
		resp := s.Do(request{Method: "GET", Path: teamList(""), Token: admin, Header: map[string]string{"X-Padding": strings.Repeat("p", 1<<20+8<<10)}})
		if resp.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d: %.200s", resp.Status, resp.Body)
		}
	})

	// The corpus wrote nothing: alice holds no key, bob's is untouched.
	if got := s.ListMember("t1", "alice").AccessKeys; len(got) != 0 {
		t.Fatalf("hostile requests created keys: %+v", got)
	}
	if got := s.ListMember("t1", "bob").AccessKeys; len(got) != 1 || got[0].Status != "Active" {
		t.Fatalf("bob's key changed: %+v", got)
	}
	// No request failed on the server's side.
	if logs := s.Logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("the corpus logged errors:\n%s", logs)
	}
	// And the server still serves a normal request.
	if k := s.Generate("t1", "alice", "after the corpus"); k.MemberID != "alice" || k.Description != "after the corpus" {
		t.Fatalf("generate after the corpus: %+v", k)
	}
	t.Logf("%d hostile cases in %v", len(cases), time.Since(start))
}

func listTeamPage(t *testing.T, s *stack, token, team, query string) keyList {
	t.Helper()
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/" + team + "/access-keys?" + query, Token: token})
	if resp.Status != http.StatusOK {
		t.Fatalf("list %s?%s: %d %s", team, query, resp.Status, resp.Body)
	}
	var l keyList
	resp.Decode(t, &l)
	return l
}

// flipLastBase64 changes a base64url string's last character to another
// that decodes to the same bytes when the spare bits are ignored.
func flipLastBase64(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i^1])
}
