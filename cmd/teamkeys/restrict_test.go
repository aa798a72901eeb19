package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
	"github.com/teamkeys/teamkeys/pkg/client"
)

// TestRestrictionFlagsInRequests: the restriction flags of create, rotate,
// update and policy set become the fields the issue names, null included,
// and nothing when absent (rotate then copies, update leaves them).
func TestRestrictionFlagsInRequests(t *testing.T) {
	type req struct {
		method string
		body   map[string]json.RawMessage
	}
	var mu sync.Mutex
	var got []req
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := map[string]json.RawMessage{}
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		got = append(got, req{r.Method + " " + r.URL.Path, b})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/key-policy"):
			_, _ = w.Write([]byte(`{"teamId":"t1","maxLifetimeDays":null,"allowedCidrs":["10.0.0.0/8"],"defaultScopes":["orders:read"],"keysOutsidePolicy":3}`))
		case r.Method == http.MethodPatch:
			_, _ = w.Write([]byte(fakeKey))
		default:
			w.WriteHeader(201)
			_, _ = w.Write([]byte(fakeCreated))
		}
	}))
	t.Cleanup(srv.Close)
	r := run{env: map[string]string{envEndpoint: srv.URL, envToken: "tok", envTeam: "t1"}}
	absent := "absent"
	for _, c := range []struct {
		name   string
		args   []string
		fields map[string]string // field: its JSON, or absent
	}{
		{"create restricted", []string{"keys", "create", "alice", "--allow-cidr", "203.0.113.7", "--allow-cidr", "2001:db8::/48,10.0.0.0/8", "--scope", "orders:read", "--scope", "invoices:*"},
			map[string]string{"allowedCidrs": `["203.0.113.7","2001:db8::/48","10.0.0.0/8"]`, "scopes": `["orders:read","invoices:*"]`}},
		{"create plain", []string{"keys", "create", "alice"}, map[string]string{"allowedCidrs": absent, "scopes": absent}},
		{"create with every scope over the team's defaults", []string{"keys", "create", "alice", "--all-scopes"},
			map[string]string{"allowedCidrs": absent, "scopes": "null"}},
		{"create granting nothing", []string{"keys", "create", "alice", "--no-scopes", "--any-source"},
			map[string]string{"allowedCidrs": "null", "scopes": "[]"}},
		{"rotate copies", []string{"keys", "rotate", "alice", fakeKeyID, "--yes"}, map[string]string{"allowedCidrs": absent, "scopes": absent}},
		{"rotate lifts", []string{"keys", "rotate", "alice", fakeKeyID, "--yes", "--any-source", "--all-scopes"},
			map[string]string{"allowedCidrs": "null", "scopes": "null"}},
		{"rotate replaces one", []string{"keys", "rotate", "alice", fakeKeyID, "--yes", "--scope", "orders:write"},
			map[string]string{"allowedCidrs": absent, "scopes": `["orders:write"]`, "gracePeriodSeconds": absent}},
		{"update the description alone", []string{"keys", "update", "alice", fakeKeyID, "--description", ""},
			map[string]string{"description": `""`, "allowedCidrs": absent, "scopes": absent}},
		{"update restricts", []string{"keys", "update", "alice", fakeKeyID, "--allow-cidr", "::1"},
			map[string]string{"description": absent, "allowedCidrs": `["::1"]`, "scopes": absent}},
		{"update lifts", []string{"keys", "update", "alice", fakeKeyID, "--any-source", "--all-scopes"},
			map[string]string{"allowedCidrs": "null", "scopes": "null"}},
		{"policy with networks and default scopes", []string{"policy", "set", "--none", "--allow-cidr", "10.0.0.0/8", "--default-scope", "orders:read", "--yes"},
			map[string]string{"maxLifetimeDays": "null", "allowedCidrs": `["10.0.0.0/8"]`, "defaultScopes": `["orders:read"]`}},
		{"policy without them", []string{"policy", "set", "--max-lifetime-days", "90", "--yes"},
			map[string]string{"maxLifetimeDays": "90", "allowedCidrs": absent, "defaultScopes": absent,
				"expiryWarningDays": absent, "disableUnusedAfterDays": absent, "allowSelfRotation": absent}},
		{"policy with warnings, dormancy and self-rotation", []string{"policy", "set", "--none", "--expiry-warning-days", "14,2",
			"--disable-unused-after-days", "90", "--allow-self-rotation", "--yes"},
			map[string]string{"maxLifetimeDays": "null", "expiryWarningDays": "[14,2]", "disableUnusedAfterDays": "90", "allowSelfRotation": "true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			want(t, r.exec(t, append(c.args, "-o", "json")...), exitOK)
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			for field, v := range c.fields {
				raw, ok := got[0].body[field]
				if v == absent && ok || v != absent && string(raw) != v {
					t.Errorf("%s: %s is %q (sent: %v), want %s", got[0].method, field, raw, ok, v)
				}
			}
		})
	}

	// Bad command lines: exit 2 before any request.
	mu.Lock()
	got = nil
	mu.Unlock()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"keys", "update", "alice", fakeKeyID}, "nothing to change"},
		{[]string{"keys", "create", "alice", "--allow-cidr", ""}, "empty --allow-cidr value"},
		{[]string{"keys", "create", "alice", "--scope", "a", "--all-scopes"}, "none of the others can be"},
		{[]string{"keys", "rotate", "alice", fakeKeyID, "--allow-cidr", "10.0.0.0/8", "--any-source", "--yes"}, "none of the others can be"},
	} {
		res := want(t, r.exec(t, c.args...), exitUsage)
		if !strings.Contains(res.stderr, c.msg) {
			t.Errorf("%v: %s, want %q", c.args, res, c.msg)
		}
	}
	if len(got) != 0 {
		t.Errorf("bad command lines sent %d requests", len(got))
	}

	// The policy's answer: its JSON as sent, its table with the new fields.
	res := want(t, r.exec(t, "policy", "get", "-o", "json"), exitOK)
	if !strings.Contains(res.stdout, `"keysOutsidePolicy": 3`) || !strings.Contains(res.stdout, `"defaultScopes": [`) {
		t.Errorf("policy JSON: %s", res)
	}
	row := oneRow(t, want(t, r.exec(t, "policy", "get", "-o", "table"), exitOK))
	if row["ALLOWED CIDRS"] != "10.0.0.0/8" || row["DEFAULT SCOPES"] != "orders:read" || row["KEYS OUTSIDE POLICY"] != "3" || row["MAX LIFETIME DAYS"] != "none" {
		t.Errorf("policy row %v", row)
	}
}

// TestRestrictedKeysEndToEnd: on the local API and the real emulators,
// create, list, get, update, rotate and whoami show a key's networks and
// scopes as the service stores them, rotate copies or lifts them, whoami
// from outside the networks is refused, and bad entries are the service's
// 400 naming them.
func TestRestrictedKeysEndToEnd(t *testing.T) {
	s := teststack.New(t, teststack.Options{})
	admin := run{env: map[string]string{envEndpoint: s.URL, envToken: s.Token("root", "t1", accesskey.RoleAdmin)}}
	tty := admin
	tty.stdoutTTY = true

	// create: stored in canonical form.
	res := want(t, admin.exec(t, "keys", "create", "alice", "--allow-cidr", "127.0.0.1", "--allow-cidr", "2001:db8:0:0::1/48,::1",
		"--scope", "orders:read", "--scope", "invoices:*"), exitOK)
	var k client.CreatedAccessKey
	decode(t, res, &k)
	wantCidrs := []string{"127.0.0.1/32", "::1/128", "2001:db8::/48"}
	if k.AllowedCidrs == nil || !slices.Equal(*k.AllowedCidrs, wantCidrs) || k.Scopes == nil || !slices.Equal(*k.Scopes, []string{"invoices:*", "orders:read"}) {
		t.Fatalf("created %v %v", k.AllowedCidrs, k.Scopes)
	}
	// list and get, table: both columns.
	row := oneRow(t, want(t, tty.exec(t, "keys", "list", "alice"), exitOK))
	if row["ALLOWED CIDRS"] != "127.0.0.1/32,::1/128,2001:db8::/48" || row["SCOPES"] != "invoices:*,orders:read" {
		t.Fatalf("list row %v", row)
	}
	var got client.AccessKey
	decode(t, want(t, admin.exec(t, "keys", "get", "alice", k.AccessKeyId), exitOK), &got)
	if got.AllowedCidrs == nil || len(*got.AllowedCidrs) != 3 || got.Scopes == nil || len(*got.Scopes) != 2 {
		t.Fatalf("get %+v", got)
	}

	// whoami from 127.0.0.1: allowed, and it shows the restrictions.
	alice := keyEnv(admin, k.AccessKeyId, k.SecretAccessKey)
	row = oneRow(t, want(t, alice.exec(t, "whoami", "-o", "table"), exitOK))
	if row["ALLOWED CIDRS"] != "127.0.0.1/32,::1/128,2001:db8::/48" || row["SCOPES"] != "invoices:*,orders:read" {
		t.Fatalf("whoami row %v", row)
	}

	// update: the networks leave out this machine: whoami is refused.
	res = want(t, admin.exec(t, "keys", "update", "alice", k.AccessKeyId, "--allow-cidr", "203.0.113.0/24", "--no-scopes", "--description", "locked"), exitOK)
	decode(t, res, &got)
	if got.AllowedCidrs == nil || !slices.Equal(*got.AllowedCidrs, []string{"203.0.113.0/24"}) || got.Scopes == nil || len(*got.Scopes) != 0 || got.Description != "locked" {
		t.Fatalf("updated %+v", got)
	}
	// Refused within 1 s (the server may have the key's item cached that
	// long); waited up to 10 s.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res = alice.exec(t, "whoami")
		if res.code == exitFailure && strings.Contains(res.stderr, "error: SourceIpNotAllowed: ") && strings.Contains(res.stderr, "127.0.0.1") {
			break
		}
		if res.code != exitOK || time.Now().After(deadline) {
			t.Fatalf("whoami from outside the key's networks, within 1 s (waited up to 10 s): %s", res)
		}
	}
	row = oneRow(t, want(t, tty.exec(t, "keys", "get", "alice", k.AccessKeyId), exitOK))
	if row["ALLOWED CIDRS"] != "203.0.113.0/24" || row["SCOPES"] != "none" {
		t.Fatalf("get row after update %v", row)
	}

	// rotate without flags copies both; with flags lifts.
	var r1 client.CreatedAccessKey
	decode(t, want(t, admin.exec(t, "keys", "rotate", "alice", k.AccessKeyId, "--grace-period", "0", "--yes"), exitOK), &r1)
	if r1.AllowedCidrs == nil || !slices.Equal(*r1.AllowedCidrs, []string{"203.0.113.0/24"}) || r1.Scopes == nil || len(*r1.Scopes) != 0 {
		t.Fatalf("rotated without flags: %v %v", r1.AllowedCidrs, r1.Scopes)
	}
	row = oneRow(t, want(t, tty.exec(t, "keys", "rotate", "alice", r1.AccessKeyId, "--grace-period", "0", "--any-source", "--all-scopes", "--yes"), exitOK))
	if row["ALLOWED CIDRS"] != "any" || row["SCOPES"] != "any" || row["SECRET ACCESS KEY"] == "" {
		t.Fatalf("rotated with --any-source --all-scopes: %v", row)
	}
	// The new key works from here again.
	newKey := row["KEY ID"]
	res = want(t, keyEnv(admin, newKey, row["SECRET ACCESS KEY"]).exec(t, "whoami", "-o", "json"), exitOK)
	if !strings.Contains(res.stdout, `"allowedCidrs": null`) || !strings.Contains(res.stdout, `"scopes": null`) {
		t.Fatalf("whoami of an unrestricted key: %s", res)
	}

	// update lifts and restricts in place.
	decode(t, want(t, admin.exec(t, "keys", "update", "alice", newKey, "--scope", "orders:*"), exitOK), &got)
	if got.AllowedCidrs != nil || got.Scopes == nil || !slices.Equal(*got.Scopes, []string{"orders:*"}) {
		t.Fatalf("update of the scopes alone: %+v", got)
	}

	// create with explicit nulls (--any-source, --all-scopes): unrestricted.
	var plain client.CreatedAccessKey
	decode(t, want(t, admin.exec(t, "keys", "create", "bob", "--any-source", "--all-scopes"), exitOK), &plain)
	if plain.AllowedCidrs != nil || plain.Scopes != nil {
		t.Fatalf("create --any-source --all-scopes: %v %v", plain.AllowedCidrs, plain.Scopes)
	}

	// Bad entries: the service's 400 naming them; nothing changes.
	for _, c := range []struct{ args []string }{
		{[]string{"keys", "create", "alice", "--allow-cidr", "fe80::1%eth0"}},
		{[]string{"keys", "update", "alice", newKey, "--allow-cidr", "10.0.0.0/33"}},
		{[]string{"keys", "update", "alice", newKey, "--scope", "orders:*:read"}},
	} {
		res := want(t, admin.exec(t, c.args...), exitFailure)
		bad := c.args[len(c.args)-1]
		if !strings.Contains(res.stderr, "error: ValidationError: ") || !strings.Contains(res.stderr, bad) {
			t.Errorf("%v: %s", c.args, res)
		}
	}
	decode(t, want(t, admin.exec(t, "keys", "get", "alice", newKey), exitOK), &got)
	if got.AllowedCidrs != nil || !slices.Equal(*got.Scopes, []string{"orders:*"}) {
		t.Fatalf("a refused update changed the key: %+v", got)
	}
}
