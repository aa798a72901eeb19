package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/sweep"
)

// generateExpiring generates a key for member that expires at the next
// whole second at least lead from now, and returns it with its expiry.
func generateExpiring(t *testing.T, s *stack, member string, lead time.Duration) (createdKey, time.Time) {
	t.Helper()
	expires := time.Now().Add(lead).Truncate(time.Second).Add(time.Second)
	resp := s.Do(request{Method: "POST", Path: keysPath("t1", member), Token: s.Token("admin", "t1", accesskey.RoleAdmin),
		Body: fmt.Sprintf(`{"description":"short-lived","expiresAt":%q}`, expires.UTC().Format(time.RFC3339))})
	if resp.Status != http.StatusCreated {
		t.Fatalf("generate expiring at %v: %s", expires, resp)
	}
	var k struct {
		createdKey
		ExpiresAt string `json:"expiresAt"`
	}
	resp.Decode(t, &k)
	if k.ExpiresAt != expires.UTC().Format(time.RFC3339) {
		t.Fatalf("expiresAt %q, want %s", k.ExpiresAt, expires.UTC().Format(time.RFC3339))
	}
	return k.createdKey, expires
}

// waitPast sleeps until the clock is past at (bounded: at is seconds away).
func waitPast(t *testing.T, at time.Time) {
	t.Helper()
	if d := time.Until(at); d > time.Minute {
		t.Fatalf("waitPast: %v is %v away", at, d)
	}
	for !time.Now().After(at) {
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExpiryIsRefusedAtOnce: a key verifies until its expiresAt and is
// refused with KeyExpired from the first request after that instant, its
// secret cache warm or not; lists show it Expired.
func TestExpiryIsRefusedAtOnce(t *testing.T) {
	s := newStack(t)
	key, expires := generateExpiring(t, s, "alice", 2*time.Second)
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now())), key, signature.SchemeSigV4)

	waitPast(t, expires)
	wantRefusal(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now())), "KeyExpired")
	// Without the secret, nothing is learnt.
	wantRefusal(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", time.Now())), "InvalidSignature")

	resp := s.Do(request{Method: "GET", Path: keysPath("t1", "alice") + "/" + key.AccessKeyID, Token: s.Token("admin", "t1", accesskey.RoleAdmin)})
	var got listedKey
	resp.Decode(t, &got)
	if resp.Status != http.StatusOK || got.Status != "Expired" {
		t.Fatalf("GET the expired key: %s", resp)
	}
	if l := s.ListMember("t1", "alice"); len(l.AccessKeys) != 1 || l.AccessKeys[0].Status != "Expired" {
		t.Fatalf("list: %+v", l)
	}
}

// TestExpiredKeyDoesNotBlockGenerate: a member at the cap whose keys
// include an expired one still generates; the expired key is removed, its
// slot reused, in the same transaction; a member at the cap with no expired
// key is still refused.
func TestExpiredKeyDoesNotBlockGenerate(t *testing.T) {
	s := newStack(t)
	short, expires := generateExpiring(t, s, "alice", time.Second)
	kept := s.Generate("t1", "alice", "kept")
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin}); resp.Status != http.StatusConflict || resp.ErrorCode(t) != "LimitExceeded" {
		t.Fatalf("generate at the cap before the expiry: %s", resp)
	}
	waitPast(t, expires)
	third := s.Generate("t1", "alice", "third")
	ids := map[string]bool{}
	for _, k := range s.ListMember("t1", "alice").AccessKeys {
		ids[k.AccessKeyID] = true
	}
	if len(ids) != 2 || !ids[kept.AccessKeyID] || !ids[third.AccessKeyID] || ids[short.AccessKeyID] {
		t.Fatalf("keys after the generate: %v; want %s and %s", ids, kept.AccessKeyID, third.AccessKeyID)
	}
	if item := s.Item("KEY#"+short.AccessKeyID, "KEY"); item != nil {
		t.Fatalf("the expired key's item is still there: %v", item)
	}
	if n := s.Item("MEMBER#t1#alice", "COUNTER")["keyCount"]; fmt.Sprint(n) != "2" {
		t.Fatalf("slot counter %v, want 2", n)
	}
	// Both slots held by live keys: refused.
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin}); resp.Status != http.StatusConflict {
		t.Fatalf("generate at the cap without an expired key: %s", resp)
	}
	checkInvariants(t, s)
}

// TestSweepFreesSlots: the sweep removes expired keys, slot and all,
// through the store's conditional delete, on the real table and its
// ByExpiry index; keys that have not expired, and keys without an expiry,
// stay.
func TestSweepFreesSlots(t *testing.T) {
	s := newStack(t)
	expired1, expires := generateExpiring(t, s, "alice", time.Second)
	expired2, _ := generateExpiring(t, s, "bob", time.Second)
	later, _ := generateExpiring(t, s, "bob", time.Hour)
	forever := s.Generate("t1", "carol", "")
	waitPast(t, expires)

	store := dynamostore.New(s.DB, s.Name)
	res, err := sweep.Run(context.Background(), store, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 2 {
		t.Fatalf("sweep: %+v, want 2 deleted", res)
	}
	for _, gone := range []createdKey{expired1, expired2} {
		if item := s.Item("KEY#"+gone.AccessKeyID, "KEY"); item != nil {
			t.Errorf("%s is still there", gone.AccessKeyID)
		}
	}
	for _, kept := range []createdKey{later, forever} {
		if item := s.Item("KEY#"+kept.AccessKeyID, "KEY"); item == nil {
			t.Errorf("%s was removed", kept.AccessKeyID)
		}
	}
	for member, want := range map[string]string{"alice": "0", "bob": "1", "carol": "1"} {
		if n := s.Item("MEMBER#t1#"+member, "COUNTER")["keyCount"]; fmt.Sprint(n) != want {
			t.Errorf("%s's slot counter %v, want %s", member, n, want)
		}
	}
	// A second run finds nothing.
	if res, err := sweep.Run(context.Background(), store, time.Now(), slog.New(slog.DiscardHandler)); err != nil || res.Deleted != 0 {
		t.Fatalf("second sweep: %+v, %v", res, err)
	}
	checkInvariants(t, s)
}

// TestKeyPolicyBoundsLifetimes: with the team's maxLifetimeDays set, a key
// generated without expiresAt expires that many days after its creation,
// one asking for later is refused naming the limit, and keys made before
// keep their expiry.
func TestKeyPolicyBoundsLifetimes(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	owner := s.Token("olga", "t1", accesskey.RoleOwner)
	before := s.Generate("t1", "alice", "before the policy")

	resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/key-policy", Token: admin})
	if resp.Status != http.StatusOK || string(resp.Body) != `{"teamId":"t1","maxLifetimeDays":null,"allowedCidrs":null,"defaultScopes":null,"expiryWarningDays":[30,7,1],"disableUnusedAfterDays":null,"allowSelfRotation":false,"keysOutsidePolicy":0,"keysOutsidePolicyComplete":true}`+"\n" {
		t.Fatalf("policy before any is set: %s", resp)
	}
	if resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: owner, Body: `{"maxLifetimeDays":30}`}); resp.Status != http.StatusOK {
		t.Fatalf("set the policy: %s", resp)
	}
	resp = s.Do(request{Method: "GET", Path: "/v1/teams/t1/key-policy", Token: admin})
	var policy struct {
		MaxLifetimeDays *int   `json:"maxLifetimeDays"`
		UpdatedBy       string `json:"updatedBy"`
	}
	resp.Decode(t, &policy)
	if policy.MaxLifetimeDays == nil || *policy.MaxLifetimeDays != 30 || policy.UpdatedBy != "olga" {
		t.Fatalf("policy: %s", resp)
	}

	resp = s.Do(request{Method: "POST", Path: keysPath("t1", "bob"), Token: admin})
	var bounded struct {
		CreatedAt string `json:"createdAt"`
		ExpiresAt string `json:"expiresAt"`
	}
	resp.Decode(t, &bounded)
	created, _ := time.Parse(time.RFC3339, bounded.CreatedAt)
	if resp.Status != http.StatusCreated || bounded.ExpiresAt != created.AddDate(0, 0, 30).Format(time.RFC3339) {
		t.Fatalf("generate under the policy: %s", resp)
	}
	tooLate := time.Now().AddDate(0, 0, 31).UTC().Format(time.RFC3339)
	resp = s.Do(request{Method: "POST", Path: keysPath("t1", "bob"), Token: admin, Body: fmt.Sprintf(`{"expiresAt":%q}`, tooLate)})
	if resp.Status != http.StatusBadRequest || resp.ErrorCode(t) != "ValidationError" {
		t.Fatalf("generate past the policy: %s", resp)
	}
	var refusal struct{ Error struct{ Message string } }
	_ = json.Unmarshal(resp.Body, &refusal)
	if want := "30 days"; !strings.Contains(refusal.Error.Message, want) {
		t.Fatalf("the refusal %q does not name the limit (%s)", refusal.Error.Message, want)
	}
	// The key made before the policy keeps its (absent) expiry.
	resp = s.Do(request{Method: "GET", Path: keysPath("t1", "alice") + "/" + before.AccessKeyID, Token: admin})
	var got map[string]any
	resp.Decode(t, &got)
	if _, has := got["expiresAt"]; has {
		t.Fatalf("a key made before the policy gained an expiry: %s", resp)
	}
	checkInvariants(t, s)
}

// checkInvariants runs the operator's check on the stack's table.
func checkInvariants(t *testing.T, s *stack) {
	t.Helper()
	report, err := s.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !report.OK() {
		t.Fatalf("invariants: %s", report)
	}
}
