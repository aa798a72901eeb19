package accesskey_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

func TestParseAllowedCIDRs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string // nil with wantErr
		// wantErr is the field and a piece of the message of the
		// *ValidationError expected.
		wantField, wantErr string
	}{
		{name: "absent or null is any source", in: nil, want: nil},
		{name: "one IPv4 prefix", in: []string{"10.0.0.0/8"}, want: []string{"10.0.0.0/8"}},
		{name: "single IPv4 address is /32", in: []string{"203.0.113.7"}, want: []string{"203.0.113.7/32"}},
		{name: "single IPv6 address is /128", in: []string{"2001:db8::1"}, want: []string{"2001:db8::1/128"}},
		{name: "/32 and /128 kept", in: []string{"203.0.113.7/32", "2001:db8::1/128"}, want: []string{"203.0.113.7/32", "2001:db8::1/128"}},
		{name: "/0 both families", in: []string{"::/0", "0.0.0.0/0"}, want: []string{"0.0.0.0/0", "::/0"}},
		{name: "host bits cleared", in: []string{"10.1.2.3/8", "2001:db8:1:2::5/32"}, want: []string{"10.0.0.0/8", "2001:db8::/32"}},
		{name: "IPv6 written as RFC 5952 says", in: []string{"2001:0DB8:0000:0000:0000:0000:0000:0001/128", "2001:db8:0:0:1:0:0:1"},
			want: []string{"2001:db8::1/128", "2001:db8::1:0:0:1/128"}},
		{name: "mapped address unmapped", in: []string{"::ffff:192.0.2.1"}, want: []string{"192.0.2.1/32"}},
		{name: "mapped prefix loses 96 bits of length", in: []string{"::ffff:10.0.0.0/104"}, want: []string{"10.0.0.0/8"}},
		{name: "mapped /96 is IPv4 /0", in: []string{"::ffff:0.0.0.0/96"}, want: []string{"0.0.0.0/0"}},
		{name: "mapped /128 is /32", in: []string{"::ffff:c000:201/128"}, want: []string{"192.0.2.1/32"}},
		{name: "duplicates dropped, after canonical form", in: []string{"10.0.0.0/8", "10.9.9.9/8", "::ffff:10.0.0.0/104", "10.0.0.0/8"}, want: []string{"10.0.0.0/8"}},
		{name: "overlaps kept", in: []string{"10.1.0.0/16", "10.0.0.0/8"}, want: []string{"10.0.0.0/8", "10.1.0.0/16"}},
		{name: "sorted by address, IPv4 first, shorter first", in: []string{"2001:db8::/32", "::1", "192.168.0.0/16", "10.0.0.0/16", "10.0.0.0/8", "fe80::/10"},
			want: []string{"10.0.0.0/8", "10.0.0.0/16", "192.168.0.0/16", "::1/128", "2001:db8::/32", "fe80::/10"}},
		{name: "32 entries", in: slices.Repeat([]string{"10.0.0.0/8"}, 32), want: []string{"10.0.0.0/8"}},

		{name: "empty list", in: []string{}, wantField: "allowedCidrs", wantErr: "at least one"},
		{name: "33 entries, duplicates included", in: slices.Repeat([]string{"10.0.0.0/8"}, 33), wantField: "allowedCidrs", wantErr: "33"},
		{name: "IPv4 length 33", in: []string{"10.0.0.0/8", "10.0.0.0/33"}, wantField: "allowedCidrs[1]", wantErr: `"10.0.0.0/33" has a bad prefix length: an IPv4 prefix takes /0 to /32`},
		{name: "IPv6 length 129", in: []string{"::/129"}, wantField: "allowedCidrs[0]", wantErr: `/0 to /128`},
		{name: "negative length", in: []string{"10.0.0.0/-1"}, wantField: "allowedCidrs[0]", wantErr: "bad prefix length"},
		{name: "leading zero in length", in: []string{"10.0.0.0/08"}, wantField: "allowedCidrs[0]", wantErr: "bad prefix length"},
		{name: "empty length", in: []string{"10.0.0.0/"}, wantField: "allowedCidrs[0]", wantErr: "bad prefix length"},
		{name: "zone id address", in: []string{"fe80::1%eth0"}, wantField: "allowedCidrs[0]", wantErr: `"fe80::1%eth0" has a zone id`},
		{name: "zone id prefix", in: []string{"fe80::%eth0/64"}, wantField: "allowedCidrs[0]", wantErr: "zone id"},
		{name: "mapped prefix shorter than /96", in: []string{"::ffff:0:0/95"}, wantField: "allowedCidrs[0]", wantErr: "shorter than /96"},
		{name: "garbage", in: []string{"10.0.0.0/8", "2001:db8::/32", "office"}, wantField: "allowedCidrs[2]", wantErr: `"office" is not an IPv4 or IPv6 address`},
		{name: "empty string", in: []string{""}, wantField: "allowedCidrs[0]", wantErr: `"" is not`},
		{name: "leading zeros in IPv4", in: []string{"010.0.0.1"}, wantField: "allowedCidrs[0]", wantErr: "is not"},
		{name: "IPv4 octet over 255", in: []string{"10.0.0.256/32"}, wantField: "allowedCidrs[0]", wantErr: "is not an IPv4 or IPv6 prefix"},
		{name: "spaces", in: []string{" 10.0.0.0/8"}, wantField: "allowedCidrs[0]", wantErr: "is not"},
		{name: "hostname", in: []string{"example.com/24"}, wantField: "allowedCidrs[0]", wantErr: "is not an IPv4 or IPv6 prefix"},
		{name: "two slashes", in: []string{"10.0.0.0/8/8"}, wantField: "allowedCidrs[0]", wantErr: "is not"},
		{name: "range", in: []string{"10.0.0.1-10.0.0.9"}, wantField: "allowedCidrs[0]", wantErr: "is not"},
		{name: "long garbage shortened", in: []string{strings.Repeat("x", 500)}, wantField: "allowedCidrs[0]", wantErr: `"` + strings.Repeat("x", 64) + `"…`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := accesskey.ParseAllowedCIDRs(tc.in)
			if tc.wantErr != "" {
				var ve *accesskey.ValidationError
				if !errors.As(err, &ve) || ve.Field != tc.wantField || !strings.Contains(ve.Reason, tc.wantErr) {
					t.Fatalf("ParseAllowedCIDRs(%q) = %v, %v; want a ValidationError on %s containing %q", tc.in, got, err, tc.wantField, tc.wantErr)
				}
				if got != nil {
					t.Errorf("a refused list came back as %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAllowedCIDRs(%q): %v", tc.in, err)
			}
			if (got == nil) != (tc.want == nil) || !slices.Equal(got.Strings(), tc.want) {
				t.Fatalf("ParseAllowedCIDRs(%q) = %#v, want %#v", tc.in, got.Strings(), tc.want)
			}
			again, err := accesskey.ParseAllowedCIDRs(got.Strings())
			if err != nil || !slices.Equal(again, got) {
				t.Errorf("the canonical list %q parses to %v, %v", got.Strings(), again, err)
			}
		})
	}
}

func TestCIDRListAllows(t *testing.T) {
	list := func(s ...string) accesskey.CIDRList {
		l, err := accesskey.ParseAllowedCIDRs(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, tc := range []struct {
		list   accesskey.CIDRList
		source string
		want   bool
	}{
		{nil, "203.0.113.7", true},
		{nil, "2001:db8::1", true},
		{list("10.0.0.0/8"), "10.0.0.0", true},
		{list("10.0.0.0/8"), "10.255.255.255", true},
		{list("10.0.0.0/8"), "11.0.0.0", false},
		{list("10.0.0.0/8"), "9.255.255.255", false},
		{list("203.0.113.7"), "203.0.113.7", true},
		{list("203.0.113.7/32"), "203.0.113.8", false},
		{list("203.0.113.7/32"), "203.0.113.6", false},
		{list("0.0.0.0/0"), "1.2.3.4", true},
		{list("0.0.0.0/0"), "255.255.255.255", true},
		{list("0.0.0.0/0"), "::1", false},
		{list("0.0.0.0/0"), "2001:db8::1", false},
		{list("::/0"), "2001:db8::1", true},
		{list("::/0"), "::", true},
		{list("::/0"), "1.2.3.4", false},              // ::/0 does not admit IPv4
		{list("::/0"), "::ffff:1.2.3.4", false},       // nor IPv4 written as mapped IPv6
		{list("10.0.0.0/8"), "::ffff:10.1.2.3", true}, // a mapped source is its IPv4 address
		{list("10.0.0.0/8"), "::ffff:11.1.2.3", false},
		{list("::ffff:10.0.0.0/104"), "10.1.2.3", true},
		{list("2001:db8::/32"), "2001:db8:ffff::1", true},
		{list("2001:db8::/32"), "2001:db9::1", false},
		{list("2001:db8::/32"), "32.1.13.184", false}, // 0x20010db8 as IPv4
		{list("2001:db8::1/128"), "2001:db8::1", true},
		{list("2001:db8::1/128"), "2001:db8::2", false},
		{list("::1"), "127.0.0.1", false},
		{list("127.0.0.1"), "::1", false},
		{list("fe80::/10"), "fe80::1%eth0", true}, // a zoned peer: the zone is ignored
		{list("fe80::1"), "fe80::1%eth0", true},
		{list("10.0.0.0/8", "2001:db8::/32", "192.0.2.1"), "192.0.2.1", true},
		{list("10.0.0.0/8", "2001:db8::/32", "192.0.2.1"), "2001:db8::7", true},
		{list("10.0.0.0/8", "2001:db8::/32", "192.0.2.1"), "192.0.2.2", false},
	} {
		src := netip.MustParseAddr(tc.source)
		if got := tc.list.Allows(src); got != tc.want {
			t.Errorf("%v.Allows(%s) = %v, want %v", tc.list.Strings(), tc.source, got, tc.want)
		}
	}
	if list("0.0.0.0/0", "::/0").Allows(netip.Addr{}) {
		t.Error("a restricted list allows the zero (invalid) address")
	}
	if !accesskey.CIDRList(nil).Allows(netip.Addr{}) {
		t.Error("an unrestricted key refuses a source it cannot read")
	}
}

func TestCIDRListWithin(t *testing.T) {
	list := func(s ...string) accesskey.CIDRList {
		if s == nil {
			return nil
		}
		l, err := accesskey.ParseAllowedCIDRs(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	team := list("10.0.0.0/8", "2001:db8::/32", "192.0.2.7")
	for _, tc := range []struct {
		key, team accesskey.CIDRList
		wantErr   string // "" when within
	}{
		{key: nil, team: nil},
		{key: list("1.2.3.4"), team: nil},
		{key: list("10.0.0.0/8"), team: team},
		{key: list("10.1.0.0/16", "10.2.3.4", "2001:db8:5::/48", "192.0.2.7/32"), team: team},
		{key: list("2001:db8::/32"), team: team},
		{key: nil, team: team, wantErr: "requires every key to list its allowed networks"},
		{key: list("10.0.0.0/7"), team: team, wantErr: `"10.0.0.0/7" is not inside any of the team's networks: 10.0.0.0/8, 192.0.2.7/32, 2001:db8::/32`},
		{key: list("10.1.0.0/16", "11.0.0.1"), team: team, wantErr: `"11.0.0.1/32"`},
		{key: list("192.0.2.0/24"), team: team, wantErr: `"192.0.2.0/24"`},
		{key: list("192.0.2.8"), team: team, wantErr: `"192.0.2.8/32"`},
		{key: list("2001:db8::/31"), team: team, wantErr: `"2001:db8::/31"`},
		{key: list("::ffff:10.0.0.1"), team: team},                                               // unmapped: 10.0.0.1/32
		{key: list("::/0"), team: list("0.0.0.0/0"), wantErr: `"::/0"`},                          // families never mix
		{key: list("10.0.0.0/8"), team: list("::/0"), wantErr: `"10.0.0.0/8"`},                   // ::/0 holds no IPv4
		{key: list("10.0.0.0/8", "::1"), team: list("0.0.0.0/0", "::/0")},                        // /0 holds its family
		{key: list("0.0.0.0/0"), team: list("0.0.0.0/1", "128.0.0.0/1"), wantErr: `"0.0.0.0/0"`}, // each inside ONE of them
	} {
		err := tc.key.Within(tc.team)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%v.Within(%v) = %v, want nil", tc.key.Strings(), tc.team.Strings(), err)
			}
			continue
		}
		var pv *accesskey.PolicyViolationError
		if !errors.As(err, &pv) || pv.Field != "allowedCidrs" || !strings.Contains(pv.Reason, tc.wantErr) {
			t.Errorf("%v.Within(%v) = %v, want a PolicyViolationError on allowedCidrs containing %q", tc.key.Strings(), tc.team.Strings(), err, tc.wantErr)
		}
	}
}

func ExampleCIDRList_Allows() {
	l, _ := accesskey.ParseAllowedCIDRs([]string{"2001:DB8::/32", "::ffff:10.9.8.7/104", "198.51.100.7"})
	fmt.Println(l.Strings())
	for _, s := range []string{"10.1.2.3", "::ffff:10.1.2.3", "198.51.100.8", "2001:db8::42"} {
		fmt.Println(s, l.Allows(netip.MustParseAddr(s)))
	}
	// Output:
	// [10.0.0.0/8 198.51.100.7/32 2001:db8::/32]
	// 10.1.2.3 true
	// ::ffff:10.1.2.3 true
	// 198.51.100.8 false
	// 2001:db8::42 true
}
