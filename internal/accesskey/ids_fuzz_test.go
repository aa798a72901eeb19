package accesskey_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The hand-written checks must agree with the patterns they document.
var (
	fuzzTeamOrMemberIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	fuzzAccessKeyIDRe    = regexp.MustCompile(`^TKAK[A-Z2-7]{20}$`)
	// Valid UTF-8 aside, a description is at most 256 runes, none in Cc.
	fuzzDescriptionRe = regexp.MustCompile(`^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]{0,256}$`)
)

// FuzzValidIDs: ValidTeamOrMemberID and ValidAccessKeyID agree with their
// regular expressions on every input, and NewAccessKeyID's ids are valid.
func FuzzValidIDs(f *testing.F) {
	for _, s := range []string{"", "t1", "a", "-a", ".", "a..b", "a\n", "a b", "é", strings.Repeat("a", 64),
		strings.Repeat("a", 65), "TKAKABCDEFGHIJKLMNOPQRST", "TKAKABCDEFGHIJKLMNOPQRS1", "tkakABCDEFGHIJKLMNOPQRST"} {
		f.Add(s)
	}
	f.Add(accesskey.NewAccessKeyID())
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := accesskey.ValidTeamOrMemberID(id), fuzzTeamOrMemberIDRe.MatchString(id); got != want {
			t.Errorf("ValidTeamOrMemberID(%q) = %v, regexp says %v", id, got, want)
		}
		if got, want := accesskey.ValidAccessKeyID(id), fuzzAccessKeyIDRe.MatchString(id); got != want {
			t.Errorf("ValidAccessKeyID(%q) = %v, regexp says %v", id, got, want)
		}
		if k := accesskey.NewAccessKeyID(); !fuzzAccessKeyIDRe.MatchString(k) || !accesskey.ValidAccessKeyID(k) {
			t.Errorf("NewAccessKeyID() = %q is not valid", k)
		}
	})
}

// FuzzValidateDescription: ValidateDescription accepts exactly the valid
// UTF-8 strings of at most 256 characters with no control, format or
// line- or paragraph-separator character (Cc, Cf, Zl, Zp), and
// refuses the others with a *ValidationError on the description field.
func FuzzValidateDescription(f *testing.F) {
	for _, s := range []string{"", "laptop", "ci\tbot", "line\nforged", "\x7f", "\u0085", "\u2028", "\u2029", "\u202e", "\u200b", "\ufeff", "\u00ad", "\xff",
		"caf\xc3", strings.Repeat("é", 256), strings.Repeat("é", 257), strings.Repeat("a", 256) + "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := accesskey.ValidateDescription(s)
		want := utf8.ValidString(s) && fuzzDescriptionRe.MatchString(s)
		if (err == nil) != want {
			t.Fatalf("ValidateDescription(%q) = %v, want valid=%v", s, err, want)
		}
		if err != nil {
			var ve *accesskey.ValidationError
			if !errors.As(err, &ve) || ve.Field != "description" || ve.Reason == "" {
				t.Fatalf("ValidateDescription(%q) = %#v, want a *ValidationError on description", s, err)
			}
		}
	})
}
