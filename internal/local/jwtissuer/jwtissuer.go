// Package jwtissuer mints and checks the HS256 bearer tokens of the local
// server, which stands in for the HTTP API's JWT authorizer. It is local
// only: no Lambda function links it (or golang-jwt).
package jwtissuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
)

// Issuer mints and checks the HS256 tokens of the local server, which
// stands in for the HTTP API's JWT authorizer.
type Issuer struct {
	secret []byte
	now    func() time.Time
}

// New returns an issuer keyed with secret, which must not be empty.
func New(secret string) (*Issuer, error) {
	if secret == "" {
		return nil, errors.New("the local JWT secret is empty")
	}
	return &Issuer{secret: []byte(secret), now: time.Now}, nil
}

// Mint returns a signed token for the caller, valid for ttl, with the claims
// named as names says.
func (li *Issuer) Mint(caller accesskey.Caller, names config.ClaimNames, ttl time.Duration) (string, error) {
	now := li.now()
	claims := jwt.MapClaims{
		names.Subject: caller.Subject,
		names.Team:    caller.TeamID,
		names.Role:    string(caller.Role),
		"iat":         now.Unix(),
		"exp":         now.Add(ttl).Unix(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(li.secret)
}

// Verify checks the token's HS256 signature and its expiry (which must be
// present) and returns its claims as strings, the way API Gateway's JWT
// authorizer hands them to a function.
func (li *Issuer) Verify(token string) (map[string]string, error) {
	var claims jwt.MapClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return li.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		// Refuse non-canonical base64 (other spare bits), so that a token
		// verifies only exactly as it was minted.
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(li.now),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", accesskey.ErrUnauthenticated, err)
	}
	out := make(map[string]string, len(claims))
	for name, v := range claims {
		out[name] = claimString(v)
	}
	return out, nil
}

func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
