// Package accesskey holds the domain of team access keys: the key and its
// status, the identifier rules, the generation of ids and secrets, who may do
// what, and the domain errors. It imports no AWS package.
package accesskey

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxKeysPerMember is the cap on keys a member holds, disabled ones included:
// one in use and one being rotated in.
const MaxKeysPerMember = 2

// IDPrefix starts every access key id, so that a leaked id is recognisable
// (as AKIA is for AWS) and secret scanners can match it.
const IDPrefix = "TKAK"

// idRandomChars is the length of an id's random part: base32 characters,
// 5 bits each, 100 random bits. Secrets are in secret.go.
const idRandomChars = 20

// LastUseInterval is how often at most a key's last use is written, across
// every process that verifies it.
const LastUseInterval = 15 * time.Minute

// Status is the state of a key. Only an Active key verifies a signature.
type Status string

const (
	StatusActive   Status = "Active"
	StatusInactive Status = "Inactive"
	// StatusExpired is never stored: a key whose ExpiresAt has passed shows
	// as Expired, whatever its stored status, and verifies nothing.
	StatusExpired Status = "Expired"
)

// Key is an access key as the service stores and shows it, without its secret.
type Key struct {
	AccessKeyID string
	TeamID      string
	MemberID    string
	Status      Status // as stored: Active or Inactive
	Description string
	CreatedAt   time.Time
	CreatedBy   string
	// ExpiresAt is when the key stops working; nil: never.
	ExpiresAt *time.Time
	// RotatedFrom is the id of the key this one replaced, if it came from a
	// rotation.
	RotatedFrom    string
	LastUsedAt     *time.Time
	LastUsedIP     string
	LastUsedScheme string
	// LeakedAt is when a leak report last disabled the key, and LeakURL
	// the last reported URL (leaked.go); both empty: never reported.
	LeakedAt *time.Time
	LeakURL  string
	// AllowedCIDRs are the source networks the key may sign from, in
	// canonical form; nil: any source (never empty).
	AllowedCIDRs []string
	// Scopes are what the key grants, in canonical form; nil: everything
	// (unrestricted); empty: nothing.
	Scopes []string
	// DormantAt is the key's last dormant disable (dormant.go); nil: none,
	// or not read (only the team's lists read it).
	DormantAt *time.Time
}

// Expired reports whether the key has expired at now: from the instant of
// ExpiresAt on.
func (k Key) Expired(now time.Time) bool {
	return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
}

// StatusAt is the status the key shows at now: Expired once ExpiresAt has
// passed, else the stored status.
func (k Key) StatusAt(now time.Time) Status {
	if k.Expired(now) {
		return StatusExpired
	}
	return k.Status
}

// Ref names one key of one member of one team: the three ids the secret's
// encryption context binds it to.
type Ref struct {
	TeamID      string
	MemberID    string
	AccessKeyID string
}

// Ref returns the key's identity.
func (k Key) Ref() Ref {
	return Ref{TeamID: k.TeamID, MemberID: k.MemberID, AccessKeyID: k.AccessKeyID}
}

// Checked by hand rather than with regexp: compiling the patterns at
// package init cost every Lambda cold start about 0.3 ms.

// ValidTeamOrMemberID reports whether id may name a team or a member:
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
func ValidTeamOrMemberID(id string) bool {
	if len(id) == 0 || len(id) > 64 || !isAlnum(id[0]) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidAccessKeyID reports whether id has the shape of an access key id:
// ^TKAK[A-Z2-7]{20}$.
func ValidAccessKeyID(id string) bool {
	rest, ok := strings.CutPrefix(id, IDPrefix)
	if !ok || len(rest) != idRandomChars {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !('A' <= c && c <= 'Z') && !('2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// NewAccessKeyID returns a fresh id: the prefix and 20 base32 characters
// (100 bits) from crypto/rand. Base32 maps each 5 bits to one character, so
// there is no modulo bias.
func NewAccessKeyID() string {
	raw := make([]byte, 13) // 104 bits, of which the first 100 are used
	rand.Read(raw)          // never fails (crypto/rand panics instead)
	return IDPrefix + base32.StdEncoding.EncodeToString(raw)[:idRandomChars]
}

// MaxDescriptionLength is the longest description, in characters.
const MaxDescriptionLength = 256

// ValidateDescription checks a key's free-text description: at most 256
// characters of valid UTF-8, and none of the characters that let a
// description forge or disguise what a console or a log viewer shows:
// controls (Cc: newlines, escapes), format characters (Cf: bidirectional
// overrides such as U+202E, zero-width characters, U+FEFF) and line and
// paragraph separators (Zl U+2028, Zp U+2029).
func ValidateDescription(s string) error {
	if !utf8.ValidString(s) {
		return Invalid("description", "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxDescriptionLength {
		return Invalid("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLength))
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return Invalid("description", "must not contain control, format or line-separator characters (Unicode Cc, Cf, Zl, Zp)")
		}
	}
	return nil
}
