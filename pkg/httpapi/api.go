// Package httpapi is the HTTP API of teamkeys: the route table, the handlers,
// the one mapping from errors to HTTP responses, and the adapter that runs
// them as a Lambda function behind an API Gateway HTTP API.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/teamkeys/teamkeys/pkg/accesskey"
	"github.com/teamkeys/teamkeys/pkg/auth"
	"github.com/teamkeys/teamkeys/pkg/signing"
	"github.com/teamkeys/teamkeys/pkg/verifier"
)

// KeyStore keeps keys and enforces the per-member cap.
type KeyStore interface {
	Create(ctx context.Context, k accesskey.Key, ciphertext []byte) error
	Delete(ctx context.Context, ref accesskey.Ref) error
	SetStatus(ctx context.Context, ref accesskey.Ref, status accesskey.Status) (accesskey.Key, error)
	ListMember(ctx context.Context, teamID, memberID string) ([]accesskey.Key, error)
	ListTeam(ctx context.Context, teamID string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error)
}

// Sealer encrypts a secret for the key it belongs to.
type Sealer interface {
	Seal(ctx context.Context, ref accesskey.Ref, secret string) ([]byte, error)
}

// PageTokens signs and checks the team-wide list's nextToken.
type PageTokens interface {
	Encode(scope string, cursor map[string]string) string
	Decode(scope, token string) (map[string]string, error)
}

// Verifier checks a request signed with an access key.
type Verifier interface {
	Verify(ctx context.Context, req signing.Request, sourceIP string) (verifier.Result, error)
}

// Deps is what the handlers need. A function's main fills in only what its
// routes use: GenerateKey needs a Sealer, ListKeys needs PageTokens.
type Deps struct {
	Store      KeyStore
	Sealer     Sealer
	PageTokens PageTokens
	Verifier   Verifier
	Claims     auth.ClaimNames
	Log        *slog.Logger
	Now        func() time.Time
}

// NewFunction returns the handler of one Lambda function: the routes of the
// table that belong to it, behind the common middleware.
func NewFunction(function string, deps Deps) (http.Handler, error) {
	var routes []Route
	for _, r := range Routes {
		if r.Function == function {
			routes = append(routes, r)
		}
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("no routes for function %q", function)
	}
	return newHandler(routes, deps)
}

// NewAll returns one handler serving every route, for tests and tools.
func NewAll(deps Deps) (http.Handler, error) { return newHandler(Routes, deps) }

func newHandler(routes []Route, deps Deps) (http.Handler, error) {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Claims == (auth.ClaimNames{}) {
		deps.Claims = auth.DefaultClaimNames
	}
	a := &api{Deps: deps}
	byOperation := map[string]struct {
		handler handlerFunc
		ready   bool // the deps this handler uses are there
	}{
		"generateAccessKey":    {a.generate, deps.Store != nil && deps.Sealer != nil},
		"listMemberAccessKeys": {a.listMember, deps.Store != nil},
		"listTeamAccessKeys":   {a.listTeam, deps.Store != nil && deps.PageTokens != nil},
		"disableAccessKey":     {a.setStatus(accesskey.ActionDisable, accesskey.StatusInactive), deps.Store != nil},
		"enableAccessKey":      {a.setStatus(accesskey.ActionEnable, accesskey.StatusActive), deps.Store != nil},
		"deleteAccessKey":      {a.delete, deps.Store != nil},
		"whoAmIGet":            {a.whoAmI, deps.Verifier != nil},
		"whoAmIPost":           {a.whoAmI, deps.Verifier != nil},
	}
	for _, r := range routes {
		op, ok := byOperation[r.Operation]
		if !ok {
			return nil, fmt.Errorf("no handler for operation %q", r.Operation)
		}
		if !op.ready {
			return nil, fmt.Errorf("operation %q lacks a dependency", r.Operation)
		}
	}
	router := Router(routes, func(r Route) http.Handler {
		return a.serve(byOperation[r.Operation].handler)
	}, deps.Log)
	return withRequestContext(router, deps.Log, deps.Claims), nil
}
