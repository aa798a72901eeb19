package teamkeys_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/local/tabledef"
	"github.com/teamkeys/teamkeys/internal/offboard"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/testing/lambdarie"
)

// template is template.yaml as generic JSON, intrinsics left unresolved
// ({"Ref": …}, {"Fn::GetAtt": …}).
type template struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Mappings   map[string]map[string]map[string]any
	Globals    struct {
		Function struct {
			Environment                  struct{ Variables map[string]any }
			ReservedConcurrentExecutions any
			Timeout                      any
		}
		HttpApi map[string]any
	}
	Resources map[string]resource
	Outputs   map[string]map[string]any
}

type resource struct {
	Type                string
	Condition           string
	DeletionPolicy      string
	UpdateReplacePolicy string
	Properties          map[string]any
	Metadata            map[string]any
}

func loadTemplate(t *testing.T) template {
	t.Helper()
	raw, err := intrinsics.ProcessYAML(teamkeys.TemplateYAML, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	// The table's Fn::If entries (the audit indexes) resolved on the
	// parameters' defaults, as the local table is made.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tabledef.ResolveTableIfs(doc)
	if raw, err = json.Marshal(doc); err != nil {
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
			if _, ok := scheduledFunctions[fn]; ok {
				if ev["Type"] != "Schedule" {
					t.Errorf("%s event %s is %v: a scheduled function serves no route", fn, name, ev["Type"])
				}
				continue
			}
			if _, ok := eventFunctions[fn]; ok {
				if ev["Type"] != "EventBridgeRule" {
					t.Errorf("%s event %s is %v: a function of another system's events serves no route", fn, name, ev["Type"])
				}
				continue
			}
			p := ev["Properties"].(map[string]any)
			// The gateway knows two kinds of route: behind the JWT
			// authorizer, or public (Authorizer NONE: the function checks
			// the signature, an access key's or GitHub's). A route of a
			// REST API (Type Api: the leak report API) has no authorizer.
			public := false
			var api any
			switch ev["Type"] {
			case "HttpApi":
				api = p["ApiId"]
				if a, _ := p["Auth"].(map[string]any); a != nil && a["Authorizer"] == "NONE" {
					public = true
				}
			case "Api":
				api, public = p["RestApiId"], p["Auth"] == nil
			default:
				t.Errorf("%s event %s is %v, want HttpApi or Api", fn, name, ev["Type"])
				continue
			}
			ref, _ := api.(map[string]any)
			inTemplate = append(inTemplate, fmt.Sprintf("%s %s %s public=%v api=%v", p["Method"], p["Path"], fn, public, ref["Ref"]))
		}
	}
	for _, r := range httpapi.Routes {
		inCode = append(inCode, fmt.Sprintf("%s %s %s public=%v api=%s", r.Method, r.Path, r.Function, r.Public(), r.API()))
	}
	sort.Strings(inTemplate)
	sort.Strings(inCode)
	if !slices.Equal(inTemplate, inCode) {
		t.Fatalf("template routes:\n%s\nroute table:\n%s", strings.Join(inTemplate, "\n"), strings.Join(inCode, "\n"))
	}
	// Every function but the authorizer (which fronts other APIs), the
	// scheduled ones and those of another system's events serves routes of
	// the table.
	fns := slices.DeleteFunc(tmpl.functions(), func(f string) bool {
		_, isScheduled := scheduledFunctions[f]
		_, onEvents := eventFunctions[f]
		_, onStream := streamFunctions[f]
		return f == authorizerFunction || isScheduled || onEvents || onStream
	})
	if !slices.Equal(fns, sorted(httpapi.Functions())) {
		t.Fatalf("template functions %v, route table functions %v", fns, httpapi.Functions())
	}
}

const authorizerFunction = "Authorizer"

// scheduledFunctions run on an EventBridge schedule, not behind a route:
// each function and the parameter that holds its schedule expression.
var scheduledFunctions = map[string]string{"SweepExpiredKeys": "SweepSchedule"}

// eventFunctions run on another system's events, delivered by an
// EventBridge rule, not behind a route: each function and the parameter
// that names the events' source.
var eventFunctions = map[string]string{"MemberRemoved": "MemberEventSource"}

// streamFunctions run on the keys table's stream (an
// AWS::Lambda::EventSourceMapping), not behind a route: each function and
// its mapping.
var streamFunctions = map[string]string{"PublishEvents": "PublishEventsStream"}

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
	for _, name := range []string{"TEAMKEYS_TABLE", "TEAMKEYS_KMS_KEY_ID", "TEAMKEYS_CLAIM_SUB", "TEAMKEYS_CLAIM_TEAM", "TEAMKEYS_CLAIM_ROLE", "TEAMKEYS_LOG_LEVEL", "TEAMKEYS_SIGNING_REGION", "TEAMKEYS_AUDIT_RETENTION_DAYS"} {
		if _, ok := global[name]; !ok {
			t.Errorf("Globals lacks %s", name)
		}
	}
	// Audit records are kept AuditRetentionDays (400 by default, at least
	// one), every function told so (internal/config reads it).
	if b, _ := json.Marshal(global["TEAMKEYS_AUDIT_RETENTION_DAYS"]); string(b) != `{"Fn::Sub":"${AuditRetentionDays}"}` {
		t.Errorf("Globals TEAMKEYS_AUDIT_RETENTION_DAYS = %s, want AuditRetentionDays (as a string: Sub)", b)
	}
	if p := tmpl.Parameters["AuditRetentionDays"]; p["Type"] != "Number" || p["Default"] != float64(400) || p["MinValue"] != float64(1) {
		t.Errorf("parameter AuditRetentionDays: %v, want a Number, Default 400, MinValue 1", p)
	}
	env, _ := tmpl.Resources["ListKeys"].Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if _, ok := vars["TEAMKEYS_PAGE_TOKEN_KEY"]; !ok {
		t.Error("ListKeys lacks TEAMKEYS_PAGE_TOKEN_KEY")
	}
}

// writes is what each write of internal/dynamostore names, by IAM's
// dynamodb:Attributes: the item's key, the attributes it sets and those its
// condition reads (IAM counts those too, and cannot tell them from written
// ones). template.yaml's Mappings.Writes must say exactly this.
var writes = map[string][]string{
	// Create (and its replacement of an expired key), Rotate (the new
	// key): Put of the key item
	// (the lastUsed… attributes are empty, so not written; expiresAt,
	// gsi2pk, gsi2sk only for a key that expires, rotatedFrom only for a
	// rotated one), condition attribute_not_exists(pk).
	"NewKeyItem": {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "accessKeyId", "teamId", "memberId", "status", "description",
		"createdAt", "createdBy", "expiresAt", "rotatedFrom", "secretCiphertext", "secretSha256", "allowedCidrs", "scopes"},
	// Create, Rotate with a grace period: ADD keyCount, SET teamId,
	// memberId on the counter item, condition on keyCount.
	"TakeSlot": {"pk", "sk", "keyCount", "teamId", "memberId"},
	// Delete, DeleteExpired (the sweep), DeleteMemberKeys (each key
	// through Delete): ADD keyCount -1, condition on keyCount.
	"FreeSlot": {"pk", "sk", "keyCount"},
	// SetStatus: SET status, condition ownedBy (pk, teamId,
	// memberId) and the status read (GetKey first) and, to enable, no
	// leakedAt or leakUrl (leaked.go notLeaked), in a transaction with its
	// audit record, ReturnValues NONE. No lastUse, no ciphertext, no counter, no
	// index key.
	"SetStatus": {"pk", "sk", "teamId", "memberId", "status", "leakedAt", "leakUrl"},
	// UpdateKey (restrictions.go): SET description, SET or REMOVE
	// allowedCidrs and scopes, condition ownedBy (pk, teamId, memberId),
	// attribute_not_exists(rotatedTo) and the values read, in a
	// transaction with its audit record, ReturnValues NONE.
	"UpdateKey": {"pk", "sk", "teamId", "memberId", "rotatedTo", "description", "allowedCidrs", "scopes"},
	// DisableLeaked (writeLeakDisable): SET status, leakedAt and leakUrl, condition
	// ownedBy (pk, teamId, memberId), the status read (the BySecretHash
	// index) and, from Inactive, leakUrl (absent or another), in a
	// transaction with its audit record, ReturnValues NONE.
	"LeakDisable": {"pk", "sk", "teamId", "memberId", "status", "leakedAt", "leakUrl"},
	// RecordUse: SET lastUsedAt, lastUsedIp, lastUsedScheme, condition
	// ownedBy and lastUsedAt. Not status: a verifier cannot enable a key.
	// teamId and memberId only because the condition reads them; a key
	// moved so would no longer decrypt (its encryption context).
	"RecordUse": {"pk", "sk", "teamId", "memberId", "lastUsedAt", "lastUsedIp", "lastUsedScheme"},
	// SetPolicy: Put of the team's policy item, no condition
	// (maxLifetimeDays absent: no limit).
	"PutPolicy": {"pk", "sk", "teamId", "maxLifetimeDays", "allowedCidrs", "defaultScopes", "updatedAt", "updatedBy", "expiryWarningDays", "disableUnusedAfterDays", "allowSelfRotation"},
	// SetPolicy (dormant.go txDormantRegistry): Put of the team's entry
	// in the registry of teams that disable unused keys.
	"DormantTeam": {"pk", "sk", "teamId"},
	// WarnDormant, DisableDormant (dormant.go): SET dormantWarnedFor, or
	// status and dormantAt, condition ownedBy, status, rotatedTo and
	// lastUsedAt, in a transaction with its audit record.
	"Dormant": {"pk", "sk", "teamId", "memberId", "status", "rotatedTo", "lastUsedAt", "dormantAt", "dormantWarnedFor"},
	// Rotate with a grace period (txRetireKey): SET rotatedTo, expiresAt,
	// gsi2pk, gsi2sk on the old key item, condition ownedBy (pk, teamId,
	// memberId) and notRotated (rotatedTo, expiresAt, and the description
	// and restrictions the new key copied). Not status, not the secret: a
	// retired key keeps working until its expiry.
	"RetireKey": {"pk", "sk", "teamId", "memberId", "rotatedTo", "expiresAt", "gsi2pk", "gsi2sk", "description", "allowedCidrs", "scopes"},
	// AcquireSweepLease, ReleaseSweepLease (the sweep, one run at a time):
	// UpdateItem of the lease item, SET leaseOwner, leaseUntil, condition
	// attribute_not_exists(pk) OR leaseUntil (take), leaseOwner (release).
	"SweepLease": {"pk", "sk", "leaseOwner", "leaseUntil", "warnPassAt"},
	// WarnExpiring (expirywarn.go): SET expiryWarnedDays, condition
	// ownedBy, status, rotatedTo, expiresAt and expiryWarnedDays, in a
	// transaction with its audit record, ReturnValues NONE.
	"ExpiryWarning": {"pk", "sk", "teamId", "memberId", "status", "rotatedTo", "expiresAt", "expiryWarnedDays"},
	// Create, Rotate with an Idempotency-Key (txPutReplay): Put of the
	// replay record, the transaction's last action, condition
	// attribute_not_exists(pk) OR ttl < :now. ttl is the table's TTL
	// attribute (TestTemplateReplayRecordsExpire).
	"ReplayRecord": {"pk", "sk", "requestHash", "status", "answer", "createdAt", "ttl"},
	// Every change (Create, replaceExpired, Rotate, SetStatus, SetPolicy,
	// delete: Delete, DeleteExpired, DeleteMemberKeys; DisableLeaked, with
	// leakUrl and leakSource), in its own
	// transaction (withRecords, txPutAudit): Put of an audit record
	// (items.go auditItem; the omitempty ones only when set), condition
	// attribute_not_exists(pk). ttl is the table's TTL attribute: a
	// record expires AuditRetentionDays after its change.
	// PutTeamKeyPair (teamkeypair.go): UpdateItem creating a team's key
	// pair item, condition attribute_not_exists(pk): written once, never
	// changed.
	"NewTeamKeyPair": {"pk", "sk", "teamId", "publicKey", "privateKeyCiphertext", "createdAt"},
	"AuditRecord": {"pk", "sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk", "eventId", "time", "teamId", "memberId", "accessKeyId", "action", "actorType", "actorSub",
		"actorSourceIp", "actorUserAgent", "requestId", "statusBefore", "statusAfter", "expiresAt", "rotatedFrom", "maxLifetimeDays", "leakUrl", "leakSource", "changes", "ttl"},
}

// auditIndexAttributes are what the audit indexes project: an audit
// record's attributes besides its keys, as the release that created the
// indexes wrote them. A deployed index's projection cannot change (a stack
// update that changes it fails), so an attribute added since (changes) is
// read from the table (Mappings.Reads.AuditChanges).
var auditIndexAttributes = []string{"eventId", "time", "teamId", "memberId", "accessKeyId", "action", "actorType", "actorSub",
	"actorSourceIp", "actorUserAgent", "requestId", "statusBefore", "statusAfter", "expiresAt", "rotatedFrom", "maxLifetimeDays", "leakUrl", "leakSource", "ttl"}

// byTeamAttributes are what the ByTeam index projects: the shown
// attributes of the release that created it. The restrictions and the leak
// marks, added since, are read from the table (Mappings.Reads.ListExtras).
var byTeamAttributes = []string{"accessKeyId", "teamId", "memberId", "status", "description", "createdAt", "createdBy",
	"expiresAt", "rotatedFrom", "lastUsedAt", "lastUsedIp", "lastUsedScheme"}

// shownAttributes are the key attributes a response may show, as
// internal/dynamostore's items.go lists them (shownAttributes): what
// GetKey's projection names; the ByTeam index projects them but the
// restrictions (byTeamAttributes). Never
// secretCiphertext or secretSha256.
var shownAttributes = []string{"accessKeyId", "teamId", "memberId", "status", "description", "createdAt", "createdBy",
	"expiresAt", "rotatedFrom", "lastUsedAt", "lastUsedIp", "lastUsedScheme", "allowedCidrs", "scopes"}

// leakAttributes are a key's leak marks (items.go leakAttributes): GetKey
// and a list's BatchGetItem (ListExtras) read them; the ByTeam index,
// older than they are, does not project them.
var leakAttributes = []string{"leakedAt", "leakUrl"}

// secretAttributes are the key item's attributes that only the verifying
// functions may read.
var secretAttributes = []string{"secretCiphertext", "secretSha256"}

// reads is what each partial read of internal/dynamostore may name in its
// ProjectionExpression, by IAM's dynamodb:Attributes (the key included).
// template.yaml's Mappings.Reads must say exactly this.
var reads = map[string][]string{
	// GetKey (ListKeys, RotateKey, and SetStatus: DisableKey, EnableKey)
	// and rotateRefusal (RotateKey): GetItem of one key item, projected to
	// pk and the shown attributes.
	"ShownKey": append(append([]string{"pk", "sk"}, shownAttributes...), leakAttributes...),
	// leakRecorded (DisableLeaked, when both its conditions failed):
	// GetItem of one key item, projected to its owner, status and leakUrl.
	"LeakState": {"pk", "sk", "teamId", "memberId", "status", "leakUrl"},
	// ExpiryWarnState (expirywarn.go): the warning pass's projected read.
	"WarnState": {"pk", "sk", "teamId", "memberId", "status", "expiresAt", "rotatedTo", "expiryWarnedDays", "lastUsedAt", "createdAt", "dormantAt", "dormantWarnedFor"},
	// slotsTaken (DeleteMemberKeys: OffboardMember, MemberRemoved):
	// GetItem of a member's counter item, projected to keyCount.
	"SlotCount": {"pk", "sk", "keyCount"},
	// keysWithExtras (ListKeys' lists and report): BatchGetItem of a
	// page's key items, projected to what the ByTeam index does not
	// project, the restrictions and the leak marks.
	"ListExtras": {"pk", "sk", "allowedCidrs", "scopes", "leakedAt", "leakUrl", "dormantAt"},
	// withAuditChanges (ListKeys' member and key history): BatchGetItem of
	// a page's AccessKeyUpdated records, projected to their changes.
	"AuditChanges": {"pk", "sk", "changes"},
}

// Item kinds, as dynamodb:LeadingKeys patterns (items.go's layout).
const (
	keyItems     = "KEY#*"
	counterItems = "MEMBER#*"
	policyItems  = "POLICY#*"
	replayItems  = "IDEMPOTENCY#*"
	auditItems   = "AUDIT#*"
	teamKeyItems = "TEAMKEY#*"
	leaseItems   = "SWEEPLEASE"
	// dormantTeamItems: the registry of teams that disable unused keys.
	dormantTeamItems = "DORMANTTEAMS"
)

// The encryption contexts a kms: statement may admit (internal/seal): a
// key's secret's, exactly its three ids, or an idempotency key's replay
// record's, exactly {purpose: idempotent-replay, recordId}.
const (
	secretContext = "the three-id context"
	replayContext = "the replay context"
	// teamKeyContext is a team's private key's: exactly {purpose:
	// team-keypair, teamId}.
	teamKeyContext = "the team key pair context"
)

// verifiers open keys' secrets; replayers open replay records, and nothing
// else (TestLeastPrivilegeKeyPolicy).
var (
	verifiers = []string{"Authorizer", "SelfRotateKey", "WhoAmI"}
	replayers = []string{"GenerateKey", "RotateKey", "SelfRotateKey"}
	// changingVerifiers are verifiers that also change items (beyond the
	// last use), each with its audit record: a key's self-rotation.
	changingVerifiers = []string{"SelfRotateKey"}
)

// grant is one action a function's role may take, on the table's items
// or on one of its indexes. A function may have two grants of one action,
// each on its own kind of item (RotateKey's UpdateItem of a key item and
// of a counter): each is then its own statement, told apart by items.
type grant struct {
	action string
	// on is the index the statement names; "" for the table itself,
	// onTheStream for the table's stream.
	on string
	// items is the dynamodb:LeadingKeys pattern (ForAllValues:StringLike)
	// of the one kind of item a statement on the table may touch.
	items string
	// writes is the Mappings.Writes row a write's dynamodb:Attributes names.
	writes string
	// reads is the Mappings.Reads row a partial read's dynamodb:Attributes
	// names; the projection is then required (Null) and dynamodb:Select,
	// when present, SPECIFIC_ATTRIBUTES.
	reads string
	// returnValues is what dynamodb:ReturnValues is pinned to (NONE may be
	// implied: IfExists).
	returnValues string
	// context is the one encryption context a kms: statement admits
	// (secretContext or replayContext): a function may have two grants of
	// one kms: action, each its own statement, told apart by context.
	context string
}

// TestLeastPrivilege holds each function's IAM statements to the calls its
// code makes, and nothing more: the actions, the kind of item each may
// touch, the attributes each write may touch and each partial read may
// name, the ReturnValues each may ask for, the resources.
func TestLeastPrivilege(t *testing.T) {
	checkLeastPrivilege(t, loadTemplate(t), functionGrants())
}

// functionGrants are each function's grants: the calls its code makes
// (TestLeastPrivilegeSimulated asks AWS's evaluation logic about each).
func functionGrants() map[string][]grant {
	return map[string][]grant{
		// The team's policy read, then one transaction: the counter, the
		// key item, a check of the policy item. At the cap, the member's
		// keys from the index and one transaction: an expired key's
		// delete, the key item, the check. With an Idempotency-Key, the
		// replay record too (replayGrants).
		"GenerateKey": append([]grant{
			{action: "dynamodb:GetItem", items: policyItems},
			{action: "dynamodb:UpdateItem", items: counterItems, writes: "TakeSlot", returnValues: "NONE"},
			{action: "dynamodb:PutItem", items: keyItems, writes: "NewKeyItem", returnValues: "NONE"},
			{action: "dynamodb:ConditionCheckItem", items: policyItems},
			{action: "dynamodb:Query", on: "ByTeam"},
			{action: "dynamodb:DeleteItem", items: keyItems, returnValues: "NONE"},
			auditGrant,
		}, append(teamKeyPairGrants, replayGrants...)...),
		// The lists from the index; one key by a projected GetItem; the
		// team's audit records by a Query of the table, AUDIT# items only.
		"ListKeys": {
			{action: "dynamodb:Query", on: "ByTeam"},
			{action: "dynamodb:GetItem", items: keyItems, reads: "ShownKey"},
			// The report's team policy (disableUnusedAfterDays).
			{action: "dynamodb:GetItem", items: policyItems},
			{action: "dynamodb:Query", items: auditItems},
			// A member's and a key's audit history (dynamostore audit.go).
			{action: "dynamodb:Query", on: "ByMemberAudit"},
			{action: "dynamodb:Query", on: "ByKeyAudit"},
			// What those indexes do not project (dynamostore extras.go):
			// a page's keys' restrictions and leak marks, its
			// AccessKeyUpdated records' changes. Batch reads held to a
			// kind of item and a projection, as the GetItem; no batch write.
			{action: "dynamodb:BatchGetItem", items: keyItems, reads: "ListExtras"},
			{action: "dynamodb:BatchGetItem", items: auditItems, reads: "AuditChanges"},
		},
		// The key by a projected GetItem (never its secret), then one
		// transaction: its status, nothing read back, and the audit
		// record. IAM cannot condition on a value: DisableKey may write
		// status, Active included (docs/SECURITY.md).
		"DisableKey": setStatusGrants,
		"EnableKey":  setStatusGrants,
		// The key by a projected GetItem, then one transaction: its
		// description and restrictions, nothing read back, and the audit
		// record (restrictions.go UpdateKey).
		"UpdateKey": {
			{action: "dynamodb:GetItem", items: keyItems, reads: "ShownKey"},
			// Setting allowedCidrs: the team's policy copy, read and
			// checked in the transaction (dynamostore teampolicy.go).
			{action: "dynamodb:GetItem", items: policyItems},
			{action: "dynamodb:ConditionCheckItem", items: policyItems},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "UpdateKey", returnValues: "NONE"},
			auditGrant,
		},
		// A Delete removes a whole item: dynamodb:Attributes cannot bound
		// it, dynamodb:LeadingKeys bounds it to key items.
		"DeleteKey": {
			{action: "dynamodb:DeleteItem", items: keyItems, returnValues: "NONE"},
			{action: "dynamodb:UpdateItem", items: counterItems, writes: "FreeSlot", returnValues: "NONE"},
			auditGrant,
		},
		// Only the verifying functions may decrypt a secret, and only with
		// its three-id encryption context (checked below for every kms:
		// action; GenerateKey and RotateKey decrypt replay records only;
		// the key policy's side in TestLeastPrivilegeKeyPolicy).
		// A secret sealed to its team's key pair opens with the team's
		// private key, read and decrypted with the team key pair context.
		"WhoAmI": {
			{action: "dynamodb:GetItem", items: keyItems},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "RecordUse", returnValues: "NONE"},
			{action: "kms:Decrypt", context: secretContext},
			{action: "dynamodb:GetItem", items: teamKeyItems},
			{action: "kms:Decrypt", context: teamKeyContext},
		},
		"Authorizer": {
			{action: "dynamodb:GetItem", items: keyItems},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "RecordUse", returnValues: "NONE"},
			{action: "kms:Decrypt", context: secretContext},
			{action: "dynamodb:GetItem", items: teamKeyItems},
			{action: "kms:Decrypt", context: teamKeyContext},
		},
		// A team's policy item, read, and replaced in one transaction with
		// the audit record.
		"KeyPolicy": {
			{action: "dynamodb:GetItem", items: policyItems},
			{action: "dynamodb:PutItem", items: policyItems, writes: "PutPolicy", returnValues: "NONE"},
			// The legacy policy item, deleted with the copies' Puts.
			{action: "dynamodb:DeleteItem", items: policyItems, returnValues: "NONE"},
			// The registry of teams that disable unused keys (dormant.go).
			{action: "dynamodb:PutItem", items: dormantTeamItems, writes: "DormantTeam", returnValues: "NONE"},
			{action: "dynamodb:DeleteItem", items: dormantTeamItems, returnValues: "NONE"},
			auditGrant,
			// keysOutsidePolicy (dynamostore outside.go): the team's keys
			// as ListKeys' report reads them (the index, then what it does
			// not project).
			{action: "dynamodb:Query", on: "ByTeam"},
			{action: "dynamodb:BatchGetItem", items: keyItems, reads: "ListExtras"},
		},
		// The sweep's lease taken and released; the expired keys from the
		// sparse index, each deleted with its slot freed and its audit
		// record in one transaction.
		"SweepExpiredKeys": {
			{action: "dynamodb:UpdateItem", items: leaseItems, writes: "SweepLease", returnValues: "NONE"},
			{action: "dynamodb:Query", on: "ByExpiry"},
			{action: "dynamodb:DeleteItem", items: keyItems, returnValues: "NONE"},
			{action: "dynamodb:UpdateItem", items: counterItems, writes: "FreeSlot", returnValues: "NONE"},
			auditGrant,
			// Expiry warnings: the team's policy, the key's warn state,
			// the warning's Update (expirywarn.go).
			{action: "dynamodb:GetItem", items: policyItems},
			{action: "dynamodb:GetItem", items: keyItems, reads: "WarnState"},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "ExpiryWarning", returnValues: "NONE"},
			// Dormant keys: the registry, the teams' keys, the warning or
			// disable's Update (dormant.go).
			{action: "dynamodb:Query", items: dormantTeamItems},
			{action: "dynamodb:Query", on: "ByTeam"},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "Dormant", returnValues: "NONE"},
		},
		// The old key by a projected GetItem (never its secret), the
		// team's policy, then one transaction. With a grace period: the
		// old key item retired, the new key item, a check of the policy
		// item, the counter (at the cap: the member's keys from the index
		// and an expired key's delete instead). With none: the old key's
		// delete, the new key item, the check. IAM checks each part of the
		// transaction alone: the key item's Update and the counter's are
		// two statements, each held to its own kind of item and row. With
		// an Idempotency-Key, the replay record too (replayGrants).
		"RotateKey": append([]grant{
			{action: "dynamodb:GetItem", items: keyItems, reads: "ShownKey"},
			{action: "dynamodb:GetItem", items: policyItems},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "RetireKey", returnValues: "NONE"},
			{action: "dynamodb:PutItem", items: keyItems, writes: "NewKeyItem", returnValues: "NONE"},
			{action: "dynamodb:ConditionCheckItem", items: policyItems},
			{action: "dynamodb:UpdateItem", items: counterItems, writes: "TakeSlot", returnValues: "NONE"},
			{action: "dynamodb:Query", on: "ByTeam"},
			{action: "dynamodb:DeleteItem", items: keyItems, returnValues: "NONE"},
			auditGrant,
		}, append(teamKeyPairGrants, replayGrants...)...),
		// A key rotating itself: WhoAmI's verification (the key item read
		// whole, which also serves the rotation's read of the old key; its
		// last use; its secret opened) and RotateKey's rotation.
		"SelfRotateKey": append([]grant{
			{action: "dynamodb:GetItem", items: keyItems},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "RecordUse", returnValues: "NONE"},
			{action: "kms:Decrypt", context: secretContext},
			{action: "dynamodb:GetItem", items: teamKeyItems},
			{action: "kms:Decrypt", context: teamKeyContext},
			{action: "dynamodb:GetItem", items: policyItems},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "RetireKey", returnValues: "NONE"},
			{action: "dynamodb:PutItem", items: keyItems, writes: "NewKeyItem", returnValues: "NONE"},
			{action: "dynamodb:ConditionCheckItem", items: policyItems},
			{action: "dynamodb:UpdateItem", items: counterItems, writes: "TakeSlot", returnValues: "NONE"},
			{action: "dynamodb:Query", on: "ByTeam"},
			{action: "dynamodb:DeleteItem", items: keyItems, returnValues: "NONE"},
			auditGrant,
		}, append(teamKeyPairGrants, replayGrants...)...),
		// The member's keys from the index, each deleted with its slot
		// freed in one transaction (as DeleteKey does), then the member's
		// counter, projected to keyCount, until it says none is left. No
		// KMS. MemberRemoved, on the console's event, does the same (its
		// on-failure destination's sqs:SendMessage is SAM's, from
		// EventInvokeConfig: TestTemplateMemberRemovedRule).
		"OffboardMember": offboardGrants,
		"MemberRemoved":  offboardGrants,
		// A leaked secret's key from the BySecretHash index (whose key,
		// its status), then one transaction: its status and last leak URL
		// and the AccessKeyLeaked record; only when that fails twice, the
		// key's owner, status and leak URL by a projected GetItem (a
		// repeated report, or a key gone). No KMS: the secret is hashed,
		// never opened.
		"LeakReport": {
			{action: "dynamodb:Query", on: "BySecretHash"},
			{action: "dynamodb:UpdateItem", items: keyItems, writes: "LeakDisable", returnValues: "NONE"},
			{action: "dynamodb:GetItem", items: keyItems, reads: "LeakState"},
			auditGrant,
		},
		// The table's stream read for it by its mapping (never an item of
		// the table: TestLeastPrivilegeStreamReaders), events of source
		// teamkeys put on one bus, and a failed batch's description sent
		// to its failure queue (TestTemplatePublishEvents).
		"PublishEvents": {
			{action: "dynamodb:DescribeStream", on: onTheStream},
			{action: "dynamodb:GetRecords", on: onTheStream},
			{action: "dynamodb:GetShardIterator", on: onTheStream},
			{action: "dynamodb:ListStreams", on: onTheStream},
			{action: "events:PutEvents"},
			{action: "sqs:SendMessage"},
		},
	}
}

// checkLeastPrivilege holds each function's statements to its grants.
func checkLeastPrivilege(t *testing.T, tmpl template, want map[string][]grant) {
	if got := slices.Sorted(maps.Keys(want)); !slices.Equal(got, tmpl.functions()) {
		t.Errorf("the test knows the grants of %v, the template has the functions %v", got, tmpl.functions())
	}
	for _, fn := range tmpl.functions() {
		var actions []string
		matched := map[int]bool{} // the grants of want[fn] a statement has taken
		for _, st := range tmpl.statements(t, fn) {
			if st["Effect"] != "Allow" {
				continue
			}
			if res, _ := json.Marshal(st["Resource"]); strings.Contains(string(res), `"*"`) || st["Resource"] == nil {
				t.Errorf("%s: wildcard or missing resource in %v", fn, st)
			}
			for _, a := range actionsOf(st) {
				actions = append(actions, a)
				i, ok := findGrant(want[fn], a, scopeOf(a, st), matched)
				if !ok {
					continue // reported below
				}
				matched[i] = true
				tmpl.checkGrant(t, fn, want[fn][i], st)
			}
		}
		sort.Strings(actions)
		wantActions := make([]string, 0, len(want[fn]))
		for _, g := range want[fn] {
			wantActions = append(wantActions, g.action)
		}
		sort.Strings(wantActions)
		if !slices.Equal(actions, wantActions) {
			t.Errorf("%s may %v, want exactly %v (one statement per grant)", fn, actions, wantActions)
		}
	}
	// The one place the attribute lists live says what the code writes and
	// reads.
	for section, rows := range map[string]map[string][]string{"Writes": writes, "Reads": reads} {
		for name, attrs := range rows {
			if got := tmpl.mappedAttributes(section, name); !slices.Equal(sorted(got), sorted(attrs)) {
				t.Errorf("Mappings.%s.%s.Attributes = %v, want %v", section, name, got, attrs)
			}
		}
		if len(tmpl.Mappings[section]) != len(rows) {
			t.Errorf("Mappings.%s has %d rows, want %d (one per row of the test's %s)", section, len(tmpl.Mappings[section]), len(rows), strings.ToLower(section))
		}
	}
	for _, attr := range secretAttributes {
		if slices.Contains(reads["ShownKey"], attr) {
			t.Errorf("the shown attributes include %s", attr)
		}
	}
}

// onTheStream is grant.on of a statement on the table's stream.
const onTheStream = "stream"

// onStream reports whether a statement's resource is the table's stream.
func onStream(st map[string]any) bool {
	b, _ := json.Marshal(st["Resource"])
	return strings.Contains(string(b), "/stream/")
}

// replayGrants are what an Idempotency-Key needs, GenerateKey's and
// RotateKey's: the record read whole (before the work, and again when the
// transaction finds it taken), its Put in the key's transaction, the answer
// sealed and opened with the replay context only.
var replayGrants = []grant{
	{action: "dynamodb:GetItem", items: replayItems},
	{action: "dynamodb:PutItem", items: replayItems, writes: "ReplayRecord", returnValues: "NONE"},
	{action: "kms:Encrypt", context: replayContext},
	{action: "kms:Decrypt", context: replayContext},
}

// teamKeyPairGrants are what sealing a secret to its team's public key
// needs, GenerateKey's and RotateKey's: the team's key pair item read, or
// a pair made by KMS (its private key encrypted, never returned in clear)
// and the item created once. No kms:Encrypt or kms:Decrypt of a secret.
var teamKeyPairGrants = []grant{
	{action: "dynamodb:GetItem", items: teamKeyItems},
	{action: "kms:GenerateDataKeyPairWithoutPlaintext", context: teamKeyContext},
	{action: "dynamodb:UpdateItem", items: teamKeyItems, writes: "NewTeamKeyPair", returnValues: "NONE"},
}

// offboardGrants are what DeleteMemberKeys needs: OffboardMember's and
// MemberRemoved's grants.
var offboardGrants = []grant{
	{action: "dynamodb:Query", on: "ByTeam"},
	{action: "dynamodb:DeleteItem", items: keyItems, returnValues: "NONE"},
	{action: "dynamodb:UpdateItem", items: counterItems, writes: "FreeSlot", returnValues: "NONE"},
	{action: "dynamodb:GetItem", items: counterItems, reads: "SlotCount"},
	auditGrant,
}

// auditGrant is every writer's: the Put of a change's audit record in the
// change's own transaction, held to its row, an audit record only, nothing
// read back. No writer may update or delete one (TestLeastPrivilegeAuditRecords).
var auditGrant = grant{action: "dynamodb:PutItem", items: auditItems, writes: "AuditRecord", returnValues: "NONE"}

// setStatusGrants are SetStatus's, DisableKey's and EnableKey's: the key
// read as ListKeys reads one (GetKey: the shown attributes only), then one
// transaction of its status (ReturnValues NONE: nothing read back, never
// the ciphertext) and the audit record.
var setStatusGrants = []grant{
	{action: "dynamodb:GetItem", items: keyItems, reads: "ShownKey"},
	{action: "dynamodb:UpdateItem", items: keyItems, writes: "SetStatus", returnValues: "NONE"},
	auditGrant,
}

// auditWriters are the functions that change something, each with the
// change's audit record in the same transaction; auditReaders list them.
var (
	auditWriters = []string{"DeleteKey", "DisableKey", "EnableKey", "GenerateKey", "KeyPolicy", "LeakReport", "MemberRemoved", "OffboardMember",
		"RotateKey", "SelfRotateKey", "SweepExpiredKeys", "UpdateKey"}
	auditReaders = []string{"ListKeys"}
)

// scope is what tells apart two statements of one action: the kind of item
// (dynamodb:LeadingKeys) a statement on the table touches, the encryption
// context a kms: statement admits.
type scope struct {
	items   []string
	context string
}

// scopeOf is the scope of a statement allowing action.
func scopeOf(action string, st map[string]any) scope {
	if strings.HasPrefix(action, "kms:") {
		return scope{context: contextOf(st["Condition"])}
	}
	return scope{items: leadingKeys(st)}
}

// findGrant is the index of the grant of gs that a statement allowing
// action on its scope stands for: one not taken yet of that action and
// scope, else any of that action (so that checkGrant reports how the
// statement differs).
func findGrant(gs []grant, action string, sc scope, taken map[int]bool) (int, bool) {
	sameScope := func(g grant) bool {
		if g.context != sc.context {
			return false
		}
		if g.items == "" {
			return sc.items == nil
		}
		return slices.Equal(sc.items, []string{g.items})
	}
	for _, pass := range []func(int, grant) bool{
		func(i int, g grant) bool { return !taken[i] && sameScope(g) },
		func(i int, g grant) bool { return !taken[i] },
		func(int, grant) bool { return true },
	} {
		for i, g := range gs {
			if g.action == action && pass(i, g) {
				return i, true
			}
		}
	}
	return 0, false
}

// checkGrant holds one Allow statement to the grant of one of its actions:
// its resource, and its condition, exactly.
func (tmpl template) checkGrant(t *testing.T, fn string, g grant, st map[string]any) {
	t.Helper()
	res, _ := json.Marshal(st["Resource"])
	switch service, _, _ := strings.Cut(g.action, ":"); service {
	case "kms":
		if g.context == "" {
			t.Errorf("test: %s's %s names no encryption context", fn, g.action)
		}
		if got := contextOf(st["Condition"]); got != g.context {
			t.Errorf("%s: %s admits %q, want exactly %s: %v", fn, g.action, got, g.context, st["Condition"])
		}
		if !isIf(st["Resource"], "CreateKeysKey", "KeysKey", "ExistingKmsKeyArn") {
			t.Errorf("%s: %s on %s, want the stack's key or ExistingKmsKeyArn", fn, g.action, res)
		}
		return
	case "events":
		// The one bus, EventBusName's or the default one, and only the
		// service's own source.
		want := `{"Fn::If":["HasEventBus",{"Fn::Sub":"arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"},` +
			`{"Fn::Sub":"arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}]}`
		if string(res) != want {
			t.Errorf("%s: %s on %s, want %s", fn, g.action, res, want)
		}
		if cond, _ := json.Marshal(st["Condition"]); string(cond) != `{"ForAllValues:StringEquals":{"events:source":["teamkeys"]},"Null":{"events:source":"false"}}` {
			t.Errorf("%s: %s with the condition %s, want events:source teamkeys only", fn, g.action, cond)
		}
		return
	case "sqs":
		if string(res) != `{"Fn::GetAtt":"PublishEventsFailures.Arn"}` || st["Condition"] != nil {
			t.Errorf("%s: %s on %s, want its failure queue, PublishEventsFailures, only", fn, g.action, res)
		}
		return
	case "dynamodb":
		if g.on == onTheStream {
			want := `{"Fn::If":["CreateKeysTable",{"Fn::Sub":"${KeysTable.Arn}/stream/*"},` +
				`{"Fn::Sub":"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${ExistingTableName}/stream/*"}]}`
			if string(res) != want || st["Condition"] != nil {
				t.Errorf("%s: %s on %s (condition %v), want the keys table's stream %s", fn, g.action, res, st["Condition"], want)
			}
			return
		}
		if !isIf(st["Resource"], "CreateKeysTable", "KeysTable", "ExistingTableName") {
			t.Errorf("%s: %s on %s, want the keys table (or its index) or ExistingTableName", fn, g.action, res)
		}
		branches, _ := st["Resource"].(map[string]any)["Fn::If"].([]any)
		for _, b := range branches[1:] {
			r, _ := json.Marshal(b)
			onIndex := strings.Contains(string(r), "/index/")
			if g.on == "" && onIndex || g.on != "" && !strings.HasSuffix(strings.TrimSuffix(string(r), `"}`), "/index/"+g.on) {
				t.Errorf("%s: %s on %s, want %s", fn, g.action, r, map[bool]string{true: "the table itself", false: "the index " + g.on}[g.on == ""])
			}
		}
		if g.on == "" && g.items == "" {
			t.Errorf("test: %s's %s on the table names no kind of item", fn, g.action)
		}
	default:
		t.Errorf("%s: %s: a service the test does not know", fn, g.action)
		return
	}
	want := map[string]map[string]any{}
	add := func(op, key string, v any) {
		if want[op] == nil {
			want[op] = map[string]any{}
		}
		want[op][key] = v
	}
	if g.items != "" {
		add("ForAllValues:StringLike", "dynamodb:LeadingKeys", []any{g.items})
	}
	for section, row := range map[string]string{"Writes": g.writes, "Reads": g.reads} {
		if row == "" {
			continue
		}
		add("ForAllValues:StringEquals", "dynamodb:Attributes", map[string]any{"Fn::FindInMap": []any{section, row, "Attributes"}})
		for _, key := range []string{"pk", "sk"} {
			if !slices.Contains(tmpl.mappedAttributes(section, row), key) {
				t.Errorf("Mappings.%s.%s lacks the key attribute %s: every call would be denied", section, row, key)
			}
		}
	}
	if g.reads != "" {
		// ForAllValues holds for a request that names no attribute (a
		// GetItem without a projection, which reads the whole item): Null
		// makes the projection mandatory.
		add("Null", "dynamodb:Attributes", "false")
		add("StringEqualsIfExists", "dynamodb:Select", "SPECIFIC_ATTRIBUTES")
	}
	// ReturnValues other than NONE read the whole item back: pinned to
	// what the code asks for. NONE may be implied (IfExists).
	switch g.returnValues {
	case "":
	case "NONE":
		add("StringEqualsIfExists", "dynamodb:ReturnValues", "NONE")
	default:
		add("StringEquals", "dynamodb:ReturnValues", g.returnValues)
	}
	got, _ := json.Marshal(st["Condition"])
	if len(want) == 0 && st["Condition"] == nil {
		return
	}
	if w, _ := json.Marshal(want); string(got) != string(w) {
		t.Errorf("%s: %s has the condition\n\t%s\nwant\n\t%s", fn, g.action, got, w)
	}
}

// statements are the IAM statements of a function's inline policies.
func (tmpl template) statements(t *testing.T, fn string) []map[string]any {
	t.Helper()
	var out []map[string]any
	policies, _ := tmpl.Resources[fn].Properties["Policies"].([]any)
	for _, p := range policies {
		doc, ok := p.(map[string]any)
		if !ok || len(doc) != 1 || doc["Statement"] == nil {
			t.Errorf("%s: policy %v is not an inline statement list (no SAM policy templates such as DynamoDBCrudPolicy)", fn, p)
			continue
		}
		for _, s := range doc["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

func actionsOf(st map[string]any) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// mappedAttributes is a row of Mappings.Writes or Mappings.Reads.
func (tmpl template) mappedAttributes(section, name string) []string {
	list, _ := tmpl.Mappings[section][name]["Attributes"].([]any)
	var out []string
	for _, a := range list {
		out = append(out, a.(string))
	}
	return out
}

// isIf reports whether v is {"Fn::If": [cond, <refers to created>, <refers
// to existing>]}.
func isIf(v any, cond, created, existing string) bool {
	m, _ := v.(map[string]any)
	args, _ := m["Fn::If"].([]any)
	return len(args) == 3 && args[0] == cond && refersTo(args[1], created) && refersTo(args[2], existing)
}

// refersTo reports whether v (intrinsics unresolved) names the logical id or
// parameter: Ref, GetAtt or a ${…} in Sub.
func refersTo(v any, name string) bool {
	b, _ := json.Marshal(v)
	s := string(b)
	return strings.Contains(s, `{"Ref":"`+name+`"}`) || strings.Contains(s, `{"Fn::GetAtt":["`+name+`",`) ||
		strings.Contains(s, `{"Fn::GetAtt":"`+name+`.`) || strings.Contains(s, "${"+name+"}") || strings.Contains(s, "${"+name+".")
}

// contextOf is the one encryption context a kms: statement's condition
// admits: secretContext or replayContext; "" for anything else (no
// condition, a subset of keys, a key more, a purpose not pinned).
func contextOf(cond any) string {
	switch {
	case requiresContext(cond, []string{seal.ContextTeamID, seal.ContextMemberID, seal.ContextAccessKeyID}, nil):
		return secretContext
	case requiresContext(cond, []string{seal.ContextPurpose, seal.ContextRecord}, map[string]string{seal.ContextPurpose: seal.PurposeReplay}):
		return replayContext
	case requiresContext(cond, []string{seal.ContextPurpose, seal.ContextTeamID}, map[string]string{seal.ContextPurpose: seal.PurposeTeamKeyPair}):
		return teamKeyContext
	}
	return ""
}

// requiresContext reports whether a statement's condition admits only
// requests whose encryption context has exactly the keys, with the pinned
// values: ForAllValues:StringEquals bounds the keys to a subset (and holds
// for a request with no context at all), Null makes the context and each
// key mandatory, StringEquals pins a value.
func requiresContext(cond any, keys []string, pinned map[string]string) bool {
	c, _ := cond.(map[string]any)
	forAll, _ := c["ForAllValues:StringEquals"].(map[string]any)
	list, _ := forAll["kms:EncryptionContextKeys"].([]any)
	var got []string
	for _, k := range list {
		s, _ := k.(string)
		got = append(got, s)
	}
	null, _ := c["Null"].(map[string]any)
	if !slices.Equal(sorted(got), sorted(keys)) || null["kms:EncryptionContextKeys"] != "false" {
		return false
	}
	for _, k := range keys {
		if null["kms:EncryptionContext:"+k] != "false" {
			return false
		}
	}
	equals, _ := c["StringEquals"].(map[string]any)
	for k, v := range pinned {
		if equals["kms:EncryptionContext:"+k] != v {
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

// decrypters are the functions whose IAM statements allow kms:Decrypt with
// the encryption context (secretContext or replayContext).
func (tmpl template) decrypters(t *testing.T, context string) []string {
	var out []string
	for _, fn := range tmpl.functions() {
		for _, st := range tmpl.statements(t, fn) {
			if st["Effect"] == "Allow" && slices.Contains(actionsOf(st), "kms:Decrypt") && contextOf(st["Condition"]) == context {
				out = append(out, fn)
				break
			}
		}
	}
	return out
}

// The account and stack the key policy is evaluated in.
const (
	testAccount = "111122223333"
	testStack   = "teamkeys-prod"
)

// functionRole is the ARN CloudFormation gives the role SAM makes for a
// function of a stack.
func functionRole(stack, fn string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s-%sRole-A1B2C3D4E5F6", testAccount, stack, fn)
}

// TestLeastPrivilegeKeyPolicy: the key policy itself decides who opens
// what (IAM alone would let any principal with kms:Decrypt and a table read
// recover every secret): a key's secret (its three-id context) only the
// verifying functions' roles, a replay record only theirs and GenerateKey's
// and RotateKey's, anything else no one; and the account still administers
// the key. With the roles' own IAM statements: the verifiers open secrets
// only, GenerateKey and RotateKey replay records only, no one anything else.
// This test holds the policy's shape; TestLeastPrivilegeSimulated has AWS's
// evaluation logic decide, for every function's role and for principals
// outside the stack, alone and with the roles' policies.
func TestLeastPrivilegeKeyPolicy(t *testing.T) {
	tmpl := loadTemplate(t)
	policy, _ := tmpl.Resources["KeysKey"].Properties["KeyPolicy"].(map[string]any)
	stmts, _ := policy["Statement"].([]any)
	root := `{"Fn::Sub":"arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}`
	roleArn := regexp.MustCompile(`^arn:\$\{AWS::Partition\}:iam::\$\{AWS::AccountId\}:role/\$\{AWS::StackName\}-([A-Za-z0-9]+)Role-\*$`)
	var denies []map[string]any
	administered := false
	for _, s := range stmts {
		st := s.(map[string]any)
		actions := actionsOf(st)
		principal, _ := st["Principal"].(map[string]any)
		who, _ := json.Marshal(principal["AWS"])
		switch st["Effect"] {
		case "Allow":
			// Only the account root, which hands the decision to IAM; the
			// Denies below then bound what IAM can give.
			if string(who) != root || st["Condition"] != nil {
				t.Errorf("key policy allows %v to %s (condition %v): only the account root may be allowed", actions, who, st["Condition"])
			}
			administered = administered || slices.Contains(actions, "kms:*") || slices.Contains(actions, "kms:PutKeyPolicy")
		case "Deny":
			denies = append(denies, st)
			if string(who) != `"*"` || st["Resource"] != "*" {
				t.Errorf("Deny %v: want Principal AWS \"*\" and Resource \"*\", got %s and %v", actions, who, st["Resource"])
			}
			if slices.Contains(actions, "kms:*") || slices.Contains(actions, "kms:PutKeyPolicy") {
				t.Errorf("Deny %v locks out key administration", actions)
			}
			if slices.Contains(actions, "kms:Decrypt") != slices.Contains(actions, "kms:ReEncrypt*") {
				t.Errorf("Deny %v: kms:Decrypt without kms:ReEncrypt* lets a ciphertext be moved under a key its caller may decrypt with", actions)
			}
			// Roles named as CloudFormation names SAM's, of this stack's
			// functions.
			cond, _ := st["Condition"].(map[string]any)
			for op, pairs := range cond {
				p, _ := pairs.(map[string]any)
				arns, _ := p["aws:PrincipalArn"].([]any)
				for _, a := range arns {
					sub, _ := a.(map[string]any)["Fn::Sub"].(string)
					m := roleArn.FindStringSubmatch(sub)
					if m == nil || !slices.Contains(tmpl.functions(), m[1]) {
						t.Errorf("Deny %v %s names %v: want arn:…:role/${AWS::StackName}-<Function>Role-*, the name CloudFormation gives a function's SAM role", actions, op, a)
					}
				}
			}
		default:
			t.Errorf("key policy statement with Effect %v", st["Effect"])
		}
	}
	if !administered {
		t.Error("key policy: the account root may not administer the key (kms:* or kms:PutKeyPolicy): it would be locked out")
	}
	if len(denies) == 0 {
		t.Fatal("key policy denies nothing: any principal IAM lets decrypt recovers every secret")
	}
	// The design: what the code decrypts, by IAM.
	if got := tmpl.decrypters(t, secretContext); !slices.Equal(got, verifiers) {
		t.Errorf("IAM lets %v decrypt with a key's three-id context, want the verifiers %v", got, verifiers)
	}
	if got := tmpl.decrypters(t, replayContext); !slices.Equal(got, replayers) {
		t.Errorf("IAM lets %v decrypt with the replay context, want %v", got, replayers)
	}
	if got := tmpl.decrypters(t, teamKeyContext); !slices.Equal(got, verifiers) {
		t.Errorf("IAM lets %v decrypt a team's private key, want the verifiers %v", got, verifiers)
	}
}

// TestTemplateKeepsTheData: the table and the key that opens its secrets
// both survive a stack delete or a replacement, and a stack can be deployed
// onto a kept (or restored) table and key instead of new ones.
func TestTemplateKeepsTheData(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, c := range []struct{ resource, condition, parameter string }{
		{"KeysTable", "CreateKeysTable", "ExistingTableName"},
		{"KeysKey", "CreateKeysKey", "ExistingKmsKeyArn"},
	} {
		r := tmpl.Resources[c.resource]
		if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
			t.Errorf("%s: DeletionPolicy %q, UpdateReplacePolicy %q, want both Retain", c.resource, r.DeletionPolicy, r.UpdateReplacePolicy)
		}
		if p, ok := tmpl.Parameters[c.parameter]; !ok || p["Default"] != "" {
			t.Errorf("parameter %s: want an optional one (Default \"\"), got %v", c.parameter, p)
		}
		cond, _ := json.Marshal(tmpl.Conditions[c.condition])
		if want := `{"Fn::Equals":[{"Ref":"` + c.parameter + `"},""]}`; string(cond) != want || r.Condition != c.condition {
			t.Errorf("%s: Condition %q = %s, want %s = %s", c.resource, r.Condition, cond, c.condition, want)
		}
		// Everything that names the resource must name the parameter's
		// table or key when the resource is not created.
		for where, v := range map[string]any{"Globals": tmpl.Globals, "Resources": tmpl.Resources, "Outputs": tmpl.Outputs} {
			for _, path := range unguardedRefs(v, c.resource, c.condition, where, false) {
				if !strings.HasPrefix(path, "Resources."+c.resource+".") {
					t.Errorf("%s names %s outside an Fn::If on %s", path, c.resource, c.condition)
				}
			}
		}
	}
}

// unguardedRefs lists the paths under v that name the resource (Ref, GetAtt,
// Sub) other than in the first branch of an Fn::If on condition.
func unguardedRefs(v any, resource, condition, path string, guarded bool) []string {
	b, _ := json.Marshal(v)
	var x any
	_ = json.Unmarshal(b, &x)
	var out []string
	var walk func(v any, path string, guarded bool)
	walk = func(v any, path string, guarded bool) {
		switch v := v.(type) {
		case map[string]any:
			if args, ok := v["Fn::If"].([]any); ok && len(args) == 3 && args[0] == condition {
				walk(args[1], path+".If", true)
				walk(args[2], path+".Else", guarded)
				return
			}
			if len(v) == 1 && !guarded && refersTo(v, resource) {
				if _, intrinsic := v["Ref"]; intrinsic || v["Fn::GetAtt"] != nil || v["Fn::Sub"] != nil {
					out = append(out, path)
					return
				}
			}
			for k, e := range v {
				walk(e, path+"."+k, guarded)
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s[%d]", path, i), guarded)
			}
		}
	}
	walk(x, path, guarded)
	return out
}

// TestTemplateThrottlesTheStage: every route is throttled by parameters,
// the routes no authorizer guards at the gateway (each request an
// invocation and a GetItem) lower than the rest; reserved concurrency is a
// parameter, unset by default.
func TestTemplateThrottlesTheStage(t *testing.T) {
	tmpl := loadTemplate(t)
	limit := func(where string, settings any, rate, burst string) (int, int) {
		t.Helper()
		s, _ := settings.(map[string]any)
		r, _ := json.Marshal(s["ThrottlingRateLimit"])
		b, _ := json.Marshal(s["ThrottlingBurstLimit"])
		if string(r) != `{"Ref":"`+rate+`"}` || string(b) != `{"Ref":"`+burst+`"}` {
			t.Errorf("%s: throttling %s/%s, want Ref %s and Ref %s", where, r, b, rate, burst)
			return 0, 0
		}
		return tmpl.numberDefault(t, rate), tmpl.numberDefault(t, burst)
	}
	api := tmpl.Globals.HttpApi
	rate, burst := limit("DefaultRouteSettings", api["DefaultRouteSettings"], "ThrottleRateLimit", "ThrottleBurstLimit")
	routes, _ := api["RouteSettings"].(map[string]any)
	// Each public route (no authorizer at the gateway) has its own lower
	// limits: the /v1/whoami routes WhoAmI's, GitHub's reports LeakReport's.
	params := map[string][2]string{
		httpapi.AuthSignature: {"WhoAmIThrottleRateLimit", "WhoAmIThrottleBurstLimit"},
	}
	public := 0
	for _, r := range httpapi.Routes {
		// A route of a REST API (GitHub's reports) is not the HTTP API's:
		// template_leakroute_test.go holds its limits.
		if !r.Public() || r.API() != httpapi.APIHTTP {
			continue
		}
		public++
		key := r.Method + " " + r.Path
		p, ok := params[r.Auth]
		if !ok {
			t.Errorf("%s: public route of auth %q: the test knows no throttling parameters for it", key, r.Auth)
			continue
		}
		wr, wb := limit("RouteSettings "+key, routes[key], p[0], p[1])
		if wr >= rate || wb >= burst {
			t.Errorf("%s (no authorizer at the gateway): default %d/s burst %d, want lower than the stage's %d/s burst %d", key, wr, wb, rate, burst)
		}
	}
	if len(routes) != public {
		t.Errorf("RouteSettings for %d routes, want the %d public routes", len(routes), public)
	}
	rc, _ := json.Marshal(tmpl.Globals.Function.ReservedConcurrentExecutions)
	if string(rc) != `{"Fn::If":["HasReservedConcurrency",{"Ref":"ReservedConcurrency"},{"Ref":"AWS::NoValue"}]}` {
		t.Errorf("Globals ReservedConcurrentExecutions = %s, want it from the ReservedConcurrency parameter, unset by default", rc)
	}
	if d := tmpl.Parameters["ReservedConcurrency"]["Default"]; d != "" {
		t.Errorf("ReservedConcurrency defaults to %v, want unset (\"\"): a new account's quota is 10", d)
	}
}

func (tmpl template) numberDefault(t *testing.T, param string) int {
	t.Helper()
	p := tmpl.Parameters[param]
	n, ok := p["Default"].(float64)
	if p["Type"] != "Number" || !ok {
		t.Errorf("parameter %s: want Type Number with a default, got %v", param, p)
	}
	return int(n)
}

// TestTemplateLogs: a JSON access log on the stage with what an incident
// needs, and a log group with the retention parameter for the API and for
// every function.
func TestTemplateLogs(t *testing.T) {
	tmpl := loadTemplate(t)
	retention := func(where, group string) {
		t.Helper()
		r, ok := tmpl.Resources[group]
		days, _ := json.Marshal(r.Properties["RetentionInDays"])
		if !ok || r.Type != "AWS::Logs::LogGroup" || string(days) != `{"Ref":"LogRetentionDays"}` {
			t.Errorf("%s: log group %s is %s with RetentionInDays %s, want an AWS::Logs::LogGroup kept LogRetentionDays", where, group, r.Type, days)
		}
	}
	settings, _ := tmpl.Globals.HttpApi["AccessLogSettings"].(map[string]any)
	dest, _ := settings["DestinationArn"].(map[string]any)
	group, _, _ := strings.Cut(fmt.Sprint(dest["Fn::GetAtt"]), ".")
	retention("access log", group)
	format, _ := settings["Format"].(string)
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("access log format is not one JSON object of strings: %v\n%s", err, format)
	}
	var values []string
	for _, v := range fields {
		values = append(values, v)
	}
	for _, want := range []string{"$context.requestId", "$context.identity.sourceIp", "$context.routeKey", "$context.status",
		"$context.responseLatency", "$context.authorizer.error", "$context.authorizer.claims.sub"} {
		if !slices.Contains(values, want) {
			t.Errorf("access log lacks %s: %s", want, format)
		}
	}
	for _, fn := range tmpl.functions() {
		found := false
		for name, r := range tmpl.Resources {
			if r.Type == "AWS::Logs::LogGroup" && fmt.Sprint(r.Properties["LogGroupName"]) == fmt.Sprint(map[string]any{"Fn::Sub": "/aws/lambda/${" + fn + "}"}) {
				retention(fn, name)
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no log group /aws/lambda/${%s}: Lambda would create one that keeps logs forever", fn, fn)
		}
	}
	if _, ok := tmpl.Parameters["LogRetentionDays"]; !ok {
		t.Error("no LogRetentionDays parameter")
	}
}

// TestTemplateJwtAuthorizer: the issuer must be an https URL, and an
// optional scope makes the authorizer refuse tokens without it (ID tokens).
func TestTemplateJwtAuthorizer(t *testing.T) {
	tmpl := loadTemplate(t)
	pattern, _ := tmpl.Parameters["JwtIssuer"]["AllowedPattern"].(string)
	re, err := regexp.Compile(pattern)
	if err != nil || pattern == "" {
		t.Fatalf("JwtIssuer AllowedPattern %q: %v", pattern, err)
	}
	for _, c := range []struct {
		issuer string
		ok     bool
	}{
		{"https://auth.example.com/", true},
		{"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123", true},
		{"http://auth.example.com/", false},
		{"auth.example.com", false},
		{"https://", false},
		{"", false},
	} {
		if re.MatchString(c.issuer) != c.ok {
			t.Errorf("JwtIssuer %q: allowed %v, want %v", c.issuer, !c.ok, c.ok)
		}
	}
	if d, ok := tmpl.Parameters["JwtScope"]["Default"]; !ok || d != "" {
		t.Errorf("JwtScope: want an optional parameter (Default \"\"), got %v", tmpl.Parameters["JwtScope"])
	}
	auth, _ := tmpl.Resources["HttpApi"].Properties["Auth"].(map[string]any)
	authorizers, _ := auth["Authorizers"].(map[string]any)
	jwt, _ := authorizers["JwtAuthorizer"].(map[string]any)
	scopes, _ := json.Marshal(jwt["AuthorizationScopes"])
	if string(scopes) != `[{"Fn::If":["HasJwtScope",{"Ref":"JwtScope"},{"Ref":"AWS::NoValue"}]}]` {
		t.Errorf("JwtAuthorizer AuthorizationScopes = %s, want [JwtScope] when set", scopes)
	}
	cond, _ := json.Marshal(tmpl.Conditions["HasJwtScope"])
	if string(cond) != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"JwtScope"},""]}]}` {
		t.Errorf("HasJwtScope = %s", cond)
	}
}

// TestTemplateApiAlarmNeedsTraffic: the 5xx-rate alarm ignores periods
// with few requests and needs several breaching periods, so a single 5xx at
// low traffic pages no one.
func TestTemplateApiAlarmNeedsTraffic(t *testing.T) {
	tmpl := loadTemplate(t)
	p := tmpl.Resources["ApiServerErrorRateAlarm"].Properties
	metrics, _ := p["Metrics"].([]any)
	var expr string
	for _, m := range metrics {
		if e, ok := m.(map[string]any)["Expression"].(map[string]any); ok {
			expr, _ = e["Fn::Sub"].(string)
		}
	}
	if !strings.Contains(expr, "requests >= ${ApiAlarmMinRequests}") {
		t.Errorf("5xx-rate expression %q does not require ApiAlarmMinRequests requests", expr)
	}
	if min := tmpl.numberDefault(t, "ApiAlarmMinRequests"); min < 10 {
		t.Errorf("ApiAlarmMinRequests defaults to %d, want 10 or more", min)
	}
	datapoints, _ := p["DatapointsToAlarm"].(float64)
	periods, _ := p["EvaluationPeriods"].(float64)
	if datapoints < 2 || periods < datapoints {
		t.Errorf("5xx-rate alarm: %v of %v periods, want at least 2 breaching periods", datapoints, periods)
	}
}

// TestTemplateOutputs: the API's id and every function's name, for the
// direct invocation (docs/API.md) and for operators.
func TestTemplateOutputs(t *testing.T) {
	tmpl := loadTemplate(t)
	want := map[string]string{"HttpApiId": "HttpApi"}
	for _, fn := range tmpl.functions() {
		want[fn+"FunctionName"] = fn
	}
	for name, ref := range want {
		v, _ := json.Marshal(tmpl.Outputs[name]["Value"])
		if string(v) != `{"Ref":"`+ref+`"}` {
			t.Errorf("output %s = %s, want Ref %s", name, v, ref)
		}
	}
}

// TestTemplateSamconfig: the stack names the README's and docs/DEPLOY.md's
// Deploy sections give are samconfig's, and prod carries no placeholder identity provider: its
// deploy fails until the issuer and audience are set.
func TestTemplateSamconfig(t *testing.T) {
	raw, err := os.ReadFile("samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	section, stacks, overrides := "", map[string]string{}, map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section, _, _ = strings.Cut(strings.Trim(line, "[]"), ".")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch strings.TrimSpace(k) {
		case "stack_name":
			stacks[section] = strings.Trim(strings.TrimSpace(v), `"`)
		case "parameter_overrides":
			overrides[section] = v
		}
	}
	if stacks["default"] != "teamkeys-dev" || stacks["prod"] != "teamkeys-prod" {
		t.Errorf("samconfig stack names %v, want default teamkeys-dev and prod teamkeys-prod", stacks)
	}
	if strings.Contains(overrides["prod"], "example.com") {
		t.Errorf("prod parameter_overrides %s: a placeholder issuer would deploy a prod that accepts no real token; leave it unset so that the deploy fails until it is set", overrides["prod"])
	}
	for _, doc := range []string{"README.md", "docs/DEPLOY.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range stacks {
			if !strings.Contains(string(text), name) {
				t.Errorf("%s names no stack %s", doc, name)
			}
		}
	}
}

// TestTemplateCheckovSkipsAreJustified: every check .checkov.yaml skips is
// named in docs/SECURITY.md, which says why.
func TestTemplateCheckovSkipsAreJustified(t *testing.T) {
	cfg, err := os.ReadFile(".checkov.yaml")
	if err != nil {
		t.Fatal(err)
	}
	security, err := os.ReadFile("docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	_, skips, ok := strings.Cut(string(cfg), "skip-check:")
	if !ok {
		t.Fatal(".checkov.yaml has no skip-check list")
	}
	for _, id := range regexp.MustCompile(`CKV2?_[A-Z0-9_]+`).FindAllString(skips, -1) {
		if !strings.Contains(string(security), id) {
			t.Errorf(".checkov.yaml skips %s, which docs/SECURITY.md does not name and justify", id)
		}
	}
	// A skip for one resource (its Metadata's checkov skip list) too.
	tmpl := loadTemplate(t)
	for name, r := range tmpl.Resources {
		ck, _ := r.Metadata["checkov"].(map[string]any)
		list, _ := ck["skip"].([]any)
		for _, s := range list {
			id, _ := s.(map[string]any)["id"].(string)
			if id == "" || !strings.Contains(string(security), id) || !strings.Contains(string(security), name) {
				t.Errorf("%s skips checkov's %q, which docs/SECURITY.md does not name and justify for %s", name, id, name)
			}
		}
	}
	out, err := exec.Command("make", "-n", "checkov").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--config-file .checkov.yaml") || !strings.Contains(string(out), "--file template.yaml") {
		t.Errorf("make -n checkov: %v\n%s", err, out)
	}
}

// leadingKeys are the dynamodb:LeadingKeys patterns a statement's
// condition bounds it to; nil when it names none (any item).
func leadingKeys(st map[string]any) []string {
	cond, _ := st["Condition"].(map[string]any)
	like, _ := cond["ForAllValues:StringLike"].(map[string]any)
	list, _ := like["dynamodb:LeadingKeys"].([]any)
	var out []string
	for _, p := range list {
		s, _ := p.(string)
		out = append(out, s)
	}
	return out
}

// admits reports whether any of IAM's StringLike patterns (* and ?) admits
// the value; a statement with no pattern admits every value.
func admits(patterns []string, value string) bool {
	if patterns == nil {
		return true
	}
	for _, p := range patterns {
		re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if regexp.MustCompile(re).MatchString(value) {
			return true
		}
	}
	return false
}

// onIndex is the index a statement's resource names ("" for the table).
func onIndex(st map[string]any) string {
	b, _ := json.Marshal(st["Resource"])
	_, index, ok := strings.Cut(string(b), "/index/")
	if !ok {
		return ""
	}
	return index[:strings.IndexAny(index, `"\`)]
}

// TestLeastPrivilegeSecretsStayWithTheVerifiers: no function but the
// verifying ones (those that may decrypt a secret, with its three-id
// context) can read a key item's secret ciphertext or the secret's hash:
// ListKeys', RotateKey's, DisableKey's and EnableKey's GetItem of a key
// item must project the shown attributes only, every other read names the
// policy items, the replay records, the audit records or an index that
// projects neither, and no write on a key item reads it back (ReturnValues
// NONE).
func TestLeastPrivilegeSecretsStayWithTheVerifiers(t *testing.T) {
	tmpl := loadTemplate(t)
	aKey := "KEY#TKAKAAAAAAAAAAAAAAAAAAAA"
	for _, fn := range tmpl.functions() {
		if slices.Contains(verifiers, fn) {
			continue
		}
		for _, st := range tmpl.statements(t, fn) {
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range actionsOf(st) {
				switch a {
				case "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
					"dynamodb:PartiQLSelect", "dynamodb:GetRecords", "dynamodb:ExportTableToPointInTime":
				case "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem":
					// A write that returns values reads the item back.
					cond, _ := st["Condition"].(map[string]any)
					ifExists, _ := cond["StringEqualsIfExists"].(map[string]any)
					equals, _ := cond["StringEquals"].(map[string]any)
					if _, pinned := equals["dynamodb:ReturnValues"]; admits(leadingKeys(st), aKey) && (pinned || ifExists["dynamodb:ReturnValues"] != "NONE") {
						t.Errorf("%s may %s a key item and read it back (ReturnValues not pinned to NONE): %v", fn, a, cond)
					}
					continue
				default:
					continue
				}
				if index := onIndex(st); index != "" {
					for _, attr := range secretAttributes {
						// A Query of BySecretHash returns the hash it was
						// asked by: the asker has the secret already.
						if index == "BySecretHash" && attr == "secretSha256" {
							continue
						}
						if tmpl.indexProjects(t, index, attr) {
							t.Errorf("%s may %s the index %s, which projects %s", fn, a, index, attr)
						}
					}
					continue
				}
				if onStream(st) {
					// The stream holds every item as written, ciphertext
					// and hash included: only a stream reader, which may
					// decrypt nothing (TestLeastPrivilegeStreamReaders).
					if _, ok := streamFunctions[fn]; !ok {
						t.Errorf("%s may %s the table's stream: every key item's secretCiphertext and secretSha256", fn, a)
					}
					continue
				}
				if !admits(leadingKeys(st), aKey) {
					continue // the policy items or the audit records, say
				}
				if a != "dynamodb:GetItem" && a != "dynamodb:BatchGetItem" {
					t.Errorf("%s may %s the table's key items", fn, a)
					continue
				}
				// A key item: only through a projection without the secrets
				// (a batch read as a single one: docs/SECURITY.md).
				cond, _ := st["Condition"].(map[string]any)
				null, _ := cond["Null"].(map[string]any)
				forAll, _ := cond["ForAllValues:StringEquals"].(map[string]any)
				ref, _ := forAll["dynamodb:Attributes"].(map[string]any)
				args, _ := ref["Fn::FindInMap"].([]any)
				if null["dynamodb:Attributes"] != "false" || len(args) != 3 || args[0] != "Reads" {
					t.Errorf("%s may read a whole key item, secretCiphertext included: %s with condition %v", fn, a, cond)
					continue
				}
				for _, attr := range secretAttributes {
					if slices.Contains(tmpl.mappedAttributes("Reads", args[1].(string)), attr) {
						t.Errorf("%s may read %s: Mappings.Reads.%s names it", fn, attr, args[1])
					}
				}
			}
		}
	}
}

// indexProjects reports whether a query of the table's index returns attr.
func (tmpl template) indexProjects(t *testing.T, index, attr string) bool {
	t.Helper()
	for _, gsi := range tmpl.indexes(t) {
		if gsi.IndexName != index {
			continue
		}
		if gsi.Projection.ProjectionType == "ALL" || slices.Contains(gsi.Projection.NonKeyAttributes, attr) || attr == "pk" || attr == "sk" {
			return true
		}
		for _, k := range gsi.KeySchema {
			if k.AttributeName == attr {
				return true
			}
		}
		return false
	}
	t.Errorf("no index %s on KeysTable", index)
	return true
}

type keyElement struct{ AttributeName, KeyType string }

type gsi struct {
	IndexName  string
	KeySchema  []keyElement
	Projection struct {
		ProjectionType   string
		NonKeyAttributes []string
	}
}

// indexes are the KeysTable's global secondary indexes.
func (tmpl template) indexes(t *testing.T) []gsi {
	t.Helper()
	b, _ := json.Marshal(tmpl.Resources["KeysTable"].Properties["GlobalSecondaryIndexes"])
	var out []gsi
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("KeysTable GlobalSecondaryIndexes: %v", err)
	}
	return out
}

// TestLeastPrivilegePolicyItems: a team's key policy item is written only
// by KeyPolicy, which touches no other item but its audit records, and read only by KeyPolicy,
// GenerateKey and RotateKey (whose new keys' expiry it bounds); every
// statement on the table's items names the kind of item it touches, so
// none reaches a policy item by accident.
func TestLeastPrivilegePolicyItems(t *testing.T) {
	tmpl := loadTemplate(t)
	aPolicy := "POLICY#t1"
	got := map[string][]string{}
	for _, fn := range tmpl.functions() {
		for _, st := range tmpl.statements(t, fn) {
			actions := actionsOf(st)
			if st["Effect"] != "Allow" || !strings.HasPrefix(actions[0], "dynamodb:") || onIndex(st) != "" || onStream(st) {
				continue
			}
			keys := leadingKeys(st)
			if keys == nil {
				t.Errorf("%s may %v any item of the table (no dynamodb:LeadingKeys), a team's key policy included", fn, actions)
			}
			readsKeys := slices.Equal(keys, []string{keyItems}) && slices.Equal(actions, []string{"dynamodb:BatchGetItem"})
			if fn == "KeyPolicy" && !slices.Equal(keys, []string{policyItems}) && !slices.Equal(keys, []string{auditItems}) && !slices.Equal(keys, []string{dormantTeamItems}) && !readsKeys {
				t.Errorf("KeyPolicy may %v the items %v, want only %s (and %s, its audit records; %s, the dormant registry; and reads of %s, keysOutsidePolicy)", actions, keys, policyItems, auditItems, dormantTeamItems, keyItems)
			}
			if admits(keys, aPolicy) {
				got[fn] = append(got[fn], actions...)
			}
		}
		slices.Sort(got[fn])
	}
	want := map[string][]string{
		"KeyPolicy":   {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
		"GenerateKey": {"dynamodb:ConditionCheckItem", "dynamodb:GetItem"},
		"RotateKey":   {"dynamodb:ConditionCheckItem", "dynamodb:GetItem"},
		"UpdateKey":   {"dynamodb:ConditionCheckItem", "dynamodb:GetItem"},
		// The expiry-warning pass reads each team's thresholds.
		"SweepExpiredKeys": {"dynamodb:GetItem"},
		// The credential report reads disableUnusedAfterDays.
		"ListKeys": {"dynamodb:GetItem"},
		// A key's self-rotation, as RotateKey.
		"SelfRotateKey": {"dynamodb:ConditionCheckItem", "dynamodb:GetItem"},
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("may act on a team's key policy item: %v, want exactly %v", got, want)
	}
}

// TestLeastPrivilegeReplayRecords: an idempotency key's replay record (its
// sealed answer holds a new key's secret) is read and written only by
// GenerateKey and RotateKey, by GetItem and PutItem, and no statement of
// theirs on replay records reaches another kind of item.
func TestLeastPrivilegeReplayRecords(t *testing.T) {
	tmpl := loadTemplate(t)
	got := tmpl.actionsOnItem(t, "IDEMPOTENCY#"+strings.Repeat("0f", 32), replayItems, "replay records")
	want := map[string][]string{}
	for _, fn := range replayers {
		want[fn] = []string{"dynamodb:GetItem", "dynamodb:PutItem"}
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("may act on a replay record: %v, want exactly %v", got, want)
	}
}

// TestLeastPrivilegeAuditRecords: the audit trail is append-only to the
// functions. Every function that changes something may add an audit record
// (PutItem, its row, ReturnValues NONE) and do nothing else to one (no
// UpdateItem, DeleteItem or read); only ListKeys reads them, by a Query of
// the table limited to AUDIT# items and a BatchGetItem of their changes
// (Mappings.Reads.AuditChanges); WhoAmI and the Authorizer touch none.
// Each statement on audit records names only AUDIT# items, and the record
// holds no secret.
func TestLeastPrivilegeAuditRecords(t *testing.T) {
	tmpl := loadTemplate(t)
	got := tmpl.actionsOnItem(t, "AUDIT#t1", auditItems, "audit records")
	want := map[string][]string{}
	for _, fn := range auditWriters {
		want[fn] = []string{"dynamodb:PutItem"}
	}
	for _, fn := range auditReaders {
		want[fn] = []string{"dynamodb:BatchGetItem", "dynamodb:Query"}
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("may act on an audit record: %v, want exactly %v", got, want)
	}
	// Every function that writes a change (anything but the verifiers' last
	// use) is an audit writer.
	for _, fn := range tmpl.functions() {
		changes := false
		for _, st := range tmpl.statements(t, fn) {
			for _, a := range actionsOf(st) {
				if (a == "dynamodb:PutItem" || a == "dynamodb:UpdateItem" || a == "dynamodb:DeleteItem") && !slices.Equal(leadingKeys(st), []string{auditItems}) &&
					(!slices.Contains(verifiers, fn) || slices.Contains(changingVerifiers, fn)) {
					changes = true
				}
			}
		}
		if changes != slices.Contains(auditWriters, fn) {
			t.Errorf("%s changes items: %v, writes audit records: %v", fn, changes, slices.Contains(auditWriters, fn))
		}
	}
	for _, attr := range secretAttributes {
		if slices.Contains(tmpl.mappedAttributes("Writes", "AuditRecord"), attr) {
			t.Errorf("Mappings.Writes.AuditRecord names %s", attr)
		}
	}
}

// TestTemplateReplayRecordsExpire: DynamoDB's TTL is on ttl, the epoch
// seconds a replay record's write and an audit record's set, and the only
// writes that set it (a key item with a ttl would vanish); the local table is still made from the
// template (internal/local/tabledef leaves TTL out: DynamoDB Local never
// deletes, and the store filters expired records when it reads them).
func TestTemplateReplayRecordsExpire(t *testing.T) {
	tmpl := loadTemplate(t)
	ttl, _ := json.Marshal(tmpl.Resources["KeysTable"].Properties["TimeToLiveSpecification"])
	if string(ttl) != `{"AttributeName":"ttl","Enabled":true}` {
		t.Errorf("KeysTable TimeToLiveSpecification %s, want AttributeName ttl, Enabled true", ttl)
	}
	expiring := []string{"AuditRecord", "ReplayRecord"}
	for row := range tmpl.Mappings["Writes"] {
		if slices.Contains(tmpl.mappedAttributes("Writes", row), "ttl") != slices.Contains(expiring, row) {
			t.Errorf("Mappings.Writes.%s: writes ttl %v, want only %v to", row, !slices.Contains(expiring, row), expiring)
		}
	}
	if _, err := tabledef.CreateTableInput(teamkeys.TemplateYAML, "keys"); err != nil {
		t.Errorf("the local table from the template: %v", err)
	}
}

// TestTemplateSweepSchedule: the expiry sweep runs on an EventBridge
// schedule that a parameter sets (every minute by default), says so in its
// description, and is not retried (the next run does the same work; this
// is why it needs no dead-letter queue, docs/SECURITY.md).
func TestTemplateSweepSchedule(t *testing.T) {
	tmpl := loadTemplate(t)
	for fn, param := range scheduledFunctions {
		p, ok := tmpl.Parameters[param]
		if !ok || p["Type"] != "String" || p["Default"] != "rate(1 minute)" {
			t.Errorf("parameter %s: %v, want a String defaulting to rate(1 minute)", param, p)
		}
		pattern, _ := p["AllowedPattern"].(string)
		re, err := regexp.Compile(pattern)
		if err != nil || pattern == "" {
			t.Fatalf("%s AllowedPattern %q: %v", param, pattern, err)
		}
		for expr, ok := range map[string]bool{
			"rate(1 minute)": true, "rate(5 minutes)": true, "cron(0/5 * * * ? *)": true,
			"": false, "1 minute": false, "every minute": false, "rate(1 minute) ": false,
		} {
			if re.MatchString(expr) != ok {
				t.Errorf("%s %q: allowed %v, want %v", param, expr, !ok, ok)
			}
		}
		r := tmpl.Resources[fn]
		if r.Type != "AWS::Serverless::Function" {
			t.Fatalf("%s is %q, want a function", fn, r.Type)
		}
		events, _ := r.Properties["Events"].(map[string]any)
		if len(events) != 1 {
			t.Errorf("%s has the events %v, want one schedule", fn, events)
		}
		for name, e := range events {
			ev := e.(map[string]any)
			props, _ := ev["Properties"].(map[string]any)
			schedule, _ := json.Marshal(props["Schedule"])
			if ev["Type"] != "Schedule" || string(schedule) != `{"Ref":"`+param+`"}` {
				t.Errorf("%s event %s: %v with schedule %s, want Schedule Ref %s", fn, name, ev["Type"], schedule, param)
			}
		}
		if d, _ := r.Properties["Description"].(string); !strings.Contains(d, param) {
			t.Errorf("%s Description %q does not name its schedule, %s", fn, d, param)
		}
		invoke, _ := r.Properties["EventInvokeConfig"].(map[string]any)
		if invoke["MaximumRetryAttempts"] != float64(0) {
			t.Errorf("%s EventInvokeConfig %v: want MaximumRetryAttempts 0 (the next run retries)", fn, invoke)
		}
		if slices.Contains(httpapi.Functions(), fn) {
			t.Errorf("%s is scheduled and serves routes too", fn)
		}
	}
}

// TestTemplateMemberRemovedRule: MemberRemoved runs on the console's
// TeamMemberRemoved events, of the source the MemberEventSource parameter
// names, on the stack's own member-event bus (template_memberbus_test.go); and no
// event is dropped unseen: Lambda retries a failed invocation twice, then
// sends it to an encrypted queue kept 14 days, where EventBridge also puts
// an event it could not deliver; an alarm fires on the first message
// there, another if Lambda could not put one there.
func TestTemplateMemberRemovedRule(t *testing.T) {
	tmpl := loadTemplate(t)
	const fn, queue = "MemberRemoved", "MemberRemovedFailures"
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	queueArn := queue + ".Arn"

	// The parameter: a source name, a sensible default.
	source := tmpl.Parameters[eventFunctions[fn]]
	if source["Type"] != "String" || source["Default"] != "console.teamkeys" {
		t.Errorf("parameter %s: %v, want a String defaulting to console.teamkeys", eventFunctions[fn], source)
	}
	for param, cases := range map[string]map[string]bool{
		eventFunctions[fn]: {"console.teamkeys": true, "com.example.console": true, "acme/console": true,
			"": false, " console": false, "console teamkeys": false, strings.Repeat("a", 257): false},
	} {
		pattern, _ := tmpl.Parameters[param]["AllowedPattern"].(string)
		re, err := regexp.Compile(pattern)
		if err != nil || pattern == "" {
			t.Fatalf("%s AllowedPattern %q: %v", param, pattern, err)
		}
		for v, ok := range cases {
			if re.MatchString(v) != ok {
				t.Errorf("%s %q: allowed %v, want %v", param, v, !ok, ok)
			}
		}
	}

	// The rule: exactly the source and the detail-type the handler takes.
	r := tmpl.Resources[fn]
	events, _ := r.Properties["Events"].(map[string]any)
	if len(events) != 1 {
		t.Fatalf("%s has the events %v, want one EventBridge rule", fn, events)
	}
	var rule string
	for name, e := range events {
		rule = fn + name // the rule's logical id, as SAM names it
		ev := e.(map[string]any)
		props, _ := ev["Properties"].(map[string]any)
		if ev["Type"] != "EventBridgeRule" {
			t.Errorf("%s event %s: %v, want EventBridgeRule", fn, name, ev["Type"])
		}
		want := js(map[string]any{"source": []any{map[string]any{"Ref": eventFunctions[fn]}}, "detail-type": []any{offboard.DetailType}})
		if got := js(props["Pattern"]); got != want {
			t.Errorf("%s rule pattern %s, want %s", fn, got, want)
		}
		if got := js(props["EventBusName"]); got != `{"Ref":"MemberEventBus"}` {
			t.Errorf("%s rule EventBusName %s, want the stack's own MemberEventBus", fn, got)
		}
		// An event EventBridge cannot deliver: its retries, then the queue.
		dlq, _ := props["DeadLetterConfig"].(map[string]any)
		if getAtt(dlq["Arn"]) != queueArn || len(dlq) != 1 {
			t.Errorf("%s rule DeadLetterConfig %v, want Arn %s", fn, dlq, queueArn)
		}
		retry, _ := props["RetryPolicy"].(map[string]any)
		if n, _ := retry["MaximumRetryAttempts"].(float64); n < 1 {
			t.Errorf("%s rule RetryPolicy %v: want EventBridge to retry before the dead-letter queue", fn, retry)
		}
	}

	// A failed invocation: two retries, then the same queue.
	invoke, _ := r.Properties["EventInvokeConfig"].(map[string]any)
	age, _ := invoke["MaximumEventAgeInSeconds"].(float64)
	if invoke["MaximumRetryAttempts"] != float64(2) || age < 60 || age > 21600 {
		t.Errorf("%s EventInvokeConfig %v: want MaximumRetryAttempts 2 and a MaximumEventAgeInSeconds (60 s to 6 h)", fn, invoke)
	}
	dest, _ := invoke["DestinationConfig"].(map[string]any)
	onFailure, _ := dest["OnFailure"].(map[string]any)
	// Type SQS: SAM then gives the role sqs:SendMessage on that queue alone.
	if len(dest) != 1 || onFailure["Type"] != "SQS" || getAtt(onFailure["Destination"]) != queueArn {
		t.Errorf("%s DestinationConfig %s, want only OnFailure to SQS %s", fn, js(dest), queueArn)
	}

	// The queue: encrypted, standard, kept 14 days.
	q := tmpl.Resources[queue]
	if q.Type != "AWS::SQS::Queue" || q.Properties["MessageRetentionPeriod"] != float64(14*24*3600) ||
		(q.Properties["SqsManagedSseEnabled"] != true && q.Properties["KmsMasterKeyId"] == nil) || q.Properties["FifoQueue"] == true {
		t.Errorf("%s: %s %v, want a standard SQS queue, encrypted, MessageRetentionPeriod 1209600", queue, q.Type, q.Properties)
	}
	// Its policy lets only the rule send to it (and only over TLS).
	var allows []string
	for _, res := range tmpl.Resources {
		if res.Type != "AWS::SQS::QueuePolicy" || !refersTo(res.Properties["Queues"], queue) {
			continue
		}
		doc, _ := res.Properties["PolicyDocument"].(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for _, s := range stmts {
			st := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			cond, _ := st["Condition"].(map[string]any)
			arnEquals, _ := cond["ArnEquals"].(map[string]any)
			allows = append(allows, fmt.Sprintf("%s %v on %s if %s", js(st["Principal"]), actionsOf(st), getAtt(st["Resource"]),
				getAtt(arnEquals["aws:SourceArn"])))
		}
	}
	if want := []string{fmt.Sprintf(`{"Service":"events.amazonaws.com"} [sqs:SendMessage] on %s if %s.Arn`, queueArn, rule)}; !slices.Equal(allows, want) {
		t.Errorf("the queue's policy allows %q, want only %q", allows, want)
	}

	// The alarm on the first message in the queue.
	found := false
	for _, res := range tmpl.Resources {
		p := res.Properties
		dims, _ := p["Dimensions"].([]any)
		if res.Type != "AWS::CloudWatch::Alarm" || p["Namespace"] != "AWS/SQS" || len(dims) != 1 {
			continue
		}
		d := dims[0].(map[string]any)
		if d["Name"] != "QueueName" || getAtt(d["Value"]) != queue+".QueueName" {
			continue
		}
		found = true
		if p["MetricName"] != "ApproximateNumberOfMessagesVisible" || p["ComparisonOperator"] != "GreaterThanThreshold" ||
			p["Threshold"] != float64(0) || p["EvaluationPeriods"] != float64(1) {
			t.Errorf("%s alarm: %s %v %v (%v periods), want ApproximateNumberOfMessagesVisible > 0", queue, p["MetricName"],
				p["ComparisonOperator"], p["Threshold"], p["EvaluationPeriods"])
		}
		if got := js(p["AlarmActions"]); got != `{"Fn::If":["HasAlarmTopic",[{"Ref":"AlarmTopicArn"}],{"Ref":"AWS::NoValue"}]}` {
			t.Errorf("%s alarm actions %s, want AlarmTopicArn when set", queue, got)
		}
	}
	if !found {
		t.Errorf("no alarm on the messages of %s", queue)
	}
	delivery := false
	for _, res := range tmpl.Resources {
		dims, _ := json.Marshal(res.Properties["Dimensions"])
		delivery = delivery || res.Type == "AWS::CloudWatch::Alarm" && res.Properties["MetricName"] == "DestinationDeliveryFailures" &&
			string(dims) == `[{"Name":"FunctionName","Value":{"Ref":"`+fn+`"}}]`
	}
	if !delivery {
		t.Errorf("no alarm on %s's DestinationDeliveryFailures (a failed event that did not reach the queue)", fn)
	}

	// The sample event is one the rule matches with the default source.
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	raw, err := os.ReadFile("events/member-removed.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Source != source["Default"] || ev.DetailType != offboard.DetailType {
		t.Errorf("events/member-removed.json: source %q, detail-type %q (%v); want %v and %s", ev.Source, ev.DetailType, err, source["Default"], offboard.DetailType)
	}
}

// getAtt is the "Logical.Attribute" an Fn::GetAtt names (either form), or "".
func getAtt(v any) string {
	m, _ := v.(map[string]any)
	switch a := m["Fn::GetAtt"].(type) {
	case string:
		return a
	case []any:
		if len(a) == 2 {
			return fmt.Sprintf("%v.%v", a[0], a[1])
		}
	}
	return ""
}

// TestTemplateIndexes: the indexes the store queries, each projecting what
// its readers need and no secret: ByTeam the shown attributes, the sparse
// ByExpiry whose keys they are, the sparse BySecretHash whose key it is and
// its status (LeakReport's), never the ciphertext.
func TestTemplateIndexes(t *testing.T) {
	tmpl := loadTemplate(t)
	type want struct {
		keys       []keyElement
		projection string
		nonKey     []string
	}
	wants := map[string]want{
		"ByTeam":       {[]keyElement{{"gsi1pk", "HASH"}, {"gsi1sk", "RANGE"}}, "INCLUDE", byTeamAttributes},
		"ByExpiry":     {[]keyElement{{"gsi2pk", "HASH"}, {"gsi2sk", "RANGE"}}, "INCLUDE", []string{"teamId", "memberId"}},
		"BySecretHash": {[]keyElement{{"secretSha256", "HASH"}}, "INCLUDE", []string{"teamId", "memberId", "status"}},
		// Sparse: audit records only (gsi3pk, gsi4pk), the record's attributes.
		"ByMemberAudit": {[]keyElement{{"gsi3pk", "HASH"}, {"gsi3sk", "RANGE"}}, "INCLUDE", auditIndexAttributes},
		"ByKeyAudit":    {[]keyElement{{"gsi4pk", "HASH"}, {"gsi4sk", "RANGE"}}, "INCLUDE", auditIndexAttributes},
	}
	got := map[string]bool{}
	for _, g := range tmpl.indexes(t) {
		got[g.IndexName] = true
		w, ok := wants[g.IndexName]
		if !ok {
			t.Errorf("index %s: the test does not know it", g.IndexName)
			continue
		}
		if !slices.Equal(g.KeySchema, w.keys) || g.Projection.ProjectionType != w.projection || !slices.Equal(sorted(g.Projection.NonKeyAttributes), sorted(w.nonKey)) {
			t.Errorf("index %s: keys %v, projection %s %v; want %v, %s %v", g.IndexName, g.KeySchema, g.Projection.ProjectionType,
				g.Projection.NonKeyAttributes, w.keys, w.projection, w.nonKey)
		}
		for _, attr := range secretAttributes {
			// BySecretHash is keyed by secretSha256: it holds the hash its
			// reader asked by, nothing more.
			if tmpl.indexProjects(t, g.IndexName, attr) && (g.IndexName != "BySecretHash" || attr != "secretSha256") {
				t.Errorf("index %s projects %s", g.IndexName, attr)
			}
		}
	}
	if len(got) != len(wants) {
		t.Errorf("indexes %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(wants)))
	}
	b, _ := json.Marshal(tmpl.Resources["KeysTable"].Properties["AttributeDefinitions"])
	var defs []struct{ AttributeName, AttributeType string }
	_ = json.Unmarshal(b, &defs)
	var names []string
	for _, d := range defs {
		if d.AttributeType != "S" {
			t.Errorf("attribute %s of type %s, want S", d.AttributeName, d.AttributeType)
		}
		names = append(names, d.AttributeName)
	}
	if want := []string{"gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk", "pk", "secretSha256", "sk"}; !slices.Equal(sorted(names), want) {
		t.Errorf("AttributeDefinitions %v, want %v", names, want)
	}
}

// TestTemplateTimeoutsAreTheEmulators: the Lambda emulator of the tests
// gives each function the timeout the template does.
func TestTemplateTimeoutsAreTheEmulators(t *testing.T) {
	tmpl := loadTemplate(t)
	global, ok := tmpl.Globals.Function.Timeout.(float64)
	if !ok {
		t.Fatalf("Globals.Function.Timeout %v, want a number", tmpl.Globals.Function.Timeout)
	}
	for _, fn := range tmpl.functions() {
		timeout := global
		if own, ok := tmpl.Resources[fn].Properties["Timeout"]; ok {
			timeout, _ = own.(float64)
		}
		if got := lambdarie.Timeout(fn); float64(got) != timeout {
			t.Errorf("%s: the emulator's timeout %d s, the template's %v s", fn, got, timeout)
		}
	}
}

// actionsOnItem answers, per function, the DynamoDB actions (sorted) its
// statements allow on the table item whose key is item, and flags any such
// statement that names more than the items only (what, for the message).
func (tmpl template) actionsOnItem(t *testing.T, item, only, what string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, fn := range tmpl.functions() {
		for _, st := range tmpl.statements(t, fn) {
			actions := actionsOf(st)
			if st["Effect"] != "Allow" || !strings.HasPrefix(actions[0], "dynamodb:") || onIndex(st) != "" || onStream(st) {
				continue
			}
			keys := leadingKeys(st)
			if !admits(keys, item) {
				continue
			}
			got[fn] = append(got[fn], actions...)
			if !slices.Equal(keys, []string{only}) {
				t.Errorf("%s may %v the items %v: a statement on %s names only %s", fn, actions, keys, what, only)
			}
		}
		slices.Sort(got[fn])
	}
	return got
}

// TestLeastPrivilegeStreamReaders: the table's stream carries every item as
// written, a key's secretCiphertext and secretSha256 included. Only the
// stream functions read it, and they may do nothing else with the table or
// the key: no item, no index, no KMS action (the ciphertext stays sealed).
func TestLeastPrivilegeStreamReaders(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, fn := range tmpl.functions() {
		_, reader := streamFunctions[fn]
		for _, st := range tmpl.statements(t, fn) {
			for _, a := range actionsOf(st) {
				switch {
				case onStream(st) && !reader:
					t.Errorf("%s may %s the table's stream", fn, a)
				case reader && strings.HasPrefix(a, "kms:"):
					t.Errorf("%s reads the stream's ciphertexts and may %s", fn, a)
				case reader && strings.HasPrefix(a, "dynamodb:") && !onStream(st):
					t.Errorf("%s may %s an item or index of the table", fn, a)
				}
			}
		}
	}
}

// TestTemplatePublishEvents: the stream mapping passes PublishEvents only
// the new audit records, reports failed records one by one, halves a
// failing batch, and sends what still fails to an encrypted queue; the
// table's stream carries new images; the bus is EventBusName's.
func TestTemplatePublishEvents(t *testing.T) {
	tmpl := loadTemplate(t)
	for fn, mapping := range streamFunctions {
		m := tmpl.Resources[mapping]
		if m.Type != "AWS::Lambda::EventSourceMapping" {
			t.Fatalf("%s is %q, want an AWS::Lambda::EventSourceMapping", mapping, m.Type)
		}
		p := m.Properties
		got, _ := json.Marshal(map[string]any{"FunctionName": p["FunctionName"], "EventSourceArn": p["EventSourceArn"],
			"FunctionResponseTypes": p["FunctionResponseTypes"], "BisectBatchOnFunctionError": p["BisectBatchOnFunctionError"],
			"DestinationConfig": p["DestinationConfig"], "FilterCriteria": p["FilterCriteria"]})
		want := `{"BisectBatchOnFunctionError":true,"DestinationConfig":{"OnFailure":{"Destination":{"Fn::GetAtt":"PublishEventsFailures.Arn"}}},` +
			`"EventSourceArn":{"Fn::If":["CreateKeysTable",{"Fn::GetAtt":"KeysTable.StreamArn"},{"Fn::Sub":"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${ExistingTableName}/stream/${ExistingTableStreamLabel}"}]},` +
			`"FilterCriteria":{"Filters":[{"Pattern":"{\"eventName\":[\"INSERT\"],\"dynamodb\":{\"Keys\":{\"pk\":{\"S\":[{\"prefix\":\"AUDIT#\"}]}}}}"}]},` +
			`"FunctionName":{"Ref":"` + fn + `"},"FunctionResponseTypes":["ReportBatchItemFailures"]}`
		if string(got) != want {
			t.Errorf("%s:\n\t%s\nwant\n\t%s", mapping, got, want)
		}
		if n, _ := p["MaximumRetryAttempts"].(float64); n < 1 {
			t.Errorf("%s: MaximumRetryAttempts %v, want some retries before the failure queue", mapping, p["MaximumRetryAttempts"])
		}
		if b, _ := p["BatchSize"].(float64); b < 1 || b > 1000 {
			t.Errorf("%s: BatchSize %v", mapping, p["BatchSize"])
		}
	}
	if q := tmpl.Resources["PublishEventsFailures"]; q.Type != "AWS::SQS::Queue" || q.Properties["SqsManagedSseEnabled"] != true {
		t.Errorf("PublishEventsFailures: %s %v, want an SQS queue with SSE", q.Type, q.Properties)
	}
	spec, _ := json.Marshal(tmpl.Resources["KeysTable"].Properties["StreamSpecification"])
	if string(spec) != `{"StreamViewType":"NEW_IMAGE"}` {
		t.Errorf("KeysTable's StreamSpecification %s, want NEW_IMAGE", spec)
	}
	env, _ := tmpl.Resources["PublishEvents"].Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if b, _ := json.Marshal(vars["TEAMKEYS_EVENT_BUS_NAME"]); string(b) != `{"Ref":"EventBusName"}` {
		t.Errorf("PublishEvents' TEAMKEYS_EVENT_BUS_NAME = %s, want EventBusName", b)
	}
	for _, param := range []string{"EventBusName", "ExistingTableStreamLabel"} {
		if p, ok := tmpl.Parameters[param]; !ok || p["Default"] != "" {
			t.Errorf("parameter %s: want an optional one (Default \"\"), got %v", param, p)
		}
	}
	if _, ok := tmpl.Resources["PublishEventsFailuresAlarm"]; !ok {
		t.Error("no alarm on PublishEvents' failure queue")
	}
}
