package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
)

// A signed GitHub report is answered with GitHub's feedback, one entry per
// token in order: a token failing the secret format costs no lookup, a
// token repeated within the report is looked up once, a token of a key is
// true_positive; the log holds no token.
func TestGitHubReportFeedback(t *testing.T) {
	h := newHarness(t)
	ours, stranger := accesskey.NewSecret(), accesskey.NewSecret()
	typo := ours[:len(ours)-1] + map[bool]string{true: "A", false: "B"}[ours[len(ours)-1] != 'A']
	h.store.leaked = map[string]accesskey.Ref{accesskey.SecretSHA256(ours): {TeamID: "t1", MemberID: "bob", AccessKeyID: "TKAKAAAAAAAAAAAAAAAAAAAA"}}
	var tokens []leak.Token
	for _, tok := range []string{ours, typo, stranger, ours, "ghp_x"} {
		tokens = append(tokens, leak.Token{Token: tok, Type: "teamkeys", URL: "https://github.com/o/r", Source: "content"})
	}
	body, _ := json.Marshal(tokens)
	_, resp := h.do(t, request{method: "POST", path: "/v1/leaks/github", body: string(body), contentType: "application/json", claims: map[string]string{},
		headers: map[string]string{"github-public-key-identifier": h.github.KeyID, "github-public-key-signature": h.github.Sign(t, body)}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %d %s", resp.StatusCode, resp.Body)
	}
	var fb []leak.Feedback
	if err := json.Unmarshal([]byte(resp.Body), &fb); err != nil {
		t.Fatal(err)
	}
	want := []string{leak.LabelTruePositive, leak.LabelFalsePositive, leak.LabelFalsePositive, leak.LabelTruePositive, leak.LabelFalsePositive}
	if len(fb) != len(want) {
		t.Fatalf("feedback %+v", fb)
	}
	for i, f := range fb {
		if f.Label != want[i] || f.TokenRaw != tokens[i].Token || f.TokenType != "teamkeys" {
			t.Errorf("feedback[%d] = %+v, want %s for %q", i, f, want[i], tokens[i].Token)
		}
	}
	if h.store.lookups != 2 {
		t.Errorf("%d lookups, want 2 (ours once, the stranger once; the typo and ghp_x none)", h.store.lookups)
	}
	if logs := h.logs.String(); strings.Contains(logs, ours) || strings.Contains(logs, stranger) || strings.Contains(logs, typo) {
		t.Error("a token in the log")
	}
}

// A report without GitHub's headers, or signed with another key, is
// refused in the error shape and looks nothing up.
func TestGitHubReportRefused(t *testing.T) {
	h := newHarness(t)
	body := `[{"token":"` + accesskey.NewSecret() + `"}]`
	for _, tt := range []struct {
		name    string
		headers map[string]string
		code    string
	}{
		{"unsigned", nil, "MissingSignature"},
		{"unknown key", map[string]string{"github-public-key-identifier": "other", "github-public-key-signature": h.github.Sign(t, []byte(body))}, "InvalidSignature"},
		{"wrong body", map[string]string{"github-public-key-identifier": h.github.KeyID, "github-public-key-signature": h.github.Sign(t, []byte(body+" "))}, "InvalidSignature"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, resp := h.do(t, request{method: "POST", path: "/v1/leaks/github", body: body, contentType: "application/json", claims: map[string]string{}, headers: tt.headers})
			assertError(t, resp, http.StatusUnauthorized, tt.code, ev.RequestContext.RequestID)
			if h.store.lookups != 0 {
				t.Fatalf("%d lookups", h.store.lookups)
			}
		})
	}
}

// githubReport sends tokens as one signed GitHub report.
func githubReport(t *testing.T, h *harness, tokens []leak.Token) (events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	body, _ := json.Marshal(tokens)
	return h.do(t, request{method: "POST", path: "/v1/leaks/github", body: string(body), contentType: "application/json", claims: map[string]string{},
		headers: map[string]string{"github-public-key-identifier": h.github.KeyID, "github-public-key-signature": h.github.Sign(t, body)}})
}

// A report of leak.MaxReportTokens tokens, looked up many at a time, is
// answered with one entry per token in the report's order, each distinct
// token looked up once.
func TestGitHubReportOfMaxTokens(t *testing.T) {
	h := newHarness(t)
	h.store.leaked = map[string]accesskey.Ref{}
	tokens := make([]leak.Token, leak.MaxReportTokens)
	want := make([]string, len(tokens))
	distinct := 0
	for i := range tokens {
		tok := accesskey.NewSecret()
		switch {
		case i%100 == 99: // the token 50 places before, again
			tok = tokens[i-50].Token
		case i%7 == 0:
			h.store.leaked[accesskey.SecretSHA256(tok)] = accesskey.Ref{TeamID: "t1", MemberID: fmt.Sprint("m", i), AccessKeyID: fmt.Sprintf("TKAK%020d", i)}
			distinct++
		default:
			distinct++
		}
		tokens[i] = leak.Token{Token: tok, Type: "teamkeys", URL: "https://github.com/o/r", Source: "content"}
		want[i] = leak.LabelFalsePositive
		if _, ours := h.store.leaked[accesskey.SecretSHA256(tok)]; ours {
			want[i] = leak.LabelTruePositive
		}
	}
	_, resp := githubReport(t, h, tokens)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %d %s", resp.StatusCode, resp.Body)
	}
	var fb []leak.Feedback
	if err := json.Unmarshal([]byte(resp.Body), &fb); err != nil {
		t.Fatal(err)
	}
	if len(fb) != len(tokens) {
		t.Fatalf("%d feedback entries, want %d", len(fb), len(tokens))
	}
	for i, f := range fb {
		if f.TokenRaw != tokens[i].Token || f.Label != want[i] {
			t.Fatalf("feedback[%d] = %s for %q, want %s for %q", i, f.Label, f.TokenRaw, want[i], tokens[i].Token)
		}
	}
	if h.store.lookups != distinct {
		t.Errorf("%d lookups, want %d (each distinct token once)", h.store.lookups, distinct)
	}
}

// A lookup that fails fails the report (503, nothing of the store's error
// in the body): GitHub retries it, and the keys already disabled for the
// same URL are skipped then (the store's concern).
func TestGitHubReportStoreFailure(t *testing.T) {
	h := newHarness(t)
	tokens := make([]leak.Token, 100)
	for i := range tokens {
		tokens[i] = leak.Token{Token: accesskey.NewSecret(), Type: "teamkeys", URL: "https://github.com/o/r"}
	}
	bad := accesskey.SecretSHA256(tokens[42].Token)
	h.store.leakErr = func(hash string) error {
		if hash == bad {
			return fmt.Errorf("query secret hash: %w: throttled", accesskey.ErrUnavailable)
		}
		return nil
	}
	ev, resp := githubReport(t, h, tokens)
	assertError(t, resp, http.StatusServiceUnavailable, "ServiceUnavailable", ev.RequestContext.RequestID)
	if strings.Contains(resp.Body, "throttled") {
		t.Fatalf("the store's error in the answer: %s", resp.Body)
	}
}

// When the answer depends on keys not yet fetched (the keys' source fails
// while old keys are cached, and the report names a key the cache lacks),
// the report is answered 503 with Retry-After, so that GitHub retries,
// not 401 as a forgery; a key the source does not publish is still 401.
func TestGitHubReportKeysUnavailable(t *testing.T) {
	h := newHarness(t)
	path := fakegithub.WriteFile(t, "", h.github)
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	h.invoke = httpapi.LambdaHandler(httpapi.NewAll(httpapi.AllDeps{
		Common: httpapi.Common{Log: log, Now: time.Now}, Store: h.store, Sealer: h.sealer, PageTokens: fakeTokens{}, Verifier: h.verifier,
		GitHubKeys: leak.FileKeys(path),
	}), log)
	next, stranger := fakegithub.New(t, "gh-2"), fakegithub.New(t, "gh-3")
	body := []byte(`[{"token":"ghp_x"}]`)
	for _, tt := range []struct {
		name    string
		publish []*fakegithub.Signer // nil: the keys file is gone
		signer  *fakegithub.Signer
		status  int
		code    string
	}{
		{"published key", []*fakegithub.Signer{h.github}, h.github, http.StatusOK, ""},
		{"cached key, source gone", nil, h.github, http.StatusOK, ""},
		{"new key, source gone", nil, next, http.StatusServiceUnavailable, "ServiceUnavailable"},
		{"new key, published", []*fakegithub.Signer{h.github, next}, next, http.StatusOK, ""},
		{"key never published", []*fakegithub.Signer{h.github, next}, stranger, http.StatusUnauthorized, "InvalidSignature"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.publish == nil {
				_ = os.Remove(path)
			} else {
				fakegithub.WriteFile(t, path, tt.publish...)
			}
			ev, resp := h.do(t, request{method: "POST", path: "/v1/leaks/github", body: string(body), contentType: "application/json", claims: map[string]string{},
				headers: map[string]string{"github-public-key-identifier": tt.signer.KeyID, "github-public-key-signature": tt.signer.Sign(t, body)}})
			if tt.code == "" {
				if resp.StatusCode != tt.status {
					t.Fatalf("report: %d %s, want %d", resp.StatusCode, resp.Body, tt.status)
				}
				return
			}
			assertError(t, resp, tt.status, tt.code, ev.RequestContext.RequestID)
			if ra := resp.Headers["Retry-After"]; (tt.status == http.StatusServiceUnavailable) != (ra != "") {
				t.Fatalf("Retry-After = %q on a %d", ra, tt.status)
			}
		})
	}
}
