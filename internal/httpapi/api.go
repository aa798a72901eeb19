// Package httpapi is the HTTP API of teamkeys: the route table, the handlers,
// the one mapping from errors to HTTP responses, and the adapter that runs
// them as a Lambda function behind an API Gateway HTTP API (and, for the
// routes Route.API names, a REST API: WithRESTEvents).
//
// Each Lambda function has its own constructor (NewGenerateKey, NewListKeys,
// …) that takes exactly the dependencies its routes use, refuses a missing
// one (so a function's main cannot start half-wired) and returns the
// function's Lambda handler.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// Creator stores a new key and takes one of its member's slots (or an
// expired key's), under the team's key policy.
type Creator interface {
	Replayer
	Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error)
	Create(ctx context.Context, k accesskey.Key, sealed accesskey.SealedSecret, policy accesskey.KeyPolicy, audit accesskey.Audit) error
}

// KeyReader reads one key of a member, strongly consistent.
type KeyReader interface {
	GetKey(ctx context.Context, ref accesskey.Ref) (accesskey.Key, error)
}

// PolicyStore reads and replaces a team's key policy.
type PolicyStore interface {
	Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error)
	SetPolicy(ctx context.Context, teamID string, p accesskey.KeyPolicy, audit accesskey.Audit) error
	// CountKeysOutside counts the team's keys that can sign and lie
	// outside its networks, reading at most maxKeys keys for at most
	// maxTime (teampolicy.go).
	CountKeysOutside(ctx context.Context, teamID string, team accesskey.CIDRList, now time.Time, maxKeys int, maxTime time.Duration) (accesskey.OutsideCount, error)
}

// Lister lists a member's or a team's keys.
type Lister interface {
	ListMember(ctx context.Context, teamID, memberID string) ([]accesskey.Key, error)
	ListTeam(ctx context.Context, teamID string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error)
}

// StatusSetter disables and enables keys.
type StatusSetter interface {
	SetStatus(ctx context.Context, ref accesskey.Ref, status accesskey.Status, audit accesskey.Audit) (accesskey.Key, error)
}

// Deleter deletes a key and frees its slot.
type Deleter interface {
	Delete(ctx context.Context, ref accesskey.Ref, audit accesskey.Audit) error
}

// Sealer encrypts a secret for the key it belongs to, and the answers kept
// for an idempotency key's replay.
type Sealer interface {
	Seal(ctx context.Context, ref accesskey.Ref, secret string) ([]byte, error)
	SealReplay(ctx context.Context, recordID string, answer []byte) ([]byte, error)
	OpenReplay(ctx context.Context, recordID string, ciphertext []byte) ([]byte, error)
}

// PageTokens signs and checks the team-wide list's nextToken.
type PageTokens interface {
	Encode(scope string, cursor map[string]string) string
	Decode(scope, token string) (map[string]string, error)
}

// Verifier checks a request signed with an access key.
type Verifier interface {
	Verify(ctx context.Context, req signature.Request, sourceIP string) (verifier.Result, error)
}

// Common is what every function's handler needs besides its own
// dependencies. Zero fields get defaults: the default claim names,
// slog.Default and time.Now.
type Common struct {
	Claims config.ClaimNames
	Log    *slog.Logger
	Now    func() time.Time
}

// NewGenerateKey returns the GenerateKey function's handler.
func NewGenerateKey(c Common, store Creator, sealer Sealer) (LambdaHandlerFunc, error) {
	if store == nil || sealer == nil {
		return nil, missing(FunctionGenerateKey, "a Creator and a Sealer")
	}
	return newFunction(FunctionGenerateKey, &api{Common: c, creator: store, sealer: sealer, policyCache: newPolicyCache()})
}

// AuditLister lists a team's audit records.
type AuditLister interface {
	ListAudit(ctx context.Context, teamID, memberID, accessKeyID string, limit int, after map[string]string) ([]accesskey.AuditRecord, map[string]string, error)
}

// KeyLister lists keys, reads one, and lists the audit records; the
// credential report reads the team's key policy (dormantDisableAt).
type KeyLister interface {
	Lister
	KeyReader
	AuditLister
	PolicyReader
}

// PolicyReader reads a team's key policy.
type PolicyReader interface {
	Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error)
}

// NewListKeys returns the ListKeys function's handler: the lists and one key.
func NewListKeys(c Common, store KeyLister, tokens PageTokens) (LambdaHandlerFunc, error) {
	if store == nil || tokens == nil {
		return nil, missing(FunctionListKeys, "a KeyLister and PageTokens")
	}
	return newFunction(FunctionListKeys, &api{Common: c, lister: store, reader: store, audits: store, pageTokens: tokens, policyReader: store})
}

// Rotator replaces a key with a new one, in one transaction.
type Rotator interface {
	KeyReader
	Replayer
	Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error)
	Rotate(ctx context.Context, r accesskey.Rotation) error
}

// NewRotateKey returns the RotateKey function's handler.
func NewRotateKey(c Common, store Rotator, sealer Sealer) (LambdaHandlerFunc, error) {
	if store == nil || sealer == nil {
		return nil, missing(FunctionRotateKey, "a Rotator and a Sealer")
	}
	return newFunction(FunctionRotateKey, &api{Common: c, rotator: store, sealer: sealer, policyCache: newPolicyCache()})
}

// MemberOffboarder deletes every key of a member.
type MemberOffboarder interface {
	DeleteMemberKeys(ctx context.Context, teamID, memberID string, audit accesskey.Audit) ([]string, error)
}

// NewOffboardMember returns the OffboardMember function's handler.
func NewOffboardMember(c Common, store MemberOffboarder) (LambdaHandlerFunc, error) {
	if store == nil {
		return nil, missing(FunctionOffboard, "a MemberOffboarder")
	}
	return newFunction(FunctionOffboard, &api{Common: c, offboarder: store})
}

// NewKeyPolicy returns the KeyPolicy function's handler.
func NewKeyPolicy(c Common, store PolicyStore) (LambdaHandlerFunc, error) {
	if store == nil {
		return nil, missing(FunctionKeyPolicy, "a PolicyStore")
	}
	return newFunction(FunctionKeyPolicy, &api{Common: c, policies: store})
}

// NewDisableKey returns the DisableKey function's handler.
func NewDisableKey(c Common, store StatusSetter) (LambdaHandlerFunc, error) {
	if store == nil {
		return nil, missing(FunctionDisableKey, "a StatusSetter")
	}
	return newFunction(FunctionDisableKey, &api{Common: c, statuses: store})
}

// NewEnableKey returns the EnableKey function's handler.
func NewEnableKey(c Common, store StatusSetter) (LambdaHandlerFunc, error) {
	if store == nil {
		return nil, missing(FunctionEnableKey, "a StatusSetter")
	}
	return newFunction(FunctionEnableKey, &api{Common: c, statuses: store})
}

// NewDeleteKey returns the DeleteKey function's handler.
func NewDeleteKey(c Common, store Deleter) (LambdaHandlerFunc, error) {
	if store == nil {
		return nil, missing(FunctionDeleteKey, "a Deleter")
	}
	return newFunction(FunctionDeleteKey, &api{Common: c, deleter: store})
}

// NewWhoAmI returns the WhoAmI function's handler.
func NewWhoAmI(c Common, v Verifier) (LambdaHandlerFunc, error) {
	if v == nil {
		return nil, missing(FunctionWhoAmI, "a Verifier")
	}
	return newFunction(FunctionWhoAmI, &api{Common: c, verifier: v})
}

func missing(function, what string) error {
	return fmt.Errorf("httpapi: %s needs %s", function, what)
}

// newFunction serves the routes of the table that belong to function,
// behind the common middleware, as a Lambda function.
func newFunction(function string, a *api) (LambdaHandlerFunc, error) {
	var routes []Route
	for _, r := range Routes {
		if r.Function == function {
			routes = append(routes, r)
		}
	}
	if len(routes) == 0 {
		return nil, errors.New("httpapi: no routes for function " + function)
	}
	h := a.handler(routes) // fills in the defaults, a.Log included
	return LambdaHandler(h, a.Log), nil
}

func (a *api) handler(routes []Route) http.Handler {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Claims == (config.ClaimNames{}) {
		a.Claims = config.DefaultClaimNames
	}
	router := Router(routes, func(r Route) http.Handler { return a.serve(r.handle) }, a.Log)
	return withRequestContext(router, a.Log, a.Claims)
}
