package httpapi

import (
	"net/http"

	"github.com/teamkeys/teamkeys/internal/leak"
)

// Function names are the template.yaml logical ids of the Lambda functions.
const (
	FunctionGenerateKey = "GenerateKey"
	FunctionListKeys    = "ListKeys"
	FunctionDisableKey  = "DisableKey"
	FunctionEnableKey   = "EnableKey"
	FunctionDeleteKey   = "DeleteKey"
	FunctionWhoAmI      = "WhoAmI"
	FunctionKeyPolicy   = "KeyPolicy"
	FunctionRotateKey   = "RotateKey"
	FunctionOffboard    = "OffboardMember"
	FunctionLeakReport  = "LeakReport"
	FunctionUpdateKey   = "UpdateKey"
)

// How a route's caller proves who it is.
const (
	// AuthJWT: a bearer JWT, checked by the HTTP API's JWT authorizer (the
	// local gateway, locally), whose claims the handler reads.
	AuthJWT = "jwt"
	// AuthSignature: a request signed with an access key, checked by the
	// function itself, which needs the body.
	AuthSignature = "signature"
	// AuthGitHub: a leak report signed by GitHub's secret scanning (ECDSA,
	// with GitHub's published keys), checked by the function itself. Like
	// AuthSignature, no authorizer at the gateway: the route is public.
	AuthGitHub = "github"
)

// Public reports whether the gateway lets the route's requests through
// without a JWT (template.yaml: Auth Authorizer NONE): the function checks
// the caller itself.
func (r Route) Public() bool { return r.Auth != AuthJWT }

// Route is one API Gateway route: the same Method and Path appear as an
// HttpApi event of Function in template.yaml, and the local server serves
// exactly these. Path uses the {param} syntax that both API Gateway and
// net/http's ServeMux understand.
type Route struct {
	Method    string
	Path      string
	Function  string
	Operation string // unique per route; openapi.yaml's operationId
	Auth      string // AuthJWT, AuthSignature or AuthGitHub
	// handle is the route's handler. Its dependencies are the function's,
	// checked by the function's constructor (api.go).
	handle func(a *api, w http.ResponseWriter, r *http.Request) error
}

// Routes is the one route table of the service.
var Routes = []Route{
	{"POST", "/v1/teams/{teamId}/members/{memberId}/access-keys", FunctionGenerateKey, "generateAccessKey", AuthJWT, (*api).generate},
	{"GET", "/v1/teams/{teamId}/members/{memberId}/access-keys", FunctionListKeys, "listMemberAccessKeys", AuthJWT, (*api).listMember},
	{"DELETE", "/v1/teams/{teamId}/members/{memberId}/access-keys", FunctionOffboard, "offboardMember", AuthJWT, (*api).offboard},
	{"GET", "/v1/teams/{teamId}/access-keys", FunctionListKeys, "listTeamAccessKeys", AuthJWT, (*api).listTeam},
	{"GET", "/v1/teams/{teamId}/access-keys/report", FunctionListKeys, "credentialReport", AuthJWT, (*api).report},
	{"GET", "/v1/teams/{teamId}/audit-events", FunctionListKeys, "listAuditEvents", AuthJWT, (*api).listAudit},
	{"POST", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/disable", FunctionDisableKey, "disableAccessKey", AuthJWT, (*api).disable},
	{"POST", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/enable", FunctionEnableKey, "enableAccessKey", AuthJWT, (*api).enable},
	{"POST", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/rotate", FunctionRotateKey, "rotateAccessKey", AuthJWT, (*api).rotate},
	{"GET", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}", FunctionListKeys, "getAccessKey", AuthJWT, (*api).getKey},
	{"DELETE", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}", FunctionDeleteKey, "deleteAccessKey", AuthJWT, (*api).delete},
	{"PATCH", "/v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}", FunctionUpdateKey, "updateAccessKey", AuthJWT, (*api).updateKey},
	{"GET", "/v1/teams/{teamId}/key-policy", FunctionKeyPolicy, "getKeyPolicy", AuthJWT, (*api).getPolicy},
	{"PUT", "/v1/teams/{teamId}/key-policy", FunctionKeyPolicy, "putKeyPolicy", AuthJWT, (*api).setPolicy},
	{"POST", "/v1/teams/{teamId}/leaks", FunctionLeakReport, "reportTeamLeak", AuthJWT, (*api).leakTeam},
	{"POST", "/v1/leaks/github", FunctionLeakReport, "reportGitHubLeaks", AuthGitHub, (*api).leakGitHub},
	{"GET", "/v1/whoami", FunctionWhoAmI, "whoAmIGet", AuthSignature, (*api).whoAmI},
	{"POST", "/v1/whoami", FunctionWhoAmI, "whoAmIPost", AuthSignature, (*api).whoAmI},
	{"POST", "/v1/access-keys/self/rotate", FunctionSelfRotateKey, "rotateSelf", AuthSignature, (*api).selfRotate},
}

// The template.yaml logical ids of the API Gateway APIs that serve the
// routes.
const (
	// APIHTTP is the HTTP API (payload 2.0 events): every route but those
	// restAPIRoutes names.
	APIHTTP = "HttpApi"
	// APILeak is a regional REST API (API Gateway proxy events, payload
	// 1.0) behind an AWS WAF web ACL that limits each source address: an
	// HTTP API takes no WAF, and a route throttle there is one budget for
	// every caller, which junk would take from GitHub's signed reports.
	APILeak = "LeakApi"
)

// restAPIRoutes are the routes (method and path) served by a REST API
// instead of the HTTP API, by that API's logical id.
var restAPIRoutes = map[string]string{"POST /v1/leaks/github": APILeak}

// API is the template.yaml logical id of the API that serves the route:
// APIHTTP or APILeak. The local server serves every route alike.
func (r Route) API() string {
	if api, ok := restAPIRoutes[r.Method+" "+r.Path]; ok {
		return api
	}
	return APIHTTP
}

// Functions lists the function names in route-table order, each once.
func Functions() []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range Routes {
		if !seen[r.Function] {
			seen[r.Function] = true
			names = append(names, r.Function)
		}
	}
	return names
}

// bodyLimits are the requests (method and path, exactly: only routes
// without path parameters) that may carry a body larger than MaxBodyBytes:
// a GitHub leak report, up to leak.MaxReportBytes.
var bodyLimits = map[string]int{"POST /v1/leaks/github": leak.MaxReportBytes}

// BodyLimit is the largest body a request of method on path accepts:
// MaxBodyBytes, unless bodyLimits says otherwise.
func BodyLimit(method, path string) int {
	if n, ok := bodyLimits[method+" "+path]; ok {
		return n
	}
	return MaxBodyBytes
}
