package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// TestIdempotentGenerate: a generate with an Idempotency-Key answers the
// same 201 (the same key and secret) to every retry within the window,
// marked Idempotent-Replayed, and creates nothing more; the key used for
// another request is refused; another caller's key of the same name is
// another record; only successes are remembered.
func TestIdempotentGenerate(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	gen := func(token, member, body, key string) response {
		return s.Do(request{Method: "POST", Path: keysPath("t1", member), Token: token, Body: body,
			Header: map[string]string{"Idempotency-Key": key}})
	}
	first := gen(admin, "alice", `{"description":"ci"}`, "deploy-42")
	if first.Status != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %s", first)
	}
	s.Calls.Take()
	again := gen(admin, "alice", `{"description":"ci"}`, "deploy-42")
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s\nwant the first answer %s", again, first.Body)
	}
	if got := s.Calls.Take(); got["DynamoDB.GetItem"] != 1 || got["KMS.Decrypt"] != 1 || len(got) != 2 {
		t.Fatalf("a replay made %v, want one GetItem and one Decrypt", got)
	}
	wantHolds(t, s, "t1", "alice", 1)

	for name, resp := range map[string]response{
		"another body":   gen(admin, "alice", `{"description":"other"}`, "deploy-42"),
		"another member": gen(admin, "bob", `{"description":"ci"}`, "deploy-42"),
	} {
		if resp.Status != http.StatusUnprocessableEntity || resp.ErrorCode(t) != "IdempotencyKeyReused" {
			t.Fatalf("%s with a used key: %s", name, resp)
		}
	}
	// Another caller's key of the same name is its own.
	other := gen(s.Token("root", "t1", accesskey.RoleAdmin), "alice", `{"description":"ci"}`, "deploy-42")
	if other.Status != http.StatusCreated || bytes.Equal(other.Body, first.Body) {
		t.Fatalf("another caller: %s", other)
	}
	wantHolds(t, s, "t1", "alice", 2)

	// A refusal is not remembered: at the cap, refused; a slot freed, the
	// same key creates.
	if resp := gen(admin, "alice", ``, "third"); resp.Status != http.StatusConflict {
		t.Fatalf("at the cap: %s", resp)
	}
	var k createdKey
	first.Decode(t, &k)
	if resp := s.Do(request{Method: "DELETE", Path: keysPath("t1", "alice") + "/" + k.AccessKeyID, Token: admin}); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %s", resp)
	}
	if resp := gen(admin, "alice", ``, "third"); resp.Status != http.StatusCreated {
		t.Fatalf("after a slot was freed: %s", resp)
	}
	for _, bad := range []string{strings.Repeat("k", 256), "tab\there", "é"} {
		if resp := gen(admin, "carol", ``, bad); resp.Status != http.StatusBadRequest || resp.ErrorCode(t) != "ValidationError" {
			t.Fatalf("Idempotency-Key %q: %s", bad, resp)
		}
	}
	checkInvariants(t, s)
}

// TestIdempotentConcurrently: requests with the same Idempotency-Key at
// once create one key; each answer is that key's 201 or a 409
// IdempotencyKeyInUse to retry; so for rotations.
func TestIdempotentConcurrently(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	old := s.Generate("t1", "bob", "")
	for name, req := range map[string]request{
		"generate": {Method: "POST", Path: keysPath("t1", "alice"), Token: admin, Header: map[string]string{"Idempotency-Key": "generate-once"}},
		"rotate": {Method: "POST", Path: rotatePath(old), Token: admin, Body: `{"gracePeriodSeconds":0}`,
			Header: map[string]string{"Idempotency-Key": "rotate-once"}},
	} {
		t.Run(name, func(t *testing.T) {
			answers := make([][]byte, 12)
			statuses := concurrently(t, len(answers), func(i int) response {
				resp := s.Do(req)
				answers[i] = resp.Body
				return resp
			})
			var created []byte
			for i, st := range statuses {
				switch st {
				case http.StatusCreated:
					if created == nil {
						created = answers[i]
					} else if !bytes.Equal(answers[i], created) {
						t.Fatalf("two different 201s:\n%s\n%s", created, answers[i])
					}
				case http.StatusConflict:
					if !strings.Contains(string(answers[i]), "IdempotencyKeyInUse") {
						t.Fatalf("409 %s", answers[i])
					}
				default:
					t.Fatalf("status %d: %s", st, answers[i])
				}
			}
			if created == nil {
				t.Fatal("no request created")
			}
		})
	}
	wantHolds(t, s, "t1", "alice", 1)
	wantHolds(t, s, "t1", "bob", 1)
	checkInvariants(t, s)
}
