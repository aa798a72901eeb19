package teamkeys_test

import (
	"fmt"
	"testing"
)

// verifierFunctions are the functions that verify signed requests: a hot
// key's load lands on them.
var verifierFunctions = []string{"Authorizer", "WhoAmI"}

// TestTemplateReservesVerifierConcurrency: Authorizer and WhoAmI each get
// VerifierReservedConcurrency (100 by default), which caps them so that
// verification can never take the account's whole concurrency; 0 leaves
// them to ReservedConcurrency (unset by default: nothing reserved). Every
// other function keeps the Globals' setting.
func TestTemplateReservesVerifierConcurrency(t *testing.T) {
	tmpl := loadTemplate(t)
	p := tmpl.Parameters["VerifierReservedConcurrency"]
	if p["Type"] != "Number" || p["Default"] != float64(100) || p["MinValue"] != float64(0) {
		t.Fatalf("parameter VerifierReservedConcurrency %v: want a Number, default 100, minimum 0", p)
	}
	for _, tc := range []struct {
		name      string
		verifier  string // VerifierReservedConcurrency; "" its default
		reserved  string // ReservedConcurrency
		want      string // the functions' ReservedConcurrentExecutions; "" none
		wantOther string
	}{
		{"defaults", "", "", "100", ""},
		{"verifier 250", "250", "", "250", ""},
		{"verifier 0: unreserved", "0", "", "", ""},
		{"verifier 0, every function 5", "0", "5", "5", "5"},
		{"verifier 40, every function 5", "40", "5", "40", "5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]string{"VerifierReservedConcurrency": "100", "ReservedConcurrency": tc.reserved}
			if tc.verifier != "" {
				params["VerifierReservedConcurrency"] = tc.verifier
			}
			for _, fn := range tmpl.functions() {
				rc, set := tmpl.Resources[fn].Properties["ReservedConcurrentExecutions"]
				if !set {
					rc = tmpl.Globals.Function.ReservedConcurrentExecutions
				}
				got := tmpl.eval(t, rc, params)
				want := tc.wantOther
				for _, v := range verifierFunctions {
					if fn == v {
						want = tc.want
					}
				}
				if got != want {
					t.Errorf("%s: ReservedConcurrentExecutions %q, want %q", fn, got, want)
				}
			}
		})
	}
}

// eval evaluates the intrinsics a concurrency setting uses (Ref of a
// parameter, Fn::If on a condition, Fn::Not, Fn::Equals) with params; ""
// stands for AWS::NoValue.
func (tmpl template) eval(t *testing.T, v any, params map[string]string) string {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			if ref == "AWS::NoValue" {
				return ""
			}
			val, ok := params[ref]
			if !ok {
				t.Fatalf("Ref %s: not a parameter this test sets", ref)
			}
			return val
		}
		if args, ok := x["Fn::If"].([]any); ok && len(args) == 3 {
			if tmpl.condition(t, args[0].(string), params) {
				return tmpl.eval(t, args[1], params)
			}
			return tmpl.eval(t, args[2], params)
		}
	}
	t.Fatalf("cannot evaluate %v", v)
	return ""
}

func (tmpl template) condition(t *testing.T, name string, params map[string]string) bool {
	t.Helper()
	c, ok := tmpl.Conditions[name]
	if !ok {
		t.Fatalf("no condition %s", name)
	}
	return tmpl.test(t, c, params)
}

func (tmpl template) test(t *testing.T, c any, params map[string]string) bool {
	t.Helper()
	m, _ := c.(map[string]any)
	if args, ok := m["Fn::Not"].([]any); ok && len(args) == 1 {
		return !tmpl.test(t, args[0], params)
	}
	if args, ok := m["Fn::Equals"].([]any); ok && len(args) == 2 {
		return tmpl.eval(t, args[0], params) == tmpl.eval(t, args[1], params)
	}
	if name, ok := m["Condition"].(string); ok {
		return tmpl.condition(t, name, params)
	}
	t.Fatalf("cannot evaluate condition %v", c)
	return false
}
