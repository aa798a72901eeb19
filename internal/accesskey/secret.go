package accesskey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"strings"
)

// A secret is SecretPrefix, a body of 43 random base62 characters and a
// checksum of 6 base62 characters:
//
//	^tksk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$
//
// 54 characters in all, as GitHub's and Cloudflare's tokens are built:
//
//   - The prefix lets secret scanners (and people) tell a teamkeys secret
//     from noise. "_" and base62 contain no comma and need no escaping in a
//     URL, a shell or curl's --user id:secret.
//   - The body carries the entropy: 43 base62 characters are
//     43 × log2(62) ≈ 256.03 bits, at least the 256 bits secrets had before.
//     Each character is drawn uniformly by rejection sampling (see
//     randomBase62), so no character is likelier than another.
//   - The checksum is the CRC32 (IEEE) of prefix and body, written in base62,
//     most significant digit first, zero-padded to 6 characters
//     (62^6 ≈ 5.7e10 > 2^32). It is not a MAC and protects nothing: it lets a
//     scanner, or the service, discard a random or mistyped string that
//     happens to have the shape, without a lookup (1 in 2^32 passes).
//
// Signers use the whole string, prefix and checksum included, as the key.
// Secrets issued before this format (43 base64url characters) keep working:
// nothing here refuses them, they are simply not in the recognisable format.
const (
	SecretPrefix        = "tksk_"
	secretBodyChars     = 43
	secretChecksumChars = 6
	// SecretLength is the length of a secret NewSecret returns.
	SecretLength = len(SecretPrefix) + secretBodyChars + secretChecksumChars
)

// base62Alphabet is in ASCII order, so a checksum's zero padding is "0".
const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewSecret returns a fresh secret in the format above, e.g.
// tksk_<43 random base62 characters><6 base62 characters of CRC32>.
func NewSecret() string {
	b := make([]byte, 0, SecretLength)
	b = append(b, SecretPrefix...)
	b = randomBase62(b, secretBodyChars)
	return string(appendChecksum(b, crc32.ChecksumIEEE(b)))
}

// randomBase62 appends n characters of base62, each uniform, from
// crypto/rand. A random byte below 248 = 4 × 62 gives the character
// byte % 62; a byte of 248 or more is thrown away and another drawn. Taking
// every byte modulo 62 would make the first 256 - 248 = 8 characters
// likelier than the others (5/256 against 4/256).
func randomBase62(dst []byte, n int) []byte {
	const limit = 256 - 256%len(base62Alphabet) // 248
	var buf [64]byte                            // one read almost always suffices: 2 rejects expected
	for n > 0 {
		rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, c := range buf {
			if n == 0 {
				break
			}
			if int(c) < limit {
				dst = append(dst, base62Alphabet[int(c)%len(base62Alphabet)])
				n--
			}
		}
	}
	return dst
}

// appendChecksum appends sum in base62, 6 digits, most significant first.
func appendChecksum(dst []byte, sum uint32) []byte {
	var digits [secretChecksumChars]byte
	v := uint64(sum)
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = base62Alphabet[v%uint64(len(base62Alphabet))]
		v /= uint64(len(base62Alphabet))
	}
	return append(dst, digits[:]...)
}

// ValidSecretFormat reports whether s is a secret in the format NewSecret
// returns: the prefix, 49 base62 characters, and a checksum that matches
// the prefix and the body. It needs no lookup: a scanner or the service can
// discard a random string with it. A secret issued before the format (43
// base64url characters) is not in it, yet remains valid for signing.
func ValidSecretFormat(s string) bool {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok || len(s) != SecretLength {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !isAlnum(rest[i]) {
			return false
		}
	}
	split := len(s) - secretChecksumChars
	var buf [secretChecksumChars]byte
	want := appendChecksum(buf[:0], crc32.ChecksumIEEE([]byte(s[:split])))
	return s[split:] == string(want)
}

// SecretSHA256 returns the SHA-256 of the secret string as it is (prefix and
// checksum included), in lower-case hex: what a key's item stores instead of
// the secret, so that a leaked secret leads to its key with one lookup.
func SecretSHA256(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
