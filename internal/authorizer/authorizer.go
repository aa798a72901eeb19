// Package authorizer is an API Gateway HTTP API Lambda authorizer (REQUEST
// type, payload 2.0, simple responses) that other APIs can put in front of
// their routes: it lets a request through when it is SigV4-signed with an
// active teamkeys access key, and tells the backend which key, team and
// member signed it.
//
// An authorizer never sees the body. It therefore accepts only requests
// whose body it need not hash: ones that sign an x-amz-content-sha256
// header, and body-less ones (Content-Length 0, or a GET, HEAD or OPTIONS
// with neither Content-Length nor Transfer-Encoding; a POST without a
// Content-Length may carry a body over HTTP/2). Its context tells the
// backend the payload hash it verified and the headers the signature
// covers: the backend must check that the body it receives hashes to
// payloadHash, or a body could be swapped, and trust no unsigned header.
//
// After the signature, the key's status and its expiry, it enforces the
// key's restrictions: the request's source address (API Gateway's
// requestContext.http.sourceIp, never a header) must lie in one of the
// key's networks, and a route the route table lists (routescope) needs a
// scope the key grants.
package authorizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/routescope"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// Verifier checks a signed request.
type Verifier interface {
	Verify(ctx context.Context, req signature.Request, sourceIP string) (verifier.Result, error)
}

// HandlerFunc is the signature of the authorizer's Lambda handler.
type HandlerFunc func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// Routes reads the route table (TEAMKEYS_ROUTE_SCOPES): empty is no table.
// An invalid table is an error naming the entry: the function must not
// start with it.
func Routes(raw string) (*routescope.Table, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	t, err := routescope.Parse([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("TEAMKEYS_ROUTE_SCOPES: %w", err)
	}
	return t, nil
}

// Handler returns the authorizer's Lambda handler, with no route table: no
// route needs a scope.
func Handler(v Verifier, log *slog.Logger) HandlerFunc {
	return HandlerWithRoutes(v, nil, log)
}

// HandlerWithRoutes returns the authorizer's Lambda handler: a request to a
// route that routes lists is let through only when its key grants the
// route's scope (nil routes: no route needs one).
func HandlerWithRoutes(v Verifier, routes *routescope.Table, log *slog.Logger) HandlerFunc {
	return func(ctx context.Context, event events.APIGatewayV2CustomAuthorizerV2Request) (resp events.APIGatewayV2CustomAuthorizerSimpleResponse, err error) {
		requestID := event.RequestContext.RequestID
		defer func() {
			// A panic denies; it never takes the environment down.
			if p := recover(); p != nil {
				log.Error("authorizer panicked", "requestId", requestID, "panic", p)
				resp, err = events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
			}
		}()
		// The source address is API Gateway's, never a header's.
		sourceIP := event.RequestContext.HTTP.SourceIP
		res, err := v.Verify(ctx, RequestOf(event), sourceIP)
		if errors.Is(err, accesskey.ErrUnavailable) {
			// Neither allow nor deny what could not be checked: API Gateway
			// answers 500 and the client retries.
			log.Error("authorizer could not verify", "requestId", requestID, "error", err.Error())
			return resp, err
		}
		if err != nil {
			log.Info("authorizer denied", "requestId", requestID, "route", event.RouteKey, "reason", err.Error(), "sourceIp", sourceIP)
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
		}
		if routes != nil {
			method, path := RouteOf(event)
			if scope, listed := routes.Required(method, path); listed && !res.Scopes.Grants(scope) {
				log.Info("authorizer denied", "requestId", requestID, "route", event.RouteKey,
					"reason", "scope not granted", "scope", scope, "accessKeyId", res.Key.AccessKeyID, "sourceIp", sourceIP)
				return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
			}
		}
		log.Info("authorizer allowed", "requestId", requestID, "route", event.RouteKey,
			"accessKeyId", res.Key.AccessKeyID, "teamId", res.Key.TeamID, "memberId", res.Key.MemberID)
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{
			IsAuthorized: true,
			Context: map[string]any{
				"accessKeyId": res.Key.AccessKeyID,
				"teamId":      res.Key.TeamID,
				"memberId":    res.Key.MemberID,
				"scheme":      res.Scheme,
				// What the signature covers: a backend checks the body it
				// receives against payloadHash and trusts only these headers.
				"payloadHash":   res.PayloadHash,
				"signedHeaders": strings.Join(res.SignedHeaders, ";"),
				// The key's scopes, space-separated ("*": unrestricted),
				// and the source address it was admitted from.
				"scopes":   res.Scopes.String(),
				"sourceIp": sourceIP,
			},
		}, nil
	}
}

// RequestOf is the signed request as an authorizer event shows it, built
// the same way as WhoAmI builds it (signature.FromAPIGateway): no body.
func RequestOf(event events.APIGatewayV2CustomAuthorizerV2Request) signature.Request {
	return signature.FromAPIGateway(event.RequestContext.HTTP.Method, event.RawPath, event.RawQueryString,
		event.RequestContext.DomainName, event.Headers, event.Cookies)
}

// RoutePrefixVariable is the stage variable that names a path prefix the
// route table is matched without: the template's own HTTP API sets it to
// "/api" for its ANY /api/{proxy+} upstream route (and the local server
// does the same), so that one table serves the upstream wherever it runs.
const RoutePrefixVariable = "teamkeysRoutePrefix"

// RouteOf is what the route table is matched against: the method and the
// percent-encoded path (rawPath; routescope decodes each segment and gives
// a path it cannot read one way only the scope "*"), as the API's routes
// see it: without the stage on an execute-api domain (where the path of a
// named stage starts with it), and without the prefix the stage variable
// RoutePrefixVariable names.
func RouteOf(event events.APIGatewayV2CustomAuthorizerV2Request) (method, path string) {
	rc := event.RequestContext
	path = event.RawPath
	if path == "" {
		path = rc.HTTP.Path
	}
	if rc.Stage != "" && rc.Stage != "$default" && strings.Contains(rc.DomainName, ".execute-api.") {
		path = stripPrefix(path, "/"+rc.Stage)
	}
	if prefix := event.StageVariables[RoutePrefixVariable]; strings.HasPrefix(prefix, "/") && prefix != "/" {
		path = stripPrefix(path, strings.TrimSuffix(prefix, "/"))
	}
	return rc.HTTP.Method, path
}

// stripPrefix is path without prefix when it starts with the prefix as
// whole segments.
func stripPrefix(path, prefix string) string {
	if rest, ok := strings.CutPrefix(path, prefix); ok && (rest == "" || rest[0] == '/') {
		if rest == "" {
			return "/"
		}
		return rest
	}
	return path
}
