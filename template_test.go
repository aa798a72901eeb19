package teamkeys_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// template is template.yaml as generic JSON, intrinsics left unresolved
// ({"Ref": …}, {"Fn::GetAtt": …}).
type template struct {
	Globals struct {
		Function struct {
			Environment struct{ Variables map[string]any }
		}
	}
	Resources map[string]struct {
		Type       string
		Properties map[string]any
		Metadata   map[string]any
	}
}

func loadTemplate(t *testing.T) template {
	t.Helper()
	raw, err := intrinsics.ProcessYAML(teamkeys.TemplateYAML, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var tmpl template
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func (tmpl template) functions() []string {
	var names []string
	for name, r := range tmpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// TestTemplateRoutesAreTheRouteTable: API Gateway routes exactly what the
// local server serves, each to the same function.
func TestTemplateRoutesAreTheRouteTable(t *testing.T) {
	tmpl := loadTemplate(t)
	var inTemplate, inCode []string
	for _, fn := range tmpl.functions() {
		events, _ := tmpl.Resources[fn].Properties["Events"].(map[string]any)
		for name, e := range events {
			ev := e.(map[string]any)
			if ev["Type"] != "HttpApi" {
				t.Errorf("%s event %s is %v, want HttpApi", fn, name, ev["Type"])
				continue
			}
			p := ev["Properties"].(map[string]any)
			auth := httpapi.AuthJWT
			if a, _ := p["Auth"].(map[string]any); a != nil && a["Authorizer"] == "NONE" {
				auth = httpapi.AuthSignature
			}
			inTemplate = append(inTemplate, fmt.Sprintf("%s %s %s %s", p["Method"], p["Path"], fn, auth))
		}
	}
	for _, r := range httpapi.Routes {
		inCode = append(inCode, fmt.Sprintf("%s %s %s %s", r.Method, r.Path, r.Function, r.Auth))
	}
	sort.Strings(inTemplate)
	sort.Strings(inCode)
	if !slices.Equal(inTemplate, inCode) {
		t.Fatalf("template routes:\n%s\nroute table:\n%s", strings.Join(inTemplate, "\n"), strings.Join(inCode, "\n"))
	}
	// Every function but the authorizer (which fronts other APIs) serves
	// routes of the table.
	fns := slices.DeleteFunc(tmpl.functions(), func(f string) bool { return f == authorizerFunction })
	if !slices.Equal(fns, sorted(httpapi.Functions())) {
		t.Fatalf("template functions %v, route table functions %v", fns, httpapi.Functions())
	}
}

const authorizerFunction = "Authorizer"

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestEveryFunctionBuildsWithItsMakeTarget: sam build's makefile builder
// runs build-<LogicalId>; it must exist and build that function's main.
func TestEveryFunctionBuildsWithItsMakeTarget(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, fn := range tmpl.functions() {
		r := tmpl.Resources[fn]
		if r.Metadata["BuildMethod"] != "makefile" || r.Properties["CodeUri"] != "." {
			t.Errorf("%s: want BuildMethod makefile and CodeUri '.', got %v and %v", fn, r.Metadata["BuildMethod"], r.Properties["CodeUri"])
		}
		out, err := exec.Command("make", "-n", "build-"+fn, "ARTIFACTS_DIR=/tmp/x").CombinedOutput()
		if err != nil {
			t.Errorf("make -n build-%s: %v\n%s", fn, err, out)
			continue
		}
		cmd := string(out)
		for _, want := range []string{"CGO_ENABLED=0", "-tags lambda.norpc", "-trimpath", `-ldflags "-s -w"`, "GOARCH=arm64", "/tmp/x/bootstrap", "./functions/" + strings.ToLower(fn)} {
			if !strings.Contains(cmd, want) {
				t.Errorf("build-%s lacks %q:\n%s", fn, want, cmd)
			}
		}
	}
}

// TestFunctionsGetTheirSettings: every variable the code reads is declared
// (sam local --env-vars can only override declared ones).
func TestFunctionsGetTheirSettings(t *testing.T) {
	tmpl := loadTemplate(t)
	global := tmpl.Globals.Function.Environment.Variables
	for _, name := range []string{"TEAMKEYS_TABLE", "TEAMKEYS_KMS_KEY_ID", "TEAMKEYS_CLAIM_SUB", "TEAMKEYS_CLAIM_TEAM", "TEAMKEYS_CLAIM_ROLE", "TEAMKEYS_LOG_LEVEL", "TEAMKEYS_SIGNING_REGION"} {
		if _, ok := global[name]; !ok {
			t.Errorf("Globals lacks %s", name)
		}
	}
	env, _ := tmpl.Resources["ListKeys"].Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if _, ok := vars["TEAMKEYS_PAGE_TOKEN_KEY"]; !ok {
		t.Error("ListKeys lacks TEAMKEYS_PAGE_TOKEN_KEY")
	}
}

// TestLeastPrivilege holds each function's IAM statements to the calls its
// code makes, and nothing more.
func TestLeastPrivilege(t *testing.T) {
	tmpl := loadTemplate(t)
	want := map[string][]string{
		"GenerateKey": {"dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Encrypt"},
		"ListKeys":    {"dynamodb:Query"},
		"DisableKey":  {"dynamodb:UpdateItem"},
		"EnableKey":   {"dynamodb:UpdateItem"},
		"DeleteKey":   {"dynamodb:DeleteItem", "dynamodb:UpdateItem"},
		// Only the verifying functions may decrypt, and only with the
		// encryption context (checked below for every kms: action).
		"WhoAmI":     {"dynamodb:GetItem", "dynamodb:UpdateItem", "kms:Decrypt"},
		"Authorizer": {"dynamodb:GetItem", "dynamodb:UpdateItem", "kms:Decrypt"},
	}
	for _, fn := range tmpl.functions() {
		policies, _ := tmpl.Resources[fn].Properties["Policies"].([]any)
		var actions []string
		for _, p := range policies {
			doc, ok := p.(map[string]any)
			if !ok || len(doc) != 1 || doc["Statement"] == nil {
				t.Errorf("%s: policy %v is not an inline statement list (no SAM policy templates such as DynamoDBCrudPolicy)", fn, p)
				continue
			}
			for _, s := range doc["Statement"].([]any) {
				st := s.(map[string]any)
				if st["Effect"] != "Allow" {
					continue
				}
				if res, _ := json.Marshal(st["Resource"]); strings.Contains(string(res), `"*"`) || st["Resource"] == nil {
					t.Errorf("%s: wildcard or missing resource in %v", fn, st)
				}
				var stActions []string
				switch a := st["Action"].(type) {
				case string:
					stActions = []string{a}
				case []any:
					for _, x := range a {
						stActions = append(stActions, x.(string))
					}
				}
				actions = append(actions, stActions...)
				for _, a := range stActions {
					if strings.HasPrefix(a, "kms:") && !requiresFullContext(st["Condition"]) {
						t.Errorf("%s: %s without the three-id encryption-context condition: %v", fn, a, st["Condition"])
					}
				}
			}
		}
		sort.Strings(actions)
		if !slices.Equal(slices.Compact(actions), want[fn]) {
			t.Errorf("%s may %v, want exactly %v", fn, actions, want[fn])
		}
	}
}

// requiresFullContext reports whether a statement's condition admits only
// requests whose encryption context has exactly teamId, memberId and
// accessKeyId.
func requiresFullContext(cond any) bool {
	c, _ := cond.(map[string]any)
	forAll, _ := c["ForAllValues:StringEquals"].(map[string]any)
	keys, _ := forAll["kms:EncryptionContextKeys"].([]any)
	null, _ := c["Null"].(map[string]any)
	if len(keys) != 3 || null["kms:EncryptionContextKeys"] != "false" {
		return false
	}
	for _, k := range keys {
		if null["kms:EncryptionContext:"+k.(string)] != "false" {
			return false
		}
	}
	return true
}

// TestEveryFunctionIsWatched: each function has an Errors and a Throttles
// alarm, and the API has its 5xx-rate alarm.
func TestEveryFunctionIsWatched(t *testing.T) {
	tmpl := loadTemplate(t)
	watched := map[string]bool{}
	apiAlarm := false
	for _, r := range tmpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		if dims, _ := r.Properties["Dimensions"].([]any); len(dims) == 1 {
			d := dims[0].(map[string]any)
			if ref, _ := d["Value"].(map[string]any); d["Name"] == "FunctionName" && ref["Ref"] != nil {
				watched[fmt.Sprintf("%v %v", ref["Ref"], r.Properties["MetricName"])] = true
			}
		}
		if metrics, _ := r.Properties["Metrics"].([]any); len(metrics) > 0 {
			b, _ := json.Marshal(metrics)
			apiAlarm = apiAlarm || strings.Contains(string(b), `"5xx"`) && strings.Contains(string(b), "AWS/ApiGateway")
		}
	}
	for _, fn := range tmpl.functions() {
		for _, metric := range []string{"Errors", "Throttles"} {
			if !watched[fn+" "+metric] {
				t.Errorf("no %s alarm for %s", metric, fn)
			}
		}
	}
	if !apiAlarm {
		t.Error("no alarm on the API's 5xx")
	}
}
