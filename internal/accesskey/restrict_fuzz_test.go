package accesskey_test

import (
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// splitEntries makes a list of entries from one fuzzed string: "" is nil
// (absent), "\x00" the empty list, else the pieces between commas.
func splitEntries(in string) []string {
	switch in {
	case "":
		return nil
	case "\x00":
		return []string{}
	}
	return strings.Split(in, ",")
}

// fuzzCanonicalPrefix is an entry's canonical prefix, read the long way.
func fuzzCanonicalPrefix(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(netip.AddrFrom4(p.Addr().As4()), p.Bits()-96)
	}
	return p.Masked(), true
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzParseCIDRs: ParseAllowedCIDRs never panics; it accepts exactly the
// lists of 1 to 32 entries that each read as a prefix or an address (no
// zone, a mapped prefix no shorter than /96); what it returns is canonical
// (masked, unmapped, sorted, unique), parses to itself, holds every
// entry's canonical prefix and allows the first and last address of each;
// a refusal is a *ValidationError on the field or an entry.
func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"", "\x00", "10.0.0.0/8", "203.0.113.7", "2001:db8::1", "::/0,0.0.0.0/0", "10.1.2.3/8,10.0.0.0/8",
		"::ffff:10.0.0.0/104", "::ffff:0:0/95", "fe80::1%eth0", "fe80::%eth0/64", "10.0.0.0/33", "10.0.0.0/08", "office", "::ffff:1.2.3.4",
		"2001:0DB8::/32", "1.2.3.4/32,::1/128,1.2.3.4", strings.Repeat("1.1.1.1,", 32) + "1.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		entries := splitEntries(in)
		got, err := accesskey.ParseAllowedCIDRs(entries)
		want := entries == nil || len(entries) >= 1 && len(entries) <= accesskey.MaxAllowedCIDRs
		for _, e := range entries {
			if _, ok := fuzzCanonicalPrefix(e); !ok {
				want = false
			}
		}
		if (err == nil) != want {
			t.Fatalf("ParseAllowedCIDRs(%q) = %v, %v; want valid=%v", entries, got.Strings(), err, want)
		}
		if err != nil {
			var ve *accesskey.ValidationError
			if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, "allowedCidrs") || got != nil {
				t.Fatalf("ParseAllowedCIDRs(%q) = %v, %#v; want a ValidationError on allowedCidrs", entries, got, err)
			}
			return
		}
		if entries == nil {
			if got != nil {
				t.Fatalf("nil parsed to %v", got)
			}
			return
		}
		if len(got) == 0 || len(got) > len(entries) {
			t.Fatalf("%d entries parsed to %d prefixes", len(entries), len(got))
		}
		for i, p := range got {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("%v is not canonical", p)
			}
			if i > 0 && got[i-1].Compare(p) >= 0 {
				t.Fatalf("%v is not sorted and unique", got.Strings())
			}
		}
		again, err := accesskey.ParseAllowedCIDRs(got.Strings())
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("canonical %q parses to %v, %v", got.Strings(), again.Strings(), err)
		}
		for _, e := range entries {
			p, _ := fuzzCanonicalPrefix(e)
			if !slices.Contains(got, p) {
				t.Fatalf("%q (%v) is missing from %v", e, p, got.Strings())
			}
			if !got.Allows(p.Addr()) || !got.Allows(lastAddr(p)) {
				t.Fatalf("%v does not allow the ends of %v", got.Strings(), p)
			}
			if p.Addr().Is4() && !got.Allows(netip.AddrFrom16(p.Addr().As16())) {
				t.Fatalf("%v does not allow %v written as mapped IPv6", got.Strings(), p.Addr())
			}
		}
		if err := got.Within(got); err != nil {
			t.Fatalf("%v is not within itself: %v", got.Strings(), err)
		}
	})
}

var fuzzScopeRe = regexp.MustCompile(`^(\*|[a-z0-9][a-z0-9._-]{0,31}(:[a-z0-9][a-z0-9._-]{0,31})*(:\*)?)$`)

// fuzzGrants is Grants written with regular expressions.
func fuzzGrants(held []string, required string) bool {
	for _, g := range held {
		if g == "*" || g == required {
			return true
		}
		if p, ok := strings.CutSuffix(g, ":*"); ok && regexp.MustCompile(`^`+regexp.QuoteMeta(p)+`:.+$`).MatchString(required) {
			return true
		}
	}
	return false
}

// FuzzParseScopes: ParseScopes never panics; it accepts exactly the lists
// of at most 50 entries that each match the scope grammar (written as a
// regular expression here) within 128 characters; the result is sorted,
// unique, parses to itself and grants each of its concrete scopes; Grants
// of a fuzzed concrete scope agrees with a regular-expression reading of
// the wildcard rule.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"", "\x00", "orders:read", "orders:*", "*", "admin,orders:read,admin", "orders:*:read", "*:*", "Orders",
		"orders::read", ":*", "orders*", "a.b_c-d:0", strings.Repeat("a", 33), strings.Repeat("abcdefg:", 16) + "x"} {
		f.Add(s, "orders:read")
	}
	f.Add("orders:*", "ordersx:read")
	f.Add("orders:*", "orders")
	f.Fuzz(func(t *testing.T, in, required string) {
		entries := splitEntries(in)
		got, err := accesskey.ParseScopes(entries)
		want := len(entries) <= accesskey.MaxScopes
		for _, e := range entries {
			if len(e) > accesskey.MaxScopeLength || !fuzzScopeRe.MatchString(e) {
				want = false
			}
		}
		if (err == nil) != want {
			t.Fatalf("ParseScopes(%q) = %v, %v; want valid=%v", entries, got, err, want)
		}
		if err != nil {
			var ve *accesskey.ValidationError
			if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, "scopes") {
				t.Fatalf("ParseScopes(%q) = %#v; want a ValidationError on scopes", entries, err)
			}
			return
		}
		if (got == nil) != (entries == nil) {
			t.Fatalf("ParseScopes(%q) = %#v: nil and empty confused", entries, got)
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("%q is not sorted and unique", got)
		}
		again, err := accesskey.ParseScopes(got.Strings())
		if err != nil || !slices.Equal(again, got) || (again == nil) != (got == nil) {
			t.Fatalf("canonical %q parses to %q, %v", got, again, err)
		}
		for _, s := range got {
			if !strings.Contains(s, "*") && !got.Grants(s) {
				t.Fatalf("%q does not grant its own %q", got, s)
			}
		}
		if accesskey.ValidateRequiredScope(required) == nil {
			want := entries == nil || fuzzGrants(got, required)
			if got.Grants(required) != want {
				t.Fatalf("%#v.Grants(%q) = %v, want %v", got, required, !want, want)
			}
		}
	})
}
