package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
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
