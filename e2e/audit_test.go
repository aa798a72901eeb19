package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// auditEvent is one record of the audit-events answer.
type auditEvent struct {
	EventID     string `json:"eventId"`
	Time        string `json:"time"`
	TeamID      string `json:"teamId"`
	MemberID    string `json:"memberId"`
	AccessKeyID string `json:"accessKeyId"`
	Action      string `json:"action"`
	Actor       struct {
		Type      string `json:"type"`
		Sub       string `json:"sub"`
		SourceIP  string `json:"sourceIp"`
		UserAgent string `json:"userAgent"`
		EventID   string `json:"eventId"`
		Account   string `json:"account"`
		// An access-key actor's key (a self-rotation).
		AccessKeyID string `json:"accessKeyId"`
	} `json:"actor"`
	RequestID string `json:"requestId"`
	Changes   struct {
		StatusBefore    string  `json:"statusBefore"`
		StatusAfter     string  `json:"statusAfter"`
		ExpiresAt       *string `json:"expiresAt"`
		RotatedFrom     string  `json:"rotatedFrom"`
		MaxLifetimeDays *int    `json:"maxLifetimeDays"`
		// AccessKeyUpdated: before and after, as sent.
		Description  json.RawMessage `json:"description"`
		AllowedCidrs json.RawMessage `json:"allowedCidrs"`
		Scopes       json.RawMessage `json:"scopes"`
		// KeyPolicyChanged: the policy after the change.
		Policy json.RawMessage `json:"policy"`
		// AccessKeyExpiring, AccessKeyDormant, a dormant AccessKeyDisabled.
		DaysLeft      *int   `json:"daysLeft"`
		ThresholdDays *int   `json:"thresholdDays"`
		Reason        string `json:"reason"`
	} `json:"changes"`
	Leak *struct {
		URL    string `json:"url"`
		Source string `json:"source"`
	} `json:"leak"`
}

func auditEvents(t *testing.T, s *stack, query string) ([]auditEvent, *string) {
	t.Helper()
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/audit-events" + query, Token: s.Token("admin", "t1", accesskey.RoleAdmin)})
	var page struct {
		AuditEvents []auditEvent `json:"auditEvents"`
		NextToken   *string      `json:"nextToken"`
	}
	resp.Decode(t, &page)
	if resp.Status != http.StatusOK || page.AuditEvents == nil {
		t.Fatalf("audit events%s: %s", query, resp)
	}
	return page.AuditEvents, page.NextToken
}

// TestEveryChangeIsOnTheRecord: generate, disable, enable, rotate, delete,
// offboarding, the sweep and a policy change each leave one audit record,
// newest first, with who (sub, source IP, user agent), the request id and
// what changed; a refused or a no-op request leaves none; nothing secret
// is in any.
func TestEveryChangeIsOnTheRecord(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	do := func(method, path, body string) response {
		t.Helper()
		resp := s.Do(request{Method: method, Path: path, Token: admin, Body: body, Header: map[string]string{"User-Agent": "console/7"}})
		if resp.Status >= 300 {
			t.Fatalf("%s %s: %s", method, path, resp)
		}
		return resp
	}
	var k createdKey
	do("POST", keysPath("t1", "alice"), `{"description":"laptop"}`).Decode(t, &k)
	keyPath := keysPath("t1", "alice") + "/" + k.AccessKeyID
	disabled := do("POST", keyPath+"/disable", "")
	do("POST", keyPath+"/disable", "") // already: nothing to record
	do("POST", keyPath+"/enable", "")
	var rotated createdKey
	do("POST", keyPath+"/rotate", `{"gracePeriodSeconds":0}`).Decode(t, &rotated)
	do("DELETE", keysPath("t1", "alice")+"/"+rotated.AccessKeyID, "")
	b1 := s.Generate("t1", "bob", "")
	do("DELETE", keysPath("t1", "bob"), "") // offboarding: one record per key
	if resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: s.Token("olga", "t1", accesskey.RoleOwner), Body: `{"maxLifetimeDays":30}`}); resp.Status != http.StatusOK {
		t.Fatalf("set the policy: %s", resp)
	}

	// Refused: nothing recorded.
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice") + "/" + k.AccessKeyID + "/enable", Token: s.Token("x", "t1", accesskey.RoleMember)}); resp.Status != http.StatusForbidden {
		t.Fatalf("a member enabling: %s", resp)
	}
	events, _ := auditEvents(t, s, "?limit=100")
	var got []string
	for _, e := range events {
		got = append(got, e.Action+" "+e.AccessKeyID)
		if e.TeamID != "t1" || e.EventID == "" || !strings.HasSuffix(e.Time, "Z") || len(e.Time) != len("2006-01-02T15:04:05.000Z") {
			t.Errorf("record %+v", e)
		}
	}
	want := []string{
		"KeyPolicyChanged ",
		"AccessKeyDeleted " + b1.AccessKeyID,
		"AccessKeyCreated " + b1.AccessKeyID,
		"AccessKeyDeleted " + rotated.AccessKeyID,
		"AccessKeyRotated " + rotated.AccessKeyID,
		"AccessKeyEnabled " + k.AccessKeyID,
		"AccessKeyDisabled " + k.AccessKeyID,
		"AccessKeyCreated " + k.AccessKeyID,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records, newest first:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	var dis auditEvent
	for _, e := range events {
		if e.Action == "AccessKeyDisabled" {
			dis = e
		}
	}
	if dis.Actor.Type != "user" || dis.Actor.Sub != "admin" || dis.Actor.SourceIP != "127.0.0.1" || dis.Actor.UserAgent != "console/7" ||
		dis.RequestID != disabled.Header.Get("X-Request-Id") || dis.Changes.StatusBefore != "Active" || dis.Changes.StatusAfter != "Inactive" {
		t.Fatalf("the disable's record %+v (request %s)", dis, disabled.Header.Get("X-Request-Id"))
	}
	for _, e := range events {
		if e.Action == "AccessKeyRotated" && e.Changes.RotatedFrom != k.AccessKeyID {
			t.Fatalf("the rotation's record %+v", e)
		}
	}
	raw := s.Do(request{Method: "GET", Path: "/v1/teams/t1/audit-events?limit=100", Token: admin})
	for _, secret := range []string{k.SecretAccessKey, rotated.SecretAccessKey, b1.SecretAccessKey, "tksk_", admin} {
		if strings.Contains(string(raw.Body), secret) {
			t.Fatalf("the audit trail shows a secret or a token")
		}
	}

	// Filters, and paging bound to them.
	byKey, _ := auditEvents(t, s, "?accessKeyId="+k.AccessKeyID)
	if len(byKey) != 3 {
		t.Fatalf("records of %s: %d, want 3 (created, disabled, enabled)", k.AccessKeyID, len(byKey))
	}
	page1, next := auditEvents(t, s, "?memberId=alice&limit=2")
	if len(page1) > 2 || next == nil {
		t.Fatalf("a first page of 2: %d, next %v", len(page1), next)
	}
	if resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/audit-events?memberId=bob&nextToken=" + *next, Token: admin}); resp.Status != http.StatusBadRequest {
		t.Fatalf("alice's token for bob's listing: %s", resp)
	}
	checkInvariants(t, s)
}

// TestSystemChangesAreOnTheRecord: the sweep's removals and an expired
// key's replacement are the system's or the caller's, on the record.
func TestSystemChangesAreOnTheRecord(t *testing.T) {
	s := newStack(t)
	k, expires := generateExpiring(t, s, "alice", time.Second)
	waitPast(t, expires)
	store := dynamostore.New(s.DB, s.Name)
	if err := store.DeleteExpired(context.Background(), accesskey.Ref{TeamID: "t1", MemberID: "alice", AccessKeyID: k.AccessKeyID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	events, _ := auditEvents(t, s, "?accessKeyId="+k.AccessKeyID)
	if len(events) != 2 || events[0].Action != "AccessKeyExpired" || events[0].Actor.Type != "system" || events[0].Actor.Sub != "sweep" {
		t.Fatalf("records %+v", events)
	}
}

// TestAFailedTransactionLeavesNoRecord: a change DynamoDB refuses (here the
// two-key cap, checked inside the transaction that carries the record)
// leaves no audit record, and a change it makes leaves exactly one.
func TestAFailedTransactionLeavesNoRecord(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	s.Generate("t1", "carol", "")
	s.Generate("t1", "carol", "")
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "carol"), Token: admin}); resp.Status != http.StatusConflict {
		t.Fatalf("a third key: %s", resp)
	}
	events, _ := auditEvents(t, s, "?memberId=carol")
	if len(events) != 2 {
		t.Fatalf("carol's records: %d, want 2 (the two keys made, not the refused third)", len(events))
	}
	for _, e := range events {
		if e.Action != "AccessKeyCreated" {
			t.Fatalf("record %+v", e)
		}
	}
	checkInvariants(t, s)
}

// faultyTransactions fails the server's TransactWriteItems calls while on
// is set: before they reach DynamoDB (nothing written), or after DynamoDB
// answered (written, and the answer lost).
type faultyTransactions struct {
	on, afterCommit atomic.Bool
}

func (f *faultyTransactions) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("faultyTransactions",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if !f.on.Load() || awsmiddleware.GetOperationName(ctx) != "TransactWriteItems" {
					return next.HandleFinalize(ctx, in)
				}
				if !f.afterCommit.Load() {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, errors.New("injected: the transaction never reached DynamoDB")
				}
				out, md, err := next.HandleFinalize(ctx, in)
				if err == nil {
					err = errors.New("injected: DynamoDB's answer was lost")
				}
				return out, md, err
			}), middleware.After)
	})
}

// TestNoChangeWithoutItsRecord injects faults into the transactions that
// carry a change and its audit record: a transaction that fails leaves
// neither the change nor the record; one whose answer is lost after DynamoDB
// committed it leaves both, and the retry of a disable adds no second
// record. Checked on the items themselves and by the invariant check.
func TestNoChangeWithoutItsRecord(t *testing.T) {
	var faults faultyTransactions
	s := teststack.New(t, teststack.Options{Server: func(o *server.Options) {
		o.DynamoDBOptions = append(o.DynamoDBOptions, faults.option)
	}})
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	records := func() int {
		t.Helper()
		r, err := s.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() {
			t.Fatalf("invariants: %s", r)
		}
		return r.AuditRecords
	}
	key := s.Generate("t1", "alice", "")
	keyPath := keysPath("t1", "alice") + "/" + key.AccessKeyID
	before := records()

	faults.on.Store(true)
	for _, req := range []request{
		{Method: "POST", Path: keysPath("t1", "alice"), Token: admin},
		{Method: "POST", Path: keyPath + "/disable", Token: admin},
		{Method: "POST", Path: keyPath + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0}`},
		{Method: "DELETE", Path: keyPath, Token: admin},
		{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: s.Token("olga", "t1", accesskey.RoleOwner), Body: `{"maxLifetimeDays":30}`},
	} {
		if resp := s.Do(req); resp.Status < 500 {
			t.Fatalf("%s %s with its transaction failing: %s", req.Method, req.Path, resp)
		}
	}
	faults.on.Store(false)
	if got := records(); got != before {
		t.Fatalf("failed transactions left %d audit records", got-before)
	}
	if keys := s.ListMember("t1", "alice").AccessKeys; len(keys) != 1 || keys[0].Status != "Active" {
		t.Fatalf("failed transactions changed alice's keys: %+v", keys)
	}
	if p := s.Item("POLICY#t1#0", "POLICY"); p != nil { // the copies are written together
		t.Fatalf("a failed transaction set the policy: %v", p)
	}

	faults.afterCommit.Store(true)
	faults.on.Store(true)
	if resp := s.Do(request{Method: "POST", Path: keyPath + "/disable", Token: admin}); resp.Status < 500 {
		t.Fatalf("a disable whose answer is lost: %s", resp)
	}
	faults.on.Store(false)
	if resp := s.Do(request{Method: "POST", Path: keyPath + "/disable", Token: admin}); resp.Status != http.StatusOK {
		t.Fatalf("the client's retry of the disable: %s", resp)
	}
	if keys := s.ListMember("t1", "alice").AccessKeys; len(keys) != 1 || keys[0].Status != "Inactive" {
		t.Fatalf("the committed disable: %+v", keys)
	}
	if got := records(); got != before+1 {
		t.Fatalf("a committed disable and its retry left %d audit records, want 1", got-before)
	}
	events, _ := auditEvents(t, s, "?accessKeyId="+key.AccessKeyID)
	if len(events) != 2 || events[0].Action != "AccessKeyDisabled" {
		t.Fatalf("the key's records: %+v", events)
	}
}
