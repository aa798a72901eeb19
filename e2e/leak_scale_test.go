package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
)

// TestGitHubLeakReportOf1000Tokens: a report of leak.MaxReportTokens
// tokens, most of them valid-format secrets of no key and some the secrets
// of keys, is answered with feedback in the report's order, disables every
// matched key and records each once (one Query per distinct token, one
// transaction per matched key); GitHub retrying the same report matches
// the same keys and records nothing more.
func TestGitHubLeakReportOf1000Tokens(t *testing.T) {
	gh := newGitHub(t)
	s := gh.stack(t)
	const matchedKeys = 40
	var keys []createdKey
	for i := range matchedKeys {
		keys = append(keys, s.Generate("t1", fmt.Sprintf("m%02d", i/accesskey.MaxKeysPerMember), ""))
	}
	bystander := s.Generate("t1", "bystander", "")

	// Every 25th token is a key's secret; the rest are secrets of no key.
	tokens := make([]string, leak.MaxReportTokens)
	ours := map[string]bool{}
	for i := range tokens {
		if i%25 == 0 {
			tokens[i] = keys[i/25].SecretAccessKey
			ours[tokens[i]] = true
		} else {
			tokens[i] = accesskey.NewSecret()
		}
	}
	report := gh.report(t, tokens...)

	for _, attempt := range []string{"the report", "GitHub's retry of it"} {
		s.Calls.Take()
		began := time.Now()
		fb := feedbackOf(t, s.Do(report))
		took := time.Since(began)
		calls := s.Calls.Take()
		t.Logf("%s: %d tokens (%d of keys) answered in %v (local), calls %v", attempt, len(tokens), matchedKeys, took, calls)
		if len(fb) != len(tokens) {
			t.Fatalf("%s: %d feedback entries, want %d", attempt, len(fb), len(tokens))
		}
		for i, f := range fb {
			want := leak.LabelFalsePositive
			if ours[tokens[i]] {
				want = leak.LabelTruePositive
			}
			if f.TokenRaw != tokens[i] || f.Label != want {
				t.Fatalf("%s: feedback[%d] = %s for another token or %s, want %s (the report's order)", attempt, i, f.Label, map[bool]string{true: "ours", false: "not ours"}[ours[f.TokenRaw]], want)
			}
		}
		if calls["DynamoDB.Query"] != len(tokens) {
			t.Errorf("%s: %d Queries, want one per token (%d)", attempt, calls["DynamoDB.Query"], len(tokens))
		}
		for _, k := range keys {
			if st := keyStatus(t, s, k); st != "Inactive" {
				t.Fatalf("%s: key %s is %s, want Inactive", attempt, k.AccessKeyID, st)
			}
			if recs := leakRecords(t, s, k); len(recs) != 1 {
				t.Fatalf("%s: key %s has %d AccessKeyLeaked records, want 1: %+v", attempt, k.AccessKeyID, len(recs), recs)
			}
		}
	}
	if st := keyStatus(t, s, bystander); st != "Active" {
		t.Fatalf("a key not reported is %s", st)
	}
	checkInvariants(t, s)
}
