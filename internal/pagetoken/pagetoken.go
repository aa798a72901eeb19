// Package pagetoken turns a store cursor into an opaque nextToken that a
// client cannot forge or alter: the cursor is signed with HMAC-SHA256 and
// bound to the listing it came from. It is written by hand because it is a
// few lines of crypto/hmac; a JWT library would add weight to a function's
// cold start for no gain.
package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// MaxLength bounds the tokens Decode looks at.
const MaxLength = 2048

// ErrInvalid means a token was not issued by this service for this listing,
// or was altered.
var ErrInvalid = errors.New("invalid page token")

// MinKeyLength is the shortest key a deployment may sign tokens with.
const MinKeyLength = 32

// Codec signs and checks page tokens with one key.
type Codec struct{ key []byte }

// New returns a Codec keyed with key (at least MinKeyLength bytes are advised).
func New(key []byte) *Codec { return &Codec{key: key} }

// Encode returns the token for cursor in the listing named by scope.
func (c *Codec) Encode(scope string, cursor map[string]string) string {
	payload, _ := json.Marshal(cursor) // a map of strings always marshals
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(c.mac(scope, body))
}

// Decode returns the cursor of a token that Encode made for the same scope.
func (c *Codec) Decode(scope, token string) (map[string]string, error) {
	if len(token) > MaxLength {
		return nil, ErrInvalid
	}
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, ErrInvalid
	}
	// Compare the encoded MAC, not the decoded one: base64 decoding is
	// lenient (spare bits, skipped newlines), so two different tokens would
	// otherwise pass for one.
	wantMAC := base64.RawURLEncoding.EncodeToString(c.mac(scope, body))
	if !hmac.Equal([]byte(sig), []byte(wantMAC)) {
		return nil, ErrInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, ErrInvalid
	}
	var cursor map[string]string
	if err := json.Unmarshal(payload, &cursor); err != nil || len(cursor) == 0 {
		return nil, ErrInvalid
	}
	return cursor, nil
}

func (c *Codec) mac(scope, body string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("teamkeys-page-token-v1\x00" + scope + "\x00" + body))
	return m.Sum(nil)
}
