package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// routeTable is the example table, with a more specific route
// inside a wider one.
const routeTable = `{
	"GET /orders/{id}": "orders:read",
	"POST /orders": "orders:write",
	"ANY /orders/{id}": "orders:admin",
	"GET /orders/{id}/items": "orders:items:read",
	"ANY /admin/{proxy+}": "admin",
	"GET /admin/health": "health"
}`

// restrictedHandler is the authorizer, with the route table, in front of the
// real verifier for one key restricted as given.
func restrictedHandler(t *testing.T, cidrs, scopes []string) (authorizer.HandlerFunc, *bytes.Buffer) {
	t.Helper()
	routes, err := authorizer.Routes(routeTable)
	if err != nil {
		t.Fatal(err)
	}
	key := accesskey.Key{AccessKeyID: keyID, TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive,
		AllowedCIDRs: cidrs, Scopes: scopes}
	v := verifier.New(oneKey{key}, plainOpener{}, nil, verifier.Options{Now: func() time.Time { return now }})
	var log bytes.Buffer
	return authorizer.HandlerWithRoutes(v, routes, quietLog(&log)), &log
}

// signedFrom is the authorizer event of a GET (or other body-less method)
// of path signed with secret, as API Gateway sends it for sourceIP, with
// extra headers sent (and signed) by the caller.
func signedFrom(t *testing.T, method, path, secret, sourceIP string, extra map[string]string) eventRequest {
	t.Helper()
	r, err := http.NewRequest(method, "https://"+domain+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		r.Header.Set(k, v)
	}
	if err := signature.SignSigV4(r, nil, keyID, secret, "", now); err != nil {
		t.Fatal(err)
	}
	ev := eventOf(t, r)
	ev.RequestContext.HTTP.SourceIP = sourceIP
	return ev
}

type eventRequest = events.APIGatewayV2CustomAuthorizerV2Request

// TestSourceAddress: a key restricted to networks admits a request from an
// address inside one of them and refuses any other, IPv4 and IPv6 apart;
// the address is API Gateway's sourceIp, never a header.
func TestSourceAddress(t *testing.T) {
	tests := []struct {
		name    string
		cidrs   []string
		source  string
		headers map[string]string
		allowed bool
	}{
		{"unrestricted, any source", nil, "198.51.100.7", nil, true},
		{"inside an IPv4 /24", []string{"203.0.113.0/24"}, "203.0.113.10", nil, true},
		{"outside an IPv4 /24", []string{"203.0.113.0/24"}, "203.0.114.10", nil, false},
		{"the /32 itself", []string{"203.0.113.10/32"}, "203.0.113.10", nil, true},
		{"next to the /32", []string{"203.0.113.10/32"}, "203.0.113.11", nil, false},
		{"IPv4 /0 admits IPv4", []string{"0.0.0.0/0"}, "198.51.100.7", nil, true},
		{"IPv4 /0 does not admit IPv6", []string{"0.0.0.0/0"}, "2001:db8::1", nil, false},
		{"IPv6 /0 admits IPv6", []string{"::/0"}, "2001:db8::1", nil, true},
		{"IPv6 /0 does not admit IPv4", []string{"::/0"}, "198.51.100.7", nil, false},
		{"inside an IPv6 /32", []string{"2001:db8::/32"}, "2001:db8:ffff::1", nil, true},
		{"outside an IPv6 /32", []string{"2001:db8::/32"}, "2001:db9::1", nil, false},
		{"the /128 itself", []string{"2001:db8::1/128"}, "2001:db8::1", nil, true},
		{"next to the /128", []string{"2001:db8::1/128"}, "2001:db8::2", nil, false},
		{"an IPv4-mapped IPv6 source is its IPv4 address", []string{"203.0.113.0/24"}, "::ffff:203.0.113.10", nil, true},
		{"one of several", []string{"10.0.0.0/8", "2001:db8::/32", "203.0.113.0/24"}, "203.0.113.10", nil, true},
		{"no source address", []string{"0.0.0.0/0"}, "", nil, false},
		{"X-Forwarded-For from an allowed address is ignored", []string{"203.0.113.0/24"}, "203.0.113.10",
			map[string]string{"X-Forwarded-For": "198.51.100.7", "Forwarded": "for=198.51.100.7", "X-Real-IP": "198.51.100.7"}, true},
		{"X-Forwarded-For naming an allowed address does not admit", []string{"203.0.113.0/24"}, "198.51.100.7",
			map[string]string{"X-Forwarded-For": "203.0.113.10", "Forwarded": "for=203.0.113.10", "X-Real-IP": "203.0.113.10"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			handler, log := restrictedHandler(t, tc.cidrs, nil)
			resp, err := handler(context.Background(), signedFrom(t, "GET", "/status", keySecret, tc.source, tc.headers))
			if err != nil {
				t.Fatal(err)
			}
			if resp.IsAuthorized != tc.allowed {
				t.Fatalf("isAuthorized %v, want %v; log:\n%s", resp.IsAuthorized, tc.allowed, log)
			}
			if !tc.allowed {
				// The reason and the address are logged.
				if !strings.Contains(log.String(), "source address") || !strings.Contains(log.String(), `"sourceIp":"`+tc.source+`"`) {
					t.Fatalf("the refusal is not logged with its reason and address:\n%s", log)
				}
				return
			}
			if resp.Context["sourceIp"] != tc.source {
				t.Fatalf("context sourceIp %v, want %q", resp.Context["sourceIp"], tc.source)
			}
		})
	}
}

// TestRestrictionsNeedTheSecret: a request with the wrong secret for a
// restricted key is refused exactly as for an unrestricted one, from
// inside or outside its networks: without the secret nothing is learnt.
func TestRestrictionsNeedTheSecret(t *testing.T) {
	const wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	reason := func(cidrs []string, source string) string {
		handler, log := restrictedHandler(t, cidrs, []string{})
		resp, err := handler(context.Background(), signedFrom(t, "GET", "/orders/1", wrong, source, nil))
		if err != nil || resp.IsAuthorized || resp.Context != nil {
			t.Fatalf("wrong secret: %+v %v", resp, err)
		}
		var line struct{ Reason string }
		if err := json.Unmarshal(bytes.TrimSpace(log.Bytes()), &line); err != nil {
			t.Fatalf("log %q: %v", log, err)
		}
		return line.Reason
	}
	want := reason(nil, "203.0.113.10")
	for _, source := range []string{"203.0.113.10", "198.51.100.7"} {
		if got := reason([]string{"203.0.113.0/24"}, source); got != want {
			t.Fatalf("from %s: refused because %q, want %q as for an unrestricted key", source, got, want)
		}
	}
}

// TestScopes: a route the table lists needs its scope, the most specific
// pattern deciding; a route it does not list needs none; the context
// carries the key's scopes.
func TestScopes(t *testing.T) {
	tests := []struct {
		name    string
		scopes  []string
		method  string
		path    string
		allowed bool
	}{
		{"unrestricted key, listed route", nil, "GET", "/orders/1", true},
		{"exact scope", []string{"orders:read"}, "GET", "/orders/1", true},
		{"exact method over ANY: GET needs orders:read, not orders:admin", []string{"orders:admin"}, "GET", "/orders/1", false},
		{"ANY for another method", []string{"orders:admin"}, "DELETE", "/orders/1", true},
		{"ANY for another method, without its scope", []string{"orders:read"}, "DELETE", "/orders/1", false},
		{"more literal segments win", []string{"orders:items:read"}, "GET", "/orders/1/items", true},
		{"a wildcard grants below it", []string{"orders:*"}, "GET", "/orders/1/items", true},
		{"a wildcard grants below it (write)", []string{"orders:*"}, "POST", "/orders", true},
		{"near miss: ordersx:* is not orders:*", []string{"ordersx:*"}, "POST", "/orders", false},
		{"near miss: orders:* does not grant admin", []string{"orders:*"}, "GET", "/admin/users", false},
		{"* grants everything", []string{"*"}, "GET", "/admin/users", true},
		{"greedy route", []string{"admin"}, "PUT", "/admin/users/7", true},
		{"a literal inside a greedy route wins", []string{"admin"}, "GET", "/admin/health", false},
		{"the literal's own scope", []string{"health"}, "GET", "/admin/health", true},
		{"admin:* does not grant admin", []string{"admin:*"}, "GET", "/admin/users", false},
		{"an encoded literal is the literal", []string{"orders:read"}, "GET", "/%61dmin/users", false},
		{"an unlisted route needs no scope", []string{}, "GET", "/status", true},
		{"no scopes: a listed route is refused", []string{}, "GET", "/orders/1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			handler, log := restrictedHandler(t, nil, tc.scopes)
			resp, err := handler(context.Background(), signedFrom(t, tc.method, tc.path, keySecret, "203.0.113.10", nil))
			if err != nil {
				t.Fatal(err)
			}
			if resp.IsAuthorized != tc.allowed {
				t.Fatalf("isAuthorized %v, want %v; log:\n%s", resp.IsAuthorized, tc.allowed, log)
			}
			if !tc.allowed {
				if !strings.Contains(log.String(), "scope not granted") {
					t.Fatalf("the refusal is not logged with its reason:\n%s", log)
				}
				return
			}
			want := "*"
			if tc.scopes != nil {
				want = strings.Join(tc.scopes, " ")
			}
			if resp.Context["scopes"] != want || resp.Context["sourceIp"] != "203.0.113.10" {
				t.Fatalf("context %v, want scopes %q and sourceIp 203.0.113.10", resp.Context, want)
			}
		})
	}
}

// TestRoutes: an invalid table is refused naming the entry; an empty one
// is no table.
func TestRoutes(t *testing.T) {
	for _, raw := range []string{"", "  ", "{}"} {
		if _, err := authorizer.Routes(raw); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
	}
	for raw, entry := range map[string]string{
		`{"FETCH /orders": "orders:read"}`: "FETCH /orders",
		`{"GET orders": "orders:read"}`:    "GET orders",
		`{"GET /orders": "orders:*"}`:      "GET /orders",
		`[]`:                               "",
	} {
		_, err := authorizer.Routes(raw)
		if err == nil || !strings.Contains(err.Error(), "TEAMKEYS_ROUTE_SCOPES") || !strings.Contains(err.Error(), entry) {
			t.Fatalf("%s: %v, want an error naming %q", raw, err, entry)
		}
	}
}

// TestRouteOf: the table is matched on the path the API's routes see.
func TestRouteOf(t *testing.T) {
	tests := []struct {
		name, domain, stage, prefix, rawPath, want string
	}{
		{"$default stage", domain, "$default", "", "/orders/1", "/orders/1"},
		{"a named stage on execute-api", domain, "prod", "", "/prod/orders/1", "/orders/1"},
		{"a named stage on a custom domain", "api.example.com", "prod", "", "/prod/orders/1", "/prod/orders/1"},
		{"the upstream prefix", domain, "$default", "/api", "/api/orders/1", "/orders/1"},
		{"the upstream prefix, whole segments only", domain, "$default", "/api", "/apix/orders", "/apix/orders"},
		{"the upstream prefix alone", domain, "$default", "/api", "/api", "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := sampleEvent()
			ev.RawPath = tc.rawPath
			ev.RequestContext.DomainName, ev.RequestContext.Stage = tc.domain, tc.stage
			if tc.prefix != "" {
				ev.StageVariables = map[string]string{authorizer.RoutePrefixVariable: tc.prefix}
			}
			if method, path := authorizer.RouteOf(ev); method != "GET" || path != tc.want {
				t.Fatalf("%s %s, want GET %s", method, path, tc.want)
			}
		})
	}
}
