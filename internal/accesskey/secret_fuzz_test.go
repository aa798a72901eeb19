package accesskey_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// FuzzValidSecretFormat: ValidSecretFormat never panics and accepts exactly
// the strings that match the documented regular expression and carry the
// checksum of their prefix and body, recomputed independently; SecretSHA256
// is the hex SHA-256 of any string; NewSecret's secrets are valid.
func FuzzValidSecretFormat(f *testing.F) {
	for _, s := range []string{"", "tksk_", knownSecret, knownZeroSecret, knownZSecret, legacySecretLike,
		knownSecret[:53], knownSecret + "0", "TKSK_" + knownSecret[5:], knownSecret[:48] + "zzzzzz"} {
		f.Add(s)
	}
	f.Add(accesskey.NewSecret())
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := accesskey.ValidSecretFormat(s), referenceValid(s); got != want {
			t.Errorf("ValidSecretFormat(%q) = %v, the regexp and recomputed checksum say %v", s, got, want)
		}
		sum := sha256.Sum256([]byte(s))
		if got, want := accesskey.SecretSHA256(s), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("SecretSHA256(%q) = %s, want %s", s, got, want)
		}
		if k := accesskey.NewSecret(); !secretRe.MatchString(k) || !accesskey.ValidSecretFormat(k) {
			t.Errorf("NewSecret() = %q is not valid", k)
		}
	})
}
