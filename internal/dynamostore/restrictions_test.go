package dynamostore_test

// Tests of a key's restrictions (allowedCidrs, scopes) on DynamoDB Local:
// stored and read back with nil and empty apart, changed by UpdateKey with
// its audit record, and never lost to a rotation racing the update.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// hookDB runs before (once) ahead of the first TransactWriteItems: another
// writer's change forced between a store's read and its write.
type hookDB struct {
	dynamostore.DynamoDB
	once   sync.Once
	before func()
}

func (h *hookDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	h.once.Do(h.before)
	return h.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

var testSealed = accesskey.SealedSecret{Ciphertext: []byte{1}, SHA256: strings.Repeat("cd", 32)}

func restrictedKey(t *testing.T, store *dynamostore.Store, member string, cidrs, scopes []string) accesskey.Key {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: member, Status: accesskey.StatusActive,
		Description: "ci", CreatedAt: now, CreatedBy: "admin", AllowedCIDRs: cidrs, Scopes: scopes}
	if err := store.Create(context.Background(), k, testSealed, accesskey.KeyPolicy{}, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: now}); err != nil {
		t.Fatal(err)
	}
	return k
}

// rotation is a rotation of old as the RotateKey handler builds it from
// the key it read: the new key copies old's description and restrictions.
func rotation(old accesskey.Key, grace bool) accesskey.Rotation {
	now := time.Now().UTC().Truncate(time.Second)
	r := accesskey.Rotation{Audit: accesskey.Audit{Actor: accesskey.SystemActor("test"), At: now}, Old: old,
		New: accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: old.TeamID, MemberID: old.MemberID, Status: accesskey.StatusActive,
			Description: old.Description, CreatedAt: now, CreatedBy: "admin", RotatedFrom: old.AccessKeyID,
			AllowedCIDRs: old.AllowedCIDRs, Scopes: old.Scopes},
		Sealed: testSealed}
	if grace {
		end := now.Add(time.Hour)
		r.OldExpiresAt = &end
	}
	return r
}

func sameLists(a, b []string) bool { return accesskey.SameList(a, b) }

// Every read of a key gives back the restrictions as written: nil
// (absent) and empty (scopes that grant nothing) apart.
func TestRestrictionsRoundTrip(t *testing.T) {
	tb := teststack.NewTable(t)
	store := dynamostore.New(tb.DB, tb.Name)
	ctx := context.Background()
	for _, tt := range []struct {
		name          string
		cidrs, scopes []string
	}{
		{"unrestricted", nil, nil},
		{"both", []string{"10.0.0.0/8", "2001:db8::/32"}, []string{"orders:*", "users:read"}},
		{"no scopes", []string{"192.0.2.1/32"}, []string{}},
		{"scopes only", nil, []string{"*"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			member := "m-" + strings.ReplaceAll(tt.name, " ", "-")
			k := restrictedKey(t, store, member, tt.cidrs, tt.scopes)
			got, err := store.GetKey(ctx, k.Ref())
			if err != nil {
				t.Fatal(err)
			}
			verified, _, err := store.Get(ctx, k.AccessKeyID)
			if err != nil {
				t.Fatal(err)
			}
			listed, err := store.ListMember(ctx, "t1", member)
			if err != nil || len(listed) != 1 {
				t.Fatalf("list: %v %v", listed, err)
			}
			team, _, err := store.ListTeam(ctx, "t1", 100, nil)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(team, func(x accesskey.Key) bool { return x.AccessKeyID == k.AccessKeyID })
			if i < 0 {
				t.Fatalf("team list lacks %s", k.AccessKeyID)
			}
			for name, r := range map[string]accesskey.Key{"GetKey": got, "Get": verified, "ListMember": listed[0], "ListTeam": team[i]} {
				if !sameLists(r.AllowedCIDRs, tt.cidrs) || !sameLists(r.Scopes, tt.scopes) {
					t.Errorf("%s: allowedCidrs %#v scopes %#v, want %#v %#v", name, r.AllowedCIDRs, r.Scopes, tt.cidrs, tt.scopes)
				}
			}
		})
	}
}

// UpdateKey changes each field, null lifting a restriction, with one
// AccessKeyUpdated record of what it overwrote; an update that changes
// nothing records nothing; a key gone or another member's is ErrNotFound.
func TestUpdateKey(t *testing.T) {
	tb := teststack.NewTable(t)
	store := dynamostore.New(tb.DB, tb.Name)
	ctx := context.Background()
	audit := accesskey.Audit{Actor: accesskey.UserActor("owner", "192.0.2.9", "test"), RequestID: "r1", At: time.Now()}
	desc := func(s string) *string { return &s }
	k := restrictedKey(t, store, "alice", nil, nil)
	steps := []struct {
		name        string
		update      accesskey.KeyUpdate
		wantDesc    string
		wantCIDRs   []string
		wantScopes  []string
		wantChanges bool
	}{
		{"restrict both", accesskey.KeyUpdate{AllowedCIDRs: accesskey.ListField{Set: true, Value: []string{"10.0.0.0/8"}},
			Scopes: accesskey.ListField{Set: true, Value: []string{"orders:read"}}}, "ci", []string{"10.0.0.0/8"}, []string{"orders:read"}, true},
		{"description only", accesskey.KeyUpdate{Description: desc("deploy")}, "deploy", []string{"10.0.0.0/8"}, []string{"orders:read"}, true},
		{"no scopes at all", accesskey.KeyUpdate{Scopes: accesskey.ListField{Set: true, Value: []string{}}}, "deploy", []string{"10.0.0.0/8"}, []string{}, true},
		{"the same again: nothing", accesskey.KeyUpdate{Scopes: accesskey.ListField{Set: true, Value: []string{}}}, "deploy", []string{"10.0.0.0/8"}, []string{}, false},
		{"lift both", accesskey.KeyUpdate{AllowedCIDRs: accesskey.ListField{Set: true}, Scopes: accesskey.ListField{Set: true}}, "deploy", nil, nil, true},
	}
	for _, st := range steps {
		audit.At = time.Now() // each record its own time: the audit list is newest first
		before, err := store.GetKey(ctx, k.Ref())
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.UpdateKey(ctx, k.Ref(), st.update, audit)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		stored, _ := store.GetKey(ctx, k.Ref())
		for _, r := range []accesskey.Key{got, stored} {
			if r.Description != st.wantDesc || !sameLists(r.AllowedCIDRs, st.wantCIDRs) || !sameLists(r.Scopes, st.wantScopes) {
				t.Errorf("%s: %q %#v %#v, want %q %#v %#v", st.name, r.Description, r.AllowedCIDRs, r.Scopes, st.wantDesc, st.wantCIDRs, st.wantScopes)
			}
		}
		recs, _, err := store.ListAudit(ctx, "t1", "", k.AccessKeyID, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		latest := recs[0]
		if !st.wantChanges {
			if latest.Action == accesskey.AuditKeyUpdated && latest.KeyChanges != nil && latest.KeyChanges.Scopes != nil &&
				latest.KeyChanges.Scopes.Before != nil && len(latest.KeyChanges.Scopes.Before) == 0 {
				t.Errorf("%s: a record of no change: %+v", st.name, latest.KeyChanges)
			}
			continue
		}
		c := latest.KeyChanges
		if latest.Action != accesskey.AuditKeyUpdated || c == nil || latest.Actor.Sub != "owner" || latest.RequestID != "r1" {
			t.Fatalf("%s: latest record %+v", st.name, latest)
		}
		if (c.Description != nil) != (before.Description != st.wantDesc) ||
			c.Description != nil && (c.Description.Before != before.Description || c.Description.After != st.wantDesc) {
			t.Errorf("%s: description change %+v", st.name, c.Description)
		}
		if (c.AllowedCIDRs != nil) != !sameLists(before.AllowedCIDRs, st.wantCIDRs) ||
			c.AllowedCIDRs != nil && (!sameLists(c.AllowedCIDRs.Before, before.AllowedCIDRs) || !sameLists(c.AllowedCIDRs.After, st.wantCIDRs)) {
			t.Errorf("%s: allowedCidrs change %+v", st.name, c.AllowedCIDRs)
		}
		if (c.Scopes != nil) != !sameLists(before.Scopes, st.wantScopes) ||
			c.Scopes != nil && (!sameLists(c.Scopes.Before, before.Scopes) || !sameLists(c.Scopes.After, st.wantScopes)) {
			t.Errorf("%s: scopes change %+v", st.name, c.Scopes)
		}
	}
	recs, _, _ := store.ListAudit(ctx, "t1", "", k.AccessKeyID, 20, nil)
	updated := 0
	for _, r := range recs {
		if r.Action == accesskey.AuditKeyUpdated {
			updated++
		}
	}
	if updated != 4 {
		t.Errorf("%d AccessKeyUpdated records, want 4 (one per change, none for the update that changed nothing)", updated)
	}

	lift := accesskey.KeyUpdate{Scopes: accesskey.ListField{Set: true, Value: []string{"x"}}}
	other := k.Ref()
	other.MemberID = "bob"
	if _, err := store.UpdateKey(ctx, other, lift, audit); !errors.Is(err, accesskey.ErrNotFound) {
		t.Errorf("another member's key: %v, want ErrNotFound", err)
	}
	if err := store.Delete(ctx, k.Ref(), audit); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateKey(ctx, k.Ref(), lift, audit); !errors.Is(err, accesskey.ErrNotFound) {
		t.Errorf("a deleted key: %v, want ErrNotFound", err)
	}
}

// A rotation and an update racing on one key never lose the update on the
// key that survives, in every order their reads and writes can take.
func TestUpdateRacingRotate(t *testing.T) {
	tb := teststack.NewTable(t)
	store := dynamostore.New(tb.DB, tb.Name)
	ctx := context.Background()
	audit := accesskey.Audit{Actor: accesskey.SystemActor("test"), At: time.Now()}
	update := accesskey.KeyUpdate{Scopes: accesskey.ListField{Set: true, Value: []string{"orders:read"}}}

	t.Run("the rotation read before the update, committed after", func(t *testing.T) {
		old := restrictedKey(t, store, "m1", nil, nil)
		rot := rotation(old, true)
		if _, err := store.UpdateKey(ctx, old.Ref(), update, audit); err != nil {
			t.Fatal(err)
		}
		if err := store.Rotate(ctx, rot); !errors.Is(err, accesskey.ErrAlreadyRotated) {
			t.Fatalf("rotate after the update of what it copied: %v, want ErrAlreadyRotated", err)
		}
		if got, _ := store.GetKey(ctx, old.Ref()); !sameLists(got.Scopes, []string{"orders:read"}) {
			t.Errorf("old key (the survivor) scopes %#v", got.Scopes)
		}
		if _, err := store.GetKey(ctx, rot.New.Ref()); !errors.Is(err, accesskey.ErrNotFound) {
			t.Errorf("new key written: %v", err)
		}
	})
	for _, grace := range []bool{true, false} {
		name, want := "the rotation committed between the update's read and write (grace)", accesskey.ErrAlreadyRotated
		if !grace {
			name, want = "the rotation committed between the update's read and write (no grace: the old key deleted)", accesskey.ErrNotFound
		}
		t.Run(name, func(t *testing.T) {
			old := restrictedKey(t, store, "m2-"+map[bool]string{true: "g", false: "n"}[grace], []string{"10.0.0.0/8"}, nil)
			rot := rotation(old, grace)
			racing := dynamostore.New(&hookDB{DynamoDB: tb.DB, before: func() {
				if err := store.Rotate(ctx, rot); err != nil {
					t.Errorf("rotate: %v", err)
				}
			}}, tb.Name)
			if _, err := racing.UpdateKey(ctx, old.Ref(), update, audit); !errors.Is(err, want) {
				t.Fatalf("update after the rotation: %v, want %v", err, want)
			}
			got, err := store.GetKey(ctx, rot.New.Ref())
			if err != nil || got.Scopes != nil || !sameLists(got.AllowedCIDRs, old.AllowedCIDRs) {
				t.Errorf("new key %+v %v: want the old key's restrictions, untouched", got, err)
			}
			if grace {
				if o, _ := store.GetKey(ctx, old.Ref()); o.Scopes != nil {
					t.Errorf("the rotated key took the update: %#v", o.Scopes)
				}
			}
		})
	}
	t.Run("goroutines", func(t *testing.T) {
		for i := range 20 {
			old := restrictedKey(t, store, "race", nil, nil)
			var wg sync.WaitGroup
			var updErr, rotErr error
			rot := rotation(old, true)
			wg.Go(func() { _, updErr = store.UpdateKey(ctx, old.Ref(), update, audit) })
			wg.Go(func() {
				read, err := store.GetKey(ctx, old.Ref())
				if err != nil {
					rotErr = err
					return
				}
				rot = rotation(read, true)
				rotErr = store.Rotate(ctx, rot)
			})
			wg.Wait()
			survivor := old.Ref()
			if rotErr == nil {
				survivor = rot.New.Ref()
			} else if !errors.Is(rotErr, accesskey.ErrAlreadyRotated) {
				t.Fatalf("round %d: rotate: %v", i, rotErr)
			}
			if updErr != nil && !errors.Is(updErr, accesskey.ErrAlreadyRotated) {
				t.Fatalf("round %d: update: %v", i, updErr)
			}
			got, err := store.GetKey(ctx, survivor)
			if err != nil {
				t.Fatal(err)
			}
			if updErr == nil && !sameLists(got.Scopes, []string{"orders:read"}) {
				t.Fatalf("round %d: the update succeeded but the surviving key %s has scopes %#v (rotate: %v)", i, survivor.AccessKeyID, got.Scopes, rotErr)
			}
			// Free the member's slots for the next round.
			for _, k := range []accesskey.Ref{old.Ref(), rot.New.Ref()} {
				_ = store.Delete(ctx, k, audit)
			}
		}
	})
}
