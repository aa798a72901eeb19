package accesskey

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Scope limits.
const (
	// MaxScopes is the most scopes a key lists, counted as sent, before
	// duplicates are dropped.
	MaxScopes = 50
	// MaxScopeLength is the longest scope, in bytes (all ASCII).
	MaxScopeLength = 128
	// maxScopeSegment is the longest segment of a scope.
	maxScopeSegment = 32
)

// FieldScopes is the name of the field, in a key's requests and views, that
// lists its scopes.
const FieldScopes = "scopes"

// ScopeAll is the scope that grants every scope.
const ScopeAll = "*"

// Scopes is what a key may do behind the authorizer, in canonical form:
// duplicates dropped, sorted in byte order. Wildcards are kept as sent (a
// list holding "orders:*" and "orders:read" keeps both).
//
// A nil Scopes is an unrestricted key: it grants every scope. An empty,
// non-nil Scopes grants none: the key verifies, but passes no route that
// needs a scope.
type Scopes []string

// ParseScopes checks and canonicalises the scopes of a request. nil (the
// field absent or null) is nil: unrestricted; an empty list is an empty,
// non-nil Scopes: nothing. Otherwise at most MaxScopes entries, each a scope
// as ValidateScope says. Every refusal is a *ValidationError naming the
// entry by its index and its text.
//
// Stored lists are read back with ParseScopes too: a canonical list parses
// to itself.
func ParseScopes(entries []string) (Scopes, error) {
	if entries == nil {
		return nil, nil
	}
	if len(entries) > MaxScopes {
		return nil, Invalid(FieldScopes, fmt.Sprintf("lists %d scopes, at most %d are allowed", len(entries), MaxScopes))
	}
	out := make(Scopes, 0, len(entries))
	for i, s := range entries {
		if why := scopeProblem(s, true); why != "" {
			return nil, Invalid(fmt.Sprintf("%s[%d]", FieldScopes, i), quoteEntry(s)+" "+why)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ValidateScope checks one scope a key may hold: one or more segments
// joined by ":", each segment [a-z0-9][a-z0-9._-]{0,31}, at most
// MaxScopeLength characters in all; it may end in ":*" (every scope below
// it), or be "*" alone (every scope). No other "*" is allowed. The error is
// a *ValidationError on the scopes field.
func ValidateScope(s string) error {
	if why := scopeProblem(s, true); why != "" {
		return Invalid(FieldScopes, quoteEntry(s)+" "+why)
	}
	return nil
}

// ValidateRequiredScope checks a scope a route requires: a concrete scope
// as ValidateScope says, with no "*" at all.
func ValidateRequiredScope(s string) error {
	if why := scopeProblem(s, false); why != "" {
		return Invalid("scope", quoteEntry(s)+" "+why)
	}
	return nil
}

// scopeProblem says what is wrong with s as a scope (with wildcards
// allowed or not), or "" when nothing is.
func scopeProblem(s string, wildcard bool) string {
	if s == ScopeAll {
		if wildcard {
			return ""
		}
		return "is a wildcard: a route requires one concrete scope"
	}
	if len(s) > MaxScopeLength {
		return fmt.Sprintf("is %d characters long, at most %d are allowed", len(s), MaxScopeLength)
	}
	if wildcard && strings.HasSuffix(s, ":*") {
		s = s[:len(s)-2]
	}
	const form = `segments [a-z0-9][a-z0-9._-]{0,31} joined by ":"`
	seg, n := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ':' {
			switch {
			case n == 0:
				return "has an empty segment: a scope is " + form
			case n > maxScopeSegment:
				return fmt.Sprintf("has a segment of %d characters, at most %d are allowed", n, maxScopeSegment)
			}
			seg, n = seg+1, 0
			continue
		}
		c := s[i]
		switch {
		case c == '*' && wildcard:
			return `uses "*" where it is not allowed: only "*" alone, or ":*" at the end of a scope`
		case c == '*':
			return `is a wildcard: a route requires one concrete scope`
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && n > 0:
		case c >= 'A' && c <= 'Z':
			return "has an upper-case letter: a scope is " + form
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			if n == 0 {
				return fmt.Sprintf("has a segment starting with %q: a scope is %s", r, form)
			}
			return fmt.Sprintf("has the character %q: a scope is %s", r, form)
		}
		n++
	}
	return ""
}

// Grants reports whether a key holding s may do what the scope required
// asks. A nil Scopes grants everything; "*" grants everything; "p:*"
// grants every scope strictly below p ("orders:*" grants "orders:read" and
// "orders:items:write", not "orders" nor "ordersx:read"); any other scope
// grants itself. required is a concrete scope (ValidateRequiredScope); a
// required "*" (everything) is granted only by nil or by "*".
func (s Scopes) Grants(required string) bool {
	if s == nil {
		return true
	}
	for _, g := range s {
		if g == required || g == ScopeAll {
			return true
		}
		// g is "p:*": the prefix "p:" and at least one character more.
		if n := len(g) - 1; n > 1 && g[n] == '*' && len(required) > n && required[:n] == g[:n] {
			return true
		}
	}
	return false
}

// Strings is the list as stored and shown; nil for an unrestricted key.
func (s Scopes) Strings() []string {
	if s == nil {
		return nil
	}
	return slices.Clone([]string(s))
}

// String is the list as the authorizer's context carries it: the scopes
// separated by spaces, "*" for an unrestricted key, "" for a key with none.
func (s Scopes) String() string {
	if s == nil {
		return ScopeAll
	}
	return strings.Join(s, " ")
}
