// Package auth turns the identity token's claims into a Caller. On AWS the
// HTTP API's JWT authorizer has already checked the token and put its claims
// in the request context; locally, the local gateway checks the token and
// puts the claims in the very same place.
package auth

import (
	"context"
	"fmt"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
)

// Claims returns the JWT claims API Gateway (or the local gateway) attached
// to the request, if any. It reads only the request context, never a header.
func Claims(ctx context.Context) map[string]string {
	gw, ok := core.GetAPIGatewayV2ContextFromContext(ctx)
	if !ok || gw.Authorizer == nil || gw.Authorizer.JWT == nil {
		return nil
	}
	return gw.Authorizer.JWT.Claims
}

// CallerFromContext returns the caller the request's JWT claims name. A
// request without a subject or a team is unauthenticated.
func CallerFromContext(ctx context.Context, names config.ClaimNames) (accesskey.Caller, error) {
	claims := Claims(ctx)
	caller := accesskey.Caller{
		Subject: claims[names.Subject],
		TeamID:  claims[names.Team],
		Role:    accesskey.Role(claims[names.Role]),
	}
	if caller.Subject == "" || caller.TeamID == "" {
		return accesskey.Caller{}, fmt.Errorf("%w: token lacks the %q or %q claim", accesskey.ErrUnauthenticated, names.Subject, names.Team)
	}
	return caller, nil
}
