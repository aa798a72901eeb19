package pagetoken_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/pagetoken"
)

// FuzzPageTokenDecode: Decode never panics; a cursor it returns re-encodes
// to exactly the token it was given; it refuses every token not made by
// Encode with its key for the same scope. Tokens are a fuzzed token, a
// fresh Encode of a fuzzed cursor, and that token with a fuzzed splice.
func FuzzPageTokenDecode(f *testing.F) {
	f.Add("team#t1", "PK", "TEAM#t1", "SK", "KEY#TKAKABCDEFGHIJKLMNOPQRST", uint16(0), "", "")
	f.Add("team#t1|member#m1", "PK", "x", "PK", "y", uint16(5), "A", "")
	f.Add("", "", "", "", "", uint16(0), "", "e30.AAAA")
	f.Add("s", "k\xff", "v\u2028<>&", "k2", "", uint16(40), "X", "")
	f.Add("s", "k", "v", "k2", "v2", uint16(1000), "=", "bnVsbA.x")
	codec := pagetoken.New([]byte("0123456789abcdef0123456789abcdef"))
	other := pagetoken.New([]byte("0123456789abcdef0123456789abcdeF"))
	f.Fuzz(func(t *testing.T, scope, k1, v1, k2, v2 string, at uint16, splice, raw string) {
		// check decodes token in scope and, if it is accepted, checks that
		// the cursor re-encodes to the very same token.
		check := func(token string) (map[string]string, bool) {
			cursor, err := codec.Decode(scope, token)
			if err != nil {
				if cursor != nil || !errors.Is(err, pagetoken.ErrInvalid) {
					t.Fatalf("Decode(%q) = %v, %v; want nil, ErrInvalid", token, cursor, err)
				}
				return nil, false
			}
			if len(cursor) == 0 || len(token) > pagetoken.MaxLength {
				t.Fatalf("Decode(%q) accepted %v", token, cursor)
			}
			if again := codec.Encode(scope, cursor); again != token {
				t.Fatalf("Decode(%q) = %v, which re-encodes to %q", token, cursor, again)
			}
			if c, err := other.Decode(scope, token); err == nil {
				t.Fatalf("a codec with another key accepted %q: %v", token, c)
			}
			if c, err := codec.Decode(scope+"x", token); err == nil {
				t.Fatalf("Decode in scope %q accepted %q, made for scope %q: %v", scope+"x", token, scope, c)
			}
			return cursor, true
		}

		check(raw)

		// Encode escapes invalid UTF-8 as \ufffd, which decodes to the
		// raw U+FFFD bytes, which Encode writes unescaped: such a token
		// decodes but does not re-encode to itself. Store cursors are
		// valid UTF-8, so the cursors here are too.
		valid := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
		in := map[string]string{valid(k1): valid(v1), valid(k2): valid(v2)}
		good := codec.Encode(scope, in)
		cursor, ok := check(good)
		if ok != (len(good) <= pagetoken.MaxLength) {
			t.Fatalf("Decode(Encode(%v)) of length %d: ok=%v", in, len(good), ok)
		}
		if ok {
			if !maps.Equal(cursor, in) {
				t.Fatalf("Decode(Encode(%v)) = %v", in, cursor)
			}
		}

		// Any change to a token Encode made is refused.
		i := int(at) % (len(good) + 1)
		tampered := good[:i] + splice + good[min(i+len(splice), len(good)):]
		if _, ok := check(tampered); ok && tampered != good {
			t.Fatalf("Decode accepted %q, an alteration of %q", tampered, good)
		}
	})
}
