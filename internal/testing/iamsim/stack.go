package iamsim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// A Stack is one deployment of a translated template: its account, region
// and name, and its parameters (their defaults unless Parameters says
// otherwise). Resolve evaluates the template's intrinsic functions as
// CloudFormation would for it, with made-up but well-formed physical ids:
// a role is <stack>-<LogicalId>-A1B2C3D4E5F6, as CloudFormation names SAM's.
type Stack struct {
	Account, Region, Name string
	Parameters            map[string]any
	// Template is the translated template (Translate).
	Template map[string]any
}

// Suffix is the random part CloudFormation gives the names it makes.
const Suffix = "A1B2C3D4E5F6"

// Resources are the template's resources of the type (AWS::IAM::Role, …)
// whose Condition holds, by logical id, sorted.
func (s Stack) Resources(typ string) ([]string, error) {
	var out []string
	for id, r := range s.resources() {
		m, _ := r.(map[string]any)
		if m["Type"] != typ {
			continue
		}
		if c, ok := m["Condition"].(string); ok {
			holds, err := s.condition(c)
			if err != nil {
				return nil, err
			}
			if !holds {
				continue
			}
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

// Property is a resource's property, resolved.
func (s Stack) Property(logicalID, name string) (any, error) {
	r, _ := s.resources()[logicalID].(map[string]any)
	if r == nil {
		return nil, fmt.Errorf("no resource %s", logicalID)
	}
	props, _ := r["Properties"].(map[string]any)
	return s.Resolve(props[name])
}

// Ref is what !Ref of a resource or parameter gives.
func (s Stack) Ref(name string) (any, error) { return s.Resolve(map[string]any{"Ref": name}) }

// GetAtt is what !GetAtt resource.attribute gives.
func (s Stack) GetAtt(logicalID, attr string) (string, error) {
	v, err := s.Resolve(map[string]any{"Fn::GetAtt": []any{logicalID, attr}})
	str, _ := v.(string)
	return str, err
}

func (s Stack) resources() map[string]any {
	r, _ := s.Template["Resources"].(map[string]any)
	return r
}

// Resolve evaluates every intrinsic function in v.
func (s Stack) Resolve(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			r, err := s.Resolve(e)
			if err != nil {
				return nil, err
			}
			if r == noValue {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return s.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := s.Resolve(e)
			if err != nil {
				return nil, err
			}
			if r == noValue {
				continue
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// noValue is AWS::NoValue: the property or element it stands for is left out.
var noValue = &struct{ none bool }{}

func (s Stack) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		return s.ref(name)
	case "Condition":
		name, _ := arg.(string)
		return s.condition(name)
	case "Fn::GetAtt":
		var parts []string
		switch a := arg.(type) {
		case string:
			parts = strings.SplitN(a, ".", 2)
		case []any:
			for _, p := range a {
				str, _ := p.(string)
				parts = append(parts, str)
			}
		}
		if len(parts) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v", arg)
		}
		return s.getAtt(parts[0], parts[1])
	case "Fn::Sub":
		return s.sub(arg)
	case "Fn::If":
		a, _ := arg.([]any)
		if len(a) != 3 {
			return nil, fmt.Errorf("Fn::If %v", arg)
		}
		name, _ := a[0].(string)
		holds, err := s.condition(name)
		if err != nil {
			return nil, err
		}
		if holds {
			return s.Resolve(a[1])
		}
		return s.Resolve(a[2])
	case "Fn::FindInMap":
		a, err := s.strings(arg, 3)
		if err != nil {
			return nil, fmt.Errorf("Fn::FindInMap: %w", err)
		}
		maps, _ := s.Template["Mappings"].(map[string]any)
		m1, _ := maps[a[0]].(map[string]any)
		m2, _ := m1[a[1]].(map[string]any)
		v, ok := m2[a[2]]
		if !ok {
			return nil, fmt.Errorf("Fn::FindInMap %v: no such entry", a)
		}
		return s.Resolve(v)
	case "Fn::Join":
		a, _ := arg.([]any)
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Join %v", arg)
		}
		sep, _ := a[0].(string)
		list, err := s.Resolve(a[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, p := range list.([]any) {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, sep), nil
	case "Fn::Select":
		a, _ := arg.([]any)
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Select %v", arg)
		}
		i, err := s.Resolve(a[0])
		if err != nil {
			return nil, err
		}
		list, err := s.Resolve(a[1])
		if err != nil {
			return nil, err
		}
		var n int
		fmt.Sscan(fmt.Sprint(i), &n)
		l, _ := list.([]any)
		if n < 0 || n >= len(l) {
			return nil, fmt.Errorf("Fn::Select %d of %v", n, l)
		}
		return l[n], nil
	case "Fn::Split":
		a, _ := arg.([]any)
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Split %v", arg)
		}
		str, err := s.Resolve(a[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(fmt.Sprint(str), fmt.Sprint(a[0])) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return s.boolean(fn, arg)
	}
	return nil, fmt.Errorf("%s: an intrinsic function iamsim does not resolve", fn)
}

func (s Stack) strings(arg any, n int) ([]string, error) {
	r, err := s.Resolve(arg)
	if err != nil {
		return nil, err
	}
	a, _ := r.([]any)
	if len(a) != n {
		return nil, fmt.Errorf("%v: want %d strings", arg, n)
	}
	out := make([]string, n)
	for i, x := range a {
		out[i] = fmt.Sprint(x)
	}
	return out, nil
}

func (s Stack) boolean(fn string, arg any) (bool, error) {
	a, _ := arg.([]any)
	if fn == "Fn::Not" {
		if len(a) != 1 {
			return false, fmt.Errorf("Fn::Not %v", arg)
		}
		r, err := s.Resolve(a[0])
		b, ok := r.(bool)
		if err != nil || !ok {
			return false, fmt.Errorf("Fn::Not %v: %v", arg, err)
		}
		return !b, nil
	}
	var vals []any
	for _, x := range a {
		r, err := s.Resolve(x)
		if err != nil {
			return false, err
		}
		vals = append(vals, r)
	}
	switch fn {
	case "Fn::Equals":
		if len(vals) != 2 {
			return false, fmt.Errorf("Fn::Equals %v", arg)
		}
		x, _ := json.Marshal(vals[0])
		y, _ := json.Marshal(vals[1])
		return string(x) == string(y), nil
	case "Fn::And", "Fn::Or":
		and := fn == "Fn::And"
		for _, v := range vals {
			b, ok := v.(bool)
			if !ok {
				return false, fmt.Errorf("%s %v: not a condition", fn, arg)
			}
			if b != and {
				return b, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("%s", fn)
}

func (s Stack) condition(name string) (bool, error) {
	conds, _ := s.Template["Conditions"].(map[string]any)
	c, ok := conds[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	r, err := s.Resolve(c)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := r.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v", name, r)
	}
	return b, nil
}

func (s Stack) ref(name string) (any, error) {
	switch name {
	case "AWS::AccountId":
		return s.Account, nil
	case "AWS::Region":
		return s.Region, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return s.Name, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", s.Region, s.Account, s.Name, uuid("stack")), nil
	case "AWS::NoValue":
		return noValue, nil
	}
	if v, ok := s.Parameters[name]; ok {
		return v, nil
	}
	params, _ := s.Template["Parameters"].(map[string]any)
	if p, ok := params[name].(map[string]any); ok {
		d, ok := p["Default"]
		if !ok {
			return nil, fmt.Errorf("parameter %s has no default: give it in Stack.Parameters", name)
		}
		if p["Type"] == "CommaDelimitedList" || strings.HasPrefix(fmt.Sprint(p["Type"]), "List<") {
			var out []any
			if str := fmt.Sprint(d); str != "" {
				for _, e := range strings.Split(str, ",") {
					out = append(out, strings.TrimSpace(e))
				}
			}
			return out, nil
		}
		if f, ok := d.(float64); ok {
			return fmt.Sprint(f), nil
		}
		return d, nil
	}
	if _, ok := s.resources()[name]; ok {
		return s.getAtt(name, "Ref")
	}
	return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
}

// physicalName is the name CloudFormation gives a resource it names.
func (s Stack) physicalName(logicalID string) string {
	return s.Name + "-" + logicalID + "-" + Suffix
}

// getAtt is a resource's attribute; attr "Ref" is what !Ref gives.
func (s Stack) getAtt(logicalID, attr string) (string, error) {
	r, _ := s.resources()[logicalID].(map[string]any)
	if r == nil {
		return "", fmt.Errorf("no resource %s", logicalID)
	}
	typ, _ := r["Type"].(string)
	props, _ := r["Properties"].(map[string]any)
	name := s.physicalName(logicalID)
	for _, p := range []string{"TableName", "QueueName", "Name", "FunctionName", "RoleName", "TopicName"} {
		if v, ok := props[p]; ok {
			rv, err := s.Resolve(v)
			if err != nil {
				return "", err
			}
			if str, ok := rv.(string); ok && str != "" {
				name = str
			}
			break
		}
	}
	region, account := s.Region, s.Account
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, resource)
	}
	var ref, a string
	attrs := map[string]string{}
	switch typ {
	case "AWS::DynamoDB::Table":
		ref, a = name, arn("dynamodb", "table/"+name)
		attrs["StreamArn"] = a + "/stream/2026-01-01T00:00:00.000"
	case "AWS::KMS::Key":
		ref = uuid(logicalID)
		a = arn("kms", "key/"+ref)
		attrs["KeyId"] = ref
	case "AWS::SQS::Queue":
		ref, a = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, account, name), arn("sqs", name)
		attrs["QueueName"], attrs["QueueUrl"] = name, ref
	case "AWS::SNS::Topic":
		a = arn("sns", name)
		ref, attrs["TopicArn"], attrs["TopicName"] = a, a, name
	case "AWS::Events::EventBus":
		ref, a = name, arn("events", "event-bus/"+name)
		attrs["Name"] = name
	case "AWS::Events::Rule":
		ref, a = name, arn("events", "rule/"+name)
	case "AWS::IAM::Role":
		ref, a = name, fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name)
		attrs["RoleId"] = "AROA" + strings.ToUpper(uuid(logicalID)[:17])
	case "AWS::Lambda::Function":
		ref, a = name, arn("lambda", "function:"+name)
	default:
		service, kind := "cloudformation", "resource"
		if p := strings.Split(typ, "::"); len(p) == 3 {
			service, kind = strings.ToLower(p[1]), strings.ToLower(p[2])
		}
		ref, a = name, arn(service, kind+"/"+name)
	}
	switch attr {
	case "Ref":
		return ref, nil
	case "Arn":
		return a, nil
	}
	if v, ok := attrs[attr]; ok {
		return v, nil
	}
	return name + "." + attr, nil
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (s Stack) sub(arg any) (any, error) {
	var format string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub %v", arg)
		}
		format, _ = a[0].(string)
		m, err := s.Resolve(a[1])
		if err != nil {
			return nil, err
		}
		vars, _ = m.(map[string]any)
	default:
		return nil, fmt.Errorf("Fn::Sub %v", arg)
	}
	var err error
	out := subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		var v any
		var e error
		switch {
		case vars[name] != nil:
			v = vars[name]
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			id, attr, _ := strings.Cut(name, ".")
			v, e = s.getAtt(id, attr)
		default:
			v, e = s.ref(name)
		}
		if e != nil && err == nil {
			err = fmt.Errorf("Fn::Sub %q: %w", format, e)
		}
		if _, ok := v.(string); !ok && e == nil && err == nil {
			err = fmt.Errorf("Fn::Sub %q: ${%s} is %v, not a string", format, name, v)
		}
		return fmt.Sprint(v)
	})
	return strings.ReplaceAll(out, "${!", "${"), err
}

// uuid is a fixed, well-formed id made from seed.
func uuid(seed string) string {
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(seed)))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
