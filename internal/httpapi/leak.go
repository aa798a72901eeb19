package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

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
// costs no read) is looked up by its hash and its key disabled. The answer
// is GitHub's feedback, one entry per reported token. No token is logged.
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
	feedback := make([]leak.Feedback, 0, len(tokens))
	labels := map[string]string{} // a token reported twice in one report is looked up once
	for _, t := range tokens {
		label, seen := labels[t.Token]
		if !seen {
			_, matched, err := a.disableLeaked(r.Context(), t.Token, "", accesskey.NewLeak(t.URL, t.Source), audit)
			if err != nil {
				return err
			}
			label = leak.LabelFalsePositive
			if matched {
				label = leak.LabelTruePositive
			}
			labels[t.Token] = label
		}
		feedback = append(feedback, leak.Feedback{TokenRaw: t.Token, TokenType: t.Type, Label: label})
	}
	writeJSON(w, http.StatusOK, feedback)
	return nil
}

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
