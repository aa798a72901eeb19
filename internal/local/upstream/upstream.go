// Package upstream is the local stand-in for the template's UpstreamUrl
// option: requests under /api/ are verified by the authorizer's own handler
// (the route table matched on the path without /api) and, when allowed,
// forwarded to an upstream with the path after /api and the authorizer's
// context as X-Teamkeys-* headers, as API Gateway's HTTP_PROXY integration
// with overwrite: header mappings does. Local only.
package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// Prefix is the path under which requests go to the upstream.
const Prefix = "/api"

// RouteKey is the route API Gateway gives the upstream in the template.
const RouteKey = "ANY /api/{proxy+}"

// HeaderPrefix starts every header the upstream is told the authorizer's
// context in; a caller's own headers with this prefix are dropped.
const HeaderPrefix = "X-Teamkeys-"

// contextHeaders maps the authorizer's context to the upstream's headers.
var contextHeaders = []struct{ key, header string }{
	{"accessKeyId", HeaderPrefix + "Access-Key-Id"},
	{"teamId", HeaderPrefix + "Team-Id"},
	{"memberId", HeaderPrefix + "Member-Id"},
	{"scopes", HeaderPrefix + "Scopes"},
}

// Serves reports whether path goes to the upstream.
func Serves(path string) bool { return strings.HasPrefix(path, Prefix+"/") }

// ParseURL reads TEAMKEYS_UPSTREAM_URL: an absolute http:// (or https://)
// URL.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("TEAMKEYS_UPSTREAM_URL %q: want an http:// URL with a host and no query", raw)
	}
	return u, nil
}

// New returns the handler of the requests under /api/.
func New(target *url.URL, authorize authorizer.HandlerFunc, log *slog.Logger) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, Prefix)
			pr.Out.URL.RawPath = strings.TrimPrefix(pr.In.URL.RawPath, Prefix)
			pr.SetURL(target)
			for name := range pr.Out.Header {
				if strings.HasPrefix(strings.ToLower(name), strings.ToLower(HeaderPrefix)) {
					delete(pr.Out.Header, name)
				}
			}
			granted, _ := pr.In.Context().Value(grantedKey{}).(map[string]any)
			for _, h := range contextHeaders {
				if v, ok := granted[h.key].(string); ok {
					pr.Out.Header.Set(h.header, v)
				}
			}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Error("upstream unreachable", "error", err.Error())
			gatewayAnswer(w, http.StatusBadGateway, "Bad Gateway")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// API Gateway refuses a request without the identity source
		// before invoking the authorizer.
		if r.Header.Get("Authorization") == "" {
			gatewayAnswer(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		resp, err := authorize(r.Context(), eventOf(r))
		if err != nil {
			gatewayAnswer(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		if !resp.IsAuthorized {
			gatewayAnswer(w, http.StatusForbidden, "Forbidden")
			return
		}
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantedKey{}, resp.Context)))
	})
}

type grantedKey struct{}

// gatewayAnswer is API Gateway's own answer: {"message": …}.
func gatewayAnswer(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}

// eventOf is the authorizer event API Gateway sends for r on the template's
// ANY /api/{proxy+} route: headers lower-cased and joined with ",", the
// source address the TCP peer (never a header), the stage variable that
// makes the route table match the path without /api.
func eventOf(r *http.Request) events.APIGatewayV2CustomAuthorizerV2Request {
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			for _, v := range values {
				cookies = append(cookies, strings.Split(v, "; ")...)
			}
			continue
		}
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	switch {
	case len(r.TransferEncoding) > 0:
		headers["transfer-encoding"] = strings.Join(r.TransferEncoding, ",")
	case r.ContentLength > 0 || (r.ContentLength == 0 && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions):
		headers["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	now := time.Now()
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:        "2.0",
		Type:           "REQUEST",
		RouteKey:       RouteKey,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Cookies:        cookies,
		Headers:        headers,
		IdentitySource: []string{r.Header.Get("Authorization")},
		StageVariables: map[string]string{authorizer.RoutePrefixVariable: Prefix},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:   RouteKey,
			AccountID:  "000000000000",
			Stage:      "$default",
			RequestID:  httpapi.NewRequestID(),
			APIID:      "local",
			DomainName: r.Host,
			Time:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: source, UserAgent: r.UserAgent(),
			},
		},
	}
}
