package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// gitHub stands in for GitHub's secret scanning: its own key pair, published
// to the local server in a file (TEAMKEYS_GITHUB_KEYS_FILE's shape).
type gitHub struct {
	*fakegithub.Signer
	file string
}

func newGitHub(t *testing.T) *gitHub {
	t.Helper()
	g := &gitHub{Signer: fakegithub.New(t, "test-key-1")}
	g.file = fakegithub.WriteFile(t, "", g.Signer)
	return g
}

// stack starts a local API that trusts g's key.
func (g *gitHub) stack(t *testing.T) *stack {
	t.Helper()
	return teststack.New(t, teststack.Options{Server: func(o *server.Options) { o.Config.GitHubKeysFile = g.file }})
}

func (g *gitHub) sign(t *testing.T, body string) string {
	t.Helper()
	return g.Sign(t, []byte(body))
}

// leakURL is where the tests' reports say a token was found.
const leakURL = "https://github.com/octo/repo/blob/abc/config.yml"

// report is a signed report of tokens, as GitHub sends one.
func (g *gitHub) report(t *testing.T, tokens ...string) request {
	t.Helper()
	return g.reportAt(t, leakURL, tokens...)
}

// reportAt is a signed report of tokens found at url.
func (g *gitHub) reportAt(t *testing.T, url string, tokens ...string) request {
	t.Helper()
	var items []leak.Token
	for _, tok := range tokens {
		items = append(items, leak.Token{Token: tok, Type: "teamkeys_secret_access_key", URL: url, Source: "content"})
	}
	b, _ := json.Marshal(items)
	return g.signed(t, string(b))
}

func (g *gitHub) signed(t *testing.T, body string) request {
	t.Helper()
	return request{Method: "POST", Path: "/v1/leaks/github", Body: body,
		Header: map[string]string{leak.HeaderKeyID: g.KeyID, leak.HeaderSignature: g.sign(t, body)}}
}

func feedbackOf(t *testing.T, resp response) []leak.Feedback {
	t.Helper()
	if resp.Status != http.StatusOK {
		t.Fatalf("report: %s", resp)
	}
	var fb []leak.Feedback
	resp.Decode(t, &fb)
	return fb
}

func keyStatus(t *testing.T, s *stack, key createdKey) string {
	t.Helper()
	for _, k := range s.ListMember(key.TeamID, key.MemberID).AccessKeys {
		if k.AccessKeyID == key.AccessKeyID {
			return k.Status
		}
	}
	return "gone"
}

func leakRecords(t *testing.T, s *stack, key createdKey) []auditEvent {
	t.Helper()
	events, _ := auditEvents(t, s, "?accessKeyId="+key.AccessKeyID)
	var out []auditEvent
	for _, e := range events {
		if e.Action == accesskey.AuditKeyLeaked {
			out = append(out, e)
		}
	}
	return out
}

// TestGitHubLeakReport: a report signed by GitHub's key disables the key of
// a reported secret (one Query, one transaction), and the next request
// signed with it is 401 KeyDisabled (the key never signed before, so no
// verifier has its item cached; a warm one obeys within 1 s:
// TestChangesObeyedWithinOneSecond); reported again from the same URL
// (GitHub retrying) it stays disabled and nothing more is recorded, from
// another URL that report is recorded; a checksum-failing token costs no DynamoDB call, a
// valid-format one of no key one Query, and both are false positives; an
// unsigned, wrongly signed, unknown-key, malformed or oversized report is
// refused with nothing read or changed.
func TestGitHubLeakReport(t *testing.T) {
	gh := newGitHub(t)
	s := gh.stack(t)
	key := s.Generate("t1", "alice", "leaks")
	bystander := s.Generate("t1", "bob", "")

	t.Run("refused", func(t *testing.T) {
		other := newGitHub(t) // a key GitHub does not publish here
		valid := gh.report(t, key.SecretAccessKey)
		forged := valid
		forged.Header = map[string]string{leak.HeaderKeyID: gh.KeyID, leak.HeaderSignature: other.sign(t, valid.Body)}
		unknownID := valid
		unknownID.Header = map[string]string{leak.HeaderKeyID: "no-such-key", leak.HeaderSignature: valid.Header[leak.HeaderSignature]}
		unsigned := valid
		unsigned.Header = nil
		tampered := valid
		tampered.Body = strings.Replace(valid.Body, "content", "commit", 1)
		many := "[" + strings.TrimSuffix(strings.Repeat(`{"token":"`+key.SecretAccessKey+`"},`, leak.MaxReportTokens+1), ",") + "]"
		huge := `[{"token":"` + key.SecretAccessKey + `","url":"` + strings.Repeat("a", leak.MaxReportBytes) + `"}]`
		for _, tt := range []struct {
			name   string
			req    request
			status int
			code   string
		}{
			{"unsigned", unsigned, 401, "MissingSignature"},
			{"signed by another key", forged, 401, "InvalidSignature"},
			{"body changed after signing", tampered, 401, "InvalidSignature"},
			{"unknown key identifier", unknownID, 401, "InvalidSignature"},
			{"not an array", gh.signed(t, `{"token":"`+key.SecretAccessKey+`"}`), 400, "ValidationError"},
			{"more than 1000 tokens", gh.signed(t, many), 400, "ValidationError"},
			{"over 1 MiB", gh.signed(t, huge), 413, "PayloadTooLarge"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s.Calls.Take()
				resp := s.Do(tt.req)
				if resp.Status != tt.status || resp.ErrorCode(t) != tt.code {
					t.Fatalf("%s: want %d %s", resp, tt.status, tt.code)
				}
				if calls := s.Calls.Take(); len(calls) != 0 {
					t.Fatalf("a refused report made calls %v", calls)
				}
				if st := keyStatus(t, s, key); st != "Active" {
					t.Fatalf("key %s after a refused report", st)
				}
			})
		}
		if recs := leakRecords(t, s, key); len(recs) != 0 {
			t.Fatalf("refused reports recorded %+v", recs)
		}
	})

	t.Run("false positives cost at most one read", func(t *testing.T) {
		typo := key.SecretAccessKey[:len(key.SecretAccessKey)-1] + string(flip(key.SecretAccessKey[len(key.SecretAccessKey)-1]))
		s.Calls.Take()
		fb := feedbackOf(t, s.Do(gh.report(t, typo, "ghp_notours", "tksk_")))
		if len(fb) != 3 || fb[0].Label != leak.LabelFalsePositive || fb[0].TokenRaw != typo || fb[1].Label != leak.LabelFalsePositive {
			t.Fatalf("feedback %+v", fb)
		}
		if calls := s.Calls.Take(); len(calls) != 0 {
			t.Fatalf("checksum-failing tokens made calls %v, want none", calls)
		}
		fb = feedbackOf(t, s.Do(gh.report(t, accesskey.NewSecret())))
		if len(fb) != 1 || fb[0].Label != leak.LabelFalsePositive {
			t.Fatalf("feedback %+v", fb)
		}
		if calls := s.Calls.Take(); calls["DynamoDB.Query"] != 1 || len(calls) != 1 {
			t.Fatalf("a valid-format token of no key made calls %v, want one Query", calls)
		}
	})

	t.Run("a leaked key is disabled", func(t *testing.T) {
		s.Calls.Take()
		began := time.Now()
		fb := feedbackOf(t, s.Do(gh.report(t, key.SecretAccessKey)))
		calls := s.Calls.Take()
		refused := s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now()))
		elapsed := time.Since(began)
		if len(fb) != 1 || fb[0] != (leak.Feedback{TokenRaw: key.SecretAccessKey, TokenType: "teamkeys_secret_access_key", Label: leak.LabelTruePositive}) {
			t.Fatalf("feedback %+v", fb)
		}
		if refused.Status != http.StatusUnauthorized || refused.ErrorCode(t) != "KeyDisabled" {
			t.Fatalf("whoami right after the report: %s", refused)
		}
		t.Logf("report to refusal (local: report answered, then the next signed request refused): %v", elapsed)
		if calls["DynamoDB.Query"] != 1 || calls["DynamoDB.TransactWriteItems"] != 1 || len(calls) != 2 {
			t.Fatalf("the report made calls %v, want one Query and one TransactWriteItems", calls)
		}
		if st := keyStatus(t, s, key); st != "Inactive" {
			t.Fatalf("reported key %s, want Inactive (disabled, not deleted)", st)
		}
		if st := keyStatus(t, s, bystander); st != "Active" {
			t.Fatalf("another key %s", st)
		}
	})

	// GitHub retries a report it got no answer to: the same URL again
	// (here twice in one report) matches, and records nothing more.
	t.Run("reported again, same URL", func(t *testing.T) {
		fb := feedbackOf(t, s.Do(gh.report(t, key.SecretAccessKey, key.SecretAccessKey)))
		if len(fb) != 2 || fb[0].Label != leak.LabelTruePositive || fb[1].Label != leak.LabelTruePositive {
			t.Fatalf("feedback %+v", fb)
		}
		if st := keyStatus(t, s, key); st != "Inactive" {
			t.Fatalf("key %s", st)
		}
		if recs := leakRecords(t, s, key); len(recs) != 1 {
			t.Fatalf("%d AccessKeyLeaked records, want 1 (a repeated report records nothing): %+v", len(recs), recs)
		}
	})

	t.Run("reported again, another URL", func(t *testing.T) {
		other := "https://github.com/octo/fork/blob/def/config.yml"
		fb := feedbackOf(t, s.Do(gh.reportAt(t, other, key.SecretAccessKey)))
		if len(fb) != 1 || fb[0].Label != leak.LabelTruePositive {
			t.Fatalf("feedback %+v", fb)
		}
		recs := leakRecords(t, s, key) // newest first
		if len(recs) != 2 {
			t.Fatalf("%d AccessKeyLeaked records, want 2 (one per URL): %+v", len(recs), recs)
		}
		first, again := recs[1], recs[0]
		if first.Changes.StatusBefore != "Active" || first.Changes.StatusAfter != "Inactive" || first.Leak == nil || first.Leak.URL != leakURL ||
			again.Changes.StatusBefore != "Inactive" || again.Changes.StatusAfter != "Inactive" || again.Leak == nil || again.Leak.URL != other {
			t.Fatalf("records %+v", recs)
		}
		for _, r := range recs {
			if r.Actor.Type != accesskey.ActorTypeLeakReport || r.Actor.Sub != "github" || r.Leak == nil ||
				r.Leak.Source != "content" || r.MemberID != "alice" {
				t.Fatalf("record %+v", r)
			}
		}
		events, _ := auditEvents(t, s, "")
		b, _ := json.Marshal(events)
		if strings.Contains(string(b), key.SecretAccessKey) || strings.Contains(s.Logs.String(), key.SecretAccessKey) {
			t.Fatal("a secret in the audit records or the log")
		}
	})
	checkInvariants(t, s)
}

// TestTeamLeakReport: a team's owner or admin reports a leaked secret
// through the API: the team's key is disabled and named; another team's
// key is answered as no match and left Active; a string that is not a
// secret matches nothing and costs no read.
func TestTeamLeakReport(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	other := s.Generate("t2", "carol", "")
	report := func(team, secret string) (response, map[string]any) {
		resp := s.Do(request{Method: "POST", Path: "/v1/teams/" + team + "/leaks", Token: s.Token("root", team, accesskey.RoleAdmin),
			Body: `{"secretAccessKey":"` + secret + `"}`})
		var got map[string]any
		if resp.Status == http.StatusOK {
			resp.Decode(t, &got)
		}
		return resp, got
	}
	if resp, got := report("t1", other.SecretAccessKey); resp.Status != 200 || got["matched"] != false || len(got) != 1 {
		t.Fatalf("another team's secret: %s", resp)
	}
	if st := keyStatus(t, s, other); st != "Active" {
		t.Fatalf("another team's key %s", st)
	}
	s.Calls.Take()
	if resp, got := report("t1", "tksk_not-a-secret"); resp.Status != 200 || got["matched"] != false {
		t.Fatalf("not a secret: %s", resp)
	}
	if calls := s.Calls.Take(); len(calls) != 0 {
		t.Fatalf("not a secret: calls %v", calls)
	}
	resp, got := report("t1", key.SecretAccessKey)
	if resp.Status != 200 || got["matched"] != true || got["accessKeyId"] != key.AccessKeyID || got["memberId"] != "alice" || got["status"] != "Inactive" {
		t.Fatalf("the team's secret: %s", resp)
	}
	if st := keyStatus(t, s, key); st != "Inactive" {
		t.Fatalf("key %s", st)
	}
	recs := leakRecords(t, s, key)
	if len(recs) != 1 || recs[0].Actor.Type != "user" || recs[0].Actor.Sub != "root" || recs[0].Leak == nil || recs[0].Leak.Source != "api" {
		t.Fatalf("records %+v", recs)
	}
	if resp := s.Do(request{Method: "POST", Path: "/v1/teams/t1/leaks", Token: s.Token("root", "t1", accesskey.RoleAdmin), Body: `{}`}); resp.Status != 400 || resp.ErrorCode(t) != "ValidationError" {
		t.Fatalf("no secret: %s", resp)
	}
	checkInvariants(t, s)
}

// TestLeakReportLatency measures, without asserting it, the time from
// sending a signed one-token GitHub report to the answer of the next
// request signed with the reported key (401 KeyDisabled), over 20 keys:
// the figure docs/API.md quotes.
func TestLeakReportLatency(t *testing.T) {
	gh := newGitHub(t)
	s := gh.stack(t)
	var took []time.Duration
	for i := range 20 {
		key := s.Generate("t1", fmt.Sprintf("m%d", i), "")
		began := time.Now()
		fb := feedbackOf(t, s.Do(gh.report(t, key.SecretAccessKey)))
		refused := s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now()))
		took = append(took, time.Since(began))
		if len(fb) != 1 || fb[0].Label != leak.LabelTruePositive || refused.Status != http.StatusUnauthorized || refused.ErrorCode(t) != "KeyDisabled" {
			t.Fatalf("key %d: feedback %+v, then %s", i, fb, refused)
		}
	}
	slices.Sort(took)
	t.Logf("report to refusal over %d keys: median %v, p90 %v, max %v", len(took), took[len(took)/2], took[len(took)*9/10], took[len(took)-1])
}
