package accesskey

import "time"

// FieldDefaultScopes is the name of the key policy's default scopes.
const FieldDefaultScopes = "defaultScopes"

// CheckCIDRs checks a key's allowedCidrs (canonical, nil: any source)
// against the team's networks: a *PolicyViolationError naming the first
// entry outside them, or saying that the field is required; nil when the
// policy lists no networks.
func (p KeyPolicy) CheckCIDRs(cidrs []string) error {
	if p.AllowedCIDRs == nil {
		return nil
	}
	team, err := ParseAllowedCIDRs(p.AllowedCIDRs)
	if err != nil {
		return err
	}
	key, err := ParseAllowedCIDRs(cidrs)
	if err != nil {
		return err
	}
	return key.Within(team)
}

// CanSign reports whether k can sign requests at now: active and not
// expired.
func (k Key) CanSign(now time.Time) bool {
	return k.Status == StatusActive && !k.Expired(now)
}

// OutsidePolicy reports whether k can sign at now and its allowedCidrs are
// absent or not within team (nil team: no key is outside).
func OutsidePolicy(k Key, team CIDRList, now time.Time) bool {
	if team == nil || !k.CanSign(now) {
		return false
	}
	key, err := ParseAllowedCIDRs(k.AllowedCIDRs)
	return err != nil || key.Within(team) != nil
}

// OutsideCount is how many of a team's keys that can sign are outside its
// networks. Complete is false when counting stopped at its bound: Count is
// then a lower bound, from the first Scanned keys.
type OutsideCount struct {
	Count    int
	Complete bool
	Scanned  int
}
