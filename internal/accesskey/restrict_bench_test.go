package accesskey_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Benchmarks of the checks the verifier adds per request (go test -bench
// Restrict ./internal/accesskey): the worst cases are a full list that
// does not match.
func BenchmarkRestrictAllows(b *testing.B) {
	full := make([]string, 0, accesskey.MaxAllowedCIDRs)
	for i := range accesskey.MaxAllowedCIDRs / 2 {
		full = append(full, fmt.Sprintf("10.%d.0.0/16", i), fmt.Sprintf("2001:db8:%x::/48", i))
	}
	for _, bc := range []struct {
		name   string
		list   []string
		source string
	}{
		{"unrestricted", nil, "203.0.113.7"},
		{"one-hit", []string{"203.0.113.0/24"}, "203.0.113.7"},
		{"32-miss-ipv4", full, "203.0.113.7"},
		{"32-miss-ipv6", full, "2001:db9::1"},
		{"32-miss-mapped", full, "::ffff:203.0.113.7"},
	} {
		l, err := accesskey.ParseAllowedCIDRs(bc.list)
		if err != nil {
			b.Fatal(err)
		}
		src := netip.MustParseAddr(bc.source)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if l.Allows(src) != (bc.list == nil || bc.name == "one-hit") {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

func BenchmarkRestrictGrants(b *testing.B) {
	full := make([]string, 0, accesskey.MaxScopes)
	for i := range accesskey.MaxScopes {
		full = append(full, fmt.Sprintf("service%02d:resource:read", i))
	}
	for _, bc := range []struct {
		name     string
		scopes   []string
		required string
		want     bool
	}{
		{"unrestricted", nil, "orders:read", true},
		{"one-exact", []string{"orders:read"}, "orders:read", true},
		{"one-wildcard", []string{"orders:*"}, "orders:items:write", true},
		{"50-miss", full, "orders:read", false},
	} {
		s, err := accesskey.ParseScopes(bc.scopes)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if s.Grants(bc.required) != bc.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}
