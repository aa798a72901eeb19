package accesskey

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// IdempotencyWindow is how long a generate or rotate with an
// Idempotency-Key is remembered, and answered again instead of repeated.
const IdempotencyWindow = 24 * time.Hour

// MaxIdempotencyKeyLength bounds an Idempotency-Key header.
const MaxIdempotencyKeyLength = 255

// Idempotency refusals.
var (
	// ErrIdempotencyKeyReused: the key was used for another request (path
	// or body) by the same caller within the window.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused for another request")
	// ErrIdempotencyKeyInUse: a request with the same key is being handled;
	// retry shortly.
	ErrIdempotencyKeyInUse = errors.New("a request with this idempotency key is in progress")
	// ErrReplayRecordTaken: the store found a replay record where it meant
	// to write one (a concurrent request with the same key got there
	// first); the caller reads it and answers from it.
	ErrReplayRecordTaken = errors.New("the idempotency key's replay record exists")
)

// ValidIdempotencyKey reports whether s may be an Idempotency-Key: 1 to 255
// printable ASCII characters.
func ValidIdempotencyKey(s string) bool {
	if len(s) == 0 || len(s) > MaxIdempotencyKeyLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ReplayRecordID names the replay record of an idempotency key: the same key
// from another caller or team is another record. A hash, so that the key's
// own bytes are not stored.
func ReplayRecordID(teamID, subject, key string) string {
	h := sha256.New()
	for _, part := range []string{"teamkeys-idempotency-v1", teamID, subject, key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RequestHash is what a replay must match: the method, the path and the
// body, exactly.
func RequestHash(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + "\x00" + path + "\x00"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// ReplayRecord is a successful generate's or rotate's answer, kept for the
// window: its status and its body sealed for replay (the body holds the
// secret; the store keeps it only as KMS ciphertext under a context of its
// own, which no verifying function may open).
type ReplayRecord struct {
	ID          string
	RequestHash string
	Status      int
	Ciphertext  []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}
