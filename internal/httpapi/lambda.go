package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"

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
// header a client could send), and so does the event itself, for a handler
// that must read the request exactly as API Gateway received it (WhoAmI:
// the adapter splits header values on commas).
func LambdaHandler(h http.Handler, log *slog.Logger) LambdaHandlerFunc {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, event events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		requestID := event.RequestContext.RequestID
		if err := convertible(event); err != nil {
			// The event cannot become an http.Request (a body that is not
			// valid base64, a path that is not a URL): the request's fault,
			// so 400 rather than a failed invocation. Checked before the
			// adapter sees it, since the adapter prints such a request's
			// path raw to stdout, the log stream.
			log.Warn("event rejected", "requestId", requestID, "error", err.Error())
			return eventError(requestID, accesskey.Invalid("request", "could not be read")), nil
		}
		resp, err := adapter.ProxyWithContext(context.WithValue(ctx, eventKey{}, &event), event)
		if err != nil {
			log.Error("handler produced no response", "requestId", requestID, "error", err.Error())
			return eventError(requestID, err), nil
		}
		return resp, nil
	}
}

type eventKey struct{}

// eventFrom returns the API Gateway event the request came from.
func eventFrom(ctx context.Context) (*events.APIGatewayV2HTTPRequest, bool) {
	ev, ok := ctx.Value(eventKey{}).(*events.APIGatewayV2HTTPRequest)
	return ev, ok && ev != nil
}

// convertible reports why aws-lambda-go-api-proxy could not turn event into
// an http.Request, checking what its RequestAccessorV2.EventToRequest does.
func convertible(event events.APIGatewayV2HTTPRequest) error {
	if event.IsBase64Encoded {
		if _, err := base64.StdEncoding.DecodeString(event.Body); err != nil {
			return err
		}
	}
	path := event.RawPath
	if path == "" {
		path = event.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	server := "https://" + event.RequestContext.DomainName
	if custom, ok := os.LookupEnv(core.CustomHostVariable); ok {
		server = custom
	}
	target := server + path
	if event.RawQueryString != "" {
		target += "?" + event.RawQueryString
	}
	_, err := http.NewRequest(strings.ToUpper(event.RequestContext.HTTP.Method), target, http.NoBody)
	return err
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
