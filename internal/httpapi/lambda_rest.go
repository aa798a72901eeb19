package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// EventHandlerFunc is a Lambda function that both the HTTP API (payload
// 2.0) and a REST API (proxy events, payload 1.0) invoke: the event's bytes
// in, the answer's out. Its Invoke method makes it a lambda.Handler, so the
// runtime hands it the event as it came, unread: the event is decoded once,
// whatever its shape.
type EventHandlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke implements aws-lambda-go's lambda.Handler.
func (f EventHandlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// WithRESTEvents returns h (with its constructor's error, so that a main
// writes env.Start(httpapi.WithRESTEvents(httpapi.NewLeakReport(…)))) as a
// handler that also takes a REST API's proxy events, for the routes a REST
// API serves (Route.API). Such an event becomes the payload 2.0 event the
// HTTP API would send for the same request, h answers it as it answers
// every request (body limit, request id, the route's handler), and the
// answer goes back in the REST API's shape. A proxy event of a route no
// REST API serves is answered 404 without h. A payload 2.0 event goes to h
// as it is.
func WithRESTEvents(h LambdaHandlerFunc, err error) (EventHandlerFunc, error) {
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, raw []byte) ([]byte, error) {
		// One decoding of the event, whichever its shape: a report's body
		// may be 1 MiB, and decoding it is most of what junk costs.
		var ev eitherEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		if ev.Version == "2.0" || ev.HTTPMethod == "" {
			event := ev.APIGatewayV2HTTPRequest
			if len(ev.RequestContext) > 0 {
				if err := json.Unmarshal(ev.RequestContext, &event.RequestContext); err != nil {
					return nil, err
				}
			}
			resp, err := h(ctx, event)
			if err != nil {
				return nil, err
			}
			return json.Marshal(resp)
		}
		event := events.APIGatewayProxyRequest{
			Resource: ev.Resource, Path: ev.Path, HTTPMethod: ev.HTTPMethod,
			Headers: ev.Headers, MultiValueHeaders: ev.MultiValueHeaders,
			QueryStringParameters: ev.QueryStringParameters, MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters,
			PathParameters: ev.PathParameters, StageVariables: ev.StageVariables,
			Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
		}
		if len(ev.RequestContext) > 0 {
			if err := json.Unmarshal(ev.RequestContext, &event.RequestContext); err != nil {
				return nil, err
			}
		}
		if !servedByREST(event.HTTPMethod, event.Resource) {
			return json.Marshal(restResponse(eventError(event.RequestContext.RequestID, ErrRouteNotFound)))
		}
		resp, err := h(ctx, httpEventOf(event))
		if err != nil {
			return nil, err
		}
		return json.Marshal(restResponse(resp))
	}, nil
}

// eitherEvent reads a payload 2.0 event and a REST API's proxy event alike:
// the fields they share (headers, body, …) once, the fields of each, and
// the request context, whose shape differs, left to read once the shape is
// known.
type eitherEvent struct {
	events.APIGatewayV2HTTPRequest
	RequestContext                  json.RawMessage     `json:"requestContext"`
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
}

// servedByREST reports whether a REST API serves the route of method and
// resource (the route's path, {param} syntax, as in the route table).
func servedByREST(method, resource string) bool {
	_, ok := restAPIRoutes[method+" "+resource]
	return ok
}

// httpEventOf is the payload 2.0 event of a REST API's proxy event: the
// headers lower-cased, repeated ones joined with commas (as the HTTP API
// joins them), the caller's address and user agent, the request id. The
// path is the route's when it has no parameters: a custom domain's base
// path, which the REST API adds to the event's path, plays no part.
func httpEventOf(ev events.APIGatewayProxyRequest) events.APIGatewayV2HTTPRequest {
	routeKey := ev.HTTPMethod + " " + ev.Resource
	path := ev.Path
	if !strings.Contains(ev.Resource, "{") {
		path = ev.Resource
	}
	headers := joined(ev.Headers, ev.MultiValueHeaders, true)
	var query string
	if len(ev.MultiValueQueryStringParameters) > 0 {
		query = url.Values(ev.MultiValueQueryStringParameters).Encode()
	} else if len(ev.QueryStringParameters) > 0 {
		v := url.Values{}
		for k, s := range ev.QueryStringParameters {
			v.Set(k, s)
		}
		query = v.Encode()
	}
	rc := ev.RequestContext
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               path,
		RawQueryString:        query,
		Headers:               headers,
		QueryStringParameters: joined(ev.QueryStringParameters, ev.MultiValueQueryStringParameters, false),
		PathParameters:        ev.PathParameters,
		StageVariables:        ev.StageVariables,
		Body:                  ev.Body,
		IsBase64Encoded:       ev.IsBase64Encoded,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    rc.AccountID,
			Stage:        rc.Stage,
			RequestID:    rc.RequestID,
			APIID:        rc.APIID,
			DomainName:   rc.DomainName,
			DomainPrefix: rc.DomainPrefix,
			Time:         rc.RequestTime,
			TimeEpoch:    rc.RequestTimeEpoch,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    ev.HTTPMethod,
				Path:      path,
				Protocol:  rc.Protocol,
				SourceIP:  rc.Identity.SourceIP,
				UserAgent: rc.Identity.UserAgent,
			},
		},
	}
}

// joined merges a proxy event's single and multi-value maps into one value
// per name, repeated values joined with commas (names lower-cased when
// lower), in a fixed order whatever the names' case.
func joined(single map[string]string, multi map[string][]string, lower bool) map[string]string {
	if len(single) == 0 && len(multi) == 0 {
		return nil
	}
	values := map[string][]string{}
	add := func(m map[string][]string) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			name := k
			if lower {
				name = strings.ToLower(k)
			}
			values[name] = append(values[name], m[k]...)
		}
	}
	if len(multi) > 0 {
		add(multi)
	} else {
		m := make(map[string][]string, len(single))
		for k, v := range single {
			m[k] = []string{v}
		}
		add(m)
	}
	out := make(map[string]string, len(values))
	for k, vs := range values {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// restResponse is a payload 2.0 answer in a REST API's proxy shape.
func restResponse(r events.APIGatewayV2HTTPResponse) events.APIGatewayProxyResponse {
	out := events.APIGatewayProxyResponse{StatusCode: r.StatusCode, Headers: r.Headers, MultiValueHeaders: r.MultiValueHeaders,
		Body: r.Body, IsBase64Encoded: r.IsBase64Encoded}
	if len(r.Cookies) > 0 {
		if out.MultiValueHeaders == nil {
			out.MultiValueHeaders = map[string][]string{}
		}
		out.MultiValueHeaders["Set-Cookie"] = append(out.MultiValueHeaders["Set-Cookie"], r.Cookies...)
	}
	return out
}
