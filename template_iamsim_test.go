package teamkeys_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/testing/iamsim"
)

// The stack the deployed policies are evaluated in: testAccount and
// testStack, in simRegion, every parameter at its default but those in
// simParameters (a parameter that deploys a function or a statement only
// when set belongs there, so that the matrix sees it).
const simRegion = "us-east-1"

// MemberEventPublisherArns deploys the member-event path (MemberRemoved):
// with it empty, the function is not deployed and not judged.
var simParameters = map[string]any{
	"MemberEventPublisherArns": []any{"arn:aws:iam::111122223333:role/console-backend"},
}

// The managed policies SAM attaches to every function's role: logs and
// X-Ray only, nothing of the table, the key, the buses or the queues. Any
// other managed policy fails the matrix: its statements are not evaluated.
var knownManagedPolicies = []string{
	"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
	"arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}

// exampleItems are a key of each kind of item (items.go's layout), by its
// dynamodb:LeadingKeys pattern; a pattern of the template not listed is
// tried with its * made "x".
var exampleItems = map[string]string{
	keyItems:     "KEY#TKAKAAAAAAAAAAAAAAAAAAAA",
	counterItems: "MEMBER#t1#alice",
	policyItems:  "POLICY#t1",
	replayItems:  "IDEMPOTENCY#" + strings.Repeat("0f", 32),
	auditItems:   "AUDIT#t1",
	teamKeyItems: "TEAMKEY#t1",
	leaseItems:   "SWEEPLEASE",
}

func exampleItem(pattern string) string {
	if k, ok := exampleItems[pattern]; ok {
		return k
	}
	return strings.ReplaceAll(pattern, "*", "x")
}

// A kmsContext is an encryption context a call may come with; kind names
// the grant's context it is (secretContext, replayContext, teamKeyContext),
// "" for none: no function may use it. keyPolicy lists the functions whose
// roles the key policy alone lets decrypt with it.
type kmsContext struct {
	name      string
	ec        map[string]string
	kind      string
	keyPolicy []string
}

func kmsContexts() []kmsContext {
	record := strings.Repeat("0f", 32)
	secret := map[string]string{seal.ContextTeamID: "t1", seal.ContextMemberID: "alice", seal.ContextAccessKeyID: "TKAKAAAAAAAAAAAAAAAAAAAA"}
	withReplayers := slices.Compact(sorted(append(slices.Clone(verifiers), replayers...)))
	return []kmsContext{
		{"a key's secret (three ids)", secret, secretContext, verifiers},
		// GenerateKey and RotateKey seal to a team's public key, and can
		// never open what they sealed.
		{"a team's private key", seal.TeamKeyPairContext("t1"), teamKeyContext, verifiers},
		{"a replay record", map[string]string{seal.ContextPurpose: seal.PurposeReplay, seal.ContextRecord: record}, replayContext, withReplayers},
		{"a team key pair's purpose with a key's ids", map[string]string{seal.ContextPurpose: seal.PurposeTeamKeyPair, seal.ContextTeamID: "t1",
			seal.ContextMemberID: "alice", seal.ContextAccessKeyID: "TKAKAAAAAAAAAAAAAAAAAAAA"}, "", verifiers},
		{"no encryption context", nil, "", verifiers},
		{"a replay purpose without recordId", map[string]string{seal.ContextPurpose: seal.PurposeReplay}, "", withReplayers},
		{"another purpose", map[string]string{seal.ContextPurpose: "other", seal.ContextRecord: record}, "", verifiers},
		{"a recordId without purpose", map[string]string{seal.ContextRecord: record}, "", verifiers},
		{"a secret's ids with the replay purpose", map[string]string{seal.ContextTeamID: "t1", seal.ContextMemberID: "alice",
			seal.ContextAccessKeyID: "TKAKAAAAAAAAAAAAAAAAAAAA", seal.ContextPurpose: seal.PurposeReplay}, "", withReplayers},
		{"a team's private key, another team's purpose", map[string]string{seal.ContextPurpose: "team-keypair-2", seal.ContextTeamID: "t1"}, "", verifiers},
	}
}

// kmsActions are the KMS calls asked about for every function and context.
var kmsActions = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKeyPairWithoutPlaintext", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}

// tableItemActions are the calls on the table's items asked about for every
// function and kind of item.
var tableItemActions = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"}

// streamActions are the calls on the table's stream. ListStreams is not
// among them: it takes no resource (IAM's "*", iam-simulate says so), and
// the template, which allows no "*", grants it on the stream only.
var streamActions = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}

// A simCase is one request and the decision the design wants.
type simCase struct {
	who, what string
	req       iamsim.Request
	allow     bool
	// explicit: denied by a Deny (the key policy's), not for want of an Allow.
	explicit bool
}

// simWorld is the deployed stack's roles, resources and policies.
type simWorld struct {
	policies                       map[string]any
	roles                          map[string]string   // function → role ARN
	identity                       map[string][]string // function → its policies' names in policies
	table, stream, key, bus, queue string
	indexes                        []string
	itemKinds                      []string
}

func loadSimWorld(t *testing.T) simWorld {
	t.Helper()
	st := iamsim.Stack{Account: testAccount, Region: simRegion, Name: testStack, Parameters: simParameters, Template: iamsim.Translate(t)}
	w := simWorld{policies: map[string]any{}, roles: map[string]string{}, identity: map[string][]string{}}
	must := func(v string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	w.table = must(st.GetAtt("KeysTable", "Arn"))
	w.stream = must(st.GetAtt("KeysTable", "StreamArn"))
	w.key = must(st.GetAtt("KeysKey", "Arn"))
	w.queue = must(st.GetAtt("PublishEventsFailures", "Arn"))
	// EventBusName's default, empty: the account's default bus.
	w.bus = fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", simRegion, testAccount)
	keyPolicy, err := st.Property("KeysKey", "KeyPolicy")
	if err != nil {
		t.Fatal(err)
	}
	w.policies["KeysKey"] = keyPolicy

	fns, err := st.Resources("AWS::Lambda::Function")
	if err != nil {
		t.Fatal(err)
	}
	resources, _ := st.Template["Resources"].(map[string]any)
	kinds := map[string]bool{}
	for k := range exampleItems {
		kinds[k] = true
	}
	for _, fn := range fns {
		props, _ := resources[fn].(map[string]any)["Properties"].(map[string]any)
		ref, _ := props["Role"].(map[string]any)["Fn::GetAtt"].([]any)
		if len(ref) != 2 {
			t.Fatalf("%s: Role %v is not a role of the stack", fn, props["Role"])
		}
		role, _ := ref[0].(string)
		w.roles[fn] = must(st.GetAtt(role, "Arn"))
		managed, err := st.Property(role, "ManagedPolicyArns")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range anyStrings(managed) {
			if !slices.Contains(knownManagedPolicies, m) {
				t.Errorf("%s: the managed policy %s: the matrix cannot evaluate its statements", fn, m)
			}
		}
		inline, err := st.Property(role, "Policies")
		if err != nil {
			t.Fatal(err)
		}
		list, _ := inline.([]any)
		for _, p := range list {
			pm, _ := p.(map[string]any)
			name := fmt.Sprintf("%s/%v", role, pm["PolicyName"])
			w.policies[name] = pm["PolicyDocument"]
			w.identity[fn] = append(w.identity[fn], name)
			doc, _ := pm["PolicyDocument"].(map[string]any)
			stmts, _ := doc["Statement"].([]any)
			for _, s := range stmts {
				for _, k := range leadingKeys(s.(map[string]any)) {
					kinds[k] = true
				}
			}
		}
	}
	for _, g := range loadTemplate(t).indexes(t) {
		w.indexes = append(w.indexes, g.IndexName)
	}
	w.itemKinds = slices.Sorted(maps.Keys(kinds))
	return w
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// request is a call of a function: from its role's session (aws:PrincipalArn
// the role), with its role's policies, and the key policy for a KMS call.
func (w simWorld) request(fn, action, resource string, ctx map[string]any) iamsim.Request {
	role := w.roles[fn]
	roleName := role[strings.LastIndex(role, "/")+1:]
	if ctx == nil {
		ctx = map[string]any{}
	}
	ctx["aws:PrincipalArn"] = role
	r := iamsim.Request{
		Principal: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s-%s-%s", testAccount, roleName, testStack, fn, iamsim.Suffix),
		Action:    action, Resource: resource, Account: testAccount, Context: ctx, Identity: w.identity[fn],
	}
	if strings.HasPrefix(action, "kms:") {
		r.ResourcePolicy = "KeysKey"
	}
	return r
}

// ecContext is the request context of a KMS call with the encryption
// context ec.
func ecContext(ec map[string]string, action string) map[string]any {
	ctx := map[string]any{}
	var keys []string
	for k, v := range ec {
		ctx["kms:EncryptionContext:"+k] = v
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		ctx["kms:EncryptionContextKeys"] = keys
	}
	if action == "kms:GenerateDataKeyPairWithoutPlaintext" {
		ctx["kms:DataKeyPairSpec"] = string(types.DataKeyPairSpecEccNistP256) // internal/seal's team key pairs
	}
	return ctx
}

// grantContext is the request context of the call a grant stands for, as
// the code makes it.
func grantContext(g grant) map[string]any {
	ctx := map[string]any{}
	if g.items != "" {
		ctx["dynamodb:LeadingKeys"] = []string{exampleItem(g.items)}
	}
	if g.writes != "" {
		ctx["dynamodb:Attributes"] = writes[g.writes]
	}
	if g.reads != "" {
		ctx["dynamodb:Attributes"] = reads[g.reads]
		ctx["dynamodb:Select"] = "SPECIFIC_ATTRIBUTES"
	}
	if g.returnValues != "" {
		ctx["dynamodb:ReturnValues"] = g.returnValues
	}
	return ctx
}

// resourceOf is the resource a grant's call names.
func (w simWorld) resourceOf(g grant) string {
	switch service, _, _ := strings.Cut(g.action, ":"); service {
	case "kms":
		return w.key
	case "events":
		return w.bus
	case "sqs":
		return w.queue
	}
	switch g.on {
	case "":
		return w.table
	case onTheStream:
		return w.stream
	}
	return w.table + "/index/" + g.on
}

// attributeUniverse is every attribute any write or read names.
func attributeUniverse() []string {
	set := map[string]bool{}
	for _, rows := range []map[string][]string{writes, reads} {
		for _, attrs := range rows {
			for _, a := range attrs {
				set[a] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// extraAttributes are the attributes a call naming row is tried with, one
// at a time, beyond it: the secret's, status (a verifier must not enable a
// key), and the first other attribute of any row (each is one request: the
// simulator's ForAllValues on two long lists is the matrix's cost). None
// for a call that names no attribute.
func extraAttributes(row, universe []string) []string {
	if row == nil {
		return nil
	}
	var out []string
	for _, a := range append(slices.Clone(secretAttributes), "status") {
		if !slices.Contains(row, a) {
			out = append(out, a)
		}
	}
	for _, a := range universe {
		if !slices.Contains(row, a) && !slices.Contains(out, a) {
			return append(out, a)
		}
	}
	return out
}

func withContext(ctx map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(ctx)+1)
	for key, val := range ctx {
		out[key] = val
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// simCases is the matrix: every call each function's code makes, allowed;
// around each, what the design denies it; and the key policy alone.
func (w simWorld) simCases(t *testing.T, grants map[string][]grant) []simCase {
	var cases []simCase
	add := func(who, what string, allow bool, req iamsim.Request) {
		cases = append(cases, simCase{who: who, what: what, req: req, allow: allow})
	}
	fns := slices.Sorted(maps.Keys(w.roles))
	universe := attributeUniverse()
	for _, fn := range fns {
		gs, ok := grants[fn]
		if !ok {
			t.Errorf("%s: the template deploys it, functionGrants names none of its calls", fn)
			continue
		}
		has := func(match func(grant) bool) bool { return slices.ContainsFunc(gs, match) }
		// Every call the code makes.
		for _, g := range gs {
			if g.action == "dynamodb:ListStreams" {
				continue // streamActions says why
			}
			ctx := grantContext(g)
			if g.context != "" {
				for _, c := range kmsContexts() {
					if c.kind == g.context {
						ctx = ecContext(c.ec, g.action)
					}
				}
			}
			if g.action == "events:PutEvents" {
				ctx["events:source"] = []string{"teamkeys"}
			}
			add(fn, "its own call", true, w.request(fn, g.action, w.resourceOf(g), ctx))

			// The same call, one attribute more (each of extraAttributes);
			// the whole item read, or read back.
			rowAttrs, _ := ctx["dynamodb:Attributes"].([]string)
			for _, a := range extraAttributes(rowAttrs, universe) {
				add(fn, "its own call naming "+a, false, w.request(fn, g.action, w.resourceOf(g),
					withContext(ctx, "dynamodb:Attributes", append(slices.Clone(rowAttrs), a))))
			}
			if g.reads != "" {
				add(fn, "its own read, of the whole item", false, w.request(fn, g.action, w.resourceOf(g), withContext(ctx, "dynamodb:Attributes", nil)))
				add(fn, "its own read, Select ALL_ATTRIBUTES", false, w.request(fn, g.action, w.resourceOf(g), withContext(ctx, "dynamodb:Select", "ALL_ATTRIBUTES")))
			}
			if g.returnValues == "NONE" {
				for _, rv := range []string{"ALL_OLD", "ALL_NEW"} {
					add(fn, "its own write, ReturnValues "+rv, false, w.request(fn, g.action, w.resourceOf(g), withContext(ctx, "dynamodb:ReturnValues", rv)))
				}
			}
			if g.action == "events:PutEvents" {
				for what, src := range map[string][]string{"another source": {"other"}, "a batch with another source": {"teamkeys", "other"}} {
					add(fn, "PutEvents with "+what, false, w.request(fn, g.action, w.bus, withContext(ctx, "events:source", src)))
				}
				add(fn, "PutEvents naming no source", false, w.request(fn, g.action, w.bus, withContext(ctx, "events:source", nil)))
				add(fn, "PutEvents on another bus", false, w.request(fn, g.action, fmt.Sprintf("arn:aws:events:%s:%s:event-bus/other", simRegion, testAccount), ctx))
			}
			if g.action == "kms:GenerateDataKeyPairWithoutPlaintext" {
				add(fn, "a key pair of another spec", false, w.request(fn, g.action, w.key, withContext(ctx, "kms:DataKeyPairSpec", string(types.DataKeyPairSpecRsa2048))))
			}
		}
		// Another kind of item: every call on the table that no grant
		// makes on that kind of item, naming no attribute (ForAllValues
		// holds for none: the most a caller can leave out).
		for _, a := range tableItemActions {
			for _, kind := range w.itemKinds {
				if has(func(g grant) bool { return g.action == a && g.on == "" && g.items == kind }) {
					continue
				}
				add(fn, "an item "+kind+" it has no call on", false, w.request(fn, a, w.table,
					map[string]any{"dynamodb:LeadingKeys": []string{exampleItem(kind)}}))
			}
		}
		add(fn, "a Scan of the table", false, w.request(fn, "dynamodb:Scan", w.table, nil))
		for _, index := range w.indexes {
			if !has(func(g grant) bool { return g.action == "dynamodb:Query" && g.on == index }) {
				add(fn, "a Query of the index "+index, false, w.request(fn, "dynamodb:Query", w.table+"/index/"+index, nil))
			}
			add(fn, "a Scan of the index "+index, false, w.request(fn, "dynamodb:Scan", w.table+"/index/"+index, nil))
		}
		for _, a := range streamActions {
			if !has(func(g grant) bool { return g.action == a && g.on == onTheStream }) {
				add(fn, "the table's stream", false, w.request(fn, a, w.stream, nil))
			}
		}
		if !has(func(g grant) bool { return g.action == "events:PutEvents" }) {
			add(fn, "PutEvents", false, w.request(fn, "events:PutEvents", w.bus, map[string]any{"events:source": []string{"teamkeys"}}))
		}
		if !has(func(g grant) bool { return g.action == "sqs:SendMessage" }) {
			add(fn, "PublishEvents' failure queue", false, w.request(fn, "sqs:SendMessage", w.queue, nil))
		}
		// Every KMS call with every context, the role's policies and the
		// key policy together: only the grants' own.
		for _, a := range kmsActions {
			for _, c := range kmsContexts() {
				allow := c.kind != "" && has(func(g grant) bool { return g.action == a && g.context == c.kind })
				add(fn, a+" with "+c.name, allow, w.request(fn, a, w.key, ecContext(c.ec, a)))
			}
		}
	}

	// The key policy alone (each principal's IAM allowing it kms:*): it
	// lets decrypt only the roles of keyPolicy, never outsiders, and what a
	// principal may not decrypt it may not re-encrypt either; it denies no
	// one administration or sealing.
	w.policies["kms:*"] = map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}}
	type principal struct{ name, arn, session string }
	var principals []principal
	for _, fn := range fns {
		r := w.request(fn, "", "", nil)
		principals = append(principals, principal{fn, w.roles[fn], r.Principal})
	}
	for _, p := range []string{
		"arn:aws:iam::" + testAccount + ":role/Admin",
		"arn:aws:iam::" + testAccount + ":user/alice",
		functionRole("teamkeys-dev", "WhoAmI"),      // another stack's verifier
		functionRole("teamkeys-dev", "GenerateKey"), // another stack's replayer
	} {
		principals = append(principals, principal{p, p, p})
	}
	for _, p := range principals {
		req := func(action string, ec map[string]string) iamsim.Request {
			return iamsim.Request{Principal: p.session, Action: action, Resource: w.key, Account: testAccount,
				Context: withContext(ecContext(ec, action), "aws:PrincipalArn", p.arn), Identity: []string{"kms:*"}, ResourcePolicy: "KeysKey"}
		}
		for _, c := range kmsContexts() {
			lets := slices.Contains(c.keyPolicy, p.name)
			for _, a := range []string{"kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"} {
				if !lets || a == "kms:Decrypt" {
					add(p.name, "the key policy alone: "+a+" with "+c.name, lets, req(a, c.ec))
					cases[len(cases)-1].explicit = !lets
				}
			}
		}
		for _, a := range []string{"kms:PutKeyPolicy", "kms:DescribeKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKeyPairWithoutPlaintext"} {
			add(p.name, "the key policy alone: "+a, true, req(a, nil))
		}
	}
	root := "arn:aws:iam::" + testAccount + ":root"
	for _, c := range kmsContexts() {
		add("the account root", "kms:Decrypt with "+c.name, false, iamsim.Request{Principal: root, Action: "kms:Decrypt", Resource: w.key,
			Account: testAccount, Context: withContext(ecContext(c.ec, "kms:Decrypt"), "aws:PrincipalArn", root), ResourcePolicy: "KeysKey"})
		cases[len(cases)-1].explicit = true
	}
	return cases
}

// TestLeastPrivilegeSimulated asks AWS's policy evaluation logic
// (@cloud-copilot/iam-simulate, internal/testing/iamsim) about the policies
// the stack deploys, template.yaml as SAM translates it: every call each
// function's code makes (functionGrants: the table, its indexes and stream,
// the key with its encryption context, the bus, the queue) is allowed; the
// same call naming one attribute more, reading the whole item or reading
// it back, another kind of item, an index, the stream, a bus, a queue or a
// KMS call with a context no grant of the function makes is denied; the
// key policy and the role's policies evaluated together (one account), and
// the key policy alone. Functions, indexes and kinds of item come from the
// template.
func TestLeastPrivilegeSimulated(t *testing.T) {
	w := loadSimWorld(t)
	cases := w.simCases(t, functionGrants())
	batch := iamsim.Batch{Policies: w.policies}
	for _, c := range cases {
		batch.Requests = append(batch.Requests, c.req)
	}
	decisions := iamsim.Run(t, batch)
	allows, denies, own := 0, 0, 0
	for i, c := range cases {
		d := decisions[i]
		switch {
		case d.Error != "":
			t.Errorf("%s, %s: the simulator cannot evaluate %s: %s", c.who, c.what, c.req.Explain(), d.Error)
		case len(d.Ignored) > 0:
			t.Errorf("%s, %s: the simulator ignores the context keys %v of %s", c.who, c.what, d.Ignored, c.req.Explain())
		case c.allow && d.Result != iamsim.Allowed:
			t.Errorf("%s, %s: %s, want Allowed: %s", c.who, c.what, d.Result, c.req.Explain())
		case !c.allow && d.Result == iamsim.Allowed:
			t.Errorf("%s, %s: Allowed, want denied: %s", c.who, c.what, c.req.Explain())
		case c.explicit && d.Result != iamsim.ExplicitlyDenied:
			t.Errorf("%s, %s: %s, want ExplicitlyDenied (by the key policy): %s", c.who, c.what, d.Result, c.req.Explain())
		}
		if c.what == "its own call" {
			own++
		}
		if c.allow {
			allows++
		} else {
			denies++
		}
	}
	b, _ := json.Marshal(map[string]int{"allowed": allows, "denied": denies, "the functions' own calls": own})
	t.Logf("iam-simulate %s: %s cases", iamsim.Version(t), b)
}
