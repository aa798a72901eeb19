// Package gateway stands in for API Gateway on a laptop: it checks the
// bearer token as the HTTP API's JWT authorizer would, turns each HTTP request
// into a payload 2.0 event with the claims in requestContext.authorizer.jwt,
// invokes the route's Lambda handler in process and writes its response. The
// handlers cannot tell it from API Gateway.
package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// MaxPayloadBytes is API Gateway's own request payload limit; the handlers
// apply the service's much smaller one (httpapi.MaxBodyBytes). A body
// declared longer is refused before any of it is read; a body of unknown
// length (chunked) is read up to this and no further.
const MaxPayloadBytes = 10 << 20

// FunctionTimeout is the Lambda timeout template.yaml sets.
const FunctionTimeout = 10 * time.Second

// TokenVerifier checks a bearer token and returns its claims.
type TokenVerifier interface {
	Verify(token string) (map[string]string, error)
}

// Gateway is the local API Gateway.
type Gateway struct {
	functions map[string]httpapi.LambdaHandlerFunc
	tokens    TokenVerifier
	log       *slog.Logger
	router    http.Handler
}

// New returns a gateway serving routes, each by the function of its name.
func New(routes []httpapi.Route, functions map[string]httpapi.LambdaHandlerFunc, tokens TokenVerifier, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{functions: functions, tokens: tokens, log: log}
	for _, r := range routes {
		if functions[r.Function] == nil {
			return nil, errors.New("localgateway: no function " + r.Function)
		}
	}
	g.router = httpapi.Router(routes, func(r httpapi.Route) http.Handler {
		return g.integration(r)
	}, log)
	return g, nil
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := httpapi.NewRequestID()
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(httpapi.WithRequestID(r.Context(), id))
	g.router.ServeHTTP(w, r)
}

var pathParamPattern = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

// integration is the Lambda proxy integration of one route.
func (g *Gateway) integration(route httpapi.Route) http.Handler {
	routeKey := route.Method + " " + route.Path
	var params []string
	for _, m := range pathParamPattern.FindAllStringSubmatch(route.Path, -1) {
		params = append(params, m[1])
	}
	function := g.functions[route.Function]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID := httpapi.RequestID(r.Context())
		if r.ContentLength > MaxPayloadBytes {
			// Refused from its declared length, unread (routes without a JWT
			// included); the connection is closed rather than drained.
			w.Header().Set("Connection", "close")
			httpapi.WriteError(w, g.log, requestID, httpapi.ErrPayloadTooLarge)
			return
		}
		var claims map[string]string
		if route.Auth == httpapi.AuthJWT {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || token == "" {
				httpapi.WriteError(w, g.log, requestID, accesskey.ErrUnauthenticated)
				return
			}
			var err error
			if claims, err = g.tokens.Verify(strings.TrimSpace(token)); err != nil {
				httpapi.WriteError(w, g.log, requestID, err)
				return
			}
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				err = httpapi.ErrPayloadTooLarge
				w.Header().Set("Connection", "close")
			}
			httpapi.WriteError(w, g.log, requestID, err)
			return
		}
		event := newEvent(r, routeKey, params, claims, requestID, body)

		ctx, cancel := context.WithTimeout(r.Context(), FunctionTimeout)
		defer cancel()
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
			AwsRequestID:       httpapi.NewRequestID(),
			InvokedFunctionArn: "arn:aws:lambda:local:000000000000:function:" + route.Function,
		})
		resp, err := function(ctx, event)
		if err != nil {
			// API Gateway answers a failed invocation with a 500.
			httpapi.WriteError(w, g.log, requestID, err)
			return
		}
		writeResponse(w, resp, g.log)
	})
}

func newEvent(r *http.Request, routeKey string, params []string, claims map[string]string, requestID string, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	event := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.SplitN(r.Host, ".", 2)[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r),
				UserAgent: r.UserAgent(),
			},
		},
	}
	if claims != nil {
		event.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	// API Gateway lower-cases header names and joins repeated values with
	// commas; cookies travel apart.
	for name, values := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			for _, v := range values {
				event.Cookies = append(event.Cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		event.Headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	event.Headers["host"] = r.Host
	if query := r.URL.Query(); len(query) > 0 {
		event.QueryStringParameters = map[string]string{}
		for name, values := range query {
			event.QueryStringParameters[name] = strings.Join(values, ",")
		}
	}
	if len(params) > 0 {
		event.PathParameters = map[string]string{}
		for _, p := range params {
			event.PathParameters[p] = r.PathValue(p)
		}
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			event.Body = string(body)
		} else {
			event.Body = base64.StdEncoding.EncodeToString(body)
			event.IsBase64Encoded = true
		}
	}
	return event
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse, log *slog.Logger) {
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		log.Error("function returned an invalid status", "status", resp.StatusCode)
		httpapi.WriteError(w, log, "", errors.New("invalid status from function"))
		return
	}
	h := w.Header()
	for name, v := range resp.Headers {
		h.Set(name, v)
	}
	for name, vs := range resp.MultiValueHeaders {
		h.Del(name)
		for _, v := range vs {
			h.Add(name, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			log.Error("function returned invalid base64 body", "error", err.Error())
			httpapi.WriteError(w, log, "", err)
			return
		}
		body = decoded
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}
