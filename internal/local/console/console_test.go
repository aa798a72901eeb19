package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
)

var clock = time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)

func newConsole(t *testing.T) (http.Handler, *jwtissuer.Issuer) {
	t.Helper()
	issuer, err := jwtissuer.New("console-test-secret")
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Tokens: issuer, Claims: config.DefaultClaimNames, SigningRegion: "eu-west-1", now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return h, issuer
}

// sessionRequest is a sign-in as the page sends it, from the page's own
// origin on this machine; each case changes what it tests.
func newSessionRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/console/session", strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:51234"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Origin", "http://127.0.0.1:3000")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}

func TestSession(t *testing.T) {
	const good = `{"memberId":"alice","teamId":"t1","role":"admin"}`
	cases := []struct {
		name     string
		method   string
		body     string
		change   func(*http.Request)
		status   int
		code     string
		wantText string // in the error message
	}{
		{name: "good request", body: good, status: http.StatusOK},
		{name: "owner of another team", body: `{"memberId":"olga","teamId":"team.B-2","role":"owner"}`, status: http.StatusOK},
		{name: "charset parameter", body: good, change: func(r *http.Request) { r.Header.Set("Content-Type", "application/json; charset=utf-8") }, status: http.StatusOK},
		{name: "no Origin, no Sec-Fetch-Site (curl)", body: good, change: func(r *http.Request) { r.Header.Del("Origin"); r.Header.Del("Sec-Fetch-Site") }, status: http.StatusOK},
		{name: "localhost", body: good, change: func(r *http.Request) { r.Host = "localhost:3000"; r.Header.Set("Origin", "http://localhost:3000") }, status: http.StatusOK},
		{name: "bad role", body: `{"memberId":"alice","teamId":"t1","role":"root"}`, status: http.StatusBadRequest, code: "ValidationError", wantText: "role"},
		{name: "no role", body: `{"memberId":"alice","teamId":"t1"}`, status: http.StatusBadRequest, code: "ValidationError", wantText: "role"},
		{name: "bad member id", body: `{"memberId":"al ice","teamId":"t1","role":"admin"}`, status: http.StatusBadRequest, code: "ValidationError", wantText: "memberId"},
		{name: "member id too long", body: `{"memberId":"` + strings.Repeat("a", 65) + `","teamId":"t1","role":"admin"}`, status: http.StatusBadRequest, code: "ValidationError", wantText: "memberId"},
		{name: "bad team id", body: `{"memberId":"alice","teamId":"-t1","role":"admin"}`, status: http.StatusBadRequest, code: "ValidationError", wantText: "teamId"},
		{name: "unknown field", body: `{"memberId":"alice","teamId":"t1","role":"admin","admin":true}`, status: http.StatusBadRequest, code: "ValidationError"},
		{name: "two objects", body: good + good, status: http.StatusBadRequest, code: "ValidationError"},
		{name: "not JSON", body: "memberId=alice", status: http.StatusBadRequest, code: "ValidationError"},
		{name: "too large", body: `{"memberId":"` + strings.Repeat("a", maxSessionBody) + `"}`, status: http.StatusRequestEntityTooLarge, code: "PayloadTooLarge"},
		{name: "wrong content type", body: good, change: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaType"},
		{name: "form content type", body: good, change: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaType"},
		{name: "no content type", body: good, change: func(r *http.Request) { r.Header.Del("Content-Type") }, status: http.StatusUnsupportedMediaType, code: "UnsupportedMediaType"},
		{name: "cross-site Origin", body: good, change: func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, status: http.StatusForbidden, code: "Forbidden", wantText: "cross-site"},
		{name: "Origin of another port", body: good, change: func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:8080") }, status: http.StatusForbidden, code: "Forbidden"},
		{name: "null Origin", body: good, change: func(r *http.Request) { r.Header.Set("Origin", "null") }, status: http.StatusForbidden, code: "Forbidden"},
		{name: "Sec-Fetch-Site cross-site", body: good, change: func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, status: http.StatusForbidden, code: "Forbidden"},
		{name: "Sec-Fetch-Site same-site", body: good, change: func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, status: http.StatusForbidden, code: "Forbidden"},
		{name: "DNS rebinding: same origin, foreign host name", body: good, change: func(r *http.Request) {
			r.Host = "rebind.example:3000"
			r.Header.Set("Origin", "http://rebind.example:3000")
		}, status: http.StatusForbidden, code: "Forbidden", wantText: "this machine"},
		{name: "from another machine", body: good, change: func(r *http.Request) { r.RemoteAddr = "192.0.2.7:40000" }, status: http.StatusForbidden, code: "Forbidden"},
		{name: "GET method", method: http.MethodGet, status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"},
	}
	h, issuer := newConsole(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newSessionRequest(tc.body)
			if tc.method != "" {
				r.Method = tc.method
			}
			if tc.change != nil {
				tc.change(r)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tc.status != http.StatusOK {
				var e httpapi.ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
					t.Fatalf("error body %s is not the API's error shape: %v", body, err)
				}
				if e.Error.Code != tc.code || e.Error.Message == "" || e.Error.RequestID != w.Header().Get("X-Request-Id") {
					t.Errorf("error %+v (X-Request-Id %q), want code %s, a message and the request id", e.Error, w.Header().Get("X-Request-Id"), tc.code)
				}
				if !strings.Contains(e.Error.Message, tc.wantText) {
					t.Errorf("message %q does not say %q", e.Error.Message, tc.wantText)
				}
				if tc.method == http.MethodGet && w.Header().Get("Allow") != http.MethodPost {
					t.Errorf("Allow %q, want POST", w.Header().Get("Allow"))
				}
				if strings.Contains(body, "eyJ") {
					t.Errorf("a refusal carries a token: %s", body)
				}
				return
			}
			var answer struct{ Token, ExpiresAt string }
			if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
				t.Fatal(err)
			}
			if answer.ExpiresAt != clock.Add(DefaultTokenTTL).Format(time.RFC3339) {
				t.Errorf("expiresAt %q, want an hour after %v", answer.ExpiresAt, clock)
			}
			claims, err := issuer.Verify(answer.Token)
			if err != nil {
				t.Fatalf("the token does not verify with the local issuer: %v", err)
			}
			var want struct{ MemberID, TeamID, Role string }
			_ = json.Unmarshal([]byte(tc.body), &want)
			names := config.DefaultClaimNames
			if claims[names.Subject] != want.MemberID || claims[names.Team] != want.TeamID || claims[names.Role] != want.Role {
				t.Errorf("claims %v, want %+v under the configured claim names", claims, want)
			}
		})
	}
}

// The token carries the claims under the names the server is configured
// with, as the gateway reads them.
func TestSessionUsesConfiguredClaimNames(t *testing.T) {
	issuer, _ := jwtissuer.New("console-test-secret")
	names := config.ClaimNames{Subject: "custom:member", Team: "custom:team", Role: "custom:role"}
	h, err := New(Options{Tokens: issuer, Claims: names})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, newSessionRequest(`{"memberId":"alice","teamId":"t1","role":"member"}`))
	var answer struct{ Token string }
	_ = json.Unmarshal(w.Body.Bytes(), &answer)
	claims, err := issuer.Verify(answer.Token)
	if err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	if claims["custom:member"] != "alice" || claims["custom:team"] != "t1" || claims["custom:role"] != "member" {
		t.Errorf("claims %v, want them under %+v", claims, names)
	}
}

// Every console response, the page, its assets, redirects and refusals
// alike, carries the security headers.
func TestPagesAndSecurityHeaders(t *testing.T) {
	h, _ := newConsole(t)
	cases := []struct {
		method, path string
		status       int
		contentType  string
		wantBody     string
	}{
		{"GET", "/console/", http.StatusOK, "text/html; charset=utf-8", `data-signing-region="eu-west-1"`},
		{"GET", "/console/", http.StatusOK, "text/html; charset=utf-8", `data-max-keys="2"`},
		{"HEAD", "/console/", http.StatusOK, "text/html; charset=utf-8", ""},
		{"GET", "/console/app.js", http.StatusOK, "text/javascript; charset=utf-8", "AWS4-HMAC-SHA256"},
		{"GET", "/console/style.css", http.StatusOK, "text/css; charset=utf-8", ":root"},
		{"GET", "/console", http.StatusMovedPermanently, "", ""},
		{"GET", "/console/nothing.js", http.StatusNotFound, "application/json", `"NotFound"`},
		{"GET", "/console/static/index.html", http.StatusNotFound, "application/json", `"NotFound"`},
		{"POST", "/console/", http.StatusMethodNotAllowed, "application/json", `"MethodNotAllowed"`},
		{"DELETE", "/console/app.js", http.StatusMethodNotAllowed, "application/json", `"MethodNotAllowed"`},
		{"POST", "/console/session", http.StatusUnsupportedMediaType, "application/json", `"UnsupportedMediaType"`},
	}
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://127.0.0.1:3000"+tc.path, nil)
			r.RemoteAddr = "127.0.0.1:51234"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			for name, value := range want {
				if got := w.Header().Get(name); got != value {
					t.Errorf("%s: %q, want %q", name, got, value)
				}
			}
			if tc.contentType != "" && w.Header().Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), tc.contentType)
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("body lacks %q", tc.wantBody)
			}
			if tc.status == http.StatusMovedPermanently && w.Header().Get("Location") != "/console/" {
				t.Errorf("Location %q, want /console/", w.Header().Get("Location"))
			}
			if tc.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD answered a body")
			}
		})
	}
}

// The CSP forbids inline script and style: the page must have none, and no
// resource from elsewhere.
func TestPageHasNoInlineScriptOrStyle(t *testing.T) {
	h, _ := newConsole(t)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/console/", nil))
	page, _ := io.ReadAll(w.Body)
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", "javascript:", "http://", "https://"} {
		if strings.Contains(string(page), bad) {
			t.Errorf("index.html holds %q", bad)
		}
	}
	js, _ := static.ReadFile("static/app.js")
	for _, bad := range []string{"console.log", "console.info", "console.debug", "localStorage", "sessionStorage", "document.cookie", "innerHTML", "eval(", "window.confirm", "confirm("} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %q", bad)
		}
	}
}

func TestServes(t *testing.T) {
	for path, want := range map[string]bool{
		"/console": true, "/console/": true, "/console/session": true, "/console/app.js": true,
		"/consoles": false, "/v1/whoami": false, "/": false, "/v1/console": false,
	} {
		if got := Serves(path); got != want {
			t.Errorf("Serves(%q) = %v, want %v", path, got, want)
		}
	}
}
