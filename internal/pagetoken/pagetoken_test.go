package pagetoken_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/pagetoken"
)

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	otherKey  = []byte("fedcba9876543210fedcba9876543210")
	cursorOne = map[string]string{
		"pk":     "KEY#TKAKABCDEFGHIJKLMNOPQRST",
		"sk":     "KEY",
		"gsi1pk": "TEAM#t1",
		"gsi1sk": "MEMBER#bob#2025-01-02T03:04:05Z#TKAKABCDEFGHIJKLMNOPQRST",
	}
)

func TestRoundTrip(t *testing.T) {
	c := pagetoken.New(testKey)
	cursors := []map[string]string{
		cursorOne,
		{"pk": "x"},
		{"k": "value with spaces, commas, \"quotes\" and unicode é"},
	}
	for _, cursor := range cursors {
		token := c.Encode("team:t1", cursor)
		if len(token) > pagetoken.MaxLength {
			t.Fatalf("Encode made a %d-byte token, over MaxLength", len(token))
		}
		for _, ch := range token {
			if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
				t.Fatalf("token %q has %q, which is not safe in a query string", token, ch)
			}
		}
		got, err := c.Decode("team:t1", token)
		if err != nil {
			t.Fatalf("Decode(Encode(%v)) = %v", cursor, err)
		}
		if !maps.Equal(got, cursor) {
			t.Fatalf("Decode(Encode(%v)) = %v", cursor, got)
		}
		// A second codec with the same key (another Lambda instance) reads it.
		if got, err := pagetoken.New(testKey).Decode("team:t1", token); err != nil || !maps.Equal(got, cursor) {
			t.Fatalf("another codec with the same key: Decode = %v, %v", got, err)
		}
	}
}

func TestScopeBinding(t *testing.T) {
	c := pagetoken.New(testKey)
	tests := []struct {
		made, used string
	}{
		{"team:t1", "team:t2"},
		{"team:t1", "team:t1 "},
		{"team:t1", "team:T1"},
		{"team:t1", ""},
		{"", "team:t1"},
		{"team:t", "team:t1"},
	}
	for _, tt := range tests {
		token := c.Encode(tt.made, cursorOne)
		if got, err := c.Decode(tt.used, token); !errors.Is(err, pagetoken.ErrInvalid) {
			t.Errorf("token made for %q, decoded for %q: %v, %v; want ErrInvalid", tt.made, tt.used, got, err)
		}
	}
}

func TestEverySingleByteAlterationRefused(t *testing.T) {
	c := pagetoken.New(testKey)
	token := c.Encode("team:t1", cursorOne)
	// Every other byte value at every position: the token's own alphabet,
	// the separator, and bytes outside it.
	replacements := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \r\n\x00\xff"
	tried, accepted := 0, 0
	refuse := func(what, altered string) {
		t.Helper()
		tried++
		if got, err := c.Decode("team:t1", altered); !errors.Is(err, pagetoken.ErrInvalid) {
			accepted++
			if accepted <= 5 {
				t.Errorf("%s: Decode(%q) = %v, %v; want ErrInvalid", what, altered, got, err)
			}
		}
	}
	for i := range len(token) {
		for j := range len(replacements) {
			if b := replacements[j]; b != token[i] {
				refuse(fmt.Sprintf("byte %d changed from %q to %q", i, token[i], b), token[:i]+string([]byte{b})+token[i+1:])
			}
		}
		refuse(fmt.Sprintf("byte %d dropped", i), token[:i]+token[i+1:])
		refuse(fmt.Sprintf("byte %d doubled", i), token[:i+1]+token[i:])
		refuse(fmt.Sprintf("newline inserted before byte %d", i), token[:i]+"\n"+token[i:])
	}
	refuse("newline appended", token+"\n")
	if accepted > 0 {
		t.Errorf("%d of %d altered tokens were accepted", accepted, tried)
	}
}

// otherSpelling returns part (unpadded base64url) with its last character
// replaced by another that decodes to the same bytes, or "" when the last
// character carries no unused bits.
func otherSpelling(part string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	want, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return ""
	}
	last := part[len(part)-1]
	for i := range len(alphabet) {
		if alphabet[i] == last {
			continue
		}
		other := part[:len(part)-1] + alphabet[i:i+1]
		if got, err := base64.RawURLEncoding.DecodeString(other); err == nil && bytes.Equal(got, want) {
			return other
		}
	}
	return ""
}

// A token has one spelling: base64 with non-zero unused bits in its last
// character decodes to the same bytes, so a lenient decoder accepts an
// altered token.
func TestNonCanonicalBase64Refused(t *testing.T) {
	c := pagetoken.New(testKey)
	for _, cursor := range []map[string]string{cursorOne, {"pk": "x"}, {"pk": "xy"}, {"pk": "xyz"}} {
		token := c.Encode("team:t1", cursor)
		body, mac, _ := strings.Cut(token, ".")
		for _, altered := range []string{
			func() string {
				if o := otherSpelling(mac); o != "" {
					return body + "." + o
				}
				return ""
			}(),
			func() string {
				if o := otherSpelling(body); o != "" {
					return o + "." + mac
				}
				return ""
			}(),
		} {
			if altered == "" {
				continue
			}
			if got, err := c.Decode("team:t1", altered); !errors.Is(err, pagetoken.ErrInvalid) {
				t.Errorf("token %q re-spelt as %q: Decode = %v, %v; want ErrInvalid", token, altered, got, err)
			}
		}
	}
}

func TestMalformedTokensRefused(t *testing.T) {
	c := pagetoken.New(testKey)
	valid := c.Encode("team:t1", cursorOne)
	body, mac, _ := strings.Cut(valid, ".")
	// Encode signs whatever map it is given, so these carry a valid MAC
	// over a payload that names no cursor.
	emptyCursor := c.Encode("team:t1", map[string]string{})
	nilCursor := c.Encode("team:t1", nil)

	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not a token"},
		{"only a dot", "."},
		{"missing dot", body + mac},
		{"body only", body},
		{"body and dot", body + "."},
		{"dot and mac", "." + mac},
		{"two dots", body + "." + mac + ".x"},
		{"padded mac", valid + "="},
		{"standard base64 mac", body + "." + strings.NewReplacer("-", "+", "_", "/").Replace(mac) + "+/"},
		{"mac swapped for body", mac + "." + body},
		{"over-long", valid + strings.Repeat("A", pagetoken.MaxLength)},
		{"valid MAC, empty cursor {}", emptyCursor},
		{"valid MAC, null cursor", nilCursor},
		{"leading space", " " + valid},
		{"trailing newline", valid + "\n"},
		{"CRLF inside the MAC", body + "." + mac[:10] + "\r\n" + mac[10:]},
		{"newline inside the body", body[:5] + "\n" + body[5:] + "." + mac},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode("team:t1", tt.token)
			if !errors.Is(err, pagetoken.ErrInvalid) {
				t.Fatalf("Decode(%q) = %v, %v; want ErrInvalid", tt.token, got, err)
			}
			if got != nil {
				t.Errorf("Decode(%q) returned a cursor %v with its error", tt.token, got)
			}
		})
	}
}

func TestOverLongTokenRefusedEvenIfSigned(t *testing.T) {
	c := pagetoken.New(testKey)
	big := map[string]string{"pk": strings.Repeat("x", pagetoken.MaxLength)}
	token := c.Encode("team:t1", big)
	if len(token) <= pagetoken.MaxLength {
		t.Fatalf("test setup: token of %d bytes is not over MaxLength", len(token))
	}
	if _, err := c.Decode("team:t1", token); !errors.Is(err, pagetoken.ErrInvalid) {
		t.Fatalf("Decode of a signed %d-byte token = %v, want ErrInvalid", len(token), err)
	}
}

func TestOtherKeyRefused(t *testing.T) {
	mine := pagetoken.New(testKey)
	theirs := pagetoken.New(otherKey)
	token := theirs.Encode("team:t1", cursorOne)
	if got, err := mine.Decode("team:t1", token); !errors.Is(err, pagetoken.ErrInvalid) {
		t.Fatalf("token made with another key: Decode = %v, %v; want ErrInvalid", got, err)
	}
	if mine.Encode("team:t1", cursorOne) == token {
		t.Fatalf("two keys made the same token")
	}
}
