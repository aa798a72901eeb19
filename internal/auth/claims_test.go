package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/auth"
	"github.com/teamkeys/teamkeys/internal/config"
)

// callerThroughProxy runs event through the api-proxy adapter the Lambda
// functions use, to a handler that asks CallerFromContext who is calling.
func callerThroughProxy(t *testing.T, names config.ClaimNames, event events.APIGatewayV2HTTPRequest) (accesskey.Caller, error) {
	t.Helper()
	caller, _, err := proxied(t, names, event)
	return caller, err
}

// proxied is callerThroughProxy that also returns the request's headers as
// the handler saw them.
func proxied(t *testing.T, names config.ClaimNames, event events.APIGatewayV2HTTPRequest) (accesskey.Caller, http.Header, error) {
	t.Helper()
	var (
		caller accesskey.Caller
		err    error
		ran    bool
		header http.Header
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		header = r.Header.Clone()
		caller, err = auth.CallerFromContext(r.Context(), names)
		w.WriteHeader(http.StatusNoContent)
	})
	if _, perr := httpadapter.NewV2(h).ProxyWithContext(context.Background(), event); perr != nil {
		t.Fatalf("ProxyWithContext: %v", perr)
	}
	if !ran {
		t.Fatal("the handler did not run")
	}
	return caller, header, err
}

func eventWith(claims map[string]string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RawPath:  "/v1/teams/t1/access-keys",
		Headers:  headers,
		RouteKey: "GET /v1/teams/{teamId}/access-keys",
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-1",
			DomainName: "api.example.test",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/teams/t1/access-keys"},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

func TestCallerFromContext(t *testing.T) {
	cognito := config.ClaimNames{Subject: "sub", Team: "custom:team_id", Role: "custom:team_role"}
	tests := []struct {
		name    string
		names   config.ClaimNames
		claims  map[string]string // nil: no authorizer at all
		want    accesskey.Caller
		wantErr bool
	}{
		{"all claims", config.DefaultClaimNames,
			map[string]string{"sub": "alice", "team_id": "t1", "team_role": "admin", "exp": "1700000000"},
			accesskey.Caller{Subject: "alice", TeamID: "t1", Role: accesskey.RoleAdmin}, false},
		{"no role is a caller with no role", config.DefaultClaimNames,
			map[string]string{"sub": "alice", "team_id": "t1"},
			accesskey.Caller{Subject: "alice", TeamID: "t1"}, false},
		{"custom claim names", cognito,
			map[string]string{"sub": "bob", "custom:team_id": "t2", "custom:team_role": "member"},
			accesskey.Caller{Subject: "bob", TeamID: "t2", Role: accesskey.RoleMember}, false},
		{"custom names ignore the default claims", cognito,
			map[string]string{"sub": "bob", "team_id": "t2", "team_role": "owner"},
			accesskey.Caller{}, true},
		{"default names ignore custom claims", config.DefaultClaimNames,
			map[string]string{"sub": "bob", "custom:team_id": "t2", "custom:team_role": "owner"},
			accesskey.Caller{}, true},
		{"missing sub", config.DefaultClaimNames,
			map[string]string{"team_id": "t1", "team_role": "owner"}, accesskey.Caller{}, true},
		{"empty sub", config.DefaultClaimNames,
			map[string]string{"sub": "", "team_id": "t1", "team_role": "owner"}, accesskey.Caller{}, true},
		{"missing team", config.DefaultClaimNames,
			map[string]string{"sub": "alice", "team_role": "owner"}, accesskey.Caller{}, true},
		{"empty claims", config.DefaultClaimNames, map[string]string{}, accesskey.Caller{}, true},
		{"no authorizer", config.DefaultClaimNames, nil, accesskey.Caller{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callerThroughProxy(t, tt.names, eventWith(tt.claims, nil))
			if tt.wantErr {
				if !errors.Is(err, accesskey.ErrUnauthenticated) {
					t.Fatalf("CallerFromContext = %+v, %v; want ErrUnauthenticated", got, err)
				}
				if got != (accesskey.Caller{}) {
					t.Errorf("CallerFromContext returned %+v with its error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CallerFromContext: %v", err)
			}
			if got != tt.want {
				t.Errorf("CallerFromContext = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCallerFromContextWithoutGateway(t *testing.T) {
	if c, err := auth.CallerFromContext(context.Background(), config.DefaultClaimNames); !errors.Is(err, accesskey.ErrUnauthenticated) {
		t.Fatalf("CallerFromContext(background) = %+v, %v; want ErrUnauthenticated", c, err)
	}
	if c := auth.Claims(context.Background()); c != nil {
		t.Fatalf("Claims(background) = %v, want nil", c)
	}
}

// The api-proxy's Proxy (not ProxyWithContext) passes the request context in
// a header; a client can send a header of that name. It must carry no weight.
func TestClaimsCannotComeFromAHeader(t *testing.T) {
	forged, err := json.Marshal(events.APIGatewayV2HTTPRequestContext{
		RequestID: "forged",
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": "mallory", "team_id": "t1", "team_role": "owner"},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		claims  map[string]string
		header  string
		want    accesskey.Caller
		wantErr bool
	}{
		{"unauthenticated request with a forged header", nil, core.APIGwContextHeader, accesskey.Caller{}, true},
		{"lower-case header name", nil, "x-golambdaproxy-apigw-context", accesskey.Caller{}, true},
		{"authenticated request with a forged header",
			map[string]string{"sub": "bob", "team_id": "t1", "team_role": "member"}, core.APIGwContextHeader,
			accesskey.Caller{Subject: "bob", TeamID: "t1", Role: accesskey.RoleMember}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, header, err := proxied(t, config.DefaultClaimNames, eventWith(tt.claims, map[string]string{tt.header: string(forged)}))
			// The api-proxy splits a header on commas; joined again it is
			// the forged context, as a handler reading the header would see.
			if strings.Join(header.Values(core.APIGwContextHeader), ",") != string(forged) {
				t.Fatalf("test setup: the forged header did not reach the handler (headers %v)", header)
			}
			if tt.wantErr {
				if !errors.Is(err, accesskey.ErrUnauthenticated) {
					t.Fatalf("CallerFromContext = %+v, %v; want ErrUnauthenticated", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CallerFromContext = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
