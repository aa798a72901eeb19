// Package authorizer is an API Gateway HTTP API Lambda authorizer (REQUEST
// type, payload 2.0, simple responses) that other APIs can put in front of
// their routes: it lets a request through when it is SigV4-signed with an
// active teamkeys access key, and tells the backend which key, team and
// member signed it.
//
// An authorizer never sees the body. It therefore accepts only requests
// whose body it need not hash: ones without a body, or ones that sign an
// x-amz-content-sha256 header. A backend behind it must check that the body
// it receives hashes to that header, or a body could be swapped.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

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
			},
		}, nil
	}
}

// RequestOf is the signed request as an authorizer event shows it: no body.
func RequestOf(event events.APIGatewayV2CustomAuthorizerV2Request) signature.Request {
	header := http.Header{}
	for name, value := range event.Headers {
		header.Set(name, value)
	}
	host := header.Get("Host")
	if host == "" {
		host = event.RequestContext.DomainName
	}
	header.Del("Host")
	// No Content-Length and no Transfer-Encoding: the request has no body,
	// and its payload hash is that of the empty string.
	contentLength := int64(0)
	if v := header.Get("Content-Length"); v != "" {
		contentLength = -1
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			contentLength = n
		}
	} else if header.Get("Transfer-Encoding") != "" {
		contentLength = -1
	}
	return signature.Request{
		Method:        event.RequestContext.HTTP.Method,
		Path:          event.RawPath,
		RawQuery:      event.RawQueryString,
		Host:          host,
		Header:        header,
		ContentLength: contentLength,
		BodyKnown:     false,
	}
}
