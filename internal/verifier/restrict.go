package verifier

import (
	"fmt"
	"net/netip"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// restrictions are a key's limits, parsed once per item read (not once per
// request): the networks it may sign from and the scopes it grants.
type restrictions struct {
	cidrs  accesskey.CIDRList // nil: any source address
	scopes accesskey.Scopes   // nil: every scope
	// invalid is why a stored restriction did not parse: the key is
	// refused from every address until it is fixed (fail closed).
	invalid error
}

// restrictionsOf parses the key's stored restrictions.
func restrictionsOf(k accesskey.Key) restrictions {
	var r restrictions
	if k.AllowedCIDRs != nil {
		cidrs, err := accesskey.ParseAllowedCIDRs(k.AllowedCIDRs)
		if err != nil {
			return restrictions{invalid: fmt.Errorf("stored allowedCidrs of %s: %w", k.AccessKeyID, err)}
		}
		r.cidrs = cidrs
	}
	if k.Scopes != nil {
		scopes, err := accesskey.ParseScopes(k.Scopes)
		if err != nil {
			return restrictions{invalid: fmt.Errorf("stored scopes of %s: %w", k.AccessKeyID, err)}
		}
		r.scopes = scopes
	}
	return r
}

// admit checks the request's source address, as API Gateway saw it
// (requestContext.http.sourceIp; no header counts), against the key's
// networks.
func (v *Verifier) admit(k accesskey.Key, r restrictions, sourceIP string) error {
	if r.invalid != nil {
		v.log.Error("key refused: its stored restrictions do not parse", "accessKeyId", k.AccessKeyID, "error", r.invalid.Error())
		return fmt.Errorf("%w: %s: %w", accesskey.ErrSourceIPNotAllowed, k.AccessKeyID, r.invalid)
	}
	if r.cidrs == nil {
		return nil
	}
	addr, err := netip.ParseAddr(sourceIP)
	if err != nil || !r.cidrs.Allows(addr) {
		return fmt.Errorf("%w: %s from %q", accesskey.ErrSourceIPNotAllowed, k.AccessKeyID, sourceIP)
	}
	return nil
}
