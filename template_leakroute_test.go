package teamkeys_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// jsonOf is v as compact JSON, to compare a template's intrinsics.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// getAttParts is the resource and attribute of a Fn::GetAtt, in either of its
// forms ("Res.Attr" or [Res, Attr]).
func getAttParts(v any) (resource, attribute string) {
	m, _ := v.(map[string]any)
	switch att := m["Fn::GetAtt"].(type) {
	case string:
		resource, attribute, _ = strings.Cut(att, ".")
	case []any:
		if len(att) == 2 {
			resource, _ = att[0].(string)
			attribute, _ = att[1].(string)
		}
	}
	return resource, attribute
}

// TestTemplateLeakRouteOnRESTAPI: GitHub's reports are served by a
// regional REST API of their own, the HTTP API no longer has the route, and
// the stage admits everyone together up to its own throttle (issue 19,
// item 2: a route throttle on the HTTP API was one budget that junk took
// from GitHub).
func TestTemplateLeakRouteOnRESTAPI(t *testing.T) {
	tmpl := loadTemplate(t)
	api, ok := tmpl.Resources[httpapi.APILeak]
	if !ok || api.Type != "AWS::Serverless::Api" {
		t.Fatalf("%s is %q, want an AWS::Serverless::Api", httpapi.APILeak, api.Type)
	}
	p := api.Properties
	if got := jsonOf(p["EndpointConfiguration"]); got != `{"Type":"REGIONAL"}` {
		t.Errorf("%s EndpointConfiguration %s, want REGIONAL (a regional web ACL protects only a regional API)", httpapi.APILeak, got)
	}
	if stage, _ := p["StageName"].(string); stage == "" || p["OpenApiVersion"] == nil {
		t.Errorf("%s StageName %v, OpenApiVersion %v: want a stage name, and OpenApiVersion set (else SAM adds a stage named Stage)", httpapi.APILeak, p["StageName"], p["OpenApiVersion"])
	}
	settings, _ := p["MethodSettings"].([]any)
	if len(settings) != 1 {
		t.Fatalf("%s MethodSettings %s, want one for every method", httpapi.APILeak, jsonOf(settings))
	}
	ms, _ := settings[0].(map[string]any)
	if ms["ResourcePath"] != "/*" || ms["HttpMethod"] != "*" ||
		jsonOf(ms["ThrottlingRateLimit"]) != `{"Ref":"LeakReportThrottleRateLimit"}` || jsonOf(ms["ThrottlingBurstLimit"]) != `{"Ref":"LeakReportThrottleBurstLimit"}` {
		t.Errorf("%s MethodSettings %s, want /* * throttled by LeakReportThrottleRateLimit and LeakReportThrottleBurstLimit", httpapi.APILeak, jsonOf(ms))
	}

	// Each route of the leak API is its function's Api event there, and no
	// HttpApi event or route setting of the HTTP API names it.
	leakRoutes := 0
	for _, r := range httpapi.Routes {
		if r.API() != httpapi.APILeak {
			continue
		}
		leakRoutes++
		key := r.Method + " " + r.Path
		found := false
		for fn, res := range tmpl.Resources {
			events, _ := res.Properties["Events"].(map[string]any)
			for name, e := range events {
				ev, _ := e.(map[string]any)
				ep, _ := ev["Properties"].(map[string]any)
				if ep["Method"] != r.Method || ep["Path"] != r.Path {
					continue
				}
				if ev["Type"] != "Api" || jsonOf(ep["RestApiId"]) != `{"Ref":"`+httpapi.APILeak+`"}` || fn != r.Function {
					t.Errorf("%s: %s event %s is %v on %s, want an Api event of %s on %s only", key, fn, name, ev["Type"], jsonOf(ep), r.Function, httpapi.APILeak)
					continue
				}
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no Api event of %s on %s", key, r.Function, httpapi.APILeak)
		}
		if rs, _ := tmpl.Globals.HttpApi["RouteSettings"].(map[string]any); rs[key] != nil {
			t.Errorf("%s: the HTTP API still has route settings for it", key)
		}
	}
	if leakRoutes != 1 {
		t.Errorf("%d routes on %s, want POST /v1/leaks/github alone", leakRoutes, httpapi.APILeak)
	}
}

// TestTemplateLeakAPIRateLimitsEachAddress: a regional web ACL, associated
// with the leak API's stage, blocks each source address over
// LeakReportRateLimitPerIp requests in 5 minutes, counting every request,
// and refuses a request without GitHub's signature headers; a few addresses
// at their limit take a small part of the stage's budget.
func TestTemplateLeakAPIRateLimitsEachAddress(t *testing.T) {
	tmpl := loadTemplate(t)
	var acl string
	for name, r := range tmpl.Resources {
		if r.Type != "AWS::WAFv2::WebACLAssociation" {
			continue
		}
		if got := jsonOf(r.Properties["ResourceArn"]); got != `{"Fn::Sub":"arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${`+httpapi.APILeak+`}/stages/${`+httpapi.APILeak+`.Stage}"}` {
			continue
		}
		var attr string
		if acl, attr = getAttParts(r.Properties["WebACLArn"]); attr != "Arn" {
			t.Fatalf("%s WebACLArn %s, want Fn::GetAtt of a web ACL's Arn", name, jsonOf(r.Properties["WebACLArn"]))
		}
	}
	if acl == "" {
		t.Fatalf("no AWS::WAFv2::WebACLAssociation of %s's stage (${%s.Stage}, SAM's stage of it)", httpapi.APILeak, httpapi.APILeak)
	}
	web := tmpl.Resources[acl]
	if web.Type != "AWS::WAFv2::WebACL" || web.Properties["Scope"] != "REGIONAL" || jsonOf(web.Properties["DefaultAction"]) != `{"Allow":{}}` {
		t.Fatalf("%s: %s scope %v default %s, want a REGIONAL AWS::WAFv2::WebACL allowing by default", acl, web.Type, web.Properties["Scope"], jsonOf(web.Properties["DefaultAction"]))
	}
	rules, _ := web.Properties["Rules"].([]any)
	var rate, headers map[string]any
	lowest := -1.0
	for _, x := range rules {
		r, _ := x.(map[string]any)
		pr, _ := r["Priority"].(float64)
		if lowest < 0 || pr < lowest {
			lowest = pr
		}
		st, _ := r["Statement"].(map[string]any)
		if st["RateBasedStatement"] != nil {
			rate = r
		}
		if s := jsonOf(st); strings.Contains(s, "NotStatement") && strings.Contains(s, "github-public-key-identifier") && strings.Contains(s, "github-public-key-signature") {
			headers = r
		}
	}
	if rate == nil {
		t.Fatalf("%s has no rate-based rule: %s", acl, jsonOf(rules))
	}
	rbs := rate["Statement"].(map[string]any)["RateBasedStatement"].(map[string]any)
	if rbs["AggregateKeyType"] != "IP" || jsonOf(rbs["Limit"]) != `{"Ref":"LeakReportRateLimitPerIp"}` || rbs["EvaluationWindowSec"] != 300.0 || rbs["ScopeDownStatement"] != nil {
		t.Errorf("rate-based rule %s, want every request aggregated by source IP, LeakReportRateLimitPerIp per 300 s", jsonOf(rbs))
	}
	if action, _ := rate["Action"].(map[string]any); action["Block"] == nil || rate["Priority"] != lowest {
		t.Errorf("rate-based rule action %s priority %v, want Block, evaluated first (priority %v)", jsonOf(rate["Action"]), rate["Priority"], lowest)
	}
	if headers == nil || jsonOf(headers["Action"].(map[string]any)["Block"]) == "null" {
		t.Errorf("%s has no rule blocking a request without both of GitHub's signature headers: %s", acl, jsonOf(rules))
	}

	perIP := tmpl.numberDefault(t, "LeakReportRateLimitPerIp")
	if min, _ := tmpl.Parameters["LeakReportRateLimitPerIp"]["MinValue"].(float64); min < 10 {
		t.Errorf("LeakReportRateLimitPerIp MinValue %v, want at least AWS WAF's minimum of 10", min)
	}
	// Ten addresses at their limit use under a tenth of the stage's
	// steady budget: junk from a few addresses cannot starve GitHub.
	stageRate := tmpl.numberDefault(t, "LeakReportThrottleRateLimit")
	if 10*float64(perIP)/300 > float64(stageRate)/10 {
		t.Errorf("ten addresses at %d per 5 min send %.1f/s, over a tenth of the stage's %d/s", perIP, 10*float64(perIP)/300, stageRate)
	}

	// The web ACL's log, the leak API's per-request record.
	logged := false
	for _, r := range tmpl.Resources {
		if res, attr := getAttParts(r.Properties["ResourceArn"]); r.Type == "AWS::WAFv2::LoggingConfiguration" && res == acl && attr == "Arn" {
			dest := jsonOf(r.Properties["LogDestinationConfigs"])
			for name, g := range tmpl.Resources {
				if g.Type == "AWS::Logs::LogGroup" && strings.Contains(dest, "${"+name+"}") &&
					strings.HasPrefix(jsonOf(g.Properties["LogGroupName"]), `{"Fn::Sub":"aws-waf-logs-`) && jsonOf(g.Properties["RetentionInDays"]) == `{"Ref":"LogRetentionDays"}` {
					logged = true
				}
			}
		}
	}
	if !logged {
		t.Errorf("%s: no logging configuration to an aws-waf-logs-… log group kept LogRetentionDays", acl)
	}
}

// TestTemplateLeakReportURL: the stack's outputs name the URL a deployer
// gives GitHub: the leak API's stage and the route's path.
func TestTemplateLeakReportURL(t *testing.T) {
	tmpl := loadTemplate(t)
	var path string
	for _, r := range httpapi.Routes {
		if r.API() == httpapi.APILeak && r.Auth == httpapi.AuthGitHub {
			path = r.Path
		}
	}
	want := `{"Fn::Sub":"https://${` + httpapi.APILeak + `}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${` + httpapi.APILeak + `.Stage}` + path + `"}`
	if got := jsonOf(tmpl.Outputs["LeakReportUrl"]["Value"]); path == "" || got != want {
		t.Errorf("output LeakReportUrl %s, want %s", got, want)
	}
}
