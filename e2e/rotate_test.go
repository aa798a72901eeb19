package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
)

// rotated is a rotate answer.
type rotated struct {
	createdKey
	RotatedFrom string `json:"rotatedFrom"`
}

func rotatePath(key createdKey) string {
	return keysPath(key.TeamID, key.MemberID) + "/" + key.AccessKeyID + "/rotate"
}

func (k rotated) key() createdKey { return k.createdKey }

// TestRotateWithGrace: the new key works at once, the old one until the
// end of the grace period and then is refused KeyExpired; the new key says
// which it replaced.
func TestRotateWithGrace(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	old := s.Generate("t1", "alice", "laptop")
	resp := s.Do(request{Method: "POST", Path: rotatePath(old), Token: admin, Body: `{"gracePeriodSeconds":2}`})
	if resp.Status != http.StatusCreated {
		t.Fatalf("rotate: %s", resp)
	}
	var n rotated
	resp.Decode(t, &n)
	if n.RotatedFrom != old.AccessKeyID || n.Description != "laptop" || !accesskey.ValidSecretFormat(n.SecretAccessKey) {
		t.Fatalf("rotate answered %s", resp.Body)
	}
	ends := time.Now().Add(2 * time.Second)
	for _, k := range []createdKey{old, n.key()} {
		wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", k.AccessKeyID, k.SecretAccessKey, time.Now())), k, signature.SchemeSigV4)
	}
	var oldNow map[string]any
	s.Do(request{Method: "GET", Path: keysPath("t1", "alice") + "/" + old.AccessKeyID, Token: admin}).Decode(t, &oldNow)
	if oldNow["expiresAt"] == nil {
		t.Fatalf("the old key has no expiry after the rotation: %v", oldNow)
	}
	var newNow map[string]any
	s.Do(request{Method: "GET", Path: keysPath("t1", "alice") + "/" + n.AccessKeyID, Token: admin}).Decode(t, &newNow)
	if newNow["rotatedFrom"] != old.AccessKeyID || newNow["expiresAt"] != nil {
		t.Fatalf("the new key: %v", newNow)
	}
	wantHolds(t, s, "t1", "alice", 2)

	waitPast(t, ends.Add(time.Second))
	wantRefusal(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", old.AccessKeyID, old.SecretAccessKey, time.Now())), "KeyExpired")
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", n.AccessKeyID, n.SecretAccessKey, time.Now())), n.key(), signature.SchemeSigV4)
	// A key a rotation replaced is not rotated again.
	if resp := s.Do(request{Method: "POST", Path: rotatePath(old), Token: admin}); resp.Status != http.StatusConflict || resp.ErrorCode(t) != "AlreadyRotated" {
		t.Fatalf("rotating the replaced key again: %s", resp)
	}
	checkInvariants(t, s)
}

// TestRotateAtTheCap: with both slots taken, a rotation with a grace
// period is refused (409 LimitExceeded, saying what to do); with no grace
// the old key is replaced in the same transaction, and the member stays at
// the cap.
func TestRotateAtTheCap(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	old := s.Generate("t1", "alice", "one")
	other := s.Generate("t1", "alice", "two")
	resp := s.Do(request{Method: "POST", Path: rotatePath(old), Token: admin})
	if resp.Status != http.StatusConflict || resp.ErrorCode(t) != "LimitExceeded" {
		t.Fatalf("rotate with grace at the cap: %s", resp)
	}
	wantHolds(t, s, "t1", "alice", 2)

	resp = s.Do(request{Method: "POST", Path: rotatePath(old), Token: admin, Body: `{"gracePeriodSeconds":0}`})
	if resp.Status != http.StatusCreated {
		t.Fatalf("rotate without grace at the cap: %s", resp)
	}
	var n rotated
	resp.Decode(t, &n)
	wantHolds(t, s, "t1", "alice", 2)
	if s.Item("KEY#"+old.AccessKeyID, "KEY") != nil || s.Item("KEY#"+other.AccessKeyID, "KEY") == nil {
		t.Fatal("the old key is still there, or the other one is gone")
	}
	wantRefusal(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", old.AccessKeyID, old.SecretAccessKey, time.Now())), "UnknownKey")
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", n.AccessKeyID, n.SecretAccessKey, time.Now())), n.key(), signature.SchemeSigV4)

	// An inactive key rotates to an active one; a key of another member is
	// not found through this one's path.
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice") + "/" + other.AccessKeyID + "/disable", Token: admin}); resp.Status != http.StatusOK {
		t.Fatalf("disable: %s", resp)
	}
	resp = s.Do(request{Method: "POST", Path: rotatePath(other), Token: admin, Body: `{"gracePeriodSeconds":0}`})
	var fromInactive rotated
	resp.Decode(t, &fromInactive)
	if resp.Status != http.StatusCreated || fromInactive.Status != "Active" {
		t.Fatalf("rotate an inactive key: %s", resp)
	}
	bob := s.Generate("t1", "bob", "")
	if resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice") + "/" + bob.AccessKeyID + "/rotate", Token: admin}); resp.Status != http.StatusNotFound {
		t.Fatalf("rotate bob's key through alice's path: %s", resp)
	}
	checkInvariants(t, s)
}

// TestRotateTwiceAtOnce: concurrent rotations of one key create exactly one
// new key; the others get a 409 or a 404, never a third key or a 5xx.
func TestRotateTwiceAtOnce(t *testing.T) {
	for _, body := range []string{`{"gracePeriodSeconds":3600}`, `{"gracePeriodSeconds":0}`} {
		t.Run(body, func(t *testing.T) {
			s := newStack(t)
			admin := s.Token("admin", "t1", accesskey.RoleAdmin)
			old := s.Generate("t1", "alice", "")
			statuses := concurrently(t, 10, func(int) response {
				return s.Do(request{Method: "POST", Path: rotatePath(old), Token: admin, Body: body})
			})
			created := 0
			for _, st := range statuses {
				switch st {
				case http.StatusCreated:
					created++
				case http.StatusConflict, http.StatusNotFound:
				default:
					t.Errorf("status %d", st)
				}
			}
			if created != 1 {
				t.Fatalf("%d rotations succeeded, want 1 (%v)", created, statuses)
			}
			want := 2
			if body == `{"gracePeriodSeconds":0}` {
				want = 1
			}
			wantHolds(t, s, "t1", "alice", want)
			checkInvariants(t, s)
		})
	}
}

// TestConcurrentGeneratesAndRotationsKeepTheCap: 40 generates and rotations
// of one member's keys at once, with and without grace: the member never
// holds more than two keys, its slot counter matches, and nothing answers
// a 5xx.
func TestConcurrentGeneratesAndRotationsKeepTheCap(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	first := s.Generate("t1", "alice", "")
	statuses := concurrently(t, 40, func(i int) response {
		switch i % 4 {
		case 0, 1:
			return s.Do(request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin})
		case 2:
			return s.Do(request{Method: "POST", Path: rotatePath(first), Token: admin, Body: `{"gracePeriodSeconds":0}`})
		default:
			return s.Do(request{Method: "POST", Path: rotatePath(first), Token: admin, Body: `{"gracePeriodSeconds":600}`})
		}
	})
	for i, st := range statuses {
		if st != http.StatusCreated && st != http.StatusConflict && st != http.StatusNotFound {
			t.Errorf("request %d: status %d", i, st)
		}
	}
	if n := len(s.ListMember("t1", "alice").AccessKeys); n > 2 || n < 1 {
		t.Fatalf("alice holds %d keys", n)
	}
	checkInvariants(t, s)
}

// concurrently runs n requests at once and returns their statuses.
func concurrently(t *testing.T, n int, do func(i int) response) []int {
	t.Helper()
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = do(i).Status
		})
	}
	close(start)
	wg.Wait()
	for i, st := range statuses {
		if st == 0 {
			t.Fatalf("request %d got no answer", i)
		}
	}
	return statuses
}
