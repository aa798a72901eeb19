package accesskey

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// MaxAllowedCIDRs is the most source networks a key (or a team's policy)
// lists, counted as sent, before duplicates are dropped.
const MaxAllowedCIDRs = 32

// FieldAllowedCIDRs is the name of the field, in a key and in a team's key
// policy, that lists source networks.
const FieldAllowedCIDRs = "allowedCidrs"

// CIDRList is a key's allowed source networks in canonical form: host bits
// cleared, IPv4-mapped IPv6 prefixes unmapped, no duplicates, sorted by
// address with IPv4 first (then by length, shorter first). Overlapping
// prefixes are kept as sent: only identical ones are dropped.
//
// A nil CIDRList is an unrestricted key: any source address. A non-nil
// CIDRList is never empty (ParseAllowedCIDRs refuses an empty list: a key
// usable from nowhere is a disabled key).
type CIDRList []netip.Prefix

// ParseAllowedCIDRs checks and canonicalises the allowedCidrs of a request.
// nil (the field absent or null) is nil: any source. Otherwise there must be
// 1 to MaxAllowedCIDRs entries, each an IPv4 or IPv6 prefix ("10.0.0.0/8",
// "2001:db8::/32") or a single address (stored as /32 or /128). A prefix's
// host bits are cleared ("10.1.2.3/8" is 10.0.0.0/8). An IPv4-mapped IPv6
// entry is unmapped, its length less 96 ("::ffff:10.0.0.0/104" is
// 10.0.0.0/8); a mapped prefix shorter than /96 spans more than the mapped
// range and is refused. Zone ids ("fe80::1%eth0"), whitespace, leading
// zeros and lengths out of range are refused. Every refusal is a
// *ValidationError naming the entry by its index and its text.
//
// Stored lists are read back with ParseAllowedCIDRs too: a canonical list
// parses to itself.
func ParseAllowedCIDRs(entries []string) (CIDRList, error) {
	if entries == nil {
		return nil, nil
	}
	if len(entries) == 0 {
		return nil, Invalid(FieldAllowedCIDRs, "must list at least one network, or be null for any source address (an empty list would disable the key)")
	}
	if len(entries) > MaxAllowedCIDRs {
		return nil, Invalid(FieldAllowedCIDRs, fmt.Sprintf("lists %d networks, at most %d are allowed", len(entries), MaxAllowedCIDRs))
	}
	out := make(CIDRList, 0, len(entries))
	for i, s := range entries {
		p, why := parseCIDR(s)
		if why != "" {
			return nil, Invalid(fmt.Sprintf("%s[%d]", FieldAllowedCIDRs, i), quoteEntry(s)+" "+why)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out), nil
}

// parseCIDR reads one entry into its canonical prefix, or says why not:
// the end of a sentence that starts with the entry.
func parseCIDR(s string) (netip.Prefix, string) {
	if strings.ContainsRune(s, '%') {
		return netip.Prefix{}, "has a zone id: give a prefix or an address without one"
	}
	var p netip.Prefix
	if strings.ContainsRune(s, '/') {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			if a, aerr := netip.ParseAddr(s[:strings.LastIndexByte(s, '/')]); aerr == nil {
				return netip.Prefix{}, fmt.Sprintf("has a bad prefix length: an %s prefix takes /0 to /%d, written without leading zeros", family(a), a.BitLen())
			}
			return netip.Prefix{}, "is not an IPv4 or IPv6 prefix (address/length, e.g. 10.0.0.0/8 or 2001:db8::/32)"
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, "is not an IPv4 or IPv6 address or prefix (e.g. 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32)"
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, "is an IPv4-mapped IPv6 prefix shorter than /96: it spans more than the IPv4 addresses; give the IPv4 prefix instead"
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), ""
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// quoteEntry is an entry as an error message shows it: quoted, at most 64
// bytes of it.
func quoteEntry(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// Strings is the list as stored and shown: each prefix in canonical text
// (IPv6 as RFC 5952 writes it), with its length ("/32" and "/128" kept).
// nil for an unrestricted key.
func (l CIDRList) Strings() []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, p := range l {
		out[i] = p.String()
	}
	return out
}

// Allows reports whether a request from source may use a key restricted to
// l. A nil list allows any source. An IPv4 source matches only IPv4
// prefixes and an IPv6 source only IPv6 ones, so ::/0 does not admit IPv4;
// an IPv4-mapped IPv6 source is unmapped first (it is the IPv4 address), and
// a zone is ignored (a link-local peer's interface). An invalid source
// (the zero Addr) is allowed by no restricted list.
func (l CIDRList) Allows(source netip.Addr) bool {
	if l == nil {
		return true
	}
	source = source.Unmap().WithZone("")
	for _, p := range l {
		if p.Contains(source) {
			return true
		}
	}
	return false
}

// Within checks that every network of a key's list l lies inside one of
// the team's networks (a nil team list: no constraint). A nil l (any
// source) is outside any team list. The error is a *PolicyViolationError
// naming the first offending entry, or saying that the field is required.
func (l CIDRList) Within(team CIDRList) error {
	if team == nil {
		return nil
	}
	if l == nil {
		return Violation(FieldAllowedCIDRs, fmt.Sprintf("the team's key policy requires every key to list its allowed networks, each inside one of the team's: %s",
			strings.Join(team.Strings(), ", ")))
	}
	for _, p := range l {
		if !team.covers(p) {
			return Violation(FieldAllowedCIDRs, fmt.Sprintf("%q is not inside any of the team's networks: %s",
				p.String(), strings.Join(team.Strings(), ", ")))
		}
	}
	return nil
}

// covers reports whether p lies inside one of l's prefixes (same family, no
// shorter than it, and its address inside it).
func (l CIDRList) covers(p netip.Prefix) bool {
	for _, t := range l {
		if t.Bits() <= p.Bits() && t.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
