package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
)

// LeakResponder disables the key a leaked secret belongs to (of teamID
// only, when not empty), with its AccessKeyLeaked record.
type LeakResponder interface {
	DisableLeaked(ctx context.Context, secretSHA256, teamID string, l accesskey.Leak, audit accesskey.Audit) (accesskey.Ref, bool, error)
}

// NewLeakReport returns the LeakReport function's handler: GitHub's secret
// scanning reports, verified with keys, and a team admin's report.
func NewLeakReport(c Common, store LeakResponder, keys leak.Keys) (LambdaHandlerFunc, error) {
	if store == nil || keys == nil {
		return nil, missing(FunctionLeakReport, "a LeakResponder and GitHub's public keys")
	}
	return newFunction(FunctionLeakReport, &api{Common: c, leaks: store, githubKeys: keys})
}

// githubReporter is the actor's sub of GitHub's reports.
const githubReporter = "github"

// leakGitHub answers a GitHub secret scanning report: refused whole (4xx,
// nothing read) unless signed by one of GitHub's keys and well formed; then
// each token in teamkeys' secret format (prefix and checksum; anything else
// costs no read) is looked up by its hash and its key disabled, leakWorkers
// tokens at a time. The answer is GitHub's feedback, one entry per reported
// token, in the report's order. No token is logged.
func (a *api) leakGitHub(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := leak.Verify(r.Context(), a.githubKeys, r.Header.Get(leak.HeaderKeyID), r.Header.Get(leak.HeaderSignature), body); err != nil {
		return err
	}
	tokens, err := leak.ParseReport(body)
	if err != nil {
		return err
	}
	audit := accesskey.Audit{Actor: accesskey.LeakReportActor(githubReporter), RequestID: RequestID(r.Context()), At: a.Now()}
	// A token reported twice in one report is looked up once: first[i] is
	// the index of the first of tokens[i]'s reports.
	first := make([]int, len(tokens))
	seen := map[string]int{}
	for i, t := range tokens {
		if j, ok := seen[t.Token]; ok {
			first[i] = j
			continue
		}
		seen[t.Token], first[i] = i, i
	}
	matched := make([]bool, len(tokens))
	g, ctx := errgroup.WithContext(r.Context())
	g.SetLimit(leakWorkers)
	for i, t := range tokens {
		if first[i] != i {
			continue
		}
		g.Go(func() error {
			_, ok, err := a.disableLeaked(ctx, t.Token, "", accesskey.NewLeak(t.URL, t.Source), audit)
			matched[i] = ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	feedback := make([]leak.Feedback, 0, len(tokens))
	for i, t := range tokens {
		label := leak.LabelFalsePositive
		if matched[first[i]] {
			label = leak.LabelTruePositive
		}
		feedback = append(feedback, leak.Feedback{TokenRaw: t.Token, TokenType: t.Type, Label: label})
	}
	writeJSON(w, http.StatusOK, feedback)
	return nil
}

// leakWorkers bounds the tokens of one GitHub report looked up at once. A
// matched token costs a Query and a TransactWriteItems, ~30-40 ms on AWS
// (a token of no key: the Query, ~10 ms): 32 at a time handle a report of
// leak.MaxReportTokens (1,000) tokens, every one matched, in ~1.3 s, well
// inside the function's 10 s timeout (one after another: ~35-40 s). What
// bounds it next is the matched keys' audit records when they are all of
// one team: ~770 transactional puts/s (2 write units each) on that team's
// audit partitions. A throttled one fails the report (503): GitHub retries
// it, and the keys already disabled for its URL are skipped (leak.go in
// internal/dynamostore). A token that fails the secret format costs
// nothing.
const leakWorkers = 32

// disableLeaked disables the key of secret (of teamID only, when not
// empty); a string that is not in the secret format matches nothing and
// costs no read.
func (a *api) disableLeaked(ctx context.Context, secret, teamID string, l accesskey.Leak, audit accesskey.Audit) (accesskey.Ref, bool, error) {
	if !accesskey.ValidSecretFormat(secret) {
		return accesskey.Ref{}, false, nil
	}
	return a.leaks.DisableLeaked(ctx, accesskey.SecretSHA256(secret), teamID, l, audit)
}

// leakSourceAPI is the source of a leak an admin reports through the API.
const leakSourceAPI = "api"

type leakAnswerJSON struct {
	Matched     bool   `json:"matched"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	MemberID    string `json:"memberId,omitempty"`
	Status      string `json:"status,omitempty"`
}

// leakTeam is an owner's or admin's leak report: the team's key of the
// secret in the body, if any, is disabled. A key of another team is
// answered as no match, and nothing happens to it.
func (a *api) leakTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionReportLeak, false, false)
	if err != nil {
		return err
	}
	fields, err := readJSONObject(r, "secretAccessKey")
	if err != nil {
		return err
	}
	var secret string
	if raw, ok := fields["secretAccessKey"]; !ok || json.Unmarshal(raw, &secret) != nil || secret == "" {
		return accesskey.Invalid("secretAccessKey", "must be a non-empty string")
	}
	ref, matched, err := a.disableLeaked(r.Context(), secret, t.ref.TeamID, accesskey.Leak{Source: leakSourceAPI}, a.auditOf(r, t))
	if err != nil {
		return err
	}
	out := leakAnswerJSON{Matched: matched}
	if matched {
		out.AccessKeyID, out.MemberID, out.Status = ref.AccessKeyID, ref.MemberID, string(accesskey.StatusInactive)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
