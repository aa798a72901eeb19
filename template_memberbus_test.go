package teamkeys_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/auditevent"
)

// The member-event path (issue 19, item 1): a TeamMemberRemoved event
// deletes every key of a member, so only the console backend's roles may
// put one, on the stack's own bus; without them there is no event path.

const (
	publishersParam = "MemberEventPublisherArns"
	memberBus       = "MemberEventBus"
)

// rawTemplate is template.yaml as generic JSON, intrinsics unresolved.
func rawTemplate(t *testing.T) map[string]any {
	t.Helper()
	raw, err := intrinsics.ProcessYAML(teamkeys.TemplateYAML, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func section(doc map[string]any, name string) map[string]map[string]any {
	out := map[string]map[string]any{}
	m, _ := doc[name].(map[string]any)
	for k, v := range m {
		out[k], _ = v.(map[string]any)
	}
	return out
}

// stack is the template as CloudFormation would deploy it with some
// parameters set: the conditions evaluated, and the resources and outputs
// that exist.
type stack struct {
	doc        map[string]any
	params     map[string]any // string, or []string for a CommaDelimitedList
	conditions map[string]bool
	resources  map[string]map[string]any
	outputs    map[string]map[string]any
}

// deploy evaluates the template with the given parameter values, the
// others at their defaults.
func deploy(t *testing.T, doc map[string]any, set map[string]string) stack {
	t.Helper()
	s := stack{doc: doc, params: map[string]any{}, conditions: map[string]bool{},
		resources: map[string]map[string]any{}, outputs: map[string]map[string]any{}}
	for name, p := range section(doc, "Parameters") {
		v, ok := set[name]
		if !ok {
			v = fmt.Sprint(p["Default"])
			if p["Default"] == nil {
				v = ""
			}
		}
		if p["Type"] == "CommaDelimitedList" {
			s.params[name] = strings.Split(v, ",")
		} else {
			s.params[name] = v
		}
	}
	for name := range set {
		if _, ok := s.params[name]; !ok {
			t.Fatalf("template.yaml has no parameter %s", name)
		}
	}
	conds, _ := doc["Conditions"].(map[string]any)
	var eval func(name string, seen []string) bool
	eval = func(name string, seen []string) bool {
		if v, ok := s.conditions[name]; ok {
			return v
		}
		if slices.Contains(seen, name) {
			t.Fatalf("condition %s refers to itself", name)
		}
		def, ok := conds[name]
		if !ok {
			t.Fatalf("no condition %s", name)
		}
		v, err := s.value(def, func(c string) bool { return eval(c, append(seen, name)) })
		b, isBool := v.(bool)
		if err != nil || !isBool {
			t.Fatalf("condition %s: %v (%v)", name, v, err)
		}
		s.conditions[name] = b
		return b
	}
	for name := range conds {
		eval(name, nil)
	}
	for name, r := range section(doc, "Resources") {
		if c, _ := r["Condition"].(string); c == "" || s.conditions[c] {
			s.resources[name] = r
		}
	}
	for name, o := range section(doc, "Outputs") {
		if c, _ := o["Condition"].(string); c == "" || s.conditions[c] {
			s.outputs[name] = o
		}
	}
	return s
}

// value evaluates the condition functions (and the rule functions the
// template uses) on the stack's parameters.
func (s stack) value(v any, cond func(string) bool) (any, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v, nil
	}
	args := func(f string) ([]any, error) {
		a, ok := m[f].([]any)
		if !ok {
			return nil, fmt.Errorf("%s: want a list, got %v", f, m[f])
		}
		out := make([]any, len(a))
		for i, e := range a {
			x, err := s.value(e, cond)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	for f := range m {
		switch f {
		case "Ref":
			name, _ := m[f].(string)
			p, ok := s.params[name]
			if !ok {
				return nil, fmt.Errorf("Ref %s: not a parameter", name)
			}
			return p, nil
		case "Condition":
			name, _ := m[f].(string)
			return cond(name), nil
		case "Fn::Equals":
			a, err := args(f)
			if err != nil || len(a) != 2 {
				return nil, fmt.Errorf("Fn::Equals %v: %v", m[f], err)
			}
			return fmt.Sprint(a[0]) == fmt.Sprint(a[1]), nil
		case "Fn::Not", "Fn::And", "Fn::Or":
			a, err := args(f)
			if err != nil {
				return nil, err
			}
			bs := make([]bool, len(a))
			for i, x := range a {
				b, ok := x.(bool)
				if !ok {
					return nil, fmt.Errorf("%s: %v is not a condition", f, x)
				}
				bs[i] = b
			}
			switch {
			case f == "Fn::Not" && len(bs) == 1:
				return !bs[0], nil
			case f == "Fn::And":
				return !slices.Contains(bs, false), nil
			case f == "Fn::Or":
				return slices.Contains(bs, true), nil
			}
			return nil, fmt.Errorf("%s %v", f, m[f])
		case "Fn::Join":
			a, err := args(f)
			if err != nil || len(a) != 2 {
				return nil, fmt.Errorf("Fn::Join %v: %v", m[f], err)
			}
			list, ok := a[1].([]string)
			if !ok {
				for _, e := range toList(a[1]) {
					list = append(list, fmt.Sprint(e))
				}
			}
			return strings.Join(list, fmt.Sprint(a[0])), nil
		}
		return nil, fmt.Errorf("%s: not evaluated here", f)
	}
	return nil, nil
}

func toList(v any) []any {
	l, _ := v.([]any)
	return l
}

// references lists the resources v names (Ref, Fn::GetAtt, Fn::Sub), only
// in the branches of its Fn::If the stack's conditions take.
func (s stack) references(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if a, ok := v["Fn::If"].([]any); ok && len(v) == 1 && len(a) == 3 {
				name, _ := a[0].(string)
				if s.conditions[name] {
					walk(a[1])
				} else {
					walk(a[2])
				}
				return
			}
			if len(v) == 1 {
				if ref, ok := v["Ref"].(string); ok {
					if _, param := s.params[ref]; !param && !strings.HasPrefix(ref, "AWS::") {
						out = append(out, ref)
					}
					return
				}
				if att := getAtt(v); att != "" {
					out = append(out, strings.SplitN(att, ".", 2)[0])
					return
				}
				if sub, ok := v["Fn::Sub"]; ok {
					text, vars := sub, map[string]any{}
					if l, ok := sub.([]any); ok && len(l) == 2 {
						text = l[0]
						vars, _ = l[1].(map[string]any)
						walk(l[1])
					}
					str, _ := text.(string)
					for _, m := range regexp.MustCompile(`\$\{([^!}][^}]*)\}`).FindAllStringSubmatch(str, -1) {
						name := strings.SplitN(m[1], ".", 2)[0]
						_, param := s.params[name]
						_, local := vars[name]
						if !param && !local && !strings.HasPrefix(name, "AWS::") {
							out = append(out, name)
						}
					}
					return
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// exists reports whether the stack has the resource name, SAM's generated
// ones included (<Function>Role, <Function><EventName>).
func (s stack) exists(name string) bool {
	if _, ok := s.resources[name]; ok {
		return true
	}
	for fn, r := range s.resources {
		if r["Type"] != "AWS::Serverless::Function" || !strings.HasPrefix(name, fn) {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		events, _ := props["Events"].(map[string]any)
		if _, ok := events[strings.TrimPrefix(name, fn)]; ok || name == fn+"Role" {
			return true
		}
	}
	return false
}

// dangling lists what the deployed resources and outputs name that the
// stack does not create: CloudFormation refuses such a template.
func (s stack) dangling() []string {
	var out []string
	for where, items := range map[string]map[string]map[string]any{"Resources": s.resources, "Outputs": s.outputs} {
		for name, item := range items {
			refs := s.references(item)
			switch d := item["DependsOn"].(type) {
			case string:
				refs = append(refs, d)
			case []any:
				for _, e := range d {
					refs = append(refs, fmt.Sprint(e))
				}
			}
			for _, ref := range refs {
				if !s.exists(ref) {
					out = append(out, fmt.Sprintf("%s.%s names %s", where, name, ref))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// eventPath is what of the member-event path the stack deploys: event
// buses, functions on an EventBridge rule, and anything that names them.
func (s stack) eventPath() []string {
	var path []string
	for name, r := range s.resources {
		if r["Type"] == "AWS::Events::EventBus" || r["Type"] == "AWS::Events::EventBusPolicy" {
			path = append(path, name)
		}
		props, _ := r["Properties"].(map[string]any)
		events, _ := props["Events"].(map[string]any)
		for _, e := range events {
			if ev, _ := e.(map[string]any); ev["Type"] == "EventBridgeRule" {
				path = append(path, name)
			}
		}
	}
	sort.Strings(path)
	return path
}

// TestTemplateMemberEventPathNeedsPublishers: with MemberEventPublisherArns
// empty (its default) the stack has no member-event bus, no rule, no
// MemberRemoved, and nothing left naming them; offboarding is the DELETE
// route's. With publishers named, the bus and the function are there, and
// again nothing dangles.
func TestTemplateMemberEventPathNeedsPublishers(t *testing.T) {
	doc := rawTemplate(t)
	params := section(doc, "Parameters")
	if p := params[publishersParam]; p["Type"] != "CommaDelimitedList" || p["Default"] != "" {
		t.Fatalf("parameter %s: %v, want a CommaDelimitedList, Default \"\"", publishersParam, p)
	}
	// The bus the rule used to sit on, one anyone in the account may write
	// to, is no longer a choice.
	if _, ok := params["MemberEventBusName"]; ok {
		t.Error("parameter MemberEventBusName: still there (a rule on a bus the stack does not own)")
	}

	none := deploy(t, doc, nil)
	if path := none.eventPath(); len(path) != 0 {
		t.Errorf("%s empty: the stack deploys %v of the member-event path, want none of it", publishersParam, path)
	}
	for _, name := range []string{"MemberRemoved", "MemberRemovedFailures", memberBus} {
		if none.exists(name) {
			t.Errorf("%s empty: %s is deployed", publishersParam, name)
		}
	}
	if !none.exists("OffboardMember") {
		t.Errorf("%s empty: OffboardMember (the DELETE route) is not deployed", publishersParam)
	}
	if d := none.dangling(); len(d) != 0 {
		t.Errorf("%s empty: what is deployed names what is not:\n%s", publishersParam, strings.Join(d, "\n"))
	}

	some := deploy(t, doc, map[string]string{publishersParam: "arn:aws:iam::111122223333:role/console,arn:aws:iam::444455556666:role/console"})
	if path := some.eventPath(); !slices.Equal(path, []string{memberBus, "MemberRemoved"}) {
		t.Errorf("with publishers: the member-event path is %v, want [%s MemberRemoved]", path, memberBus)
	}
	for _, name := range []string{"MemberRemovedFailures", "MemberEventBusArn", "MemberEventBusName"} {
		_, output := some.outputs[name]
		if !some.exists(name) && !output {
			t.Errorf("with publishers: no %s", name)
		}
	}
	if d := some.dangling(); len(d) != 0 {
		t.Errorf("with publishers: what is deployed names what is not:\n%s", strings.Join(d, "\n"))
	}
}

// TestTemplateMemberEventBus: the rule is on the stack's own bus, whose
// policy lets exactly the MemberEventPublisherArns roles put events of
// MemberEventSource, and denies PutEvents to every other principal and of
// every other source (within the account an IAM Allow alone would do: the
// Deny is what closes the bus). The outputs give the console backend the
// bus.
func TestTemplateMemberEventBus(t *testing.T) {
	doc := rawTemplate(t)
	resources := section(doc, "Resources")
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	bus := resources[memberBus]
	if bus["Type"] != "AWS::Events::EventBus" {
		t.Fatalf("%s: %v, want an AWS::Events::EventBus", memberBus, bus["Type"])
	}
	props, _ := bus["Properties"].(map[string]any)
	wantName := `{"Fn::Sub":"${AWS::StackName}-member-events"}`
	if got := js(props["Name"]); got != wantName {
		t.Errorf("%s Name %s, want %s", memberBus, got, wantName)
	}
	// No other policy on it (an EventBusPolicy would add statements).
	for name, r := range resources {
		if r["Type"] == "AWS::Events::EventBusPolicy" {
			t.Errorf("%s: a policy statement besides the bus's own", name)
		}
	}

	busArn := `{"Fn::Sub":"arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${AWS::StackName}-member-events"}`
	publishers := `{"Ref":"` + publishersParam + `"}`
	source := `{"Ref":"MemberEventSource"}`
	policy, _ := props["Policy"].(map[string]any)
	var got []string
	for _, s := range toList(policy["Statement"]) {
		st, _ := s.(map[string]any)
		if js(st["Resource"]) != busArn {
			t.Errorf("statement %v: Resource %s, want the bus %s", st["Sid"], js(st["Resource"]), busArn)
		}
		got = append(got, fmt.Sprintf("%v %v %s if %s", st["Effect"], st["Action"], js(st["Principal"]), js(st["Condition"])))
	}
	want := []string{
		`Allow events:PutEvents {"AWS":` + publishers + `} if {"StringEquals":{"events:source":` + source + `}}`,
		`Deny events:PutEvents "*" if {"ArnNotEquals":{"aws:PrincipalArn":` + publishers + `}}`,
		`Deny events:PutEvents "*" if {"StringNotEquals":{"events:source":` + source + `}}`,
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s policy:\n%s\nwant:\n%s", memberBus, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The rule is on that bus.
	fnProps, _ := resources["MemberRemoved"]["Properties"].(map[string]any)
	events, _ := fnProps["Events"].(map[string]any)
	for name, e := range events {
		ev, _ := e.(map[string]any)
		p, _ := ev["Properties"].(map[string]any)
		if got := js(p["EventBusName"]); got != `{"Ref":"`+memberBus+`"}` {
			t.Errorf("MemberRemoved %s: EventBusName %s, want Ref %s", name, got, memberBus)
		}
	}

	// What the console backend's role needs: the bus's name and ARN.
	outputs := section(doc, "Outputs")
	for name, value := range map[string]string{"MemberEventBusName": `{"Ref":"` + memberBus + `"}`, "MemberEventBusArn": `{"Fn::GetAtt":"` + memberBus + `.Arn"}`} {
		v := js(outputs[name]["Value"])
		if getAtt(outputs[name]["Value"]) != "" {
			v = `{"Fn::GetAtt":"` + getAtt(outputs[name]["Value"]) + `"}`
		}
		if v != value {
			t.Errorf("output %s = %s, want %s", name, v, value)
		}
	}
}

// TestTemplateMemberEventSourceIsNotTeamkeys: the stack's own audit events
// have the source teamkeys; a MemberEventSource of teamkeys is refused at
// deploy (a Rules assertion), any other valid source passes the rules. The
// function is told the source too (TEAMKEYS_MEMBER_EVENT_SOURCE), and
// refuses teamkeys at start (internal/offboard).
func TestTemplateMemberEventSourceIsNotTeamkeys(t *testing.T) {
	doc := rawTemplate(t)
	props, _ := section(doc, "Resources")["MemberRemoved"]["Properties"].(map[string]any)
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if b, _ := json.Marshal(vars["TEAMKEYS_MEMBER_EVENT_SOURCE"]); string(b) != `{"Ref":"MemberEventSource"}` {
		t.Errorf("MemberRemoved TEAMKEYS_MEMBER_EVENT_SOURCE = %s, want Ref MemberEventSource", b)
	}
	failed := func(set map[string]string) []string {
		s := deploy(t, doc, set)
		var out []string
		for name, rule := range section(doc, "Rules") {
			if c, ok := rule["RuleCondition"]; ok {
				v, err := s.value(c, func(string) bool { t.Fatal("a rule's condition names a condition"); return false })
				if err != nil {
					t.Fatalf("rule %s: %v", name, err)
				}
				if v != true {
					continue
				}
			}
			for _, a := range toList(rule["Assertions"]) {
				assertion, _ := a.(map[string]any)
				v, err := s.value(assertion["Assert"], func(string) bool { t.Fatal("an assertion names a condition"); return false })
				if err != nil {
					t.Fatalf("rule %s: %v", name, err)
				}
				if v != true {
					out = append(out, name)
				}
			}
		}
		return out
	}
	for _, tt := range []struct {
		source string
		refuse bool
	}{
		{auditevent.Source, true},
		{"console.teamkeys", false},
		{"teamkeys.console", false},
	} {
		got := failed(map[string]string{"MemberEventSource": tt.source})
		if (len(got) != 0) != tt.refuse {
			t.Errorf("MemberEventSource %q: rules failing %v, want refused %v", tt.source, got, tt.refuse)
		}
	}
}
