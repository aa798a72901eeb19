package dynamostore_test

// The team's networks and default scopes in the key policy, on DynamoDB
// Local: stored and read back, a policy change racing a create or an
// update refusing it, and the count of keys outside the networks.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

func setTeamPolicy(t *testing.T, store *dynamostore.Store, p accesskey.KeyPolicy) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	p.UpdatedAt, p.UpdatedBy = &now, "olga"
	if err := store.SetPolicy(context.Background(), "t1", p, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: now}); err != nil {
		t.Fatal(err)
	}
}

func TestTeamPolicyStored(t *testing.T) {
	tb := teststack.NewTable(t)
	store := dynamostore.New(tb.DB, tb.Name)
	for _, p := range []accesskey.KeyPolicy{
		{AllowedCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}, DefaultScopes: []string{"orders:read"}},
		{DefaultScopes: []string{}},
		{},
	} {
		setTeamPolicy(t, store, p)
		got, err := store.Policy(context.Background(), "t1")
		if err != nil {
			t.Fatal(err)
		}
		if !sameLists(got.AllowedCIDRs, p.AllowedCIDRs) || !sameLists(got.DefaultScopes, p.DefaultScopes) {
			t.Errorf("stored %#v %#v, read back %#v %#v", p.AllowedCIDRs, p.DefaultScopes, got.AllowedCIDRs, got.DefaultScopes)
		}
	}
}

// TestTeamPolicyRacingCreate: a create decided on the policy it read; a
// policy change committed between that read and the create's transaction
// fails the create (ErrPolicyChanged), so that the handler reads the
// policy again and decides again. Re-setting the same policy does not.
func TestTeamPolicyRacingCreate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		read, races accesskey.KeyPolicy
		want        error
	}{
		{"networks set", accesskey.KeyPolicy{}, accesskey.KeyPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}}, accesskey.ErrPolicyChanged},
		{"networks narrowed", accesskey.KeyPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}}, accesskey.KeyPolicy{AllowedCIDRs: []string{"10.1.0.0/16"}}, accesskey.ErrPolicyChanged},
		{"default scopes changed", accesskey.KeyPolicy{DefaultScopes: []string{"a"}}, accesskey.KeyPolicy{DefaultScopes: []string{}}, accesskey.ErrPolicyChanged},
		{"the same policy again", accesskey.KeyPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}}, accesskey.KeyPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := teststack.NewTable(t)
			store := dynamostore.New(tb.DB, tb.Name)
			setTeamPolicy(t, store, tc.read)
			read, err := store.Policy(ctx, "t1")
			if err != nil {
				t.Fatal(err)
			}
			racing := dynamostore.New(&hookDB{DynamoDB: tb.DB, before: func() { setTeamPolicy(t, store, tc.races) }}, tb.Name)
			now := time.Now().UTC().Truncate(time.Second)
			k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: "m1", Status: accesskey.StatusActive,
				CreatedAt: now, CreatedBy: "admin", AllowedCIDRs: []string{"10.2.0.0/16"}, Scopes: read.DefaultScopes}
			err = racing.Create(ctx, k, testSealed, read, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: now})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Create: %v, want %v", err, tc.want)
			}
			_, gerr := store.GetKey(ctx, k.Ref())
			if created := gerr == nil; created != (tc.want == nil) {
				t.Errorf("key created %v (%v), want %v", created, gerr, tc.want == nil)
			}
		})
	}
}

// TestTeamPolicyRacingUpdate: an update that sets allowedCidrs is checked
// against the policy; a policy change committed between its check and its
// write makes it check again, and refuse.
func TestTeamPolicyRacingUpdate(t *testing.T) {
	ctx := context.Background()
	tb := teststack.NewTable(t)
	store := dynamostore.New(tb.DB, tb.Name)
	audit := accesskey.Audit{Actor: accesskey.SystemActor("test"), At: time.Now()}
	old := restrictedKey(t, store, "m1", []string{"10.1.0.0/16"}, nil)
	setTeamPolicy(t, store, accesskey.KeyPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}})
	set := func(cidrs ...string) accesskey.KeyUpdate {
		return accesskey.KeyUpdate{AllowedCIDRs: accesskey.ListField{Set: true, Value: cidrs}}
	}

	var v *accesskey.PolicyViolationError
	if _, err := store.UpdateKey(ctx, old.Ref(), set("192.0.2.0/24"), audit); !errors.As(err, &v) {
		t.Fatalf("update outside the networks: %v, want a PolicyViolationError", err)
	}
	if _, err := store.UpdateKey(ctx, old.Ref(), accesskey.KeyUpdate{AllowedCIDRs: accesskey.ListField{Set: true}}, audit); !errors.As(err, &v) {
		t.Fatalf("update lifting the networks: %v, want a PolicyViolationError", err)
	}
	desc := "deploy"
	if _, err := store.UpdateKey(ctx, old.Ref(), accesskey.KeyUpdate{Description: &desc}, audit); err != nil {
		t.Fatalf("description alone: %v", err)
	}

	racing := dynamostore.New(&hookDB{DynamoDB: tb.DB, before: func() {
		setTeamPolicy(t, store, accesskey.KeyPolicy{AllowedCIDRs: []string{"10.1.0.0/16"}})
	}}, tb.Name)
	if _, err := racing.UpdateKey(ctx, old.Ref(), set("10.2.0.0/16"), audit); !errors.As(err, &v) {
		t.Fatalf("update racing a narrowed policy: %v, want a PolicyViolationError", err)
	}
	got, err := store.GetKey(ctx, old.Ref())
	if err != nil || !sameLists(got.AllowedCIDRs, []string{"10.1.0.0/16"}) {
		t.Errorf("key after the refused update: %v %v", got.AllowedCIDRs, err)
	}
	if _, err := store.UpdateKey(ctx, old.Ref(), set("10.1.2.0/24"), audit); err != nil {
		t.Errorf("update inside the new networks: %v", err)
	}
}

// TestCountKeysOutside: the keys that can sign outside the networks are
// counted; past its bound the count is a lower bound.
func TestCountKeysOutside(t *testing.T) {
	ctx := context.Background()
	tb := teststack.NewTable(t)
	store := dynamostore.New(tb.DB, tb.Name)
	team, _ := accesskey.ParseAllowedCIDRs([]string{"10.0.0.0/8"})
	now := time.Now().UTC().Truncate(time.Second)
	past := now.Add(-time.Hour)
	var keys []accesskey.Key
	for i := range 40 {
		k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: fmt.Sprintf("m%02d", i),
			Status: accesskey.StatusActive, CreatedAt: past.Add(-time.Hour), CreatedBy: "admin"}
		switch i % 4 {
		case 1: // inside
			k.AllowedCIDRs = []string{"10.1.0.0/16"}
		case 2: // disabled
			k.Status = accesskey.StatusInactive
		case 3: // expired
			k.ExpiresAt = &past
		}
		keys = append(keys, k)
	}
	keys[4].AllowedCIDRs = []string{"10.1.0.0/16", "192.0.2.0/24"} // outside, though partly inside
	if err := tb.PutKeys(ctx, keys, testSealed); err != nil {
		t.Fatal(err)
	}
	c, err := store.CountKeysOutside(ctx, "t1", team, now, dynamostore.OutsideCountMaxKeys, dynamostore.OutsideCountMaxTime)
	if err != nil || c.Count != 10 || !c.Complete || c.Scanned != 40 {
		t.Fatalf("count %+v %v, want 10 of 40, complete", c, err)
	}
	c, err = store.CountKeysOutside(ctx, "t1", team, now, 1, time.Minute)
	if err != nil || c.Complete || c.Count > 10 || c.Scanned == 0 || c.Scanned >= 40 {
		t.Fatalf("bounded count %+v %v, want a lower bound of part of the keys", c, err)
	}
	if c, err := store.CountKeysOutside(ctx, "t1", nil, now, 1, time.Minute); err != nil || c.Count != 0 || !c.Complete {
		t.Fatalf("no networks: %+v %v", c, err)
	}
}
