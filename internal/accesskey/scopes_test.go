package accesskey_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

func TestParseScopes(t *testing.T) {
	seg32 := strings.Repeat("a", 32)
	long128 := strings.Repeat(seg32+":", 3) + strings.Repeat("b", 29) // 3*33 + 29 = 128
	for _, tc := range []struct {
		name               string
		in                 []string
		want               []string
		wantField, wantErr string // a *ValidationError on wantField containing wantErr
	}{
		{name: "absent or null is unrestricted", in: nil, want: nil},
		{name: "empty list grants nothing", in: []string{}, want: []string{}},
		{name: "one scope", in: []string{"orders:read"}, want: []string{"orders:read"}},
		{name: "sorted, duplicates dropped", in: []string{"orders:write", "admin", "orders:read", "admin"}, want: []string{"admin", "orders:read", "orders:write"}},
		{name: "wildcards kept as sent", in: []string{"orders:read", "orders:*", "*"}, want: []string{"*", "orders:*", "orders:read"}},
		{name: "segment characters", in: []string{"a.b_c-d:0x", "9"}, want: []string{"9", "a.b_c-d:0x"}},
		{name: "deep scope", in: []string{"a:b:c:d:e:*"}, want: []string{"a:b:c:d:e:*"}},
		{name: "32-character segment", in: []string{seg32}, want: []string{seg32}},
		{name: "128 characters", in: []string{long128}, want: []string{long128}},
		{name: "50 entries", in: slices.Repeat([]string{"x"}, 50), want: []string{"x"}},

		{name: "51 entries, duplicates included", in: slices.Repeat([]string{"x"}, 51), wantField: "scopes", wantErr: "51 scopes, at most 50"},
		{name: "129 characters", in: []string{long128 + "b"}, wantField: "scopes[0]", wantErr: "129 characters"},
		{name: "33-character segment", in: []string{"x", "orders:" + seg32 + "a"}, wantField: "scopes[1]", wantErr: "segment of 33 characters"},
		{name: "empty scope", in: []string{""}, wantField: "scopes[0]", wantErr: "empty segment"},
		{name: "empty segment", in: []string{"orders::read"}, wantField: "scopes[0]", wantErr: `"orders::read" has an empty segment`},
		{name: "leading colon", in: []string{":read"}, wantField: "scopes[0]", wantErr: "empty segment"},
		{name: "trailing colon", in: []string{"orders:"}, wantField: "scopes[0]", wantErr: "empty segment"},
		{name: "upper case", in: []string{"Orders:read"}, wantField: "scopes[0]", wantErr: "upper-case"},
		{name: "segment starting with a dot", in: []string{"orders:.read"}, wantField: "scopes[0]", wantErr: "starting with '.'"},
		{name: "segment starting with a dash", in: []string{"-x"}, wantField: "scopes[0]", wantErr: "starting with '-'"},
		{name: "space", in: []string{"orders read"}, wantField: "scopes[0]", wantErr: "the character ' '"},
		{name: "slash", in: []string{"orders/read"}, wantField: "scopes[0]", wantErr: "the character '/'"},
		{name: "non-ASCII", in: []string{"ordérs"}, wantField: "scopes[0]", wantErr: "the character 'é'"},
		{name: "star in a segment", in: []string{"orders*"}, wantField: "scopes[0]", wantErr: `"orders*" uses "*" where it is not allowed`},
		{name: "star then more", in: []string{"orders:*:read"}, wantField: "scopes[0]", wantErr: `uses "*"`},
		{name: "star first", in: []string{"*:read"}, wantField: "scopes[0]", wantErr: `uses "*"`},
		{name: "star star", in: []string{"**"}, wantField: "scopes[0]", wantErr: `uses "*"`},
		{name: "star colon star", in: []string{"*:*"}, wantField: "scopes[0]", wantErr: `uses "*"`},
		{name: "colon star alone", in: []string{":*"}, wantField: "scopes[0]", wantErr: "empty segment"},
		{name: "star without colon", in: []string{"orders.*"}, wantField: "scopes[0]", wantErr: `uses "*"`},
		{name: "double star suffix", in: []string{"orders:**"}, wantField: "scopes[0]", wantErr: `uses "*"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := accesskey.ParseScopes(tc.in)
			if tc.wantErr != "" {
				var ve *accesskey.ValidationError
				if !errors.As(err, &ve) || ve.Field != tc.wantField || !strings.Contains(ve.Reason, tc.wantErr) {
					t.Fatalf("ParseScopes(%q) = %v, %v; want a ValidationError on %s containing %q", tc.in, got, err, tc.wantField, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScopes(%q): %v", tc.in, err)
			}
			if (got == nil) != (tc.want == nil) || !slices.Equal(got.Strings(), tc.want) || (got.Strings() == nil) != (tc.want == nil) {
				t.Fatalf("ParseScopes(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestScopesGrants(t *testing.T) {
	scopes := func(s ...string) accesskey.Scopes {
		if s == nil {
			s = []string{}
		}
		l, err := accesskey.ParseScopes(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, tc := range []struct {
		key      accesskey.Scopes
		required string
		want     bool
	}{
		{nil, "orders:read", true}, // unrestricted
		{nil, "admin", true},
		{scopes(), "orders:read", false}, // empty: nothing
		{scopes(), "admin", false},
		{scopes("*"), "orders:read", true},
		{scopes("*"), "a:b:c", true},
		{scopes("orders:read"), "orders:read", true},
		{scopes("orders:read"), "orders:write", false},
		{scopes("orders:read"), "orders", false},
		{scopes("orders:read"), "orders:read:x", false},
		{scopes("orders"), "orders:read", false}, // no implicit children
		{scopes("orders:*"), "orders:read", true},
		{scopes("orders:*"), "orders:items:write", true},
		{scopes("orders:*"), "orders", false},       // not itself
		{scopes("orders:*"), "ordersx:read", false}, // not a sibling sharing the prefix
		{scopes("orders:*"), "orders.x:read", false},
		{scopes("orders:*"), "x:orders:read", false},
		{scopes("orders:items:*"), "orders:items:write", true},
		{scopes("orders:items:*"), "orders:read", false},
		{scopes("admin"), "admin", true},
		{scopes("admin"), "administrator", false},
		{scopes("admin"), "admin:x", false},
		{scopes("orders:read", "billing:*"), "billing:invoices:read", true},
		{scopes("orders:read", "billing:*"), "orders:write", false},
		// A required "*" (an ambiguous path) asks for everything.
		{nil, "*", true},
		{scopes("*"), "*", true},
		{scopes("orders:*"), "*", false},
		{scopes("orders:read"), "*", false},
	} {
		if got := tc.key.Grants(tc.required); got != tc.want {
			t.Errorf("%#v.Grants(%q) = %v, want %v", tc.key, tc.required, got, tc.want)
		}
	}
}

func TestScopesString(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "*"},
		{[]string{}, ""},
		{[]string{"orders:write", "admin"}, "admin orders:write"},
	} {
		s, err := accesskey.ParseScopes(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.String(); got != tc.want {
			t.Errorf("ParseScopes(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateRequiredScope(t *testing.T) {
	for s, ok := range map[string]bool{
		"orders:read": true, "admin": true, "a.b:c_d-e": true,
		"*": false, "orders:*": false, "orders*": false, "": false, "Orders": false, "orders:": false, strings.Repeat("a", 129): false,
	} {
		err := accesskey.ValidateRequiredScope(s)
		var ve *accesskey.ValidationError
		if (err == nil) != ok || err != nil && !errors.As(err, &ve) {
			t.Errorf("ValidateRequiredScope(%q) = %v, want valid=%v", s, err, ok)
		}
	}
}

func ExampleScopes_Grants() {
	s, _ := accesskey.ParseScopes([]string{"orders:*", "billing:read"})
	for _, r := range []string{"orders:read", "orders:items:write", "orders", "ordersx:read", "billing:read", "billing:write"} {
		fmt.Println(r, s.Grants(r))
	}
	// Output:
	// orders:read true
	// orders:items:write true
	// orders false
	// ordersx:read false
	// billing:read true
	// billing:write false
}
