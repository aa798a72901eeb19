package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// LambdaHandlerFunc is the signature of an HTTP API (payload 2.0) Lambda
// function.
type LambdaHandlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// LambdaHandler runs h as an HTTP API Lambda function. The API Gateway
// request context reaches h through the request's context (never through a
// header a client could send).
func LambdaHandler(h http.Handler, log *slog.Logger) LambdaHandlerFunc {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, event events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		resp, err := adapter.ProxyWithContext(ctx, event)
		if err == nil {
			return resp, nil
		}
		requestID := event.RequestContext.RequestID
		if _, convErr := new(core.RequestAccessorV2).EventToRequest(event); convErr != nil {
			// The event could not become an http.Request (a body that is
			// not valid base64, a path that is not a URL): the request's
			// fault, so answer 400 rather than fail the invocation.
			log.Warn("event rejected", "requestId", requestID, "error", convErr.Error())
			return eventError(requestID, accesskey.Invalid("request", "could not be read")), nil
		}
		log.Error("handler produced no response", "requestId", requestID, "error", err.Error())
		return eventError(requestID, err), nil
	}
}

// eventError is WriteError for the cases where no handler ran.
func eventError(requestID string, err error) events.APIGatewayV2HTTPResponse {
	pe := publicErrorOf(err)
	body, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: pe.code, Message: pe.message, RequestID: requestID}})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: pe.status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Request-Id": requestID},
		Body:       string(body),
	}
}
