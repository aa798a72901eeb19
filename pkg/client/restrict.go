package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Restrictions are a generate or rotate request's allowedCidrs and scopes
// as Restriction values, which can send null: on generate, null scopes ask
// for an unrestricted key where the team's policy has default scopes; on
// rotate, null lifts a restriction that the new key would otherwise copy.
// A zero Restriction leaves the request's own field as it is.
type Restrictions struct {
	AllowedCidrs Restriction
	Scopes       Restriction
}

// merge is body's JSON with the restrictions that are set put over it.
func (r Restrictions) merge(body any) (json.RawMessage, error) {
	b, err := json.Marshal(body)
	if err != nil || !r.AllowedCidrs.set && !r.Scopes.set {
		return b, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for name, x := range map[string]Restriction{"allowedCidrs": r.AllowedCidrs, "scopes": r.Scopes} {
		if !x.set {
			continue
		}
		v := []byte("null")
		if x.list != nil {
			if v, err = json.Marshal(x.list); err != nil {
				return nil, err
			}
		}
		m[name] = v
	}
	return json.Marshal(m)
}

// GenerateAccessKeyRestricted is GenerateAccessKey with r over body's
// allowedCidrs and scopes.
func (c *Client) GenerateAccessKeyRestricted(ctx context.Context, teamID, memberID string, body GenerateAccessKeyRequest, r Restrictions, params *GenerateAccessKeyParams) (*CreatedAccessKey, error) {
	b, err := r.merge(body)
	if err != nil {
		return nil, fmt.Errorf("client: encoding the body of generateAccessKey: %w", err)
	}
	var key string
	if params != nil && params.IdempotencyKey != nil {
		key = *params.IdempotencyKey
	}
	var out CreatedAccessKey
	err = c.doJSON(ctx, call{method: http.MethodPost, path: memberKeysPath(teamID, memberID), header: idempotency(key),
		safety: sameOutcome, expect: http.StatusCreated, decodes: &out}, b)
	return result(&out, err)
}

// RotateAccessKeyRestricted is RotateAccessKey with r over body's
// allowedCidrs and scopes: a zero Restriction lets the new key copy the
// old key's, Lift makes the new key unrestricted.
func (c *Client) RotateAccessKeyRestricted(ctx context.Context, teamID, memberID, accessKeyID string, body RotateAccessKeyRequest, r Restrictions, params *RotateAccessKeyParams) (*CreatedAccessKey, error) {
	b, err := r.merge(body)
	if err != nil {
		return nil, fmt.Errorf("client: encoding the body of rotateAccessKey: %w", err)
	}
	var key string
	if params != nil && params.IdempotencyKey != nil {
		key = *params.IdempotencyKey
	}
	var out CreatedAccessKey
	err = c.doJSON(ctx, call{method: http.MethodPost, path: keyPath(teamID, memberID, accessKeyID) + "/rotate", header: idempotency(key),
		safety: sameOutcome, expect: http.StatusCreated, decodes: &out}, b)
	return result(&out, err)
}

// KeyPolicyJSON gets the team's key policy (body nil) or puts body as it
// (body's JSON as given), and returns the answer's JSON as the service
// wrote it, with every field, including ones newer than this client's
// KeyPolicy type (allowedCidrs, defaultScopes, keysOutsidePolicy).
func (c *Client) KeyPolicyJSON(ctx context.Context, teamID string, body any) (json.RawMessage, error) {
	var out []byte
	k := call{method: http.MethodGet, path: teamPath(teamID) + "/key-policy", safety: readOnly, expect: http.StatusOK, raw: &out}
	var err error
	if body == nil {
		err = c.do(ctx, k)
	} else {
		k.method, k.safety = http.MethodPut, sameOutcome
		err = c.doJSON(ctx, k, body)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
