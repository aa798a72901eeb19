package e2e

// The Lambda tests run every function's real binary, built by its own make
// target (as `sam build` builds it, for the host architecture), under the
// Lambda Runtime Interface Emulator (.cache/bin/aws-lambda-rie, from `make
// tools`), on the DynamoDB Local and local-kms that TestMain started, and
// invoke it with the sample events of events/.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/local/emulators"
	"github.com/teamkeys/teamkeys/internal/local/tabledef"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/signature"
)

const (
	// placeholderKeyID is the access key id the key events of events/ name.
	placeholderKeyID = "TKAKAAAAAAAAAAAAAAAAAAAA"
	// faultHeader is httpapi.FaultHeader, which exists only in
	// teamkeys_faults builds.
	faultHeader = "x-teamkeys-fault"
	// faultBuild is the name of the GenerateKey binary built with the
	// teamkeys_faults tag.
	faultBuild    = "GenerateKey+faults"
	rieInvokePath = "/2015-03-31/functions/function/invocations"
	pageTokenKey  = "rie-test-page-token-key-0123456789abcdef"
)

// eventFiles maps each file of events/ to the function that serves it and
// the operation (openapi.yaml's operationId) of its route.
var eventFiles = map[string]struct{ function, operation string }{
	"generate.json":    {httpapi.FunctionGenerateKey, "generateAccessKey"},
	"list-member.json": {httpapi.FunctionListKeys, "listMemberAccessKeys"},
	"list-team.json":   {httpapi.FunctionListKeys, "listTeamAccessKeys"},
	"disable.json":     {httpapi.FunctionDisableKey, "disableAccessKey"},
	"enable.json":      {httpapi.FunctionEnableKey, "enableAccessKey"},
	"delete.json":      {httpapi.FunctionDeleteKey, "deleteAccessKey"},
}

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

// repoRoot is the directory holding go.mod, above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// ---------------------------------------------------------------- events

// TestLambdaEventsAreComplete holds every file of events/ to what API
// Gateway sends for its route: payload 2.0 with every field, consistent with
// itself and with the route table, the JWT authorizer's claims for admin of
// t1, the headers lower-cased, a body only where the route takes one.
func TestLambdaEventsAreComplete(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "events")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := slices.Collect(maps.Keys(eventFiles))
	want = slices.Sorted(slices.Values(append(want, slices.Collect(maps.Keys(signedEventFiles))...)))
	if !slices.Equal(names, want) {
		t.Fatalf("events/ holds %v, want %v", names, want)
	}
	routes := map[string]httpapi.Route{}
	for _, r := range httpapi.Routes {
		routes[r.Operation] = r
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
	if route.Operation == "generateAccessKey" {
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
	if claims["sub"] != "admin" || claims["team_id"] != "t1" || claims["team_role"] != "admin" {
		t.Errorf("claims %v, want admin of t1 with role admin", claims)
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
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "events", name))
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

// ---------------------------------------------------------------- builds

// buildLambdas builds every function with its make target for the host
// architecture, and GenerateKey again with the teamkeys_faults tag added to
// the very same command, concurrently. It returns each bootstrap's path.
func buildLambdas(t *testing.T, root string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a cold build cache is slow
	defer cancel()
	type build struct {
		name string
		args []string
		want string // in the echoed command
	}
	var builds []build
	for _, name := range append(httpapi.Functions(), functionAuthorizer) {
		builds = append(builds, build{name: name, args: []string{"build-" + name}, want: "-tags lambda.norpc "})
	}
	// The GenerateKey recipe, with the tag added by make itself, so that
	// every other flag stays the target's.
	builds = append(builds, build{
		name: faultBuild,
		args: []string{
			"--eval", "comma := ,",
			"--eval", "teamkeys-faults-build: ; $(subst -tags lambda.norpc ,-tags lambda.norpc$(comma)teamkeys_faults ,$(call lambda_build,generatekey))",
			"teamkeys-faults-build",
		},
		want: "-tags lambda.norpc,teamkeys_faults ",
	})

	base := t.TempDir()
	paths := map[string]string{}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		dir := filepath.Join(base, b.name)
		paths[b.name] = filepath.Join(dir, "bootstrap")
		wg.Go(func() {
			args := append(b.args, "LAMBDA_GOARCH="+runtime.GOARCH, "ARTIFACTS_DIR="+dir)
			cmd := exec.CommandContext(ctx, "make", args...)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("make %s: %v\n%s", strings.Join(args, " "), err, out)
			case !strings.Contains(string(out), b.want):
				errs[i] = fmt.Errorf("make %s did not build with %q:\n%s", strings.Join(args, " "), b.want, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return paths
}

// ---------------------------------------------------------------- RIE

// rieFunction is one function binary running under its own emulator.
type rieFunction struct {
	t         *testing.T
	name      string
	bootstrap string
	url       string
	cmd       *exec.Cmd
	out       *logbuf.Buffer
	done      chan struct{}

	mu          sync.Mutex // the emulator serves one invocation at a time
	invocations []string   // the Lambda request ids sent, in order
}

// rieBinary is the emulator `make tools` installs.
func rieBinary(t *testing.T, root string) string {
	t.Helper()
	cache := os.Getenv("TEAMKEYS_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache")
	}
	bin := filepath.Join(cache, "bin", "aws-lambda-rie")
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("the Lambda Runtime Interface Emulator is not at %s: run `make tools`", bin)
	}
	return bin
}

// freeAddrs returns n distinct free loopback addresses.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are chosen, so they differ
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// rieEnv is the function's environment: this process's (which carries the
// endpoints, region and dummy credentials localenv exported), the service's
// settings, and the Lambda settings template.yaml gives.
func rieEnv(name, table string) []string {
	env := os.Environ()
	if e := emulators.Current(); e != nil {
		env = append(env,
			"AWS_ENDPOINT_URL_DYNAMODB="+e.DynamoDBEndpoint,
			"AWS_ENDPOINT_URL_KMS="+e.KMSEndpoint,
			"AWS_REGION="+e.Region,
		)
	}
	return append(env,
		"TEAMKEYS_TABLE="+table,
		"TEAMKEYS_KMS_KEY_ID="+config.DefaultKMSKeyID,
		"TEAMKEYS_PAGE_TOKEN_KEY="+pageTokenKey,
		"TEAMKEYS_LOG_LEVEL=INFO",
		"TEAMKEYS_CLAIM_SUB=sub", "TEAMKEYS_CLAIM_TEAM=team_id", "TEAMKEYS_CLAIM_ROLE=team_role",
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=10", // template.yaml's Timeout
	)
}

// startRIE runs bootstrap under the emulator, on free ports, and stops both
// (by pid) when the test ends.
func startRIE(t *testing.T, rie, name, bootstrap, table string) *rieFunction {
	t.Helper()
	var lastOut string
	for range 3 { // a free port may be taken before the emulator binds it
		addrs := freeAddrs(t, 2)
		f := &rieFunction{t: t, name: name, bootstrap: bootstrap, url: "http://" + addrs[0] + rieInvokePath,
			out: &logbuf.Buffer{}, done: make(chan struct{})}
		f.cmd = exec.Command(rie,
			"--log-level", "info",
			"--runtime-interface-emulator-address", addrs[0],
			"--runtime-api-address", addrs[1],
			bootstrap)
		f.cmd.Dir = filepath.Dir(bootstrap)
		f.cmd.Env = rieEnv(name, table)
		f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
		f.cmd.WaitDelay = 2 * time.Second // the runtime inherits the output pipe
		if err := f.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = f.cmd.Wait(); close(f.done) }()
		t.Cleanup(f.stop)
		if f.waitListening(addrs[0]) {
			return f
		}
		lastOut = f.out.String()
		f.stop()
		if !strings.Contains(lastOut, "address already in use") {
			break
		}
	}
	t.Fatalf("%s: the emulator did not start:\n%s", name, lastOut)
	return nil
}

func (f *rieFunction) waitListening(addr string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-f.done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// stop ends the emulator and the runtime process it started, by pid.
func (f *rieFunction) stop() {
	select {
	case <-f.done:
		return
	default:
	}
	runtimes := f.runtimePIDs()
	if err := f.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = f.cmd.Process.Kill()
	}
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.done
	}
	for _, pid := range runtimes { // the emulator SIGKILLs it; make sure
		if p, err := os.FindProcess(pid); err == nil && isProcessOf(pid, f.bootstrap) {
			_ = p.Kill()
		}
	}
	if f.t.Failed() {
		f.t.Logf("%s emulator output:\n%s", f.name, f.out.String())
	}
}

// runtimePIDs are the processes of f.bootstrap that the emulator started.
func (f *rieFunction) runtimePIDs() []int {
	ppid := f.cmd.Process.Pid
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		fields := strings.Fields(string(rest))
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) && isProcessOf(pid, f.bootstrap) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isProcessOf(pid int, bootstrap string) bool {
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	return err == nil && exe == bootstrap
}

// runtimePID is the one running runtime process of f.
func (f *rieFunction) runtimePID() int {
	f.t.Helper()
	pids := f.runtimePIDs()
	if len(pids) != 1 {
		f.t.Fatalf("%s: runtime processes %v, want exactly one", f.name, pids)
	}
	return pids[0]
}

// invoke sends ev as one invocation and returns the function's answer as
// the HTTP response API Gateway would make of it.
func (f *rieFunction) invoke(ev map[string]any) response {
	f.t.Helper()
	body := f.invokeRaw(ev)
	// A function error ({"errorMessage","errorType"}) is not a response.
	var out events.APIGatewayV2HTTPResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || out.StatusCode == 0 {
		f.t.Fatalf("%s: not an HTTP API response (%v): %s", f.name, err, body)
	}
	if out.IsBase64Encoded {
		f.t.Fatalf("%s: base64 response body: %s", f.name, body)
	}
	header := http.Header{}
	for k, v := range out.Headers {
		header.Set(k, v)
	}
	return response{status: out.StatusCode, header: header, body: []byte(out.Body)}
}

// invokeRaw sends ev as one invocation and returns the function's result
// as the emulator gives it.
func (f *rieFunction) invokeRaw(ev map[string]any) []byte {
	f.t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	invocationID := fmt.Sprintf("%s-invocation-%d-%d", f.name, len(f.invocations)+1, time.Now().UnixNano())
	f.invocations = append(f.invocations, invocationID)
	req, err := http.NewRequest("POST", f.url, bytes.NewReader(payload))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Amzn-RequestId", invocationID)
	client := &http.Client{Timeout: 30 * time.Second}
	httpResp, err := client.Do(req)
	if err != nil {
		f.t.Fatalf("%s: invoke: %v", f.name, err)
	}
	defer httpResp.Body.Close()
	body, err := io.ReadAll(httpResp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if httpResp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s: the emulator answered %d: %s", f.name, httpResp.StatusCode, body)
	}
	return body
}

// outputLines returns the emulator's output lines once pred holds for them,
// or at the deadline (the output arrives through a pipe, a little after the
// response).
func (f *rieFunction) outputLines(pred func([]string) bool) []string {
	deadline := time.Now().Add(3 * time.Second)
	for {
		var lines []string
		sc := bufio.NewScanner(strings.NewReader(f.out.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if pred(lines) || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requestLogs are the function's own JSON "request" log lines, one per
// request it served.
func requestLogs(lines []string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func countContaining(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// checkInitOnce: the execution environment was initialised once (one INIT
// by the emulator, one Init Duration, one runtime process with main's SDK
// clients) and served every invocation, each logged once under its own
// Lambda request id.
func (f *rieFunction) checkInitOnce(pid int) {
	f.t.Helper()
	f.mu.Lock()
	invocations := slices.Clone(f.invocations)
	f.mu.Unlock()
	lines := f.outputLines(func(lines []string) bool {
		return countContaining(lines, "REPORT RequestId:") >= len(invocations) && len(requestLogs(lines)) >= len(invocations)
	})
	for marker, want := range map[string]int{
		"INIT START":        1,
		"INIT REPORT":       1,
		"Init Duration:":    1,
		"START RequestId:":  len(invocations),
		"REPORT RequestId:": len(invocations),
	} {
		if got := countContaining(lines, marker); got != want {
			f.t.Errorf("%s: %d lines with %q, want %d", f.name, got, marker, want)
		}
	}
	var logged []string
	for _, m := range requestLogs(lines) {
		id, _ := m["lambdaRequestId"].(string)
		logged = append(logged, id)
	}
	if !slices.Equal(logged, invocations) {
		f.t.Errorf("%s: request log lines for %v, want one for each of %v", f.name, logged, invocations)
	}
	// main.go logs "init" once it has built its SDK clients: once per
	// execution environment, however many invocations follow.
	initLogs := 0
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "init" {
			initLogs++
		}
	}
	if initLogs != 1 {
		f.t.Errorf("%s: %d init log lines after %d invocations, want 1", f.name, initLogs, len(invocations))
	}
	if got := f.runtimePID(); got != pid {
		f.t.Errorf("%s: runtime pid %d, was %d: the process was replaced", f.name, got, pid)
	}
	f.t.Logf("%s: %d invocations, one init, runtime pid %d throughout", f.name, len(invocations), pid)
}

// ---------------------------------------------------------------- checks

var templateMu sync.Mutex

// rieTable creates a fresh table from template.yaml's definition and returns
// a stack usable for item reads.
func rieTable(t *testing.T, label string) *stack {
	t.Helper()
	ctx := context.Background()
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	name := fmt.Sprintf("e2e-rie-%s-%d-%d", label, time.Now().UnixNano(), tableSeq.Add(1))
	// goformation's ParseYAML registers its YAML tags in a global map on
	// every call: CreateTableInput is not safe for concurrent use.
	templateMu.Lock()
	input, err := tabledef.CreateTableInput(teamkeys.TemplateYAML, name)
	templateMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := tabledef.EnsureTable(ctx, db, input); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return &stack{t: t, table: name, db: db}
}

// expectError checks an error-shaped response carrying the event's request
// id.
func expectError(t *testing.T, what string, r response, status int, code, requestID string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if got := r.errorCode(t); got != code {
		t.Fatalf("%s: code %s, want %s", what, got, code)
	}
	var body httpapi.ErrorBody
	r.decode(t, &body)
	if body.Error.RequestID != requestID {
		t.Fatalf("%s: requestId %q, want the event's %q", what, body.Error.RequestID, requestID)
	}
}

func expectJSON(t *testing.T, what string, r response, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("%s: Cache-Control %q, want no-store", what, cc)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, r.body)
	}
}

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func expectCreated(t *testing.T, r response) createdKey {
	t.Helper()
	var k createdKey
	expectJSON(t, "generate", r, http.StatusCreated, &k)
	if !accesskey.ValidAccessKeyID(k.AccessKeyID) || !secretPattern.MatchString(k.SecretAccessKey) {
		t.Fatalf("generate: id %q, secret %q", k.AccessKeyID, k.SecretAccessKey)
	}
	if k.Status != "Active" || k.TeamID != "t1" || k.MemberID != "alice" || k.CreatedBy != "admin" || k.Description != "CI deploys" {
		t.Fatalf("generate: %+v", k)
	}
	return k
}

// checkKeyItem reads the key's item and checks its owner, its status and
// that the secret is kept only as ciphertext.
func checkKeyItem(t *testing.T, s *stack, k createdKey, status string) {
	t.Helper()
	item := s.item("KEY#"+k.AccessKeyID, "KEY")
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

func keyCount(t *testing.T, s *stack) any {
	t.Helper()
	counter := s.item("MEMBER#t1#alice", "COUNTER")
	if counter == nil {
		return nil
	}
	return counter["keyCount"]
}

// ---------------------------------------------------------------- tests

// TestLambdaRIE runs every function's production binary under the Lambda
// Runtime Interface Emulator with the events of events/, and a GenerateKey
// built with the teamkeys_faults tag.
func TestLambdaRIE(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Lambda Runtime Interface Emulator runs on Linux only")
	}
	began := time.Now()
	root := repoRoot(t)
	rie := rieBinary(t, root)
	bins := buildLambdas(t, root)
	t.Logf("built %d function binaries (GOARCH=%s) in %s", len(bins), runtime.GOARCH, time.Since(began).Round(time.Millisecond))

	// Production binaries never contain the fault hook.
	for name, path := range bins {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(b, []byte(faultHeader)); has != (name == faultBuild) {
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
		testRIEPanicRecovery(t, rie, bins[faultBuild])
	})
	t.Cleanup(func() { t.Logf("TestLambdaRIE took %s", time.Since(began).Round(time.Millisecond)) })
}

// testRIELifecycle: each function, on the real Lambda runtime library,
// answers its events as the API promises, writes what it should to the
// table, refuses a caller of another team with 403 and goes on serving, and
// is initialised once for all its invocations.
func testRIELifecycle(t *testing.T, rie string, bins map[string]string) {
	s := rieTable(t, "lifecycle")
	fns := map[string]*rieFunction{}
	for _, name := range lifecycleFunctions() {
		fns[name] = startRIE(t, rie, name, bins[name], s.table)
	}
	// first notes the runtime's pid after a function's first invocation
	// (the emulator starts the runtime then).
	pids := map[string]int{}
	first := func(f *rieFunction, r response) response {
		if _, ok := pids[f.name]; !ok {
			pids[f.name] = f.runtimePID()
		}
		return r
	}

	// GenerateKey: another team's admin is refused and nothing is written;
	// then two keys, then the cap.
	gen := fns[httpapi.FunctionGenerateKey]
	ev := loadEvent(t, "generate.json")
	expectError(t, "generate for another team", first(gen, gen.invoke(withTeamClaim(loadEvent(t, "generate.json"), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(ev))
	if n := keyCount(t, s); n != nil {
		t.Fatalf("a refused generate left a counter: %v", n)
	}
	k1 := expectCreated(t, gen.invoke(loadEvent(t, "generate.json")))
	checkKeyItem(t, s, k1, "Active")
	if n := keyCount(t, s); n != float64(1) {
		t.Fatalf("keyCount %v after one generate, want 1", n)
	}
	// The production binary has no fault hook: the header changes nothing.
	k2 := expectCreated(t, gen.invoke(withHeader(loadEvent(t, "generate.json"), faultHeader, "panic")))
	checkKeyItem(t, s, k2, "Active")
	expectError(t, "third generate", gen.invoke(loadEvent(t, "generate.json")),
		http.StatusConflict, "LimitExceeded", eventRequestID(ev))
	if n := keyCount(t, s); n != float64(2) {
		t.Fatalf("keyCount %v after the cap, want 2", n)
	}

	// ListKeys: both lists, no secret in either.
	list := fns[httpapi.FunctionListKeys]
	expectError(t, "list for another team", first(list, list.invoke(withTeamClaim(loadEvent(t, "list-member.json"), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, "list-member.json")))
	for _, file := range []string{"list-member.json", "list-team.json"} {
		r := list.invoke(loadEvent(t, file))
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
		if bytes.Contains(bytes.ToLower(r.body), []byte("secret")) ||
			bytes.Contains(r.body, []byte(k1.SecretAccessKey)) || bytes.Contains(r.body, []byte(k2.SecretAccessKey)) {
			t.Fatalf("%s shows a secret: %s", file, r.body)
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
			first(f, f.invoke(withTeamClaim(withKeyID(loadEvent(t, step.file), k1.AccessKeyID), "t2"))),
			http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, step.file)))
		checkKeyItem(t, s, k1, step.before)
		var got listedKey
		expectJSON(t, step.file, f.invoke(withKeyID(loadEvent(t, step.file), k1.AccessKeyID)), http.StatusOK, &got)
		if got.AccessKeyID != k1.AccessKeyID || got.Status != step.status {
			t.Fatalf("%s: %+v, want %s %s", step.file, got, k1.AccessKeyID, step.status)
		}
		checkKeyItem(t, s, k1, step.status)
	}

	// DeleteKey: 204 with no body, the item gone, the slot free.
	del := fns[httpapi.FunctionDeleteKey]
	expectError(t, "delete for another team",
		first(del, del.invoke(withTeamClaim(withKeyID(loadEvent(t, "delete.json"), k1.AccessKeyID), "t2"))),
		http.StatusForbidden, "Forbidden", eventRequestID(loadEvent(t, "delete.json")))
	checkKeyItem(t, s, k1, "Active")
	r := del.invoke(withKeyID(loadEvent(t, "delete.json"), k1.AccessKeyID))
	if r.status != http.StatusNoContent || len(r.body) != 0 || r.header.Get("Content-Type") != "" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("delete: %d %v %q; want 204, no body, no Content-Type, Cache-Control no-store", r.status, r.header, r.body)
	}
	if item := s.item("KEY#"+k1.AccessKeyID, "KEY"); item != nil {
		t.Fatalf("deleted key's item remains: %v", item)
	}
	if n := keyCount(t, s); n != float64(1) {
		t.Fatalf("keyCount %v after a delete, want 1", n)
	}
	// The placeholder id of the file as it is: a well-formed id of no key.
	expectError(t, "delete of the placeholder id", del.invoke(loadEvent(t, "delete.json")),
		http.StatusNotFound, "NotFound", eventRequestID(loadEvent(t, "delete.json")))
	k3 := expectCreated(t, gen.invoke(loadEvent(t, "generate.json")))
	checkKeyItem(t, s, k3, "Active")

	// One init per execution environment, however many invocations.
	for _, name := range lifecycleFunctions() {
		fns[name].checkInitOnce(pids[name])
	}
}

// testRIEPanicRecovery: a panic inside the handler chain of the real binary
// answers 500 InternalError with the event's request id, and the same
// runtime process, not re-initialised, serves the next invocation.
func testRIEPanicRecovery(t *testing.T, rie, bootstrap string) {
	s := rieTable(t, "panic")
	gen := startRIE(t, rie, faultBuild, bootstrap, s.table)
	ev := withHeader(loadEvent(t, "generate.json"), faultHeader, "panic")
	requestID := eventRequestID(ev)
	expectError(t, "generate with an injected panic", gen.invoke(ev), http.StatusInternalServerError, "InternalError", requestID)
	pid := gen.runtimePID()
	if n := keyCount(t, s); n != nil {
		t.Fatalf("a panicked generate left a counter: %v", n)
	}
	lines := gen.outputLines(func(lines []string) bool { return countContaining(lines, `"handler panicked"`) > 0 })
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

	k := expectCreated(t, gen.invoke(loadEvent(t, "generate.json")))
	checkKeyItem(t, s, k, "Active")
	if n := keyCount(t, s); n != float64(1) {
		t.Fatalf("keyCount %v, want 1", n)
	}
	gen.checkInitOnce(pid)
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
	ev := loadEvent(t, file)
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
func authorizerAnswer(t *testing.T, f *rieFunction, ev map[string]any) map[string]any {
	t.Helper()
	raw := f.invokeRaw(ev)
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
	s := rieTable(t, "signed")
	gen := startRIE(t, rie, httpapi.FunctionGenerateKey, bins[httpapi.FunctionGenerateKey], s.table)
	who := startRIE(t, rie, httpapi.FunctionWhoAmI, bins[httpapi.FunctionWhoAmI], s.table)
	authz := startRIE(t, rie, functionAuthorizer, bins[functionAuthorizer], s.table)
	disable := startRIE(t, rie, httpapi.FunctionDisableKey, bins[httpapi.FunctionDisableKey], s.table)

	k := expectCreated(t, gen.invoke(loadEvent(t, "generate.json")))
	whoID := eventRequestID(loadEvent(t, "whoami.json"))

	// The example file as it is: a placeholder signature of no key.
	expectError(t, "whoami.json as it is", who.invoke(loadEvent(t, "whoami.json")), http.StatusUnauthorized, "UnknownKey", whoID)
	if got := authorizerAnswer(t, authz, loadEvent(t, "authorizer.json")); !reflect.DeepEqual(got, map[string]any{"isAuthorized": false}) {
		t.Fatalf("authorizer.json as it is: %v, want {\"isAuthorized\":false}", got)
	}

	// WhoAmI: signed by the SDK's signer, plain (no x-amz-content-sha256)
	// and as SignSigV4 signs.
	var pid int
	for _, withHash := range []bool{false, true} {
		var got whoAmI
		expectJSON(t, "whoami", who.invoke(signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, true, withHash)), http.StatusOK, &got)
		want := whoAmI{AccessKeyID: k.AccessKeyID, TeamID: "t1", MemberID: "alice", Scheme: signature.SchemeSigV4}
		if got != want {
			t.Fatalf("whoami (x-amz-content-sha256 %v): %+v, want %+v", withHash, got, want)
		}
		if pid == 0 {
			pid = who.runtimePID()
		}
	}
	expectError(t, "whoami with the wrong secret",
		who.invoke(signedEvent(t, "whoami.json", k.AccessKeyID, wrongSecret, true, false)), http.StatusUnauthorized, "InvalidSignature", whoID)
	expectError(t, "whoami unsigned",
		who.invoke(signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, false, false)), http.StatusUnauthorized, "MissingSignature", whoID)

	// Authorizer: a signed GET is let through with the key's owner; the
	// wrong secret and no signature are refused (no function error: API
	// Gateway answers 403/401, not 500).
	wantAllowed := map[string]any{"isAuthorized": true, "context": map[string]any{
		"accessKeyId": k.AccessKeyID, "teamId": "t1", "memberId": "alice", "scheme": signature.SchemeSigV4,
	}}
	if got := authorizerAnswer(t, authz, signedEvent(t, "authorizer.json", k.AccessKeyID, k.SecretAccessKey, true, true)); !reflect.DeepEqual(got, wantAllowed) {
		t.Fatalf("authorizer, signed GET: %v, want %v", got, wantAllowed)
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
	if got := authorizerAnswer(t, authz, signedEvent(t, "authorizer.json", k.AccessKeyID, k.SecretAccessKey, true, false)); !reflect.DeepEqual(got, wantAllowed) {
		t.Fatalf("authorizer, signed GET without x-amz-content-sha256: %v, want %v", got, wantAllowed)
	}

	// Disabled through the DisableKey binary: refused at once, by both.
	var disabled listedKey
	expectJSON(t, "disable", disable.invoke(withKeyID(loadEvent(t, "disable.json"), k.AccessKeyID)), http.StatusOK, &disabled)
	if disabled.Status != "Inactive" {
		t.Fatalf("disable: %+v", disabled)
	}
	expectError(t, "whoami with a disabled key",
		who.invoke(signedEvent(t, "whoami.json", k.AccessKeyID, k.SecretAccessKey, true, false)), http.StatusUnauthorized, "KeyDisabled", whoID)
	// The wrong secret of a disabled key does not learn its status.
	expectError(t, "whoami with a disabled key and the wrong secret",
		who.invoke(signedEvent(t, "whoami.json", k.AccessKeyID, wrongSecret, true, false)), http.StatusUnauthorized, "InvalidSignature", whoID)
	if got := authorizerAnswer(t, authz, signedEvent(t, "authorizer.json", k.AccessKeyID, k.SecretAccessKey, true, true)); !reflect.DeepEqual(got, map[string]any{"isAuthorized": false}) {
		t.Fatalf("authorizer, disabled key: %v, want {\"isAuthorized\":false}", got)
	}

	// The successful whoami recorded the key's last use (in the
	// background, so it may take a moment).
	deadline := time.Now().Add(5 * time.Second)
	for s.item("KEY#"+k.AccessKeyID, "KEY")["lastUsedAt"] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no lastUsedAt on the key after a verified request: %v", s.item("KEY#"+k.AccessKeyID, "KEY"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	who.checkInitOnce(pid)
}
