package accesskey_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

func TestNewAccessKeyID(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	for range n {
		id := accesskey.NewAccessKeyID()
		if len(id) != 24 {
			t.Fatalf("NewAccessKeyID() = %q: length %d, want 24", id, len(id))
		}
		rest, ok := strings.CutPrefix(id, accesskey.IDPrefix)
		if !ok || accesskey.IDPrefix != "TKAK" {
			t.Fatalf("NewAccessKeyID() = %q: want the prefix TKAK", id)
		}
		for i, c := range rest {
			if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
				t.Fatalf("NewAccessKeyID() = %q: character %q at %d is outside A-Z2-7", id, c, i+len(accesskey.IDPrefix))
			}
		}
		if !accesskey.ValidAccessKeyID(id) {
			t.Fatalf("ValidAccessKeyID(%q) = false for a generated id", id)
		}
		if seen[id] {
			t.Fatalf("NewAccessKeyID() returned %q twice in %d ids", id, n)
		}
		seen[id] = true
	}
}

func TestValidAccessKeyID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"TKAKABCDEFGHIJKLMNOPQRST", true},
		{"TKAKAAAAAAAAAAAAAAAAAAA2", true},
		{"TKAKABCDEFGHIJKLMNOPQRS", false},   // 23 characters
		{"TKAKABCDEFGHIJKLMNOPQRSTU", false}, // 25 characters
		{"AKIAABCDEFGHIJKLMNOPQRST", false},  // another prefix
		{"tkakABCDEFGHIJKLMNOPQRST", false},  // lower-case prefix
		{"TKAKabcdefghijklmnopqrst", false},  // lower case
		{"TKAKABCDEFGHIJKLMNOPQRS1", false},  // 1 is not base32
		{"TKAKABCDEFGHIJKLMNOPQRS8", false},  // 8 is not base32
		{"TKAKABCDEFGHIJKLMNOPQRS=", false},  // padding
		{"TKAKABCDEFGHIJKLMNOPQRST\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := accesskey.ValidAccessKeyID(tt.id); got != tt.want {
			t.Errorf("ValidAccessKeyID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestValidTeamOrMemberID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"one character", "a", true},
		{"one digit", "7", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"every allowed character", "Team.Member_01-x", true},
		{"empty", "", false},
		{"leading dot", ".a", false},
		{"leading dash", "-a", false},
		{"leading underscore", "_a", false},
		{"slash", "a/b", false},
		{"encoded slash", "a%2Fb", false},
		{"dot dot", "..", false},
		{"dot dot after a letter", "a/..", false},
		{"NUL", "a\x00b", false},
		{"trailing newline", "abc\n", false},
		{"space", "a b", false},
		{"hash, the key separator", "a#b", false},
		{"unicode letter", "é", false},
		{"unicode after ascii", "teamé", false},
		{"fullwidth digit", "１", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accesskey.ValidTeamOrMemberID(tt.id); got != tt.want {
				t.Errorf("ValidTeamOrMemberID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestValidateDescription(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		wantErr bool
	}{
		{"empty", "", false},
		{"plain", "CI deploy key", false},
		{"256 two-byte runes", strings.Repeat("é", 256), false},
		{"256 four-byte runes", strings.Repeat("🔑", 256), false},
		{"257 two-byte runes", strings.Repeat("é", 257), true},
		{"257 ascii", strings.Repeat("a", 257), true},
		{"newline", "line one\nline two", true},
		{"carriage return", "a\rb", true},
		{"tab", "a\tb", true},
		{"DEL", "a\x7fb", true},
		{"NEL (C1 control)", "a\u0085b", true},
		{"NUL", "a\x00b", true},
		{"escape", "\x1b[31mred", true},
		{"right-to-left override (Cf)", "\u202egnp.exe", true},
		{"left-to-right isolate (Cf)", "a\u2066b", true},
		{"zero-width space (Cf)", "a\u200bb", true},
		{"zero-width joiner (Cf)", "a\u200db", true},
		{"byte order mark (Cf)", "\ufeffkey", true},
		{"line separator (Zl)", "a\u2028b", true},
		{"paragraph separator (Zp)", "a\u2029b", true},
		{"non-breaking space (Zs) is text", "a\u00a0b", false},
		{"accents and CJK", "clé 鍵 ключ", false},
		{"invalid UTF-8", "a\xffb", true},
		{"truncated UTF-8", "\xc3", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := accesskey.ValidateDescription(tt.s)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("ValidateDescription(%q) = %v, want nil", tt.s, err)
				}
				return
			}
			var invalid *accesskey.ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("ValidateDescription(%q) = %v, want a *ValidationError", tt.s, err)
			}
			if invalid.Field != "description" {
				t.Errorf("ValidationError.Field = %q, want description", invalid.Field)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	const team, member = "t1", "bob"
	callers := map[string]accesskey.Caller{
		"owner":           {Subject: "alice", TeamID: team, Role: accesskey.RoleOwner},
		"admin":           {Subject: "alice", TeamID: team, Role: accesskey.RoleAdmin},
		"member self":     {Subject: member, TeamID: team, Role: accesskey.RoleMember},
		"member other":    {Subject: "carol", TeamID: team, Role: accesskey.RoleMember},
		"unknown role":    {Subject: member, TeamID: team, Role: "superuser"},
		"capitalised":     {Subject: "alice", TeamID: team, Role: "Owner"},
		"no role":         {Subject: member, TeamID: team},
		"other team":      {Subject: "alice", TeamID: "t2", Role: accesskey.RoleOwner},
		"team id case":    {Subject: "alice", TeamID: "T1", Role: accesskey.RoleOwner},
		"member no sub":   {Subject: "", TeamID: team, Role: accesskey.RoleMember},
		"admin elsewhere": {Subject: member, TeamID: "t2", Role: accesskey.RoleAdmin},
	}
	const A, D = true, false
	// allowed[caller] lists the verdict per action, in this order.
	actions := []accesskey.Action{
		accesskey.ActionGenerate, accesskey.ActionListMember, accesskey.ActionListTeam,
		accesskey.ActionDisable, accesskey.ActionEnable, accesskey.ActionDelete,
	}
	allowed := map[string][6]bool{
		//                generate list-member list-team disable enable delete
		"owner":           {A, A, A, A, A, A},
		"admin":           {A, A, A, A, A, A},
		"member self":     {D, A, D, A, D, D},
		"member other":    {D, D, D, D, D, D},
		"unknown role":    {D, D, D, D, D, D},
		"capitalised":     {D, D, D, D, D, D},
		"no role":         {D, D, D, D, D, D},
		"other team":      {D, D, D, D, D, D},
		"team id case":    {D, D, D, D, D, D},
		"member no sub":   {D, D, D, D, D, D},
		"admin elsewhere": {D, D, D, D, D, D},
	}
	if len(allowed) != len(callers) {
		t.Fatalf("the matrix has %d rows for %d callers", len(allowed), len(callers))
	}
	for name, caller := range callers {
		for i, action := range actions {
			memberID := member
			if action == accesskey.ActionListTeam {
				memberID = ""
			}
			want := allowed[name][i]
			err := accesskey.Authorize(caller, action, team, memberID)
			switch {
			case want && err != nil:
				t.Errorf("%s %s %s/%q: %v, want allowed", name, action, team, memberID, err)
			case !want && err == nil:
				t.Errorf("%s %s %s/%q: allowed, want ErrForbidden", name, action, team, memberID)
			case !want && !errors.Is(err, accesskey.ErrForbidden):
				t.Errorf("%s %s %s/%q: %v, want an error wrapping ErrForbidden", name, action, team, memberID, err)
			}
		}
	}
}

func TestKeyRef(t *testing.T) {
	k := accesskey.Key{AccessKeyID: "TKAKABCDEFGHIJKLMNOPQRST", TeamID: "t1", MemberID: "bob", CreatedBy: "alice"}
	want := accesskey.Ref{TeamID: "t1", MemberID: "bob", AccessKeyID: "TKAKABCDEFGHIJKLMNOPQRST"}
	if got := k.Ref(); got != want {
		t.Errorf("Key.Ref() = %+v, want %+v", got, want)
	}
}

// A member's self-service needs a member named: an empty member id never
// matches a caller, not even one whose subject is empty.
func TestAuthorizeSelfServeNeedsAMember(t *testing.T) {
	tests := []struct {
		name   string
		caller accesskey.Caller
		action accesskey.Action
	}{
		{"empty subject lists an empty member", accesskey.Caller{TeamID: "t1", Role: accesskey.RoleMember}, accesskey.ActionListMember},
		{"empty subject disables for an empty member", accesskey.Caller{TeamID: "t1", Role: accesskey.RoleMember}, accesskey.ActionDisable},
		{"member disables for an empty member", accesskey.Caller{Subject: "bob", TeamID: "t1", Role: accesskey.RoleMember}, accesskey.ActionDisable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := accesskey.Authorize(tt.caller, tt.action, "t1", ""); !errors.Is(err, accesskey.ErrForbidden) {
				t.Fatalf("Authorize(%+v, %s, t1, \"\") = %v, want ErrForbidden", tt.caller, tt.action, err)
			}
		})
	}
}
