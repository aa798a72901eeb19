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
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// Verifier checks a signed request.
type Verifier interface {
	Verify(ctx context.Context, req signature.Request, sourceIP string) (verifier.Result, error)
}

// HandlerFunc is the signature of the authorizer's Lambda handler.
type HandlerFunc func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// Handler returns the authorizer's Lambda handler.
func Handler(v Verifier, log *slog.Logger) HandlerFunc {
	return func(ctx context.Context, event events.APIGatewayV2CustomAuthorizerV2Request) (resp events.APIGatewayV2CustomAuthorizerSimpleResponse, err error) {
		requestID := event.RequestContext.RequestID
		defer func() {
			// A panic denies; it never takes the environment down.
			if p := recover(); p != nil {
				log.Error("authorizer panicked", "requestId", requestID, "panic", p)
				resp, err = events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
			}
		}()
		res, err := v.Verify(ctx, RequestOf(event), event.RequestContext.HTTP.SourceIP)
		if errors.Is(err, accesskey.ErrUnavailable) {
			// Neither allow nor deny what could not be checked: API Gateway
			// answers 500 and the client retries.
			log.Error("authorizer could not verify", "requestId", requestID, "error", err.Error())
			return resp, err
		}
		if err != nil {
			log.Info("authorizer denied", "requestId", requestID, "route", event.RouteKey, "reason", err.Error())
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
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
