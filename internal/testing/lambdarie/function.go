package lambdarie

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/testing/testenv"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// pageTokenKey is the TEAMKEYS_PAGE_TOKEN_KEY of every function Start runs.
const pageTokenKey = "rie-test-page-token-key-0123456789abcdef"

// timeouts are the functions' timeouts in seconds where template.yaml sets
// one of their own; every other function has the Globals' 10.
var timeouts = map[string]int{"SweepExpiredKeys": 60, "SecretsRotation": 30}

// Timeout is the function's timeout in seconds, as template.yaml sets it
// (template_test.go holds the two to each other): the emulator's deadline.
func Timeout(function string) int {
	if s, ok := timeouts[function]; ok {
		return s
	}
	return 10
}

// functionEnv is a function's environment under the emulator: this process's
// (which carries the endpoints, region and dummy credentials that
// testenv.Main exported), the service's settings on table, and the
// Lambda settings template.yaml gives.
func functionEnv(name, table string, extra []string) []string {
	env := os.Environ()
	if e := testenv.Current(); e != nil {
		env = append(env,
			"AWS_ENDPOINT_URL_DYNAMODB="+e.DynamoDBEndpoint,
			"AWS_ENDPOINT_URL_KMS="+e.KMSEndpoint,
			"AWS_REGION="+e.Region,
		)
	}
	return append(append(env,
		"TEAMKEYS_TABLE="+table,
		"TEAMKEYS_KMS_KEY_ID="+config.DefaultKMSKeyID,
		"TEAMKEYS_PAGE_TOKEN_KEY="+pageTokenKey,
		"TEAMKEYS_LOG_LEVEL=INFO",
		"TEAMKEYS_CLAIM_SUB=sub", "TEAMKEYS_CLAIM_TEAM=team_id", "TEAMKEYS_CLAIM_ROLE=team_role",
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(Timeout(name)),
	), extra...)
}

// Function is one function binary running under its own emulator, for one
// test.
type Function struct {
	Name      string
	bootstrap string
	addr      string // the invoke address
	t         testing.TB
	cmd       *exec.Cmd
	out       *logbuf.Buffer
	done      chan struct{} // closed when the emulator has exited

	mu          sync.Mutex // the emulator serves one invocation at a time
	invocations []string   // the Lambda request ids sent, in order
}

// Start runs bootstrap under the emulator rie, on free ports, with the
// environment template.yaml gives function name on table, and stops both
// (by pid) when the test ends. extraEnv (NAME=value) comes last: an
// endpoint of the test's own, say.
func Start(t testing.TB, rie, name, bootstrap, table string, extraEnv ...string) *Function {
	t.Helper()
	var lastOut string
	for range 3 { // a free port may be taken before the emulator binds it
		invoke, runtimeAPI, err := FreeAddrPair()
		if err != nil {
			t.Fatal(err)
		}
		f := &Function{Name: name, bootstrap: bootstrap, addr: invoke, t: t, out: &logbuf.Buffer{}, done: make(chan struct{})}
		f.cmd = exec.Command(rie,
			"--log-level", "info",
			"--runtime-interface-emulator-address", invoke,
			"--runtime-api-address", runtimeAPI,
			bootstrap)
		f.cmd.Dir = filepath.Dir(bootstrap)
		f.cmd.Env = functionEnv(name, table, extraEnv)
		f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
		f.cmd.WaitDelay = 2 * time.Second // the runtime inherits the output pipe
		if err := f.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = f.cmd.Wait(); close(f.done) }()
		t.Cleanup(f.stop)
		err = WaitEmulator(context.Background(), invoke, runtimeAPI, f.done)
		if err == nil {
			return f
		}
		lastOut = err.Error() + "\n" + f.out.String()
		f.stop()
		if !strings.Contains(lastOut, "address already in use") {
			break
		}
	}
	t.Fatalf("%s: the emulator did not start:\n%s", name, lastOut)
	return nil
}

// stop ends the emulator and the runtime process it started, by pid.
func (f *Function) stop() {
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
		f.t.Logf("%s emulator output:\n%s", f.Name, f.out.String())
	}
}

// runtimePIDs are the processes of f.bootstrap that the emulator started.
func (f *Function) runtimePIDs() []int {
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

// RuntimePID is the one running runtime process of f.
func (f *Function) RuntimePID() int {
	f.t.Helper()
	pids := f.runtimePIDs()
	if len(pids) != 1 {
		f.t.Fatalf("%s: runtime processes %v, want exactly one", f.Name, pids)
	}
	return pids[0]
}

// Invoke sends ev as one invocation and returns the function's answer as
// the HTTP response API Gateway would make of it.
func (f *Function) Invoke(ev any) teststack.Response {
	f.t.Helper()
	body := f.InvokeRaw(ev)
	// A function error ({"errorMessage","errorType"}) is not a response.
	var out events.APIGatewayV2HTTPResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || out.StatusCode == 0 {
		f.t.Fatalf("%s: not an HTTP API response (%v): %s", f.Name, err, body)
	}
	if out.IsBase64Encoded {
		f.t.Fatalf("%s: base64 response body: %s", f.Name, body)
	}
	header := http.Header{}
	for k, v := range out.Headers {
		header.Set(k, v)
	}
	return teststack.Response{Status: out.StatusCode, Header: header, Body: []byte(out.Body)}
}

// InvokeRaw sends ev as one invocation and returns the function's result
// as the emulator gives it.
func (f *Function) InvokeRaw(ev any) []byte {
	f.t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	invocationID := fmt.Sprintf("%s-invocation-%d-%d", f.Name, len(f.invocations)+1, time.Now().UnixNano())
	f.invocations = append(f.invocations, invocationID)
	a, err := Invoke(context.Background(), f.addr, invocationID, payload)
	if err != nil {
		f.t.Fatalf("%s: %v", f.Name, err)
	}
	if a.Status != http.StatusOK {
		f.t.Fatalf("%s: the emulator answered %d: %s", f.Name, a.Status, a.Body)
	}
	return a.Body
}

// OutputLines returns the emulator's output lines once pred holds for them,
// or after 3 s (the output arrives through a pipe, a little after the
// response).
func (f *Function) OutputLines(pred func([]string) bool) []string {
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

// CountContaining is how many of lines contain s.
func CountContaining(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// CheckInitOnce checks that the execution environment was initialised once
// (one INIT by the emulator, one Init Duration, one runtime process, pid,
// with main's SDK clients) and served every invocation, each logged once
// under its own Lambda request id.
func (f *Function) CheckInitOnce(pid int) {
	f.t.Helper()
	f.checkInitOnce(pid, true)
}

// CheckInitOnceUnlogged is CheckInitOnce for a function that logs no line
// per invocation (the scheduled sweep, which serves no HTTP request).
func (f *Function) CheckInitOnceUnlogged(pid int) {
	f.t.Helper()
	f.checkInitOnce(pid, false)
}

func (f *Function) checkInitOnce(pid int, logsRequests bool) {
	f.t.Helper()
	f.mu.Lock()
	invocations := slices.Clone(f.invocations)
	f.mu.Unlock()
	lines := f.OutputLines(func(lines []string) bool {
		return CountContaining(lines, "REPORT RequestId:") >= len(invocations) &&
			(!logsRequests || len(requestLogs(lines)) >= len(invocations))
	})
	for marker, want := range map[string]int{
		"INIT START":        1,
		"INIT REPORT":       1,
		"Init Duration:":    1,
		"START RequestId:":  len(invocations),
		"REPORT RequestId:": len(invocations),
	} {
		if got := CountContaining(lines, marker); got != want {
			f.t.Errorf("%s: %d lines with %q, want %d", f.Name, got, marker, want)
		}
	}
	var logged []string
	for _, m := range requestLogs(lines) {
		id, _ := m["lambdaRequestId"].(string)
		logged = append(logged, id)
	}
	if logsRequests && !slices.Equal(logged, invocations) {
		f.t.Errorf("%s: request log lines for %v, want one for each of %v", f.Name, logged, invocations)
	}
	if !logsRequests && len(logged) > 0 {
		f.t.Errorf("%s: request log lines for %v, want none", f.Name, logged)
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
		f.t.Errorf("%s: %d init log lines after %d invocations, want 1", f.Name, initLogs, len(invocations))
	}
	if got := f.RuntimePID(); got != pid {
		f.t.Errorf("%s: runtime pid %d, was %d: the process was replaced", f.Name, got, pid)
	}
	f.t.Logf("%s: %d invocations, one init, runtime pid %d throughout", f.Name, len(invocations), pid)
}
