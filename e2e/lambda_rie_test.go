package e2e

// The Lambda tests run every function's real binary, built by its own make
// target (as `sam build` builds it, for the host architecture), under the
// Lambda Runtime Interface Emulator (.cache/bin/aws-lambda-rie, from `make
// tools`), on the DynamoDB Local and local-kms that TestMain started, and
// invoke it with the sample events of events/: the HTTP API's events for
// the functions behind routes, a signed request's for the verifiers, the
// schedule's for the expiry sweep, the console's TeamMemberRemoved event for
// MemberRemoved.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/offboard"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/lambdarie"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

const (
	// placeholderKeyID is the access key id the key events of events/ name.
	placeholderKeyID = "TKAKAAAAAAAAAAAAAAAAAAAA"
	// faultHeader is httpapi.FaultHeader, which exists only in
	// teamkeys_faults builds.
	faultHeader = "x-teamkeys-fault"
)

// faultBuild is GenerateKey built with the teamkeys_faults tag.
var faultBuild = lambdarie.Build{Function: httpapi.FunctionGenerateKey, Tag: "teamkeys_faults"}

// eventFiles maps each file of events/ to the function that serves it and
// the operation (openapi.yaml's operationId) of its route.
var eventFiles = map[string]struct{ function, operation string }{
	"generate.json":       {httpapi.FunctionGenerateKey, "generateAccessKey"},
	"list-member.json":    {httpapi.FunctionListKeys, "listMemberAccessKeys"},
	"offboard.json":       {httpapi.FunctionOffboard, "offboardMember"},
	"list-team.json":      {httpapi.FunctionListKeys, "listTeamAccessKeys"},
	"report.json":         {httpapi.FunctionListKeys, "credentialReport"},
	"audit-events.json":   {httpapi.FunctionListKeys, "listAuditEvents"},
	"disable.json":        {httpapi.FunctionDisableKey, "disableAccessKey"},
	"update.json":         {httpapi.FunctionUpdateKey, "updateAccessKey"},
	"enable.json":         {httpapi.FunctionEnableKey, "enableAccessKey"},
	"delete.json":         {httpapi.FunctionDeleteKey, "deleteAccessKey"},
	"get.json":            {httpapi.FunctionListKeys, "getAccessKey"},
	"rotate.json":         {httpapi.FunctionRotateKey, "rotateAccessKey"},
	"key-policy-get.json": {httpapi.FunctionKeyPolicy, "getKeyPolicy"},
	"key-policy-put.json": {httpapi.FunctionKeyPolicy, "putKeyPolicy"},
	"leak-team.json":      {httpapi.FunctionLeakReport, "reportTeamLeak"},
}

// gitHubEventFiles are the events of events/ for GitHub's secret scanning
// reports, a public route (no JWT authorizer): by the operation of their
// route. Their signature is a placeholder; a test signs afresh.
var gitHubEventFiles = map[string]string{
	"leak-github.json": "reportGitHubLeaks",
}

// ownerOperations are the operations whose events act as the team's owner
// (sub and team_role owner): only an owner may do them. Every other event
// acts as admin.
var ownerOperations = map[string]bool{"putKeyPolicy": true}

// bodyOperations are the operations whose events carry a JSON body.
var bodyOperations = map[string]bool{"generateAccessKey": true, "putKeyPolicy": true, "rotateAccessKey": true, "reportTeamLeak": true, "updateAccessKey": true}

// signedEventFiles are the events of events/ for signed requests, which no
// JWT authorizer precedes: whoami.json for WhoAmI (payload 2.0), and
// authorizer.json for the Lambda authorizer (REQUEST, payload 2.0). Their
// signatures are placeholders; the tests sign them afresh.
var signedEventFiles = map[string]string{
	"whoami.json":     httpapi.FunctionWhoAmI,
	"authorizer.json": functionAuthorizer,
}

// functionAuthorizer is the Lambda authorizer's function (not an HTTP API
// route's, so not in httpapi.Functions()).
const functionAuthorizer = "Authorizer"

// functionSweep is the expiry sweep's function, which EventBridge invokes
// on a schedule (no route, so not in httpapi.Functions()).
const functionSweep = "SweepExpiredKeys"

// scheduledEventFiles are the events of events/ that EventBridge sends on a
// schedule, by the function they invoke.
var scheduledEventFiles = map[string]string{
	"sweep.json": functionSweep,
}

// functionMemberRemoved deletes a removed member's keys on the console's
// TeamMemberRemoved event, which an EventBridge rule delivers (no route, so
// not in httpapi.Functions()).
const functionMemberRemoved = "MemberRemoved"

// memberEventSource is the source of the console's events in
// member-removed.json: template.yaml's MemberEventSource default
// (template_test.go holds the two together).
const memberEventSource = "console.teamkeys"

// memberEventFiles are the events of events/ that another system publishes
// and an EventBridge rule delivers, by the function they invoke.
var memberEventFiles = map[string]string{
	"member-removed.json": functionMemberRemoved,
}

// functionPublishEvents publishes the audit records from the table's
// stream, which an event source mapping delivers (no route).
const functionPublishEvents = "PublishEvents"

// streamEventFiles are the events of events/ that the table's stream
// mapping delivers, by the function they invoke.
var streamEventFiles = map[string]string{
	"publish-events.json": functionPublishEvents,
}

// ---------------------------------------------------------------- events

// TestLambdaEventsAreComplete holds every file of events/ to what API
// Gateway sends for its route: payload 2.0 with every field, consistent with
// itself and with the route table, the JWT authorizer's claims for admin of
// t1, the headers lower-cased, a body only where the route takes one.
func TestLambdaEventsAreComplete(t *testing.T) {
	dir := filepath.Join(lambdarie.Root(t), "events")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := slices.Collect(maps.Keys(eventFiles))
	want = append(want, slices.Collect(maps.Keys(signedEventFiles))...)
	want = append(want, slices.Collect(maps.Keys(gitHubEventFiles))...)
	want = append(want, slices.Collect(maps.Keys(scheduledEventFiles))...)
	want = append(want, slices.Collect(maps.Keys(streamEventFiles))...)
	want = slices.Sorted(slices.Values(append(want, slices.Collect(maps.Keys(memberEventFiles))...)))
	if !slices.Equal(names, want) {
		t.Fatalf("events/ holds %v, want %v", names, want)
	}
	routes := map[string]httpapi.Route{}
	for _, r := range httpapi.Routes {
		routes[r.Operation] = r
	}
	// Every route has its event, but POST /v1/whoami: whoami.json is the
	// GET of the same function, which a signed POST only adds a body to.
	// rotateSelf (SelfRotateKey) has no file yet: a signed event's
	// signature is of its own time (whoami.json's checkSignedEvent).
	covered := map[string]bool{"whoAmIGet": true, "whoAmIPost": true, "rotateSelf": true}
	for _, op := range gitHubEventFiles {
		covered[op] = true
	}
	for _, e := range eventFiles {
		covered[e.operation] = true
		if r, ok := routes[e.operation]; !ok || r.Function != e.function {
			t.Errorf("the test maps an event to %s of %s, which the route table does not have", e.operation, e.function)
		}
	}
	for _, r := range httpapi.Routes {
		if !covered[r.Operation] {
			t.Errorf("no file of events/ for %s (%s %s, %s)", r.Operation, r.Method, r.Path, r.Function)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := signedEventFiles[name]; ok {
				checkSignedEvent(t, name, raw)
				return
			}
			if _, ok := scheduledEventFiles[name]; ok {
				checkScheduledEvent(t, raw)
				return
			}
			if op, ok := gitHubEventFiles[name]; ok {
				checkGitHubEvent(t, raw, routes[op])
				return
			}
			if _, ok := memberEventFiles[name]; ok {
				checkMemberEvent(t, raw)
				return
			}
			if _, ok := streamEventFiles[name]; ok {
				checkStreamEvent(t, raw)
				return
			}
			checkEvent(t, raw, routes[eventFiles[name].operation])
		})
	}
}

// checkSignedEvent holds whoami.json and authorizer.json to what API Gateway
// sends: all fields the Lambda library knows and no other, lower-case
// headers, host = domainName, a SigV4 Authorization header of the
// placeholder key, no JWT claims.
func checkSignedEvent(t *testing.T, name string, raw []byte) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var (
		version, rawPath, routeKey string
		headers                    map[string]string
		rctx                       events.APIGatewayV2HTTPRequestContext
	)
	switch name {
	case "whoami.json":
		var ev events.APIGatewayV2HTTPRequest
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("not a payload 2.0 event: %v", err)
		}
		version, rawPath, routeKey, headers, rctx = ev.Version, ev.RawPath, ev.RouteKey, ev.Headers, ev.RequestContext
		if ev.RouteKey != "GET /v1/whoami" || ev.Body != "" || ev.IsBase64Encoded {
			t.Errorf("routeKey %q, body %q: want GET /v1/whoami with no body", ev.RouteKey, ev.Body)
		}
		if rctx.Authorizer != nil {
			t.Errorf("requestContext.authorizer %+v: /v1/whoami has no authorizer", rctx.Authorizer)
		}
	case "authorizer.json":
		var ev events.APIGatewayV2CustomAuthorizerV2Request
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("not an authorizer payload 2.0 event: %v", err)
		}
		version, rawPath, routeKey, headers, rctx = ev.Version, ev.RawPath, ev.RouteKey, ev.Headers, ev.RequestContext
		if ev.Type != "REQUEST" || len(ev.IdentitySource) != 1 || ev.IdentitySource[0] != ev.Headers["authorization"] {
			t.Errorf("type %q, identitySource %v: want REQUEST and the authorization header", ev.Type, ev.IdentitySource)
		}
	}
	if version != "2.0" || rctx.RouteKey != routeKey || rctx.HTTP.Path != rawPath || rctx.Stage != "$default" {
		t.Errorf("version %q, routeKey %q/%q, path %q/%q, stage %q", version, routeKey, rctx.RouteKey, rawPath, rctx.HTTP.Path, rctx.Stage)
	}
	for h := range headers {
		if h != strings.ToLower(h) {
			t.Errorf("header %q is not lower-case", h)
		}
	}
	if headers["host"] != rctx.DomainName || !strings.HasPrefix(rctx.DomainName, rctx.DomainPrefix+".") {
		t.Errorf("host %q, domainName %q, domainPrefix %q disagree", headers["host"], rctx.DomainName, rctx.DomainPrefix)
	}
	if !strings.HasPrefix(headers["authorization"], "AWS4-HMAC-SHA256 Credential="+placeholderKeyID+"/") || headers["x-amz-date"] == "" {
		t.Errorf("authorization %q, x-amz-date %q: want a SigV4 signature by %s", headers["authorization"], headers["x-amz-date"], placeholderKeyID)
	}
	if at, err := time.Parse("02/Jan/2006:15:04:05 -0700", rctx.Time); err != nil || at.UnixMilli() != rctx.TimeEpoch ||
		at.UTC().Format("20060102T150405Z") != headers["x-amz-date"] {
		t.Errorf("time %q, timeEpoch %d, x-amz-date %q disagree (%v)", rctx.Time, rctx.TimeEpoch, headers["x-amz-date"], err)
	}
}

// checkGitHubEvent holds leak-github.json to what the leak report API (a
// REST API: template.yaml's LeakApi) sends for a report of GitHub's secret
// scanning: a proxy event (payload 1.0) with only fields the Lambda library
// knows, the route's resource, path and method, its stage in the context's
// path, no authorizer, every header also in multiValueHeaders, GitHub's two
// signature headers, host = domainName, and a JSON array of reported tokens
// as the body.
func checkGitHubEvent(t *testing.T, raw []byte, route httpapi.Route) {
	var ev events.APIGatewayProxyRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("not a REST API proxy event: %v", err)
	}
	if route.API() != httpapi.APILeak {
		t.Errorf("%s %s is served by %s, not the leak report API", route.Method, route.Path, route.API())
	}
	rctx := ev.RequestContext
	if ev.Resource != route.Path || ev.Path != route.Path || ev.HTTPMethod != route.Method || rctx.ResourcePath != route.Path ||
		rctx.HTTPMethod != route.Method || rctx.Stage == "" || rctx.Path != "/"+rctx.Stage+route.Path {
		t.Errorf("resource %q/%q, path %q/%q, method %q/%q, stage %q", ev.Resource, rctx.ResourcePath, ev.Path, rctx.Path, ev.HTTPMethod, rctx.HTTPMethod, rctx.Stage)
	}
	if rctx.Authorizer != nil || rctx.RequestID == "" || rctx.Identity.SourceIP == "" {
		t.Errorf("requestContext authorizer %+v, requestId %q, sourceIp %q: want no authorizer, an id and an address", rctx.Authorizer, rctx.RequestID, rctx.Identity.SourceIP)
	}
	if len(ev.MultiValueHeaders) != len(ev.Headers) {
		t.Errorf("%d multi-value headers for %d headers", len(ev.MultiValueHeaders), len(ev.Headers))
	}
	for h, v := range ev.Headers {
		if m := ev.MultiValueHeaders[h]; len(m) != 1 || m[0] != v {
			t.Errorf("header %s: %q, multi-value %q", h, v, m)
		}
	}
	header := http.Header{}
	for h, v := range ev.Headers {
		header.Set(h, v)
	}
	if header.Get("Host") != rctx.DomainName || header.Get("Content-Type") != "application/json" ||
		header.Get("Content-Length") != strconv.Itoa(len(ev.Body)) || ev.IsBase64Encoded {
		t.Errorf("host %q, content-type %q, content-length %q, isBase64Encoded %v", header.Get("Host"), header.Get("Content-Type"),
			header.Get("Content-Length"), ev.IsBase64Encoded)
	}
	for _, h := range []string{leak.HeaderKeyID, leak.HeaderSignature} {
		if header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if tokens, err := leak.ParseReport([]byte(ev.Body)); err != nil || len(tokens) == 0 {
		t.Errorf("body %q: %v, want a report of at least one token", ev.Body, err)
	}
}

// checkScheduledEvent holds sweep.json to what EventBridge sends a target
// of a schedule rule: a "Scheduled Event" from aws.events with every field
// and no other, naming the rule in resources, with an empty detail, in the
// account and region of the other events.
func checkScheduledEvent(t *testing.T, raw []byte) {
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	requireKeys(t, "event", tree, "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
	var ev events.EventBridgeEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("not an EventBridge event: %v", err)
	}
	if ev.Version != "0" || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
		t.Errorf("version %q, detail-type %q, source %q; want 0, Scheduled Event, aws.events", ev.Version, ev.DetailType, ev.Source)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(ev.ID) {
		t.Errorf("id %q, want a UUID", ev.ID)
	}
	if ev.AccountID != "123456789012" || ev.Region != "us-east-1" {
		t.Errorf("account %q, region %q; want the other events' 123456789012 and us-east-1", ev.AccountID, ev.Region)
	}
	// A schedule fires on the minute, and EventBridge gives the time in UTC
	// to the second.
	if ev.Time.Location() != time.UTC || ev.Time.Second() != 0 || ev.Time.Nanosecond() != 0 {
		t.Errorf("time %v, want a UTC minute", ev.Time)
	}
	rule := regexp.MustCompile(`^arn:aws:events:` + ev.Region + `:` + ev.AccountID + `:rule/[A-Za-z0-9._-]+$`)
	if len(ev.Resources) != 1 || !rule.MatchString(ev.Resources[0]) || !strings.Contains(ev.Resources[0], functionSweep) {
		t.Errorf("resources %v, want the one rule SAM names after %s", ev.Resources, functionSweep)
	}
	if string(ev.Detail) != "{}" {
		t.Errorf("detail %s, want {}", ev.Detail)
	}
}

// checkStreamEvent holds publish-events.json to what the table's stream
// mapping delivers: every field aws-lambda-go knows and no other, only
// INSERTs of audit records (the mapping's filter) with their new image,
// NEW_IMAGE, in sequence order.
func checkStreamEvent(t *testing.T, raw []byte) {
	var ev events.DynamoDBEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("not a DynamoDB stream event: %v", err)
	}
	if len(ev.Records) == 0 {
		t.Fatal("no records")
	}
	prev := ""
	for i, r := range ev.Records {
		c := r.Change
		if r.EventName != "INSERT" || r.EventSource != "aws:dynamodb" || r.EventVersion == "" || r.EventID == "" || r.AWSRegion == "" ||
			!strings.Contains(r.EventSourceArn, ":table/") || !strings.Contains(r.EventSourceArn, "/stream/") {
			t.Errorf("record %d: %+v, want an INSERT of the keys table's stream", i, r)
		}
		if c.StreamViewType != "NEW_IMAGE" || c.SequenceNumber <= prev || c.SizeBytes <= 0 || c.NewImage == nil {
			t.Errorf("record %d: view %q, sequence %q after %q, size %d: want NEW_IMAGE in order", i, c.StreamViewType, c.SequenceNumber, prev, c.SizeBytes)
		}
		prev = c.SequenceNumber
		if pk := c.Keys["pk"]; pk.String() != c.NewImage["pk"].String() || !strings.HasPrefix(pk.String(), "AUDIT#") || c.Keys["sk"].String() != c.NewImage["sk"].String() {
			t.Errorf("record %d: keys %v, want those of its image, an audit record", i, c.Keys)
		}
	}
}

// checkMemberEvent holds member-removed.json to what EventBridge delivers to
// a rule's target for an event a console backend put: every field and no
// other, detail-type TeamMemberRemoved from the console's own source (not
// aws.*), no resources (PutEvents named none), a UTC time to the second, in
// the account and region of the other events, and a detail of exactly
// {"teamId","memberId"}: t1 and alice.
func checkMemberEvent(t *testing.T, raw []byte) {
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	requireKeys(t, "event", tree, "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
	if res, ok := tree["resources"].([]any); !ok || len(res) != 0 {
		t.Errorf("resources %v, want [] (a PutEvents entry without resources)", tree["resources"])
	}
	var ev events.EventBridgeEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("not an EventBridge event: %v", err)
	}
	if ev.Version != "0" || ev.DetailType != offboard.DetailType || ev.Source != memberEventSource {
		t.Errorf("version %q, detail-type %q, source %q; want 0, %s, %s", ev.Version, ev.DetailType, ev.Source, offboard.DetailType, memberEventSource)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(ev.ID) {
		t.Errorf("id %q, want a UUID", ev.ID)
	}
	if ev.AccountID != "123456789012" || ev.Region != "us-east-1" {
		t.Errorf("account %q, region %q; want the other events' 123456789012 and us-east-1", ev.AccountID, ev.Region)
	}
	if ev.Time.Location() != time.UTC || ev.Time.Nanosecond() != 0 || ev.Time.IsZero() {
		t.Errorf("time %v, want a UTC time to the second", ev.Time)
	}
	var d offboard.Detail
	dec = json.NewDecoder(bytes.NewReader(ev.Detail))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || d != (offboard.Detail{TeamID: "t1", MemberID: "alice"}) {
		t.Errorf("detail %s (%v), want {\"teamId\":\"t1\",\"memberId\":\"alice\"}", ev.Detail, err)
	}
}

func checkEvent(t *testing.T, raw []byte, route httpapi.Route) {
	// Every field API Gateway sends is present, even where empty or null.
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	requireKeys(t, "event", tree, "version", "routeKey", "rawPath", "rawQueryString", "headers",
		"requestContext", "pathParameters", "isBase64Encoded")
	rc, _ := tree["requestContext"].(map[string]any)
	requireKeys(t, "requestContext", rc, "accountId", "apiId", "authorizer", "domainName", "domainPrefix",
		"http", "requestId", "routeKey", "stage", "time", "timeEpoch")
	httpDesc, _ := rc["http"].(map[string]any)
	requireKeys(t, "requestContext.http", httpDesc, "method", "path", "protocol", "sourceIp", "userAgent")
	authorizer, _ := rc["authorizer"].(map[string]any)
	jwt, _ := authorizer["jwt"].(map[string]any)
	requireKeys(t, "requestContext.authorizer.jwt", jwt, "claims", "scopes")
	if jwt["scopes"] != nil {
		t.Errorf("scopes %v, want null (a JWT authorizer without scopes)", jwt["scopes"])
	}

	// Nothing the Lambda library does not know, and all consistent.
	var ev events.APIGatewayV2HTTPRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("not a payload 2.0 event: %v", err)
	}
	routeKey := route.Method + " " + route.Path
	rctx := ev.RequestContext
	if ev.Version != "2.0" || ev.RouteKey != routeKey || rctx.RouteKey != routeKey {
		t.Errorf("version %q, routeKey %q / %q; want 2.0 and %q", ev.Version, ev.RouteKey, rctx.RouteKey, routeKey)
	}
	if rctx.Stage != "$default" {
		t.Errorf("stage %q, want $default (a named stage prefixes rawPath)", rctx.Stage)
	}
	for field, v := range map[string]string{"accountId": rctx.AccountID, "apiId": rctx.APIID, "domainName": rctx.DomainName,
		"domainPrefix": rctx.DomainPrefix, "requestId": rctx.RequestID, "http.protocol": rctx.HTTP.Protocol,
		"http.sourceIp": rctx.HTTP.SourceIP, "http.userAgent": rctx.HTTP.UserAgent} {
		if v == "" {
			t.Errorf("requestContext.%s is empty", field)
		}
	}
	if !strings.HasPrefix(rctx.DomainName, rctx.DomainPrefix+".") || ev.Headers["host"] != rctx.DomainName {
		t.Errorf("domainName %q, domainPrefix %q, host %q disagree", rctx.DomainName, rctx.DomainPrefix, ev.Headers["host"])
	}
	if at, err := time.Parse("02/Jan/2006:15:04:05 -0700", rctx.Time); err != nil || at.UnixMilli() != rctx.TimeEpoch {
		t.Errorf("time %q and timeEpoch %d disagree (%v)", rctx.Time, rctx.TimeEpoch, err)
	}
	if rctx.HTTP.Method != route.Method || rctx.HTTP.Path != ev.RawPath {
		t.Errorf("http %s %s, rawPath %s; want method %s", rctx.HTTP.Method, rctx.HTTP.Path, ev.RawPath, route.Method)
	}
	if ua := ev.Headers["user-agent"]; ua != rctx.HTTP.UserAgent {
		t.Errorf("user-agent header %q, http.userAgent %q", ua, rctx.HTTP.UserAgent)
	}

	// The path is the route's pattern with pathParameters filled in.
	path := route.Path
	var params []string
	for _, m := range regexp.MustCompile(`\{([A-Za-z]+)\}`).FindAllStringSubmatch(route.Path, -1) {
		params = append(params, m[1])
		path = strings.Replace(path, m[0], url.PathEscape(ev.PathParameters[m[1]]), 1)
	}
	if got := slices.Sorted(maps.Keys(ev.PathParameters)); !slices.Equal(got, slices.Sorted(slices.Values(params))) {
		t.Errorf("pathParameters %v, want %v", got, params)
	}
	if path != ev.RawPath {
		t.Errorf("rawPath %q, want %q from pathParameters", ev.RawPath, path)
	}
	if p := ev.PathParameters; p["teamId"] != "t1" || (p["memberId"] != "" && p["memberId"] != "alice") {
		t.Errorf("pathParameters %v, want team t1 and member alice", p)
	}
	if id, ok := ev.PathParameters["accessKeyId"]; ok && (id != placeholderKeyID || !accesskey.ValidAccessKeyID(id)) {
		t.Errorf("accessKeyId %q, want %s", id, placeholderKeyID)
	}
	query, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		t.Errorf("rawQueryString %q: %v", ev.RawQueryString, err)
	}
	if len(query) != len(ev.QueryStringParameters) {
		t.Errorf("rawQueryString %q, queryStringParameters %v", ev.RawQueryString, ev.QueryStringParameters)
	}
	for k, v := range ev.QueryStringParameters {
		if strings.Join(query[k], ",") != v {
			t.Errorf("queryStringParameters[%s] %q, rawQueryString %q", k, v, ev.RawQueryString)
		}
	}

	// Headers as API Gateway passes them: lower-case names.
	for name := range ev.Headers {
		if name != strings.ToLower(name) {
			t.Errorf("header %q is not lower-case", name)
		}
	}
	if a := ev.Headers["authorization"]; !strings.HasPrefix(a, "Bearer ") || len(a) == len("Bearer ") {
		t.Errorf("authorization %q, want a bearer token", a)
	}
	if ev.IsBase64Encoded {
		t.Error("isBase64Encoded: want false, the body being JSON text")
	}
	if bodyOperations[route.Operation] {
		if ev.Headers["content-type"] != "application/json" || ev.Headers["content-length"] != strconv.Itoa(len(ev.Body)) {
			t.Errorf("content-type %q, content-length %q; want application/json and %d",
				ev.Headers["content-type"], ev.Headers["content-length"], len(ev.Body))
		}
		if !json.Valid([]byte(ev.Body)) {
			t.Errorf("body %q is not JSON", ev.Body)
		}
	} else if ev.Body != "" || ev.Headers["content-type"] != "" || ev.Headers["content-length"] != "" {
		t.Errorf("a %s carries a body or body headers", route.Operation)
	}

	// The claims a JWT authorizer passes: all strings, exp a Unix time.
	if rctx.Authorizer == nil || rctx.Authorizer.JWT == nil {
		t.Fatal("no requestContext.authorizer.jwt")
	}
	claims := rctx.Authorizer.JWT.Claims
	requireKeys(t, "claims", claimsAny(claims), "sub", "team_id", "team_role", "iss", "aud", "exp")
	who := "admin"
	if ownerOperations[route.Operation] {
		who = "owner"
	}
	if claims["sub"] != who || claims["team_id"] != "t1" || claims["team_role"] != who {
		t.Errorf("claims %v, want %s of t1 with role %s", claims, who, who)
	}
	if exp, err := strconv.ParseInt(claims["exp"], 10, 64); err != nil || exp <= rctx.TimeEpoch/1000 {
		t.Errorf("exp %q: want a Unix time after the request's", claims["exp"])
	}
}

func claimsAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func requireKeys(t *testing.T, where string, m map[string]any, keys ...string) {
	t.Helper()
	if m == nil {
		t.Fatalf("%s: missing or not an object", where)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q", where, k)
		}
	}
}

// loadEvent reads a file of events/ as a JSON tree (numbers kept as they
// are), to be altered and sent as it is otherwise.
func loadEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(lambdarie.Root(t), "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// withKeyID replaces the placeholder access key id everywhere in ev.
func withKeyID(ev map[string]any, id string) map[string]any {
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return strings.ReplaceAll(v, placeholderKeyID, id)
		case map[string]any:
			for k, x := range v {
				v[k] = walk(x)
			}
		case []any:
			for i, x := range v {
				v[i] = walk(x)
			}
		}
		return v
	}
	walk(ev)
	return ev
}

func eventClaims(ev map[string]any) map[string]any {
	return ev["requestContext"].(map[string]any)["authorizer"].(map[string]any)["jwt"].(map[string]any)["claims"].(map[string]any)
}

// withTeamClaim makes ev come from a caller of another team.
func withTeamClaim(ev map[string]any, team string) map[string]any {
	eventClaims(ev)["team_id"] = team
	return ev
}

func withHeader(ev map[string]any, name, value string) map[string]any {
	ev["headers"].(map[string]any)[name] = value
	return ev
}

func eventRequestID(ev map[string]any) string {
	return ev["requestContext"].(map[string]any)["requestId"].(string)
}

// ---------------------------------------------------------------- checks

// expectError checks an error-shaped response carrying the event's request
// id.
func expectError(t *testing.T, what string, r response, status int, code, requestID string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	if got := r.ErrorCode(t); got != code {
		t.Fatalf("%s: code %s, want %s", what, got, code)
	}
	var body httpapi.ErrorBody
	r.Decode(t, &body)
	if body.Error.RequestID != requestID {
		t.Fatalf("%s: requestId %q, want the event's %q", what, body.Error.RequestID, requestID)
	}
}

func expectJSON(t *testing.T, what string, r response, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("%s: Cache-Control %q, want no-store", what, cc)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, r.Body)
	}
}

func expectCreated(t *testing.T, r response) createdKey {
	t.Helper()
	var k createdKey
	expectJSON(t, "generate", r, http.StatusCreated, &k)
	if !accesskey.ValidAccessKeyID(k.AccessKeyID) || !accesskey.ValidSecretFormat(k.SecretAccessKey) {
		t.Fatalf("generate: id %q, secret %q", k.AccessKeyID, k.SecretAccessKey)
	}
	if k.Status != "Active" || k.TeamID != "t1" || k.MemberID != "alice" || k.CreatedBy != "admin" || k.Description != "CI deploys" {
		t.Fatalf("generate: %+v", k)
	}
	return k
}

// checkKeyItem reads the key's item and checks its owner, its status and
// that the secret is kept only as ciphertext.
func checkKeyItem(t *testing.T, s *teststack.Table, k createdKey, status string) {
	t.Helper()
	item := s.Item("KEY#"+k.AccessKeyID, "KEY")
	if item == nil {
		t.Fatalf("no item for %s", k.AccessKeyID)
	}
	if item["teamId"] != "t1" || item["memberId"] != "alice" || item["status"] != status || item["createdBy"] != "admin" {
		t.Fatalf("item of %s: team %v member %v status %v createdBy %v; want t1 alice %s admin",
			k.AccessKeyID, item["teamId"], item["memberId"], item["status"], item["createdBy"], status)
	}
	ciphertext, _ := item["secretCiphertext"].([]byte)
	if len(ciphertext) == 0 || bytes.Contains(ciphertext, []byte(k.SecretAccessKey)) ||
		strings.Contains(fmt.Sprintf("%v", item), k.SecretAccessKey) {
		t.Fatalf("item of %s: the secret is not kept as ciphertext only", k.AccessKeyID)
	}
}

func keyCount(t *testing.T, s *teststack.Table) any {
	t.Helper()
	counter := s.Item("MEMBER#t1#alice", "COUNTER")
	if counter == nil {
		return nil
	}
	return counter["keyCount"]
}

// ---------------------------------------------------------------- tests

// TestLambdaRIE runs every function's production binary under the Lambda
// Runtime Interface Emulator with the events of events/, and a GenerateKey
// built with the teamkeys_faults tag.
// emptyBodySHA256 is the hex SHA-256 of the empty body.
const emptyBodySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestLambdaRIE(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Lambda Runtime Interface Emulator runs on Linux only")
	}
	began := time.Now()
	rie := lambdarie.Binary(t)
	var builds []lambdarie.Build
	for _, name := range append(httpapi.Functions(), functionAuthorizer, functionSweep, functionMemberRemoved, functionPublishEvents) {
		builds = append(builds, lambdarie.Build{Function: name})
	}
	bins := lambdarie.BuildAll(t, append(builds, faultBuild))
	t.Logf("built %d function binaries (GOARCH=%s) in %s", len(bins), runtime.GOARCH, time.Since(began).Round(time.Millisecond))

	// Production binaries never contain the fault hook.
	for name, path := range bins {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(b, []byte(faultHeader)); has != (name == faultBuild.Name()) {
			t.Fatalf("%s: contains %q: %v", name, faultHeader, has)
		}
	}

	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		testRIELifecycle(t, rie, bins)
	})
	t.Run("SignedRequests", func(t *testing.T) {
		t.Parallel()
		testRIESignedRequests(t, rie, bins)
	})
	t.Run("PanicRecovery", func(t *testing.T) {
		t.Parallel()
		testRIEPanicRecovery(t, rie, bins[faultBuild.Name()])
	})
	t.Run("Sweep", func(t *testing.T) {
		t.Parallel()
		testRIESweep(t, rie, bins[functionSweep])
	})
	t.Run("PublishEvents", func(t *testing.T) {
		t.Parallel()
		testRIEPublishEvents(t, rie, bins[functionPublishEvents])
	})
	t.Cleanup(func() { t.Logf("TestLambdaRIE took %s", time.Since(began).Round(time.Millisecond)) })
}

// testRIELifecycle: each function, on the real Lambda runtime library,
// answers its events as the API promises, writes what it should to the
// table, refuses a caller of another team with 403 and goes on serving, and
// is initialised once for all its invocations. MemberRemoved, on the
// console's event, offboards a member as OffboardMember does.
func testRIELifecycle(t *testing.T, rie string, bins map[string]string) {
	s := teststack.NewTable(t)
	fns := map[string]*lambdarie.Function{}
	github := newGitHub(t)
	for _, name := range lifecycleFunctions() {
		var env []string
		if name == httpapi.FunctionLeakReport {
			env = append(env, "TEAMKEYS_GITHUB_KEYS_FILE="+github.file)
		}
		fns[name] = lambdarie.Start(t, rie, name, bins[name], s.Name, env...)
	}
	// first notes the runtime's pid after a function's first invocation
	// (the emulator starts the runtime then).
	pids := map[string]int{}
	first := func(f *lambdarie.Function, r response) response {
		if _, ok := pids[f.Name]; !ok {
			pids[f.Name] = f.RuntimePID()
		}
		return r
	}

	// GenerateKey: another team's admin is refused and nothing is written;
	// then two keys, then the cap.
	gen := fns[httpapi.FunctionGenerateKey]
	ev := loadEvent(t, "generate.json")
	expectError(t, "generate for another team", first(gen, gen.Invoke(withTeamClaim(loadEvent(t, "generate.json"), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(ev))
	if n := keyCount(t, s); n != nil {
		t.Fatalf("a refused generate left a counter: %v", n)
	}
	k1 := expectCreated(t, gen.Invoke(loadEvent(t, "generate.json")))
	checkKeyItem(t, s, k1, "Active")
	if n := keyCount(t, s); n != float64(1) {
		t.Fatalf("keyCount %v after one generate, want 1", n)
	}
	// The production binary has no fault hook: the header changes nothing.
	k2 := expectCreated(t, gen.Invoke(withHeader(loadEvent(t, "generate.json"), faultHeader, "panic")))
	checkKeyItem(t, s, k2, "Active")
	expectError(t, "third generate", gen.Invoke(loadEvent(t, "generate.json")),
		http.StatusConflict, "LimitExceeded", eventRequestID(ev))
	if n := keyCount(t, s); n != float64(2) {
		t.Fatalf("keyCount %v after the cap, want 2", n)
	}

	// ListKeys: both lists, no secret in either.
	list := fns[httpapi.FunctionListKeys]
	expectError(t, "list for another team", first(list, list.Invoke(withTeamClaim(loadEvent(t, "list-member.json"), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, "list-member.json")))
	for _, file := range []string{"list-member.json", "list-team.json"} {
		r := list.Invoke(loadEvent(t, file))
		var l keyList
		expectJSON(t, file, r, http.StatusOK, &l)
		var ids []string
		for _, k := range l.AccessKeys {
			ids = append(ids, k.AccessKeyID)
			if k.Status != "Active" || k.TeamID != "t1" || k.MemberID != "alice" {
				t.Fatalf("%s: %+v", file, k)
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(ids)), slices.Sorted(slices.Values([]string{k1.AccessKeyID, k2.AccessKeyID}))) || l.NextToken != nil {
			t.Fatalf("%s: keys %v, nextToken %v; want %s and %s, no next page", file, ids, l.NextToken, k1.AccessKeyID, k2.AccessKeyID)
		}
		if bytes.Contains(bytes.ToLower(r.Body), []byte("secret")) ||
			bytes.Contains(r.Body, []byte(k1.SecretAccessKey)) || bytes.Contains(r.Body, []byte(k2.SecretAccessKey)) {
			t.Fatalf("%s shows a secret: %s", file, r.Body)
		}
	}

	// ListKeys, the credential report: CSV, both keys, no secret.
	report := list.Invoke(loadEvent(t, "report.json"))
	if report.Status != http.StatusOK || !bytes.HasPrefix(report.Body, []byte("memberId,accessKeyId,status,")) ||
		!bytes.Contains(report.Body, []byte(k1.AccessKeyID)) || !bytes.Contains(report.Body, []byte(k2.AccessKeyID)) ||
		bytes.Contains(report.Body, []byte(k1.SecretAccessKey)) {
		t.Fatalf("report.json: %d %s", report.Status, report.Body)
	}

	// ListKeys, one key: as the lists show it, no secret; the placeholder
	// id of the file as it is, a well-formed id of no key, is NotFound.
	getID := eventRequestID(loadEvent(t, "get.json"))
	expectError(t, "get for another team", list.Invoke(withTeamClaim(withKeyID(loadEvent(t, "get.json"), k1.AccessKeyID), "t2")),
		http.StatusForbidden, "Forbidden", getID)
	var one listedKey
	r := list.Invoke(withKeyID(loadEvent(t, "get.json"), k1.AccessKeyID))
	expectJSON(t, "get.json", r, http.StatusOK, &one)
	if one.AccessKeyID != k1.AccessKeyID || one.Status != "Active" || one.TeamID != "t1" || one.MemberID != "alice" ||
		one.CreatedBy != "admin" || one.CreatedAt != k1.CreatedAt || one.LastUsedAt != nil {
		t.Fatalf("get.json: %+v, want %s as generated", one, k1.AccessKeyID)
	}
	if bytes.Contains(bytes.ToLower(r.Body), []byte("secret")) || bytes.Contains(r.Body, []byte(k1.SecretAccessKey)) {
		t.Fatalf("get.json shows a secret: %s", r.Body)
	}
	expectError(t, "get.json as it is", list.Invoke(loadEvent(t, "get.json")), http.StatusNotFound, "NotFound", getID)

	// ListKeys, the audit trail: another team's admin is refused; the
	// team's holds exactly the two keys' creation (the refused generates
	// wrote nothing), by the admin of generate.json's request, newest
	// first, and no secret.
	auditID := eventRequestID(loadEvent(t, "audit-events.json"))
	expectError(t, "audit events for another team", list.Invoke(withTeamClaim(loadEvent(t, "audit-events.json"), "t2")),
		http.StatusForbidden, "Forbidden", auditID)
	trail := expectAudit(t, "audit-events.json", list.Invoke(loadEvent(t, "audit-events.json")), k1.SecretAccessKey, k2.SecretAccessKey)
	if got, want := auditActions(trail), slices.Sorted(slices.Values([]string{accesskey.AuditKeyCreated + " " + k1.AccessKeyID, accesskey.AuditKeyCreated + " " + k2.AccessKeyID})); !slices.Equal(got, want) {
		t.Fatalf("audit-events.json: %v, want %v", got, want)
	}
	for _, e := range trail {
		if e.MemberID != "alice" || e.Actor.Type != "user" || e.Actor.Sub != "admin" || e.Actor.SourceIP != "203.0.113.10" ||
			e.Actor.UserAgent != "teamkeys-console/1.0" || e.RequestID != eventRequestID(ev) || e.Changes.StatusAfter != "Active" || e.Changes.StatusBefore != "" {
			t.Fatalf("audit-events.json: %+v, want alice's key created Active by admin in request %s", e, eventRequestID(ev))
		}
	}

	// DisableKey, EnableKey: another team's caller changes nothing; the
	// status goes Inactive and back to Active, in the answer and the table.
	for _, step := range []struct {
		function, file, status, before string
	}{
		{httpapi.FunctionDisableKey, "disable.json", "Inactive", "Active"},
		{httpapi.FunctionEnableKey, "enable.json", "Active", "Inactive"},
	} {
		f := fns[step.function]
		expectError(t, step.file+" for another team",
			first(f, f.Invoke(withTeamClaim(withKeyID(loadEvent(t, step.file), k1.AccessKeyID), "t2"))),
			http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, step.file)))
		checkKeyItem(t, s, k1, step.before)
		var got listedKey
		expectJSON(t, step.file, f.Invoke(withKeyID(loadEvent(t, step.file), k1.AccessKeyID)), http.StatusOK, &got)
		if got.AccessKeyID != k1.AccessKeyID || got.Status != step.status {
			t.Fatalf("%s: %+v, want %s %s", step.file, got, k1.AccessKeyID, step.status)
		}
		checkKeyItem(t, s, k1, step.status)
	}

	// UpdateKey: another team's caller changes nothing; update.json
	// restricts the key, in the answer and the table.
	upd := fns[httpapi.FunctionUpdateKey]
	expectError(t, "update.json for another team",
		first(upd, upd.Invoke(withTeamClaim(withKeyID(loadEvent(t, "update.json"), k1.AccessKeyID), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, "update.json")))
	if item := s.Item("KEY#"+k1.AccessKeyID, "KEY"); item["scopes"] != nil || item["allowedCidrs"] != nil {
		t.Fatalf("a refused update restricted the key: %v", item)
	}
	var updated listedKey
	expectJSON(t, "update.json", upd.Invoke(withKeyID(loadEvent(t, "update.json"), k1.AccessKeyID)), http.StatusOK, &updated)
	if updated.AccessKeyID != k1.AccessKeyID || updated.AllowedCidrs != `["203.0.113.0/24"]` || updated.Scopes != `["orders:read"]` {
		t.Fatalf("update.json: %+v, want %s restricted to 203.0.113.0/24 and orders:read", updated, k1.AccessKeyID)
	}
	if item := s.Item("KEY#"+k1.AccessKeyID, "KEY"); fmt.Sprint(item["allowedCidrs"], item["scopes"]) != "[203.0.113.0/24] [orders:read]" {
		t.Fatalf("update.json: the key item holds %v %v", item["allowedCidrs"], item["scopes"])
	}

	// DeleteKey: 204 with no body, the item gone, the slot free.
	del := fns[httpapi.FunctionDeleteKey]
	expectError(t, "delete for another team",
		first(del, del.Invoke(withTeamClaim(withKeyID(loadEvent(t, "delete.json"), k1.AccessKeyID), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, "delete.json")))
	checkKeyItem(t, s, k1, "Active")
	r = del.Invoke(withKeyID(loadEvent(t, "delete.json"), k1.AccessKeyID))
	if r.Status != http.StatusNoContent || len(r.Body) != 0 || r.Header.Get("Content-Type") != "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("delete: %d %v %q; want 204, no body, no Content-Type, Cache-Control no-store", r.Status, r.Header, r.Body)
	}
	if item := s.Item("KEY#"+k1.AccessKeyID, "KEY"); item != nil {
		t.Fatalf("deleted key's item remains: %v", item)
	}
	if n := keyCount(t, s); n != float64(1) {
		t.Fatalf("keyCount %v after a delete, want 1", n)
	}
	// The placeholder id of the file as it is: a well-formed id of no key.
	expectError(t, "delete of the placeholder id", del.Invoke(loadEvent(t, "delete.json")),
		http.StatusNotFound, "NotFound", eventRequestID(loadEvent(t, "delete.json")))
	k3 := expectCreated(t, gen.Invoke(loadEvent(t, "generate.json")))
	checkKeyItem(t, s, k3, "Active")

	// KeyPolicy: none at first. Another team's caller and an admin may not
	// set one (nothing is written); the owner sets the file's 90 days, kept
	// in the team's policy item and shown by GET.
	pol := fns[httpapi.FunctionKeyPolicy]
	getPolicyID, putPolicyID := eventRequestID(loadEvent(t, "key-policy-get.json")), eventRequestID(loadEvent(t, "key-policy-put.json"))
	expectError(t, "get key policy for another team", first(pol, pol.Invoke(withTeamClaim(loadEvent(t, "key-policy-get.json"), "t2"))),
		http.StatusForbidden, "Forbidden", getPolicyID)
	var none keyPolicy
	expectJSON(t, "key-policy-get.json", pol.Invoke(loadEvent(t, "key-policy-get.json")), http.StatusOK, &none)
	if none != (keyPolicy{TeamID: "t1", KeysOutsidePolicyComplete: true}) {
		t.Fatalf("key-policy-get.json before any policy: %+v, want t1 with no limit", none)
	}
	asAdmin := loadEvent(t, "key-policy-put.json")
	eventClaims(asAdmin)["sub"], eventClaims(asAdmin)["team_role"] = "admin", "admin"
	expectError(t, "put key policy as admin", pol.Invoke(asAdmin), http.StatusForbidden, "Forbidden", putPolicyID)
	expectError(t, "put key policy for another team", pol.Invoke(withTeamClaim(loadEvent(t, "key-policy-put.json"), "t2")),
		http.StatusForbidden, "Forbidden", putPolicyID)
	if item := s.Item("POLICY#t1#0", "POLICY"); item != nil { // the copies are written together
		t.Fatalf("a refused policy change wrote %v", item)
	}
	var set keyPolicy
	expectJSON(t, "key-policy-put.json", pol.Invoke(loadEvent(t, "key-policy-put.json")), http.StatusOK, &set)
	if set.TeamID != "t1" || set.MaxLifetimeDays == nil || *set.MaxLifetimeDays != 90 || set.UpdatedBy != "owner" || set.UpdatedAt == nil {
		t.Fatalf("key-policy-put.json: %+v, want t1, 90 days, by owner", set)
	}
	if item := s.Item("POLICY#t1#7", "POLICY"); item["teamId"] != "t1" || item["maxLifetimeDays"] != float64(90) ||
		item["updatedBy"] != "owner" || item["updatedAt"] != *set.UpdatedAt {
		t.Fatalf("policy item %v, want t1, 90 days, by owner at %s", item, *set.UpdatedAt)
	}
	var got keyPolicy
	expectJSON(t, "key-policy-get.json", pol.Invoke(loadEvent(t, "key-policy-get.json")), http.StatusOK, &got)
	if got.TeamID != set.TeamID || *got.MaxLifetimeDays != 90 || got.UpdatedBy != set.UpdatedBy || *got.UpdatedAt != *set.UpdatedAt {
		t.Fatalf("key-policy-get.json after the put: %+v, want %+v", got, set)
	}
	// GenerateKey follows it: a new key (another member's: alice is at the
	// cap) expires 90 days after its creation, and its item is in the
	// sweep's ByExpiry index.
	r = gen.Invoke(withMember(loadEvent(t, "generate.json"), "bob"))
	var bob map[string]any
	if err := json.Unmarshal(r.Body, &bob); err != nil || r.Status != http.StatusCreated {
		t.Fatalf("generate for bob under the policy: %d %s (%v)", r.Status, r.Body, err)
	}
	bobID, _ := bob["accessKeyId"].(string)
	createdAt, err1 := time.Parse(time.RFC3339, fmt.Sprint(bob["createdAt"]))
	expiresAt, err2 := time.Parse(time.RFC3339, fmt.Sprint(bob["expiresAt"]))
	if err1 != nil || err2 != nil || !expiresAt.Equal(createdAt.AddDate(0, 0, 90)) {
		t.Fatalf("generate under a 90-day policy: createdAt %v, expiresAt %v, want 90 days apart", bob["createdAt"], bob["expiresAt"])
	}
	if item := s.Item("KEY#"+bobID, "KEY"); item["expiresAt"] != bob["expiresAt"] || !strings.HasPrefix(fmt.Sprint(item["gsi2pk"]), "EXPIRY#") ||
		item["gsi2sk"] != fmt.Sprintf("%s#%s", bob["expiresAt"], bobID) || item["memberId"] != "bob" {
		t.Fatalf("item of bob's key %s: expiresAt %v, gsi2pk %v, gsi2sk %v", bobID, item["expiresAt"], item["gsi2pk"], item["gsi2sk"])
	}

	// RotateKey: another team's caller changes nothing, and the file as it
	// is names no key.
	rot := fns[httpapi.FunctionRotateKey]
	rotateID := eventRequestID(loadEvent(t, "rotate.json"))
	expectError(t, "rotate for another team", first(rot, rot.Invoke(withTeamClaim(withKeyID(loadEvent(t, "rotate.json"), k3.AccessKeyID), "t2"))),
		http.StatusForbidden, "Forbidden", rotateID)
	checkKeyItem(t, s, k3, "Active")
	expectError(t, "rotate.json as it is", rot.Invoke(loadEvent(t, "rotate.json")), http.StatusNotFound, "NotFound", rotateID)

	// With no grace period (the file's): alice, at the cap, gets a new
	// key in the place of k3, whose item is gone, in one transaction; her
	// counter does not move. The new key follows the team's 90-day policy.
	r = rot.Invoke(withKeyID(loadEvent(t, "rotate.json"), k3.AccessKeyID))
	k4 := expectRotated(t, "rotate.json", r, k3.AccessKeyID, "alice")
	checkKeyItem(t, s, k4.createdKey, "Active")
	if item := s.Item("KEY#"+k3.AccessKeyID, "KEY"); item != nil {
		t.Fatalf("the key rotated with no grace period remains: %v", item)
	}
	if n := keyCount(t, s); n != float64(2) {
		t.Fatalf("keyCount %v after a rotation with no grace period, want 2 (unchanged)", n)
	}
	created4, errCreated := time.Parse(time.RFC3339, k4.CreatedAt)
	var expires4 time.Time
	var errExpires error
	if k4.ExpiresAt != nil {
		expires4, errExpires = time.Parse(time.RFC3339, *k4.ExpiresAt)
	}
	if k4.ExpiresAt == nil || errCreated != nil || errExpires != nil || !expires4.Equal(created4.AddDate(0, 0, 90)) {
		t.Fatalf("rotated key under a 90-day policy: createdAt %s, expiresAt %v, want 90 days apart", k4.CreatedAt, k4.ExpiresAt)
	}
	if item := s.Item("KEY#"+k4.AccessKeyID, "KEY"); item["rotatedFrom"] != k3.AccessKeyID || item["expiresAt"] != *k4.ExpiresAt ||
		!strings.HasPrefix(fmt.Sprint(item["gsi2pk"]), "EXPIRY#") || item["rotatedTo"] != nil {
		t.Fatalf("item of the rotated key %s: rotatedFrom %v, expiresAt %v, gsi2pk %v, rotatedTo %v; want %s, %s, EXPIRY#<shard>, none",
			k4.AccessKeyID, item["rotatedFrom"], item["expiresAt"], item["gsi2pk"], item["rotatedTo"], k3.AccessKeyID, *k4.ExpiresAt)
	}
	if bytes.Contains(r.Body, []byte("secretCiphertext")) || bytes.Contains(r.Body, []byte("secretSha256")) {
		t.Fatalf("rotate shows the stored secret: %s", r.Body)
	}

	// With a grace period, at the cap: refused, nothing changes.
	expectError(t, "rotate with a grace period at the cap",
		rot.Invoke(withBody(withKeyID(loadEvent(t, "rotate.json"), k2.AccessKeyID), `{"gracePeriodSeconds":60}`)),
		http.StatusConflict, "LimitExceeded", rotateID)
	if item := s.Item("KEY#"+k2.AccessKeyID, "KEY"); item["rotatedTo"] != nil || item["expiresAt"] != nil {
		t.Fatalf("a refused rotation changed %s: %v", k2.AccessKeyID, item)
	}
	if n := keyCount(t, s); n != float64(2) {
		t.Fatalf("keyCount %v after a refused rotation, want 2", n)
	}

	// With a grace period below the cap: bob's key is kept for the hour
	// (its item marked rotated, its expiry set, in the sweep's index) and
	// the new key takes another slot.
	bobRotate := withBody(withMember(withKeyID(loadEvent(t, "rotate.json"), bobID), "bob"), `{"gracePeriodSeconds":3600}`)
	before := time.Now().UTC().Truncate(time.Second)
	bob2 := expectRotated(t, "rotate with a grace period", rot.Invoke(bobRotate), bobID, "bob")
	after := time.Now().UTC()
	old := s.Item("KEY#"+bobID, "KEY")
	oldExpires, err := time.Parse(time.RFC3339, fmt.Sprint(old["expiresAt"]))
	if err != nil || oldExpires.Before(before.Add(time.Hour)) || oldExpires.After(after.Add(time.Hour)) {
		t.Fatalf("bob's rotated key expires at %v, want an hour after the rotation (%s to %s)", old["expiresAt"], before.Add(time.Hour), after.Add(time.Hour))
	}
	if old["rotatedTo"] != bob2.AccessKeyID || !strings.HasPrefix(fmt.Sprint(old["gsi2pk"]), "EXPIRY#") || old["gsi2sk"] != fmt.Sprintf("%s#%s", old["expiresAt"], bobID) ||
		old["status"] != "Active" || old["memberId"] != "bob" {
		t.Fatalf("item of bob's rotated key %s: rotatedTo %v, gsi2pk %v, gsi2sk %v, status %v; want %s, EXPIRY#<shard>, <expiresAt>#<id>, Active",
			bobID, old["rotatedTo"], old["gsi2pk"], old["gsi2sk"], old["status"], bob2.AccessKeyID)
	}
	if item := s.Item("KEY#"+bob2.AccessKeyID, "KEY"); item["rotatedFrom"] != bobID || item["memberId"] != "bob" || item["status"] != "Active" {
		t.Fatalf("item of bob's new key %s: %v", bob2.AccessKeyID, item)
	}
	if n := s.Item("MEMBER#t1#bob", "COUNTER")["keyCount"]; n != float64(2) {
		t.Fatalf("bob's keyCount %v after a rotation with a grace period, want 2 (one more)", n)
	}
	// A key a rotation replaced is not rotated again (refused after the
	// projected read of the key that says why): nothing changes.
	expectError(t, "rotate a rotated key", rot.Invoke(withMember(withKeyID(loadEvent(t, "rotate.json"), bobID), "bob")),
		http.StatusConflict, "AlreadyRotated", rotateID)
	if got := s.Item("KEY#"+bobID, "KEY"); got["rotatedTo"] != bob2.AccessKeyID || got["expiresAt"] != old["expiresAt"] {
		t.Fatalf("a refused second rotation changed %s: %v", bobID, got)
	}
	if n := s.Item("MEMBER#t1#bob", "COUNTER")["keyCount"]; n != float64(2) {
		t.Fatalf("bob's keyCount %v after a refused rotation, want 2", n)
	}
	if report, err := s.Check(context.Background()); err != nil || !report.OK() {
		t.Fatalf("the table after the rotations: %v\n%s", err, report)
	}

	// OffboardMember: another team's admin deletes nothing; then both of
	// alice's keys go, slots and all (200 naming them); again, 200 with an
	// empty list. Bob's keys stay.
	off := fns[httpapi.FunctionOffboard]
	expectError(t, "offboard for another team", first(off, off.Invoke(withTeamClaim(loadEvent(t, "offboard.json"), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, "offboard.json")))
	aliceKeys := []string{k2.AccessKeyID, k4.AccessKeyID}
	for _, id := range aliceKeys {
		if s.Item("KEY#"+id, "KEY") == nil {
			t.Fatalf("a refused offboard deleted %s", id)
		}
	}
	for i, want := range [][]string{aliceKeys, {}} {
		var got struct {
			Deleted []string `json:"deleted"`
		}
		expectJSON(t, "offboard.json", off.Invoke(loadEvent(t, "offboard.json")), http.StatusOK, &got)
		if got.Deleted == nil || !slices.Equal(slices.Sorted(slices.Values(got.Deleted)), slices.Sorted(slices.Values(want))) {
			t.Fatalf("offboard.json #%d: deleted %v, want %v", i+1, got.Deleted, want)
		}
		for _, id := range aliceKeys {
			if item := s.Item("KEY#"+id, "KEY"); item != nil {
				t.Fatalf("offboard.json #%d: the item of %s remains: %v", i+1, id, item)
			}
		}
		if n := keyCount(t, s); n != float64(0) {
			t.Fatalf("offboard.json #%d: alice's keyCount %v, want 0", i+1, n)
		}
	}
	for _, id := range []string{bobID, bob2.AccessKeyID} {
		if s.Item("KEY#"+id, "KEY") == nil {
			t.Fatalf("offboarding alice deleted bob's key %s", id)
		}
	}

	// MemberRemoved: the console's event for bob (whose keys came from
	// GenerateKey and RotateKey) deletes exactly his, not carol's; the same
	// event again deletes nothing and is no error; an event with an invalid
	// memberId is a function error (so that Lambda retries it and then
	// queues it), and deletes nothing.
	r = gen.Invoke(withMember(loadEvent(t, "generate.json"), "carol"))
	var carol createdKey
	if err := json.Unmarshal(r.Body, &carol); err != nil || r.Status != http.StatusCreated || carol.MemberID != "carol" {
		t.Fatalf("generate for carol: %d %s (%v)", r.Status, r.Body, err)
	}
	removed := lambdarie.Start(t, rie, functionMemberRemoved, bins[functionMemberRemoved], s.Name)
	memberEvent := func(member string) map[string]any {
		ev := loadEvent(t, "member-removed.json")
		ev["detail"].(map[string]any)["memberId"] = member
		return ev
	}
	offboarded := func(what string, ev map[string]any) offboard.Result {
		t.Helper()
		raw := removed.InvokeRaw(ev)
		var res offboard.Result
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil || res.Deleted == nil {
			t.Fatalf("%s: not {\"teamId\",\"memberId\",\"deleted\"} (%v): %s", what, err, raw)
		}
		return res
	}
	bobKeys := []string{bobID, bob2.AccessKeyID}
	res := offboarded("member-removed.json for bob", memberEvent("bob"))
	removedPID := removed.RuntimePID()
	if res.TeamID != "t1" || res.MemberID != "bob" || !slices.Equal(slices.Sorted(slices.Values(res.Deleted)), slices.Sorted(slices.Values(bobKeys))) {
		t.Fatalf("member-removed.json for bob: %+v, want t1/bob and deleted %v", res, bobKeys)
	}
	for _, id := range bobKeys {
		if item := s.Item("KEY#"+id, "KEY"); item != nil {
			t.Fatalf("the item of bob's key %s remains: %v", id, item)
		}
	}
	checkCounters := func(what string) {
		t.Helper()
		for member, want := range map[string]float64{"alice": 0, "bob": 0, "carol": 1} {
			if n := s.Item("MEMBER#t1#"+member, "COUNTER")["keyCount"]; n != want {
				t.Fatalf("%s: %s's keyCount %v, want %v", what, member, n, want)
			}
		}
		if s.Item("KEY#"+carol.AccessKeyID, "KEY") == nil {
			t.Fatalf("%s: carol's key is gone", what)
		}
	}
	checkCounters("after bob's removal")
	if again := offboarded("member-removed.json for bob again", memberEvent("bob")); len(again.Deleted) != 0 || again.MemberID != "bob" {
		t.Fatalf("member-removed.json for bob again: %+v, want nothing deleted", again)
	}
	checkCounters("after bob's removal again")
	var failed struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if raw := removed.InvokeRaw(memberEvent("../carol")); json.Unmarshal(raw, &failed) != nil || failed.ErrorType == "" || !strings.Contains(failed.ErrorMessage, "memberId") {
		t.Fatalf("member-removed.json with the memberId ../carol: %s, want a function error naming memberId", raw)
	}
	checkCounters("after an invalid event")
	if report, err := s.Check(context.Background()); err != nil || !report.OK() {
		t.Fatalf("the table after the offboardings: %v\n%s", err, report)
	}

	// LeakReport: another team's admin is refused; the team's admin
	// reports carol's secret and her key is disabled (not deleted) and
	// named; GitHub's event as it is (a placeholder signature) is refused
	// before any read.
	leaks := fns[httpapi.FunctionLeakReport]
	leakEvent := func(secret string) map[string]any {
		ev := loadEvent(t, "leak-team.json")
		body := `{"secretAccessKey":"` + secret + `"}`
		ev["body"] = body
		return withHeader(ev, "content-length", strconv.Itoa(len(body)))
	}
	expectError(t, "leak-team.json for another team", first(leaks, leaks.Invoke(withTeamClaim(leakEvent(carol.SecretAccessKey), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, "leak-team.json")))
	carolStatus := func() any { return s.Item("KEY#"+carol.AccessKeyID, "KEY")["status"] }
	if st := carolStatus(); st != "Active" {
		t.Fatalf("a refused leak report: carol's key %v", st)
	}
	var leaked struct {
		Matched     bool   `json:"matched"`
		AccessKeyID string `json:"accessKeyId"`
		MemberID    string `json:"memberId"`
		Status      string `json:"status"`
	}
	expectJSON(t, "leak-team.json", leaks.Invoke(leakEvent(carol.SecretAccessKey)), http.StatusOK, &leaked)
	if !leaked.Matched || leaked.AccessKeyID != carol.AccessKeyID || leaked.MemberID != "carol" || leaked.Status != "Inactive" {
		t.Fatalf("leak-team.json: %+v, want carol's key %s disabled", leaked, carol.AccessKeyID)
	}
	if st := carolStatus(); st != "Inactive" {
		t.Fatalf("leak-team.json: carol's key %v, want Inactive", st)
	}
	expectError(t, "leak-github.json as it is", leaks.Invoke(loadEvent(t, "leak-github.json")), http.StatusUnauthorized, "InvalidSignature",
		eventRequestID(loadEvent(t, "leak-github.json")))
	// The leak report API's proxy event, signed by GitHub's key, reporting
	// carol's secret: GitHub's feedback, in the REST API's response shape.
	ghReport := github.report(t, carol.SecretAccessKey)
	signedEvent := loadEvent(t, "leak-github.json")
	signedEvent["body"] = ghReport.Body
	for name, value := range map[string]string{"Content-Length": strconv.Itoa(len(ghReport.Body)),
		"Github-Public-Key-Identifier": ghReport.Header[leak.HeaderKeyID], "Github-Public-Key-Signature": ghReport.Header[leak.HeaderSignature]} {
		signedEvent["headers"].(map[string]any)[name] = value
		signedEvent["multiValueHeaders"].(map[string]any)[name] = []string{value}
	}
	var restAnswer events.APIGatewayProxyResponse
	rawAnswer := leaks.InvokeRaw(signedEvent)
	dec := json.NewDecoder(bytes.NewReader(rawAnswer))
	dec.DisallowUnknownFields()
	var fb []leak.Feedback
	if err := dec.Decode(&restAnswer); err != nil || restAnswer.StatusCode != http.StatusOK || json.Unmarshal([]byte(restAnswer.Body), &fb) != nil ||
		len(fb) != 1 || fb[0].Label != leak.LabelTruePositive || restAnswer.Headers["X-Request-Id"] != eventRequestID(signedEvent) {
		t.Fatalf("leak-github.json signed: %s (%v), want a REST API response 200 with carol's secret true_positive", rawAnswer, err)
	}

	// The audit trail now holds every change above, each once, and no
	// secret: k1's (filtered by accessKeyId) its creation, its disable and
	// enable (each with the status before and after, as DisableKey and
	// EnableKey read it first) and its deletion; the policy's; the
	// rotations (the new key's, from the old); the offboardings' deletions,
	// MemberRemoved's by the system.
	secrets := []string{k1.SecretAccessKey, k2.SecretAccessKey, k3.SecretAccessKey, k4.SecretAccessKey, bob2.SecretAccessKey, carol.SecretAccessKey}
	k1Trail := expectAudit(t, "audit-events.json for k1", list.Invoke(withQuery(loadEvent(t, "audit-events.json"), "accessKeyId", k1.AccessKeyID)), secrets...)
	wantK1 := []string{accesskey.AuditKeyCreated, accesskey.AuditKeyDeleted, accesskey.AuditKeyDisabled, accesskey.AuditKeyEnabled, accesskey.AuditKeyUpdated}
	var gotK1 []string
	for _, e := range k1Trail {
		gotK1 = append(gotK1, e.Action)
		if e.AccessKeyID != k1.AccessKeyID {
			t.Fatalf("audit-events.json for k1: %+v, another key's", e)
		}
		switch e.Action {
		case accesskey.AuditKeyDisabled:
			if e.Changes.StatusBefore != "Active" || e.Changes.StatusAfter != "Inactive" || e.RequestID != eventRequestID(loadEvent(t, "disable.json")) {
				t.Fatalf("the disable's record: %+v, want Active to Inactive in disable.json's request", e)
			}
		case accesskey.AuditKeyUpdated:
			if string(e.Changes.AllowedCidrs) != `{"before":null,"after":["203.0.113.0/24"]}` || string(e.Changes.Scopes) != `{"before":null,"after":["orders:read"]}` ||
				e.Changes.Description != nil || e.RequestID != eventRequestID(loadEvent(t, "update.json")) {
				t.Fatalf("the update's record: %+v, want both restrictions from null in update.json's request", e)
			}
		case accesskey.AuditKeyEnabled:
			if e.Changes.StatusBefore != "Inactive" || e.Changes.StatusAfter != "Active" || e.RequestID != eventRequestID(loadEvent(t, "enable.json")) {
				t.Fatalf("the enable's record: %+v, want Inactive to Active in enable.json's request", e)
			}
		}
	}
	if slices.Sort(gotK1); !slices.Equal(gotK1, wantK1) {
		t.Fatalf("audit-events.json for k1: %v, want %v", gotK1, wantK1)
	}
	endTrail := expectAudit(t, "audit-events.json at the end", list.Invoke(loadEvent(t, "audit-events.json")), secrets...)
	// bob's offboarding is on the record as member-removed.json's event:
	// its id and the account that put it.
	memberRemoved := loadEvent(t, "member-removed.json")
	for _, e := range endTrail {
		if e.MemberID == "bob" && e.Action == accesskey.AuditKeyDeleted && (e.Actor.Type != "event" || e.Actor.Sub != offboard.DetailType ||
			e.Actor.EventID != memberRemoved["id"] || e.Actor.Account != memberRemoved["account"] || e.RequestID != memberRemoved["id"]) {
			t.Fatalf("bob's deletion %s: actor %+v, request %q; want the event %v of account %v", e.AccessKeyID, e.Actor, e.RequestID, memberRemoved["id"], memberRemoved["account"])
		}
	}
	all := auditActions(endTrail)
	for _, want := range []string{
		accesskey.AuditKeyCreated + " " + k3.AccessKeyID, accesskey.AuditKeyCreated + " " + bobID, accesskey.AuditKeyCreated + " " + carol.AccessKeyID,
		accesskey.AuditPolicyChanged + " ", accesskey.AuditKeyRotated + " " + k4.AccessKeyID, accesskey.AuditKeyRotated + " " + bob2.AccessKeyID,
		accesskey.AuditKeyDeleted + " " + k2.AccessKeyID, accesskey.AuditKeyDeleted + " " + k4.AccessKeyID,
		accesskey.AuditKeyDeleted + " " + bobID, accesskey.AuditKeyDeleted + " " + bob2.AccessKeyID,
	} {
		if !slices.Contains(all, want) {
			t.Fatalf("audit-events.json at the end: %v, lacks %q", all, want)
		}
	}

	// One init per execution environment, however many invocations.
	for _, name := range lifecycleFunctions() {
		if _, ok := pids[name]; !ok {
			t.Errorf("%s: never invoked: this test does not exercise its routes yet", name)
			continue
		}
		fns[name].CheckInitOnce(pids[name])
	}
	// MemberRemoved serves no HTTP request: it logs no request line.
	removed.CheckInitOnceUnlogged(removedPID)
}

// expectAudit checks an audit-events answer: 200, {"auditEvents":[…],
// "nextToken":null}, every record team t1's with an event id, newest first,
// and no secret anywhere (neither the secrets nor a secret's attribute).
func expectAudit(t *testing.T, what string, r response, secrets ...string) []auditEvent {
	t.Helper()
	var l struct {
		AuditEvents []auditEvent `json:"auditEvents"`
		NextToken   *string      `json:"nextToken"`
	}
	expectJSON(t, what, r, http.StatusOK, &l)
	if l.AuditEvents == nil || l.NextToken != nil {
		t.Fatalf("%s: auditEvents %v, nextToken %v; want an array, no next page: %s", what, l.AuditEvents, l.NextToken, r.Body)
	}
	if bytes.Contains(bytes.ToLower(r.Body), []byte("secret")) {
		t.Fatalf("%s shows a secret's attribute: %s", what, r.Body)
	}
	for _, secret := range secrets {
		if bytes.Contains(r.Body, []byte(secret)) {
			t.Fatalf("%s shows a secret: %s", what, r.Body)
		}
	}
	for i, e := range l.AuditEvents {
		at, err := time.Parse(time.RFC3339, e.Time)
		if e.TeamID != "t1" || e.EventID == "" || err != nil {
			t.Fatalf("%s: %+v (%v), want a t1 record with an event id and a time", what, e, err)
		}
		if i > 0 {
			if prev, _ := time.Parse(time.RFC3339, l.AuditEvents[i-1].Time); at.After(prev) {
				t.Fatalf("%s: %s after %s, want newest first", what, e.Time, l.AuditEvents[i-1].Time)
			}
		}
	}
	return l.AuditEvents
}

// auditActions are a trail's records as "<action> <accessKeyId>", sorted.
func auditActions(trail []auditEvent) []string {
	var out []string
	for _, e := range trail {
		out = append(out, e.Action+" "+e.AccessKeyID)
	}
	slices.Sort(out)
	return out
}

// withQuery adds name=value to ev's query (rawQueryString and
// queryStringParameters).
func withQuery(ev map[string]any, name, value string) map[string]any {
	q, _ := url.ParseQuery(ev["rawQueryString"].(string))
	q.Set(name, value)
	ev["rawQueryString"] = q.Encode()
	params, _ := ev["queryStringParameters"].(map[string]any)
	if params == nil {
		params = map[string]any{}
		ev["queryStringParameters"] = params
	}
	params[name] = value
	return ev
}

// keyPolicy is the key-policy answer: the team, its limit (null: none),
// and who set it when (absent until someone has).
type keyPolicy struct {
	TeamID                    string    `json:"teamId"`
	MaxLifetimeDays           *int      `json:"maxLifetimeDays"`
	AllowedCidrs              *[]string `json:"allowedCidrs"`
	DefaultScopes             *[]string `json:"defaultScopes"`
	KeysOutsidePolicy         int       `json:"keysOutsidePolicy"`
	KeysOutsidePolicyComplete bool      `json:"keysOutsidePolicyComplete"`
	UpdatedAt                 *string   `json:"updatedAt"`
	UpdatedBy                 string    `json:"updatedBy"`
}

// rotatedKey is the rotate answer: the new key as generate shows it (the
// secret once), the key it replaced, and its expiry under a key policy.
type rotatedKey struct {
	createdKey
	ExpiresAt   *string `json:"expiresAt"`
	RotatedFrom string  `json:"rotatedFrom"`
}

// expectRotated checks a rotate answer: 201, a new key of member with
// its secret, replacing old, with old's description (generate.json's).
func expectRotated(t *testing.T, what string, r response, old, member string) rotatedKey {
	t.Helper()
	var k rotatedKey
	expectJSON(t, what, r, http.StatusCreated, &k)
	if !accesskey.ValidAccessKeyID(k.AccessKeyID) || k.AccessKeyID == old || !accesskey.ValidSecretFormat(k.SecretAccessKey) {
		t.Fatalf("%s: id %q, secret %q; want a new key, not %s", what, k.AccessKeyID, k.SecretAccessKey, old)
	}
	if k.RotatedFrom != old || k.Status != "Active" || k.TeamID != "t1" || k.MemberID != member || k.CreatedBy != "admin" || k.Description != "CI deploys" {
		t.Fatalf("%s: %+v, want an Active key of t1/%s by admin, rotated from %s, described as the old one", what, k, member, old)
	}
	return k
}

// withBody gives ev another JSON body, and its content-length.
func withBody(ev map[string]any, body string) map[string]any {
	ev["body"] = body
	return withHeader(ev, "content-length", strconv.Itoa(len(body)))
}

// withMember makes a member route's event (…/members/<id>/…) name another
// member of the team.
func withMember(ev map[string]any, member string) map[string]any {
	params := ev["pathParameters"].(map[string]any)
	path := strings.Replace(ev["rawPath"].(string), "/members/"+params["memberId"].(string)+"/", "/members/"+member+"/", 1)
	params["memberId"] = member
	ev["rawPath"] = path
	ev["requestContext"].(map[string]any)["http"].(map[string]any)["path"] = path
	return ev
}

// testRIESweep: the real SweepExpiredKeys binary, invoked with the
// schedule's event, finds nothing to do on an empty table; then, given an
// expired key, a key not expired yet and a key that never expires (items
// as the store writes them, with their creation records, put behind its
// back), it deletes exactly the expired one, frees its member's slot and
// records the expiry (by the system), and a second run finds nothing.
func testRIESweep(t *testing.T, rie, bootstrap string) {
	s := teststack.NewTable(t)
	sweep := lambdarie.Start(t, rie, functionSweep, bootstrap, s.Name)
	run := func(what string) sweepResult {
		t.Helper()
		raw := sweep.InvokeRaw(loadEvent(t, "sweep.json"))
		var res sweepResult
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("sweep (%s): not {\"deleted\",\"gone\",\"failed\",\"busy\",\"cutShort\"} (%v): %s", what, err, raw)
		}
		return res
	}
	if got := run("empty table"); got != (sweepResult{}) {
		t.Fatalf("sweep of an empty table: %+v, want nothing deleted", got)
	}
	pid := sweep.RuntimePID()

	now := time.Now().UTC().Truncate(time.Second)
	expired := putKeyItem(t, s, "carol", now.Add(-24*time.Hour), now.Add(-time.Minute))
	live := putKeyItem(t, s, "carol", now.Add(-24*time.Hour), now.Add(time.Hour))
	putCounter(t, s, "carol", 2)
	forever := putKeyItem(t, s, "dave", now.Add(-24*time.Hour), time.Time{})
	putCounter(t, s, "dave", 1)

	if got := run("one expired key"); got != (sweepResult{Deleted: 1}) {
		t.Fatalf("sweep with one expired key: %+v, want 1 deleted", got)
	}
	if item := s.Item("KEY#"+expired, "KEY"); item != nil {
		t.Fatalf("the expired key's item remains: %v", item)
	}
	for _, id := range []string{live, forever} {
		if s.Item("KEY#"+id, "KEY") == nil {
			t.Fatalf("the sweep deleted %s, which has not expired", id)
		}
	}
	for member, want := range map[string]float64{"carol": 1, "dave": 1} {
		if n := s.Item("MEMBER#t1#"+member, "COUNTER")["keyCount"]; n != want {
			t.Fatalf("%s's keyCount %v after the sweep, want %v", member, n, want)
		}
	}
	if got := run("nothing left"); got != (sweepResult{}) {
		t.Fatalf("second sweep: %+v, want nothing deleted", got)
	}
	// The team's audit records, in any of its shards (AUDIT#t1#<n>).
	trail, err := s.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.Name), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("begins_with(pk, :pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "AUDIT#t1#"}}})
	if err != nil {
		t.Fatal(err)
	}
	var expiries []map[string]types.AttributeValue
	for _, rec := range trail.Items {
		if attrString(rec["action"]) == accesskey.AuditKeyExpired {
			expiries = append(expiries, rec)
		}
	}
	if len(expiries) != 1 || attrString(expiries[0]["accessKeyId"]) != expired || attrString(expiries[0]["memberId"]) != "carol" ||
		attrString(expiries[0]["actorType"]) != "system" {
		t.Fatalf("expiry records %v, want one, of %s, by the system", expiries, expired)
	}
	if report, err := s.Check(context.Background()); err != nil || !report.OK() {
		t.Fatalf("the table after the sweep: %v\n%s", err, report)
	}
	lines := sweep.OutputLines(func(lines []string) bool { return lambdarie.CountContaining(lines, `"expired key removed"`) > 0 })
	if n := lambdarie.CountContaining(lines, `"expired key removed"`); n != 1 || lambdarie.CountContaining(lines, expired) != 1 {
		t.Errorf("%d \"expired key removed\" log lines, want one naming %s", n, expired)
	}
	sweep.CheckInitOnceUnlogged(pid)
}

// sweepResult is the sweep's answer.
type sweepResult struct {
	Deleted  int  `json:"deleted"`
	Gone     int  `json:"gone"`
	Failed   int  `json:"failed"`
	Busy     bool `json:"busy"`
	CutShort bool `json:"cutShort"`
}

// putKeyItem puts the item of a new key of member in team t1 straight into
// the table, with the attributes the store gives it (items.go); with a zero
// expiresAt the key never expires and is not in the ByExpiry index. It
// returns the key's id.
func putKeyItem(t *testing.T, s *teststack.Table, member string, createdAt, expiresAt time.Time) string {
	t.Helper()
	id := accesskey.NewAccessKeyID()
	created := createdAt.UTC().Format(time.RFC3339)
	secret := accesskey.NewSecret()
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	item := map[string]types.AttributeValue{
		"pk": str("KEY#" + id), "sk": str("KEY"),
		"gsi1pk": str("TEAM#t1"), "gsi1sk": str("MEMBER#" + member + "#" + created + "#" + id),
		"accessKeyId": str(id), "teamId": str("t1"), "memberId": str(member), "status": str("Active"),
		"description": str("put by the test"), "createdAt": str(created), "createdBy": str("admin"),
		// Not a real ciphertext: nothing here opens it.
		"secretCiphertext": &types.AttributeValueMemberB{Value: []byte("not-a-ciphertext-" + id)},
		"secretSha256":     str(accesskey.SecretSHA256(secret)),
	}
	if !expiresAt.IsZero() {
		at := expiresAt.UTC().Format(time.RFC3339)
		item["expiresAt"], item["gsi2pk"], item["gsi2sk"] = str(at), str("EXPIRY"), str(at+"#"+id)
	}
	if _, err := s.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.Name), Item: item}); err != nil {
		t.Fatal(err)
	}
	// And its creation record, as the store writes it in the key's
	// transaction (items.go auditItem).
	event, at := accesskey.NewEventID(), createdAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	record := map[string]types.AttributeValue{
		"pk": str("AUDIT#t1"), "sk": str(at + "#" + event), "eventId": str(event), "time": str(at),
		"teamId": str("t1"), "memberId": str(member), "accessKeyId": str(id), "action": str(accesskey.AuditKeyCreated),
		"actorType": str("user"), "actorSub": str("admin"), "statusAfter": str("Active"),
		"ttl": &types.AttributeValueMemberN{Value: strconv.FormatInt(createdAt.AddDate(0, 0, accesskey.DefaultAuditDays).Unix(), 10)},
	}
	if _, err := s.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.Name), Item: record}); err != nil {
		t.Fatal(err)
	}
	return id
}

// attrString is a string attribute's value ("" for anything else).
func attrString(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// putCounter puts member's counter item (team t1) holding n slots.
func putCounter(t *testing.T, s *teststack.Table, member string, n int) {
	t.Helper()
	_, err := s.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.Name), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "MEMBER#t1#" + member}, "sk": &types.AttributeValueMemberS{Value: "COUNTER"},
		"keyCount": &types.AttributeValueMemberN{Value: strconv.Itoa(n)},
		"teamId":   &types.AttributeValueMemberS{Value: "t1"}, "memberId": &types.AttributeValueMemberS{Value: member},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// testRIEPanicRecovery: a panic inside the handler chain of the real binary
// answers 500 InternalError with the event's request id, and the same
// runtime process, not re-initialised, serves the next invocation.
func testRIEPanicRecovery(t *testing.T, rie, bootstrap string) {
	s := teststack.NewTable(t)
	gen := lambdarie.Start(t, rie, faultBuild.Name(), bootstrap, s.Name)
	ev := withHeader(loadEvent(t, "generate.json"), faultHeader, "panic")
	requestID := eventRequestID(ev)
	expectError(t, "generate with an injected panic", gen.Invoke(ev), http.StatusInternalServerError, "InternalError", requestID)
	pid := gen.RuntimePID()
	if n := keyCount(t, s); n != nil {
		t.Fatalf("a panicked generate left a counter: %v", n)
	}
	lines := gen.OutputLines(func(lines []string) bool { return lambdarie.CountContaining(lines, `"handler panicked"`) > 0 })
	logged := false
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "handler panicked" && m["requestId"] == requestID && m["level"] == "ERROR" {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no ERROR log line \"handler panicked\" with requestId %s", requestID)
	}

	k := expectCreated(t, gen.Invoke(loadEvent(t, "generate.json")))
	checkKeyItem(t, s, k, "Active")
	if n := keyCount(t, s); n != float64(1) {
		t.Fatalf("keyCount %v, want 1", n)
	}
	gen.CheckInitOnce(pid)
}

// lifecycleFunctions are the functions of the key lifecycle (all but the
// signed-request ones).
func lifecycleFunctions() []string {
	return slices.DeleteFunc(httpapi.Functions(), func(f string) bool { return f == httpapi.FunctionWhoAmI })
}

// ---------------------------------------------------------------- signed requests

// wrongSecret is a well-formed secret of no key.
const wrongSecret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// signedEvent is events/<file> made into the event API Gateway would send
// for a request signed now by aws-sdk-go-v2's v4 signer with id and secret:
// a GET of the event's rawPath and rawQueryString to its domainName, the
// signed headers lower-cased into the event's map, host = domainName, the
// event's time the signing time. withContentHash sends (and signs)
// x-amz-content-sha256 as SignSigV4 does; sign false leaves the request
// unsigned.
func signedEvent(t *testing.T, file, id, secret string, sign, withContentHash bool) map[string]any {
	t.Helper()
	return signEvent(t, loadEvent(t, file), id, secret, sign, withContentHash)
}

// signEvent is signedEvent for an event already loaded (and changed).
func signEvent(t *testing.T, ev map[string]any, id, secret string, sign, withContentHash bool) map[string]any {
	t.Helper()
	rc := ev["requestContext"].(map[string]any)
	domain := rc["domainName"].(string)
	target := "https://" + domain + ev["rawPath"].(string)
	if q := ev["rawQueryString"].(string); q != "" {
		target += "?" + q
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	headers := ev["headers"].(map[string]any)
	for _, h := range []string{"authorization", "x-amz-date", "x-amz-content-sha256"} {
		delete(headers, h)
	}
	req.Header.Set("Accept", headers["accept"].(string))
	at := time.Now().UTC().Truncate(time.Second)
	emptyHash := sha256.Sum256(nil)
	if withContentHash {
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(emptyHash[:]))
	}
	if sign {
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret},
			req, hex.EncodeToString(emptyHash[:]), signature.Service, signature.DefaultRegion, at)
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, values := range req.Header {
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	headers["host"] = domain
	rc["time"] = at.Format("02/Jan/2006:15:04:05 -0700")
	rc["timeEpoch"] = json.Number(strconv.FormatInt(at.UnixMilli(), 10))
	if _, ok := ev["identitySource"]; ok {
		if a, ok := headers["authorization"]; ok {
			ev["identitySource"] = []any{a}
		} else {
			delete(ev, "identitySource")
		}
	}
	return ev
}

// authorizerAnswer invokes the authorizer with ev and returns its simple
// response as JSON.
func authorizerAnswer(t *testing.T, f *lambdarie.Function, ev map[string]any) map[string]any {
	t.Helper()
	raw := f.InvokeRaw(ev)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("authorizer: not JSON (%v): %s", err, raw)
	}
	if _, ok := out["errorMessage"]; ok {
		t.Fatalf("authorizer: a function error: %s", raw)
	}
	return out
}

// testRIESignedRequests: the real WhoAmI and Authorizer binaries, on
// DynamoDB Local and local-kms, verify requests signed by aws-sdk-go-v2 with
// a key the real GenerateKey made, and refuse a wrong secret, a disabled
// key and an unsigned request.
func testRIESignedRequests(t *testing.T, rie string, bins map[string]string) {
	s := teststack.NewTable(t)
	gen := lambdarie.Start(t, rie, httpapi.FunctionGenerateKey, bins[httpapi.FunctionGenerateKey], s.Name)
	who := lambdarie.Start(t, rie, httpapi.FunctionWhoAmI, bins[httpapi.FunctionWhoAmI], s.Name)
	authz := lambdarie.Start(t, rie, functionAuthorizer, bins[functionAuthorizer], s.Name, "TEAMKEYS_ROUTE_SCOPES="+rieRouteScopes)
	disable := lambdarie.Start(t, rie, httpapi.FunctionDisableKey, bins[httpapi.FunctionDisableKey], s.Name)

	k := expectCreated(t, gen.Invoke(loadEvent(t, "generate.json")))
	whoID := eventRequestID(loadEvent(t, "whoami.json"))

	// The example file as it is: a placeholder signature of no key.
	// Its x-amz-date is long past: refused before any key is looked up.
	expectError(t, "whoami.json as it is", who.Invoke(loadEvent(t, "whoami.json")), http.StatusUnauthorized, "RequestExpired", whoID)
	if got := authorizerAnswer(t, authz, loadEvent(t, "authorizer.json")); !reflect.DeepEqual(got, map[string]any{"isAuthorized": false}) {
		t.Fatalf("authorizer.json as it is: %v, want {\"isAuthorized\":false}", got)
	}

	// WhoAmI: signed by the SDK's signer, plain (no x-amz-content-sha256)
	// and as SignSigV4 signs.
	var pid int
	for _, withHash := range []bool{false, true} {
		var got whoAmI
		expectJSON(t, "whoami", who.Invoke(signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, true, withHash)), http.StatusOK, &got)
		want := whoAmI{AccessKeyID: k.AccessKeyID, TeamID: "t1", MemberID: "alice", Scheme: signature.SchemeSigV4}
		if got != want {
			t.Fatalf("whoami (x-amz-content-sha256 %v): %+v, want %+v", withHash, got, want)
		}
		if pid == 0 {
			pid = who.RuntimePID()
		}
	}
	expectError(t, "whoami with the wrong secret",
		who.Invoke(signedEvent(t, "whoami.json", k.AccessKeyID, wrongSecret, true, false)), http.StatusUnauthorized, "InvalidSignature", whoID)
	expectError(t, "whoami unsigned",
		who.Invoke(signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, false, false)), http.StatusUnauthorized, "MissingSignature", whoID)

	// Authorizer: a signed GET is let through with the key's owner; the
	// wrong secret and no signature are refused (no function error: API
	// Gateway answers 403/401, not 500).
	// The context names the key's owner and what the signature covers: the
	// payload hash (the empty body's for a GET) and the signed headers.
	wantAllowed := func(ev map[string]any) map[string]any {
		auth, _ := ev["headers"].(map[string]any)["authorization"].(string)
		_, signed, _ := strings.Cut(auth, "SignedHeaders=")
		signed, _, _ = strings.Cut(signed, ",")
		return map[string]any{"isAuthorized": true, "context": map[string]any{
			"accessKeyId": k.AccessKeyID, "teamId": "t1", "memberId": "alice", "scheme": signature.SchemeSigV4,
			"payloadHash": emptyBodySHA256, "signedHeaders": signed, "scopes": "*", "sourceIp": "203.0.113.10",
		}}
	}
	ev := signedEvent(t, "authorizer.json", k.AccessKeyID, k.SecretAccessKey, true, true)
	if got, want := authorizerAnswer(t, authz, ev), wantAllowed(ev); !reflect.DeepEqual(got, want) {
		t.Fatalf("authorizer, signed GET: %v, want %v", got, want)
	}
	for what, ev := range map[string]map[string]any{
		"unsigned":     signedEvent(t, "authorizer.json", k.AccessKeyID, k.SecretAccessKey, false, true),
		"wrong secret": signedEvent(t, "authorizer.json", k.AccessKeyID, wrongSecret, true, true),
	} {
		if got := authorizerAnswer(t, authz, ev); !reflect.DeepEqual(got, map[string]any{"isAuthorized": false}) {
			t.Fatalf("authorizer, %s: %v, want {\"isAuthorized\":false}", what, got)
		}
	}
	// A plain SDK (or curl) GET, without x-amz-content-sha256: a request
	// without a body is accepted.
	ev = signedEvent(t, "authorizer.json", k.AccessKeyID, k.SecretAccessKey, true, false)
	if got, want := authorizerAnswer(t, authz, ev), wantAllowed(ev); !reflect.DeepEqual(got, want) {
		t.Fatalf("authorizer, signed GET without x-amz-content-sha256: %v, want %v", got, want)
	}

	testRIERestrictedKey(t, rie, bins[functionAuthorizer], s, gen, who, authz)

	// Disabled through the DisableKey binary: refused at once, by both.
	// The answer shows the key's last use: when, from where, how signed.
	var disabled struct {
		listedKey
		LastUsedSourceIP string `json:"lastUsedSourceIp"`
		LastUsedScheme   string `json:"lastUsedScheme"`
	}
	expectJSON(t, "disable", disable.Invoke(withKeyID(loadEvent(t, "disable.json"), k.AccessKeyID)), http.StatusOK, &disabled)
	if disabled.Status != "Inactive" {
		t.Fatalf("disable: %+v", disabled)
	}
	if disabled.LastUsedAt != nil && (disabled.LastUsedSourceIP != "203.0.113.10" || disabled.LastUsedScheme != signature.SchemeSigV4) {
		t.Fatalf("disable: last used %v from %q with %q, want whoami.json's source 203.0.113.10 and %s",
			*disabled.LastUsedAt, disabled.LastUsedSourceIP, disabled.LastUsedScheme, signature.SchemeSigV4)
	}
	// Obeyed within 1 s: the warm function may have the key's item cached.
	refusedWithinTheBound(t, func() response {
		return who.Invoke(signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, true, false))
	}, "KeyDisabled")
	expectError(t, "whoami with a disabled key",
		who.Invoke(signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, true, false)), http.StatusUnauthorized, "KeyDisabled", whoID)
	// The wrong secret of a disabled key does not learn its status.
	expectError(t, "whoami with a disabled key and the wrong secret",
		who.Invoke(signedEvent(t, "whoami.json", k.AccessKeyID, wrongSecret, true, false)), http.StatusUnauthorized, "InvalidSignature", whoID)
	for deadline := time.Now().Add(boundWait); ; time.Sleep(50 * time.Millisecond) {
		got := authorizerAnswer(t, authz, signedEvent(t, "authorizer.json", k.AccessKeyID, k.SecretAccessKey, true, true))
		if reflect.DeepEqual(got, map[string]any{"isAuthorized": false}) {
			break
		}
		if got["isAuthorized"] != true || time.Now().After(deadline) {
			t.Fatalf("authorizer, disabled key: %v, want {\"isAuthorized\":false} within 1 s (waited up to %v)", got, boundWait)
		}
	}

	// The successful whoami recorded the key's last use (in the
	// background, so it may take a moment).
	deadline := time.Now().Add(5 * time.Second)
	for s.Item("KEY#"+k.AccessKeyID, "KEY")["lastUsedAt"] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no lastUsedAt on the key after a verified request: %v", s.Item("KEY#"+k.AccessKeyID, "KEY"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	who.CheckInitOnce(pid)
}

// testRIEPublishEvents: PublishEvents, on the real Lambda runtime library,
// turns publish-events.json's stream records into one PutEvents call
// (EventBridge's JSON protocol, to a recording stand-in at
// AWS_ENDPOINT_URL_EVENTBRIDGE): source teamkeys, detail-type the action,
// detail the record as the API shows it, on TEAMKEYS_EVENT_BUS_NAME; an entry
// EventBridge refuses is answered as a batch item failure by its sequence
// number, and the same batch again (Lambda's retry) puts the same events.
func testRIEPublishEvents(t *testing.T, rie, bootstrap string) {
	type entry struct{ Source, DetailType, Detail, EventBusName string }
	var (
		mu    sync.Mutex
		calls [][]entry
	)
	bus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Entries []entry }
		if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "not PutEvents", http.StatusBadRequest)
			return
		}
		mu.Lock()
		calls = append(calls, in.Entries)
		mu.Unlock()
		out := struct {
			FailedEntryCount int
			Entries          []map[string]string
		}{}
		for _, e := range in.Entries {
			if strings.Contains(e.Detail, "AccessKeyExpired") { // the second record: refused
				out.FailedEntryCount++
				out.Entries = append(out.Entries, map[string]string{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
			} else {
				out.Entries = append(out.Entries, map[string]string{"EventId": "11111111-2222-3333-4444-555555555555"})
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(bus.Close)
	fn := lambdarie.Start(t, rie, functionPublishEvents, bootstrap, teststack.TableName(t.Name()),
		"AWS_ENDPOINT_URL_EVENTBRIDGE="+bus.URL, "TEAMKEYS_EVENT_BUS_NAME=audit-bus")
	wantDetails := []string{
		`{"eventId":"0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4","time":"2025-12-02T15:14:05.123Z","teamId":"t1","memberId":"alice","accessKeyId":"TKAKEXAMPLEEXAMPLEEXAMPLE",` +
			`"action":"AccessKeyCreated","actor":{"type":"user","sub":"admin","sourceIp":"203.0.113.10","userAgent":"curl/8.5.0"},"requestId":"c3Z0aGlzaXNhcmVxdWVzdA=","changes":{"statusAfter":"Active"}}`,
		`{"eventId":"1c7a2d3f-4e5b-4c6d-9e7f-8091a2b3c4d5","time":"2025-12-02T15:15:00.000Z","teamId":"t1","memberId":"alice","accessKeyId":"TKAKEXAMPLEEXAMPLEEXAMPL2",` +
			`"action":"AccessKeyExpired","actor":{"type":"system","sub":"sweep"},"changes":{"statusBefore":"Active"}}`,
	}
	for attempt := 1; attempt <= 2; attempt++ {
		raw := fn.InvokeRaw(loadEvent(t, "publish-events.json"))
		var resp events.DynamoDBEventResponse
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&resp); err != nil {
			t.Fatalf("attempt %d: not {\"batchItemFailures\"} (%v): %s", attempt, err, raw)
		}
		if want := []events.DynamoDBBatchItemFailure{{ItemIdentifier: "1000000000000000000002"}}; !slices.Equal(resp.BatchItemFailures, want) {
			t.Fatalf("attempt %d: batch item failures %v, want %v (the refused entry's record)", attempt, resp.BatchItemFailures, want)
		}
		mu.Lock()
		got := calls[len(calls)-1]
		n := len(calls)
		mu.Unlock()
		if n != attempt || len(got) != 2 {
			t.Fatalf("attempt %d: %d PutEvents calls, the last of %d entries: want one call a batch, of 2", attempt, n, len(got))
		}
		for i, e := range got {
			if e.Source != "teamkeys" || e.EventBusName != "audit-bus" || e.Detail != wantDetails[i] ||
				e.DetailType != []string{"AccessKeyCreated", "AccessKeyExpired"}[i] {
				t.Errorf("attempt %d, entry %d: %+v, want source teamkeys on audit-bus, detail\n\t%s", attempt, i, e, wantDetails[i])
			}
		}
	}
}

// rieRouteScopes is the route table the Authorizer binary runs with in
// testRIESignedRequests: authorizer.json's GET /orders needs orders:read.
const rieRouteScopes = `{"GET /orders": "orders:read", "ANY /admin/{proxy+}": "admin"}`

// testRIERestrictedKey: the real Authorizer binary, with a route table,
// refuses and allows a key restricted to networks and scopes by the source
// address API Gateway saw (never X-Forwarded-For) and by the route's scope,
// and says so in its log; WhoAmI answers 403 SourceIpNotAllowed. An
// invalid route table stops the binary at init, naming the entry.
func testRIERestrictedKey(t *testing.T, rie, authzBin string, s *teststack.Table, gen, who, authz *lambdarie.Function) {
	k := expectCreated(t, gen.Invoke(loadEvent(t, "generate.json")))
	s.Restrict(k.AccessKeyID, []string{"203.0.113.0/24", "2001:db8::/32"}, []string{"orders:read"})
	event := func(path, sourceIP string, forwardedFor string) map[string]any {
		ev := loadEvent(t, "authorizer.json")
		ev["rawPath"] = path
		ev["rawQueryString"] = ""
		rc := ev["requestContext"].(map[string]any)
		rc["http"].(map[string]any)["path"] = path
		rc["http"].(map[string]any)["sourceIp"] = sourceIP
		ev["headers"].(map[string]any)["x-forwarded-for"] = forwardedFor
		return signEvent(t, ev, k.AccessKeyID, k.SecretAccessKey, true, true)
	}
	denied := map[string]any{"isAuthorized": false}
	tests := []struct {
		name, path, source, forwardedFor string
		allowed                          bool
	}{
		{"inside, its scope", "/orders", "203.0.113.10", "203.0.113.10", true},
		{"inside IPv6, its scope", "/orders", "2001:db8::7", "2001:db8::7", true},
		{"an unlisted route needs no scope", "/status", "203.0.113.10", "203.0.113.10", true},
		{"outside, X-Forwarded-For naming an allowed address", "/orders", "198.51.100.7", "203.0.113.10", false},
		{"outside IPv6", "/orders", "2001:db9::7", "2001:db8::7", false},
		{"inside, a scope it lacks", "/admin/users", "203.0.113.10", "203.0.113.10", false},
	}
	for _, tc := range tests {
		got := authorizerAnswer(t, authz, event(tc.path, tc.source, tc.forwardedFor))
		if !tc.allowed {
			if !reflect.DeepEqual(got, denied) {
				t.Fatalf("authorizer, restricted key, %s: %v, want %v", tc.name, got, denied)
			}
			continue
		}
		ctx, _ := got["context"].(map[string]any)
		if got["isAuthorized"] != true || ctx["accessKeyId"] != k.AccessKeyID || ctx["scopes"] != "orders:read" || ctx["sourceIp"] != tc.source {
			t.Fatalf("authorizer, restricted key, %s: %v, want allowed with scopes orders:read from %s", tc.name, got, tc.source)
		}
	}
	// Each refusal is logged with its reason and the address.
	logged := func(lines []string) bool {
		text := strings.Join(lines, "\n")
		return strings.Contains(text, `"sourceIp":"198.51.100.7"`) && strings.Contains(text, "source address") &&
			strings.Contains(text, "scope not granted")
	}
	if lines := authz.OutputLines(logged); !logged(lines) {
		t.Fatalf("the refusals are not logged with their reasons and address:\n%s", strings.Join(lines, "\n"))
	}
	// WhoAmI, from outside: 403 naming the address.
	ev := signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, true, false)
	ev["requestContext"].(map[string]any)["http"].(map[string]any)["sourceIp"] = "198.51.100.7"
	resp := who.Invoke(ev)
	if resp.Status != http.StatusForbidden || resp.ErrorCode(t) != "SourceIpNotAllowed" || !strings.Contains(string(resp.Body), "198.51.100.7") {
		t.Fatalf("whoami from outside: %d %s, want 403 SourceIpNotAllowed naming 198.51.100.7", resp.Status, resp.Body)
	}

	// An invalid route table: the init fails, naming the entry; nothing is
	// let through.
	bad := lambdarie.Start(t, rie, functionAuthorizer, authzBin, s.Name, `TEAMKEYS_ROUTE_SCOPES={"FETCH /orders": "orders:read"}`)
	status, raw := bad.TryInvoke(event("/orders", "203.0.113.10", ""))
	if bytes.Contains(raw, []byte(`"isAuthorized":true`)) || (status == http.StatusOK && !bytes.Contains(raw, []byte("errorType"))) {
		t.Fatalf("an authorizer with an invalid route table answered %d %s, want a failed init", status, raw)
	}
	failed := func(lines []string) bool {
		text := strings.Join(lines, "\n")
		return strings.Contains(text, "init failed") && strings.Contains(text, "FETCH /orders")
	}
	if lines := bad.OutputLines(failed); !failed(lines) {
		t.Fatalf("the init failure does not name the entry:\n%s", strings.Join(lines, "\n"))
	}
}
