package accesskey_test

import (
	"crypto/rand"
	"encoding/base64"
	"hash/crc32"
	"math/big"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// secretRe is the regular expression docs/API.md documents for secrets.
var secretRe = regexp.MustCompile(`^tksk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$`)

// The documented alphabet, in ASCII order: digit i of a checksum is
// base62Alphabet[i].
const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// referenceChecksum computes a secret's checksum independently of the
// package: CRC32 (IEEE) of the prefix and body, in base62 with the
// documented alphabet, zero-padded to 6 characters. math/big writes base 62
// as 0-9a-zA-Z, so the case of its letters is swapped.
func referenceChecksum(prefixAndBody string) string {
	v := new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(prefixAndBody))))
	swapped := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, v.Text(62))
	return strings.Repeat("0", 6-len(swapped)) + swapped
}

// referenceValid is the documented rule: the regular expression and a
// checksum that matches.
func referenceValid(s string) bool {
	return secretRe.MatchString(s) && referenceChecksum(s[:48]) == s[48:]
}

// Known secrets, their checksums computed outside Go (Python's zlib.crc32).
const (
	knownSecret      = "tksk_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg1nc8n5"
	knownZeroSecret  = "tksk_00000000000000000000000000000000000000000003EPca8" // CRC32 0xb082fa10
	knownZSecret     = "tksk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz3sfyCX"
	legacySecretLike = "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 43 base64url characters
)

func TestNewSecret(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	for range n {
		s := accesskey.NewSecret()
		if !secretRe.MatchString(s) {
			t.Fatalf("NewSecret() = %q does not match %s", s, secretRe)
		}
		if len(s) != 54 {
			t.Fatalf("NewSecret() = %q: length %d, want 54", s, len(s))
		}
		if !accesskey.ValidSecretFormat(s) {
			t.Fatalf("ValidSecretFormat(%q) = false for a generated secret", s)
		}
		if got := referenceChecksum(s[:48]); got != s[48:] {
			t.Fatalf("NewSecret() = %q: checksum %q, want %q", s, s[48:], got)
		}
		// Usable as is in curl's --user id:secret, a URL or a header.
		if strings.ContainsAny(s, ",:") || url.QueryEscape(s) != s || url.PathEscape(s) != s {
			t.Fatalf("NewSecret() = %q contains a character that needs escaping", s)
		}
		if seen[s] {
			t.Fatalf("NewSecret() returned %q twice in %d secrets", s, n)
		}
		seen[s] = true
	}
	if accesskey.SecretPrefix != "tksk_" || accesskey.SecretLength != 54 {
		t.Errorf("SecretPrefix = %q, SecretLength = %d, want tksk_ and 54", accesskey.SecretPrefix, accesskey.SecretLength)
	}
}

// TestNewSecretCharacterDistribution: every base62 character is as likely
// as any other in a secret's random body. Over 20,000 secrets (860,000
// characters) each character's count is expected near 13,871 with a
// standard deviation near 117; the ±10% bound is about 12 standard
// deviations, so it never fails by chance, while modulo bias (byte % 62)
// would put the first 8 characters about 21% above the mean.
func TestNewSecretCharacterDistribution(t *testing.T) {
	const n = 20_000
	counts := make(map[byte]int, 62)
	for range n {
		s := accesskey.NewSecret()
		for i := 5; i < 48; i++ {
			counts[s[i]]++
		}
	}
	mean := float64(n*43) / 62
	for i := 0; i < len(base62Alphabet); i++ {
		c := base62Alphabet[i]
		if got := float64(counts[c]); got < 0.9*mean || got > 1.1*mean {
			t.Errorf("character %q appears %d times in %d secrets' bodies, want %.0f ± 10%%", c, counts[c], n, mean)
		}
	}
	if len(counts) != 62 {
		t.Errorf("bodies use %d distinct characters, want 62", len(counts))
	}
}

func TestValidSecretFormat(t *testing.T) {
	fresh := accesskey.NewSecret()
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{"known secret", knownSecret, true},
		{"all-zero body", knownZeroSecret, true},
		{"all-z body", knownZSecret, true},
		{"freshly generated", fresh, true},

		{"empty", "", false},
		{"prefix alone", "tksk_", false},
		{"secret issued before the format (43 base64url)", legacySecretLike, false},
		{"generated old-style secret", legacySecret(), false},
		{"upper-case prefix", "TKSK_" + knownSecret[5:], false},
		{"hyphen for underscore", "tksk-" + knownSecret[5:], false},
		{"other prefix", "ghp_" + knownSecret[4:], false},
		{"no prefix", knownSecret[5:], false},
		{"one character short", knownSecret[:53], false},
		{"one character long", knownSecret + "0", false},
		{"trailing newline", knownSecret + "\n", false},
		{"leading space", " " + knownSecret, false},
		{"doubled prefix", "tksk_" + knownSecret[:49], false},
		{"hyphen in body", knownSecret[:10] + "-" + knownSecret[11:], false},
		{"underscore in body", knownSecret[:10] + "_" + knownSecret[11:], false},
		{"non-ASCII in body", knownSecret[:10] + "é" + knownSecret[12:], false},
		{"NUL in checksum", knownSecret[:53] + "\x00", false},
		{"checksum of another body", knownSecret[:48] + knownZeroSecret[48:], false},
		{"checksum all zeros", knownSecret[:48] + "000000", false},
		// 62^6 > 2^32: a checksum above 0xffffffff is never the CRC32.
		{"checksum above 32 bits", knownSecret[:48] + "zzzzzz", false},
		{"checksum in upper case", knownSecret[:48] + strings.ToUpper(knownSecret[48:]), false},
		{"random string of the right shape", "tksk_" + strings.Repeat("a", 49), false},
		// The checksum matches, but the prefix, the alphabet or the length does not.
		{"upper-case prefix, its checksum", "TKSK_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg2540We", false},
		{"hyphen in body, its checksum", "tksk_0123456789-BCDEFGHIJKLMNOPQRSTUVWXYZabcdefg1yxL2X", false},
		{"42-character body, its checksum", "tksk_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef2vKUjF", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accesskey.ValidSecretFormat(tt.s); got != tt.want {
				t.Errorf("ValidSecretFormat(%q) = %v, want %v", tt.s, got, tt.want)
			}
			if got := referenceValid(tt.s); got != tt.want {
				t.Errorf("reference check of %q = %v, want %v (the test's fixture is wrong)", tt.s, got, tt.want)
			}
		})
	}
}

// TestValidSecretFormatCatchesTypos: any one character changed, in the body
// or in the checksum, and any two adjacent characters swapped, make a valid
// secret invalid. CRC32 detects every error confined to 32 consecutive bits,
// so this holds for every secret, not just most.
func TestValidSecretFormatCatchesTypos(t *testing.T) {
	secrets := []string{knownSecret, knownZeroSecret, knownZSecret}
	for range 20 {
		secrets = append(secrets, accesskey.NewSecret())
	}
	for _, s := range secrets {
		for i := len("tksk_"); i < len(s); i++ {
			for j := 0; j < len(base62Alphabet); j++ {
				c := base62Alphabet[j]
				if c == s[i] {
					continue
				}
				changed := s[:i] + string(c) + s[i+1:]
				if accesskey.ValidSecretFormat(changed) {
					t.Fatalf("ValidSecretFormat(%q) = true: %q with character %d changed to %q", changed, s, i, c)
				}
			}
			if i+1 < len(s) && s[i] != s[i+1] {
				swapped := s[:i] + string(s[i+1]) + string(s[i]) + s[i+2:]
				if accesskey.ValidSecretFormat(swapped) {
					t.Fatalf("ValidSecretFormat(%q) = true: %q with characters %d and %d swapped", swapped, s, i, i+1)
				}
			}
		}
	}
}

// legacySecret returns a secret as NewSecret made them before the format:
// 256 random bits, base64url without padding.
func legacySecret() string {
	raw := make([]byte, 32)
	rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// TestLegacySecrets: secrets issued before the format are not in it, and
// nothing in this package refuses them: they can still be hashed, and
// signers use them as they are.
func TestLegacySecrets(t *testing.T) {
	for range 1000 {
		s := legacySecret()
		if len(s) != 43 {
			t.Fatalf("legacy secret %q: length %d, want 43", s, len(s))
		}
		if accesskey.ValidSecretFormat(s) {
			t.Fatalf("ValidSecretFormat(%q) = true for a 43-character base64url secret", s)
		}
		if h := accesskey.SecretSHA256(s); len(h) != 64 {
			t.Fatalf("SecretSHA256(%q) = %q, want 64 hex characters", s, h)
		}
	}
}

func TestSecretSHA256(t *testing.T) {
	tests := []struct {
		name, secret, want string
	}{
		// FIPS 180-2 test vectors.
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		// The string as it is, prefix and checksum included (Python's hashlib).
		{"known secret", knownSecret, "b0a3e07e50ac797752ff82eaec6fc720ce35c6a3455bf16e32c488272a927176"},
		{"known secret without its checksum", knownSecret[:48], "e49990be51f6e6d7c7689686fed7bcc18ec81af878320acde9978711621b7e42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accesskey.SecretSHA256(tt.secret); got != tt.want {
				t.Errorf("SecretSHA256(%q) = %s, want %s", tt.secret, got, tt.want)
			}
		})
	}
	a, b := accesskey.NewSecret(), accesskey.NewSecret()
	if accesskey.SecretSHA256(a) == accesskey.SecretSHA256(b) {
		t.Errorf("two secrets %q and %q have the same SHA-256", a, b)
	}
}
