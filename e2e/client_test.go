package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/pkg/client"
)

// operationRecorder notes which route of the route table (openapi.yaml's
// operations, TestOpenAPIIsTheRouteTable) each request a client sends
// matches.
type operationRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool
}

func (o *operationRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if op := routeOperation(r.Method, r.URL.EscapedPath()); op != "" {
		o.mu.Lock()
		o.seen[op] = true
		o.mu.Unlock()
	}
	return o.next.RoundTrip(r)
}

// routeOperation is the operation id of the route that method and path
// match, or "".
func routeOperation(method, path string) string {
	segments := strings.Split(path, "/")
	for _, r := range httpapi.Routes {
		pattern := strings.Split(r.Path, "/")
		if r.Method != method || len(pattern) != len(segments) {
			continue
		}
		match := true
		for i, p := range pattern {
			if !strings.HasPrefix(p, "{") && p != segments[i] {
				match = false
				break
			}
		}
		if match {
			return r.Operation
		}
	}
	return ""
}

// TestClientDoesEveryOperation uses pkg/client for every operation of
// openapi.yaml against the local server, and fails when one was not
// called: a route added to the spec needs its client method and its row
// here.
func TestClientDoesEveryOperation(t *testing.T) {
	g := newGitHub(t)
	s := g.stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recorder := &operationRecorder{next: http.DefaultTransport, seen: map[string]bool{}}
	httpClient := &http.Client{Transport: recorder, Timeout: 30 * time.Second}
	newClient := func(opts ...client.Option) *client.Client {
		c, err := client.New(s.URL, append([]client.Option{client.WithHTTPClient(httpClient)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	admin := newClient(client.WithToken(s.Token("root", "t1", accesskey.RoleOwner)))
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}

	days := 30
	policy, err := admin.PutKeyPolicy(ctx, "t1", client.KeyPolicyRequest{MaxLifetimeDays: &days})
	must("put the key policy", err)
	if policy.MaxLifetimeDays == nil || *policy.MaxLifetimeDays != 30 {
		t.Fatalf("policy %+v", policy)
	}
	policy, err = admin.GetKeyPolicy(ctx, "t1")
	must("get the key policy", err)
	if policy.MaxLifetimeDays == nil || *policy.MaxLifetimeDays != 30 {
		t.Fatalf("policy read back %+v", policy)
	}

	desc := "ci deploys"
	first, err := admin.GenerateAccessKey(ctx, "t1", "alice", client.GenerateAccessKeyRequest{Description: &desc}, nil)
	must("generate", err)
	if first.ExpiresAt == nil || first.ExpiresAt.After(time.Now().Add(31*24*time.Hour)) || !strings.HasPrefix(first.SecretAccessKey, "tksk_") {
		t.Fatalf("created %+v: want a tksk_ secret that expires within the policy's 30 days", first)
	}
	idem := "client-e2e-1"
	second, err := admin.GenerateAccessKey(ctx, "t1", "alice", client.GenerateAccessKeyRequest{}, &client.GenerateAccessKeyParams{IdempotencyKey: &idem})
	must("generate a second", err)
	replayed, err := admin.GenerateAccessKey(ctx, "t1", "alice", client.GenerateAccessKeyRequest{}, &client.GenerateAccessKeyParams{IdempotencyKey: &idem})
	must("replay the second", err)
	if replayed.AccessKeyId != second.AccessKeyId || replayed.SecretAccessKey != second.SecretAccessKey {
		t.Fatalf("a replay made %s, the first made %s", replayed.AccessKeyId, second.AccessKeyId)
	}
	_, err = admin.GenerateAccessKey(ctx, "t1", "alice", client.GenerateAccessKeyRequest{}, nil)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || apiErr.Code != client.ErrorCodeLimitExceeded || apiErr.RequestID == "" {
		t.Fatalf("a third key: %v, want a 409 LimitExceeded *APIError with a request id", err)
	}
	bad := "line\nbreak"
	if _, err := admin.GenerateAccessKey(ctx, "t1", "bob", client.GenerateAccessKeyRequest{Description: &bad}, nil); client.ErrorCodeOf(err) != client.ErrorCodeValidationError {
		t.Fatalf("a description with a newline: %v, want ValidationError", err)
	}

	list, err := admin.ListMemberAccessKeys(ctx, "t1", "alice")
	must("list alice's keys", err)
	described := slices.IndexFunc(list.AccessKeys, func(k client.AccessKey) bool { return k.AccessKeyId == first.AccessKeyId && k.Description == desc })
	if len(list.AccessKeys) != 2 || described < 0 {
		t.Fatalf("alice's keys %+v", list.AccessKeys)
	}
	got, err := admin.GetAccessKey(ctx, "t1", "alice", first.AccessKeyId)
	must("get a key", err)
	if got.Status != client.AccessKeyStatusActive || got.MemberId != "alice" {
		t.Fatalf("got %+v", got)
	}
	limit := 1
	page, err := admin.ListTeamAccessKeys(ctx, "t1", &client.ListTeamAccessKeysParams{Limit: &limit})
	must("list a page of the team's keys", err)
	if len(page.AccessKeys) != 1 || page.NextToken == nil {
		t.Fatalf("first page of one: %d keys, next %v", len(page.AccessKeys), page.NextToken)
	}
	var all []string
	for k, err := range admin.TeamAccessKeys(ctx, "t1") {
		must("walk the team's keys", err)
		all = append(all, k.AccessKeyId)
	}
	if len(all) != 2 {
		t.Fatalf("team keys %v", all)
	}

	signer := newClient(client.WithAccessKey(first.AccessKeyId, first.SecretAccessKey))
	me, err := signer.WhoAmIGet(ctx)
	must("whoami (GET, SigV4)", err)
	if me.MemberId != "alice" || me.AccessKeyId != first.AccessKeyId || me.Scheme != client.WhoAmISchemeAWS4HMACSHA256 {
		t.Fatalf("whoami %+v", me)
	}
	me, err = signer.WhoAmIPost(ctx, []byte(`{"hello":"world"}`), true)
	must("whoami (POST, ZC2)", err)
	if me.Scheme != client.WhoAmISchemeZC2HMACSHA256 {
		t.Fatalf("whoami %+v", me)
	}

	disabled, err := admin.DisableAccessKey(ctx, "t1", "alice", first.AccessKeyId)
	must("disable", err)
	if disabled.Status != client.AccessKeyStatusInactive {
		t.Fatalf("disabled %+v", disabled)
	}
	// Refused within 1 s (the server may have the key's item cached that
	// long): meanwhile only an admission.
	for deadline := time.Now().Add(boundWait); ; time.Sleep(50 * time.Millisecond) {
		_, err := signer.WhoAmIGet(ctx)
		if client.ErrorCodeOf(err) == client.ErrorCodeKeyDisabled {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("whoami with a disabled key, within 1 s (waited up to %v): %v", boundWait, err)
		}
	}
	enabled, err := admin.EnableAccessKey(ctx, "t1", "alice", first.AccessKeyId)
	must("enable", err)
	if enabled.Status != client.AccessKeyStatusActive {
		t.Fatalf("enabled %+v", enabled)
	}

	zero := 0
	rotated, err := admin.RotateAccessKey(ctx, "t1", "alice", first.AccessKeyId, client.RotateAccessKeyRequest{GracePeriodSeconds: &zero}, nil)
	must("rotate", err)
	if rotated.RotatedFrom == nil || *rotated.RotatedFrom != first.AccessKeyId || rotated.SecretAccessKey == "" {
		t.Fatalf("rotated %+v", rotated)
	}
	// The team's policy does not allow self-rotation (selfrotate_test.go
	// has the rest).
	selfSigner := newClient(client.WithAccessKey(rotated.AccessKeyId, rotated.SecretAccessKey))
	if _, err := selfSigner.RotateSelf(ctx, client.RotateSelfInput{GracePeriodSeconds: &zero}); client.ErrorCodeOf(err) != client.ErrorCodeSelfRotationNotAllowed {
		t.Fatalf("self-rotate without the policy's leave: %v", err)
	}

	updated, err := admin.UpdateAccessKey(ctx, "t1", "alice", rotated.AccessKeyId, client.AccessKeyUpdate{
		AllowedCidrs: client.Restrict("198.51.100.7"), Scopes: client.Restrict()})
	must("update", err)
	if updated.AllowedCidrs == nil || strings.Join(*updated.AllowedCidrs, " ") != "198.51.100.7/32" || updated.Scopes == nil || len(*updated.Scopes) != 0 {
		t.Fatalf("updated %+v", updated)
	}
	lifted, err := admin.UpdateAccessKey(ctx, "t1", "alice", rotated.AccessKeyId, client.AccessKeyUpdate{AllowedCidrs: client.Lift(), Scopes: client.Lift()})
	must("lift", err)
	if lifted.AllowedCidrs != nil || lifted.Scopes != nil {
		t.Fatalf("lifted %+v", lifted)
	}

	answer, err := admin.ReportTeamLeak(ctx, "t1", client.TeamLeakReport{SecretAccessKey: rotated.SecretAccessKey})
	must("report a leak", err)
	if !answer.Matched || answer.AccessKeyId == nil || *answer.AccessKeyId != rotated.AccessKeyId {
		t.Fatalf("leak answer %+v", answer)
	}
	body, _ := json.Marshal([]client.GitHubReportedToken{{Token: second.SecretAccessKey}})
	feedback, err := newClient().ReportGitHubLeaks(ctx, body, client.ReportGitHubLeaksParams{
		GithubPublicKeyIdentifier: g.KeyID, GithubPublicKeySignature: g.sign(t, string(body))})
	must("GitHub's report", err)
	if len(feedback) != 1 || feedback[0].Label != client.TruePositive {
		t.Fatalf("GitHub feedback %+v", feedback)
	}

	report, err := admin.CredentialReport(ctx, "t1")
	must("the credential report", err)
	if len(report.Keys) != 2 {
		t.Fatalf("report rows %+v", report.Keys)
	}
	csv, err := admin.CredentialReportCSV(ctx, "t1")
	must("the CSV report", err)
	if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "memberId,accessKeyId,") {
		t.Fatalf("CSV report:\n%s", csv)
	}

	alice := "alice"
	events, err := admin.ListAuditEvents(ctx, "t1", &client.ListAuditEventsParams{MemberId: &alice})
	must("the audit trail", err)
	var actions []client.AuditEventAction
	for _, e := range events.AuditEvents {
		actions = append(actions, e.Action)
	}
	for _, want := range []client.AuditEventAction{client.AccessKeyCreated, client.AccessKeyDisabled, client.AccessKeyEnabled, client.AccessKeyRotated, client.AccessKeyLeaked} {
		if !slices.Contains(actions, want) {
			t.Errorf("alice's trail %v has no %s", actions, want)
		}
	}

	must("delete", admin.DeleteAccessKey(ctx, "t1", "alice", rotated.AccessKeyId))
	if _, err := admin.GetAccessKey(ctx, "t1", "alice", rotated.AccessKeyId); client.ErrorCodeOf(err) != client.ErrorCodeNotFound {
		t.Fatalf("a deleted key: %v", err)
	}
	off, err := admin.OffboardMember(ctx, "t1", "alice")
	must("offboard", err)
	if len(off.Deleted) != 1 || off.Deleted[0] != second.AccessKeyId {
		t.Fatalf("offboarded %+v", off)
	}

	for _, r := range httpapi.Routes {
		if !recorder.seen[r.Operation] {
			t.Errorf("no client call reached %s %s (%s)", r.Method, r.Path, r.Operation)
		}
	}
}
