package dynamostore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// A self-rotation's transaction holds the team's policy to
// allowSelfRotation true and the key to Active, whatever the handler read:
// a refused one changes nothing; the policy field round-trips, absent as
// false.
func TestSelfRotationHolds(t *testing.T) {
	tb := teststack.NewTable(t)
	store := dynamostore.New(tb.DB, tb.Name)
	ctx := context.Background()
	audit := accesskey.Audit{Actor: accesskey.AccessKeyActor("TKAKAAAAAAAAAAAAAAAAAAAA", "192.0.2.1", "ua"), At: time.Now()}
	allowed := accesskey.KeyPolicy{AllowSelfRotation: true}
	self := func(old accesskey.Key, p accesskey.KeyPolicy) accesskey.Rotation {
		r := rotation(old, true)
		r.Self, r.Policy, r.Audit = true, p, audit
		return r
	}
	unchanged := func(t *testing.T, old accesskey.Key, r accesskey.Rotation) {
		t.Helper()
		if got, err := store.GetKey(ctx, old.Ref()); err != nil || got.ExpiresAt != nil {
			t.Errorf("the old key changed: %+v %v", got, err)
		}
		if _, err := store.GetKey(ctx, r.New.Ref()); !errors.Is(err, accesskey.ErrNotFound) {
			t.Errorf("the new key exists: %v", err)
		}
	}

	if p, err := store.Policy(ctx, "t1"); err != nil || p.AllowSelfRotation {
		t.Fatalf("no policy: %+v %v, want AllowSelfRotation false", p, err)
	}
	t.Run("no policy written: refused though the handler read allowed", func(t *testing.T) {
		old := restrictedKey(t, store, "m1", nil, nil)
		r := self(old, allowed)
		if err := store.Rotate(ctx, r); !errors.Is(err, accesskey.ErrPolicyChanged) {
			t.Fatalf("got %v, want ErrPolicyChanged", err)
		}
		unchanged(t, old, r)
	})
	if err := store.SetPolicy(ctx, "t1", allowed, audit); err != nil {
		t.Fatal(err)
	}
	if p, err := store.Policy(ctx, "t1"); err != nil || !p.AllowSelfRotation {
		t.Fatalf("policy %+v %v, want AllowSelfRotation true", p, err)
	}
	t.Run("allowed", func(t *testing.T) {
		old := restrictedKey(t, store, "m2", nil, nil)
		if err := store.Rotate(ctx, self(old, allowed)); err != nil {
			t.Fatal(err)
		}
		recs, _, err := store.ListAudit(ctx, "t1", "m2", "", 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rec := range recs {
			if rec.Action == accesskey.AuditKeyRotated {
				found = rec.Actor == audit.Actor
			}
		}
		if !found {
			t.Errorf("no AccessKeyRotated record with the access-key actor %+v in %+v", audit.Actor, recs)
		}
	})
	t.Run("the key disabled after its signature was verified", func(t *testing.T) {
		old := restrictedKey(t, store, "m3", nil, nil)
		if _, err := store.SetStatus(ctx, old.Ref(), accesskey.StatusInactive, audit); err != nil {
			t.Fatal(err)
		}
		r := self(old, allowed) // as read before the disable: Active
		if err := store.Rotate(ctx, r); !errors.Is(err, accesskey.ErrKeyDisabled) {
			t.Fatalf("got %v, want ErrKeyDisabled", err)
		}
		if _, err := store.GetKey(ctx, r.New.Ref()); !errors.Is(err, accesskey.ErrNotFound) {
			t.Errorf("the new key exists: %v", err)
		}
	})
	if err := store.SetPolicy(ctx, "t1", accesskey.KeyPolicy{}, audit); err != nil {
		t.Fatal(err)
	}
	t.Run("the policy turned off after the handler read it", func(t *testing.T) {
		old := restrictedKey(t, store, "m4", nil, nil)
		r := self(old, allowed)
		if err := store.Rotate(ctx, r); !errors.Is(err, accesskey.ErrPolicyChanged) {
			t.Fatalf("got %v, want ErrPolicyChanged", err)
		}
		unchanged(t, old, r)
	})
}
