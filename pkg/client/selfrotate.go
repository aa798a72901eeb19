package client

import (
	"context"
	"net/http"
	"time"
)

// RotateSelfInput is the request of RotateSelf.
type RotateSelfInput struct {
	// GracePeriodSeconds is how long the old key keeps working (nil: the
	// service's default, as for RotateAccessKey).
	GracePeriodSeconds *int
	// IdempotencyKey makes a retry answer the first request's new key and
	// secret instead of rotating again ("" : a fresh random key, which
	// still covers this call's own retries).
	IdempotencyKey string
	// ZC2 signs with ZC2-HMAC-SHA256 instead of AWS4-HMAC-SHA256.
	ZC2 bool
}

// SelfRotation is RotateSelf's answer: the new key, with its secret (shown
// this once), and the key it replaces.
type SelfRotation struct {
	// AccessKeyID and SecretAccessKey are the new key's credentials.
	AccessKeyID     string
	SecretAccessKey string
	// OldAccessKeyID is the key that signed the request: it keeps working
	// until OldExpiresAt is past (its grace period), not at all with a
	// grace period of 0.
	OldAccessKeyID string
	// ExpiresAt is the new key's expiry (the team's policy), nil if none.
	ExpiresAt *time.Time
	// Key is the whole answer (operation rotateSelf's CreatedAccessKey).
	Key CreatedAccessKey
}

type rotateSelfBody struct {
	GracePeriodSeconds *int `json:"gracePeriodSeconds,omitempty"`
}

// RotateSelf rotates the client's own access key (WithAccessKey), signed
// by that key (operation rotateSelf): the service replaces it exactly as
// RotateAccessKey does, when the team's key policy allows self-rotation
// (allowSelfRotation; else a 403 SelfRotationNotAllowed). It always sends
// an Idempotency-Key, so its retries never make a second key. The client
// keeps signing with the old key: make a new Client for the new one.
func (c *Client) RotateSelf(ctx context.Context, in RotateSelfInput) (*SelfRotation, error) {
	a := authSigV4
	if in.ZC2 {
		a = authZC2
	}
	var out CreatedAccessKey
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/v1/access-keys/self/rotate", header: idempotency(in.IdempotencyKey),
		auth: a, safety: sameOutcome, expect: http.StatusCreated, decodes: &out}, rotateSelfBody{GracePeriodSeconds: in.GracePeriodSeconds})
	if err != nil {
		return nil, err
	}
	s := &SelfRotation{AccessKeyID: string(out.AccessKeyId), SecretAccessKey: out.SecretAccessKey, ExpiresAt: out.ExpiresAt, Key: out}
	if out.RotatedFrom != nil {
		s.OldAccessKeyID = string(*out.RotatedFrom)
	}
	return s, nil
}
