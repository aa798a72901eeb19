package teamkeys_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/local/upstream"
)

// sourceIPIdentity is the identity source that keys an authorizer's cached
// answer on the caller's address as API Gateway saw it.
const sourceIPIdentity = "$context.identity.sourceIp"

// cacheSafe reports why an authorizer whose answers are cached ttl seconds
// on identity is unsafe, or "": an answer cached on the Authorization
// header alone would admit a request from another address, or to another
// route, with the allow decided for the first.
func cacheSafe(ttl any, identity []string) string {
	if ttl == nil {
		return "no result TTL (API Gateway's default is 300 s): set it to 0"
	}
	if n, ok := ttl.(float64); ok && n == 0 {
		return ""
	}
	if s, ok := ttl.(string); ok && s == "0" {
		return ""
	}
	for _, src := range identity {
		if src == sourceIPIdentity {
			return ""
		}
	}
	return fmt.Sprintf("result TTL %v with identity sources %v: keep it at 0 or add %s", ttl, identity, sourceIPIdentity)
}

func stringsOf(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		for _, s := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(s))
		}
	case []any:
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestLambdaAuthorizersAreNeverCachedOnTheHeaderAlone: every Lambda
// authorizer the template defines (on an HttpApi, or as an
// AWS::ApiGatewayV2::Authorizer) and the one the docs (docs/API.md) tell
// operators to create keeps its result TTL at 0, or keys its cache on the source address.
func TestLambdaAuthorizersAreNeverCachedOnTheHeaderAlone(t *testing.T) {
	tmpl := loadTemplate(t)
	for name, r := range tmpl.Resources {
		switch r.Type {
		case "AWS::Serverless::HttpApi":
			auth, _ := r.Properties["Auth"].(map[string]any)
			authorizers, _ := auth["Authorizers"].(map[string]any)
			for an, a := range authorizers {
				a, _ := a.(map[string]any)
				if a["FunctionArn"] == nil {
					continue // a JWT authorizer caches nothing of ours
				}
				identity, _ := a["Identity"].(map[string]any)
				var sources []string
				for _, h := range stringsOf(identity["Headers"]) {
					sources = append(sources, "$request.header."+h)
				}
				for _, c := range stringsOf(identity["Context"]) {
					sources = append(sources, "$context."+c)
				}
				if why := cacheSafe(identity["ReauthorizeEvery"], sources); why != "" {
					t.Errorf("%s authorizer %s: %s", name, an, why)
				}
			}
		case "AWS::ApiGatewayV2::Authorizer":
			if r.Properties["AuthorizerType"] != "REQUEST" {
				continue
			}
			if why := cacheSafe(r.Properties["AuthorizerResultTtlInSeconds"], stringsOf(r.Properties["IdentitySource"])); why != "" {
				t.Errorf("%s: %s", name, why)
			}
		}
	}

	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var readme []byte
	for _, f := range append([]string{"README.md"}, docs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		readme = append(readme, b...)
	}
	commands := regexp.MustCompile(`(?s)aws apigatewayv2 create-authorizer .*?\n[^\n]*?--authorizer-uri`).FindAll(readme, -1)
	if len(commands) == 0 {
		t.Fatal("neither the README nor docs/ shows an `aws apigatewayv2 create-authorizer` command for the Authorizer")
	}
	for _, c := range commands {
		ttl := regexp.MustCompile(`--authorizer-result-ttl-in-seconds (\d+)`).FindSubmatch(c)
		var ttlValue any
		if ttl != nil {
			ttlValue = string(ttl[1])
		}
		var sources []string
		if m := regexp.MustCompile(`--identity-source '([^']*)'`).FindSubmatch(c); m != nil {
			sources = stringsOf(string(m[1]))
		}
		if why := cacheSafe(ttlValue, sources); why != "" {
			t.Errorf("the docs' create-authorizer command: %s:\n%s", why, c)
		}
	}
}

// TestRouteScopesParameter: the Authorizer reads its route table from the
// parameter RouteScopes, whose default is an empty table that parses.
func TestRouteScopesParameter(t *testing.T) {
	tmpl := loadTemplate(t)
	p := tmpl.Parameters["RouteScopes"]
	def, _ := p["Default"].(string)
	if p["Type"] != "String" || def != "{}" {
		t.Errorf("parameter RouteScopes %v, want a String, default {}", p)
	}
	if _, err := authorizer.Routes(def); err != nil {
		t.Errorf("the default route table: %v", err)
	}
	env, _ := tmpl.Resources["Authorizer"].Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if b, _ := json.Marshal(vars["TEAMKEYS_ROUTE_SCOPES"]); string(b) != `{"Ref":"RouteScopes"}` {
		t.Errorf("Authorizer's TEAMKEYS_ROUTE_SCOPES = %s, want RouteScopes", b)
	}
}

// TestUpstreamOption: with UpstreamUrl set, ANY /api/{proxy+} is proxied to
// it behind the Authorizer, with the context as overwrite: headers, the same
// the local server sends; the HTTP API's stage variable makes the route
// table match the path after /api, as locally.
func TestUpstreamOption(t *testing.T) {
	tmpl := loadTemplate(t)
	if p := tmpl.Parameters["UpstreamUrl"]; p["Default"] != "" {
		t.Errorf("parameter UpstreamUrl %v, want default empty (no upstream)", p)
	}
	for _, name := range []string{"UpstreamAuthorizer", "UpstreamAuthorizerPermission", "UpstreamIntegration", "UpstreamRoute"} {
		if c := tmpl.Resources[name].Condition; c != "HasUpstream" {
			t.Errorf("%s: condition %q, want HasUpstream", name, c)
		}
	}
	route := tmpl.Resources["UpstreamRoute"].Properties
	if b, _ := json.Marshal(route["AuthorizerId"]); route["RouteKey"] != upstream.RouteKey || route["AuthorizationType"] != "CUSTOM" || string(b) != `{"Ref":"UpstreamAuthorizer"}` {
		t.Errorf("UpstreamRoute %v, want %s behind UpstreamAuthorizer", route, upstream.RouteKey)
	}
	auth := tmpl.Resources["UpstreamAuthorizer"].Properties
	if auth["AuthorizerPayloadFormatVersion"] != "2.0" || auth["EnableSimpleResponses"] != true || !strings.Contains(fmt.Sprint(auth["AuthorizerUri"]), "${Authorizer.Arn}") {
		t.Errorf("UpstreamAuthorizer %v, want the Authorizer function, payload 2.0, simple responses", auth)
	}
	integration := tmpl.Resources["UpstreamIntegration"].Properties
	params, _ := integration["RequestParameters"].(map[string]any)
	want := map[string]any{}
	for key, header := range map[string]string{"accessKeyId": "Access-Key-Id", "teamId": "Team-Id", "memberId": "Member-Id", "scopes": "Scopes"} {
		want["overwrite:header."+upstream.HeaderPrefix+header] = "$context.authorizer." + key
	}
	if integration["IntegrationType"] != "HTTP_PROXY" || !reflect.DeepEqual(params, want) {
		t.Errorf("UpstreamIntegration %v, want HTTP_PROXY with %v", integration, want)
	}
	vars, _ := tmpl.Resources["HttpApi"].Properties["StageVariables"].(map[string]any)
	if vars[authorizer.RoutePrefixVariable] != upstream.Prefix {
		t.Errorf("HttpApi stage variables %v, want %s = %s", vars, authorizer.RoutePrefixVariable, upstream.Prefix)
	}
}
