package secretsrotation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/teamkeys/teamkeys/pkg/client"
)

// ErrSelfRotationNotAllowed is the service's 403 SelfRotationNotAllowed:
// the team's key policy does not allow self-rotation.
var ErrSelfRotationNotAllowed = errors.New("the team's key policy does not allow self-rotation: an admin must set allowSelfRotation: true in the key policy (PUT /v1/teams/{teamId}/key-policy)")

// ClientConnect is the Connect of the function: a pkg/client Client on the
// value's endpoint, signing (SigV4) for its region with its key. httpClient
// may be nil (pkg/client's default).
func ClientConnect(httpClient *http.Client) Connect {
	return func(v Value) (KeyService, error) {
		opts := []client.Option{client.WithAccessKey(v.AccessKeyID, v.SecretAccessKey), client.WithSigningRegion(v.Region),
			client.WithUserAgent("teamkeys-secrets-rotation")}
		if httpClient != nil {
			opts = append(opts, client.WithHTTPClient(httpClient))
		}
		c, err := client.New(v.Endpoint, opts...)
		if err != nil {
			return nil, fmt.Errorf("endpoint: %w", err)
		}
		return keyService{c}, nil
	}
}

type keyService struct{ c *client.Client }

func (k keyService) RotateSelf(ctx context.Context, idempotencyKey string, grace *int) (string, string, error) {
	out, err := k.c.RotateSelf(ctx, client.RotateSelfInput{GracePeriodSeconds: grace, IdempotencyKey: idempotencyKey})
	if err != nil {
		var api *client.APIError
		if errors.As(err, &api) && api.Code == "SelfRotationNotAllowed" {
			return "", "", fmt.Errorf("%w (%w)", ErrSelfRotationNotAllowed, err)
		}
		return "", "", err
	}
	return out.AccessKeyID, out.SecretAccessKey, nil
}

func (k keyService) WhoAmI(ctx context.Context) (Identity, error) {
	w, err := k.c.WhoAmIGet(ctx)
	if err != nil {
		return Identity{}, err
	}
	return Identity{TeamID: string(w.TeamId), MemberID: string(w.MemberId), AccessKeyID: string(w.AccessKeyId)}, nil
}

// GracePeriodFromEnv reads TEAMKEYS_ROTATION_GRACE_SECONDS: the old key's
// grace period (whole seconds, at least 1: the old key must outlast the
// rotation), or nil when it is unset (the service's default).
func GracePeriodFromEnv(getenv func(string) string) (*int, error) {
	s := getenv("TEAMKEYS_ROTATION_GRACE_SECONDS")
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("TEAMKEYS_ROTATION_GRACE_SECONDS=%q: want whole seconds, at least 1", s)
	}
	return &n, nil
}
