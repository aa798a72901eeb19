// Command coldstart measures the Lambda init duration of every function
// against a hello-world aws-lambda-go function, under the AWS Lambda Runtime
// Interface Emulator. `make bench-coldstart` builds the binaries and runs it.
//
// Every sample is a new aws-lambda-rie process on its own pair of free ports,
// invoked once, then stopped by pid. Runs are interleaved round-robin over the
// functions (the start rotating each round) so machine noise hits all alike.
//
// The init duration is the emulator's "INIT REPORT(durationMs: …)" line: the
// time from the start of the runtime domain init (exec of ./bootstrap) to the
// runtime's first /next call, which is what Lambda bills as Init Duration. The
// "Init Duration" on this RIE version's REPORT line is not used: it times only
// the asynchronous hand-off of the init request (a few hundredths of a ms).
//
// The run fails if a binary is over -max-mb or a function does not init;
// the time target (-max-ratio times hello-world's median) is only reported,
// as the machine running it is shared and noisy.
package main

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/teamkeys/teamkeys/internal/testing/lambdarie"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
)

const helloName = "hello"

// target is one binary under test.
type target struct {
	name      string
	bootstrap string
	event     []byte
	size      int64

	initMs   []float64 // INIT REPORT durationMs, one per run
	reportMs []float64 // REPORT "Init Duration", for the note only
	coldMs   []float64 // client-side time of the first (cold) request
	statuses map[string]int
}

func main() {
	var (
		dir      = flag.String("dir", ".cache/bench-coldstart", "directory holding <Function>/bootstrap and hello/bootstrap")
		rie      = flag.String("rie", ".cache/bin/aws-lambda-rie", "path to aws-lambda-rie")
		funcs    = flag.String("functions", "GenerateKey,ListKeys,DisableKey,EnableKey,DeleteKey,WhoAmI,Authorizer,KeyPolicy,SweepExpiredKeys,RotateKey,OffboardMember,MemberRemoved,LeakReport,PublishEvents", "comma-separated function names")
		runs     = flag.Int("runs", 15, "measured cold starts per function (at least 10)")
		warmup   = flag.Int("warmup", 1, "unmeasured rounds first (page cache, CPU frequency)")
		maxMB    = flag.Float64("max-mb", 12, "fail if a binary is larger than this many MiB")
		maxRatio = flag.Float64("max-ratio", 2, "report a function whose median init is over this multiple of hello-world's")
		verbose  = flag.Bool("v", false, "print every sample")
	)
	flag.Parse()
	if *runs < 10 {
		fatalf("-runs must be at least 10, not %d", *runs)
	}
	rieBin, err := filepath.Abs(*rie)
	if err != nil {
		fatalf("%v", err)
	}
	if _, err := os.Stat(rieBin); err != nil {
		fatalf("aws-lambda-rie not found (run `make tools`): %v", err)
	}

	names := append([]string{helloName}, splitList(*funcs)...)
	targets := make([]*target, 0, len(names))
	for _, name := range names {
		bs, err := filepath.Abs(filepath.Join(*dir, name, "bootstrap"))
		if err != nil {
			fatalf("%v", err)
		}
		fi, err := os.Stat(bs)
		if err != nil {
			fatalf("%s: %v (build it first: make bench-coldstart)", name, err)
		}
		targets = append(targets, &target{name: name, bootstrap: bs, event: eventFor(name), size: fi.Size(), statuses: map[string]int{}})
	}
	if err := checkSameBuild(targets); err != nil {
		fatalf("%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env, cleanup, err := functionEnv()
	if err != nil {
		fatalf("%v", err)
	}
	defer cleanup()

	start := time.Now()
	total := *warmup + *runs
	for round := 0; round < total; round++ {
		measured := round >= *warmup
		// Rotate the starting function each round so none always runs
		// first (or right after the same neighbour).
		for i := range targets {
			t := targets[(round+i)%len(targets)]
			s, err := coldStart(ctx, rieBin, t, env)
			if err != nil {
				cleanup()
				fatalf("%s (round %d): %v", t.name, round+1, err)
			}
			if *verbose {
				fmt.Fprintf(os.Stderr, "round %2d %-12s init %7.2f ms  cold request %7.2f ms  status %s%s\n",
					round+1, t.name, s.initMs, s.coldMs, s.status, map[bool]string{false: "  (warm-up)", true: ""}[measured])
			}
			if !measured {
				continue
			}
			t.initMs = append(t.initMs, s.initMs)
			t.coldMs = append(t.coldMs, s.coldMs)
			if s.reportMs >= 0 {
				t.reportMs = append(t.reportMs, s.reportMs)
			}
			t.statuses[s.status]++
		}
	}
	elapsed := time.Since(start)

	if !printTable(os.Stdout, targets, *maxMB, *maxRatio, elapsed) {
		os.Exit(1)
	}
}

// sample is one cold start.
type sample struct {
	initMs   float64
	reportMs float64 // -1 when the REPORT line has none
	coldMs   float64
	status   string // the function's statusCode, or the invoke's HTTP status
}

var (
	initReportRe = regexp.MustCompile(`INIT REPORT\([^)]*durationMs: ([0-9.]+)`)
	initDoneRe   = regexp.MustCompile(`INIT RTDONE\(status: ([A-Za-z]+)`)
	reportInitRe = regexp.MustCompile(`REPORT RequestId: .*Init Duration: ([0-9.]+) ms`)
)

// coldStart starts a fresh emulator for t, invokes it once and stops it.
func coldStart(ctx context.Context, rieBin string, t *target, env []string) (sample, error) {
	apiAddr, rapidAddr, err := lambdarie.FreeAddrPair()
	if err != nil {
		return sample{}, err
	}
	var out logbuf.Buffer
	cmd := exec.Command(rieBin,
		"--runtime-interface-emulator-address", apiAddr,
		"--runtime-api-address", rapidAddr,
		"./bootstrap")
	cmd.Dir = filepath.Dir(t.bootstrap)
	cmd.Env = append(slices.Clone(env), "AWS_LAMBDA_FUNCTION_NAME="+t.name)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that the runtime it forks can be killed
	// with it if it does not shut down cleanly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return sample{}, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	pid := cmd.Process.Pid
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stopped := false
	stopRIE := func() {
		if stopped {
			return
		}
		stopped = true
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-exited
		}
		// Whatever the emulator left in its group (it SIGKILLs the
		// runtime itself on shutdown; this is belt and braces).
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	defer stopRIE()

	// Both listeners, the runtime API's too: the emulator opens it in a
	// goroutine that races the invoke listener, and a function forked by
	// an invoke sent before it listens has its first /next refused. The
	// emulator inits the function lazily, on the first invoke: the wait
	// does not eat into the measured init (its INIT REPORT).
	if err := lambdarie.WaitEmulator(ctx, apiAddr, rapidAddr, exited); err != nil {
		select {
		case <-exited:
			err = fmt.Errorf("%w (%v)", err, waitErr)
		default:
		}
		return sample{}, fmt.Errorf("%w\n%s", err, tail(out.String(), 20))
	}
	coldMs, status, err := invoke(ctx, apiAddr, t.event)
	if err != nil {
		return sample{}, fmt.Errorf("%w\n%s", err, tail(out.String(), 20))
	}
	stopRIE()
	log := out.String()

	done := initDoneRe.FindStringSubmatch(log)
	if done == nil || done[1] != "success" {
		return sample{}, fmt.Errorf("init did not succeed\n%s", tail(log, 20))
	}
	m := initReportRe.FindStringSubmatch(log)
	if m == nil {
		return sample{}, fmt.Errorf("no INIT REPORT line in the emulator's output\n%s", tail(log, 20))
	}
	initMs, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return sample{}, fmt.Errorf("INIT REPORT: %w", err)
	}
	reportMs := -1.0
	if r := reportInitRe.FindStringSubmatch(log); r != nil {
		reportMs, _ = strconv.ParseFloat(r[1], 64)
	}
	return sample{initMs: initMs, reportMs: reportMs, coldMs: coldMs, status: status}, nil
}

// invoke sends the event and returns the client-side duration of the cold
// request (init plus first invoke plus emulator overhead) and the status.
func invoke(ctx context.Context, addr string, event []byte) (float64, string, error) {
	a, err := lambdarie.Invoke(ctx, addr, "", event)
	if err != nil {
		return 0, "", err
	}
	ms := float64(a.Elapsed.Microseconds()) / 1000
	if a.Status != http.StatusOK {
		return ms, fmt.Sprintf("invoke HTTP %d", a.Status), nil
	}
	var v struct {
		StatusCode int    `json:"statusCode"`
		ErrorType  string `json:"errorType"`
	}
	if json.Unmarshal(a.Body, &v) == nil && v.StatusCode != 0 {
		return ms, strconv.Itoa(v.StatusCode), nil
	}
	if v.ErrorType != "" {
		// A function error (the sweep's or MemberRemoved's, with DynamoDB out of reach).
		return ms, "error " + v.ErrorType, nil
	}
	return ms, "ok", nil
}

// functionEnv is the environment every emulator (and so every function)
// gets: nothing from the caller's environment, so that no local AWS profile,
// endpoint or credential changes what init does; static dummy credentials
// and a region so the credential chain cannot stall on the instance
// metadata endpoint; the AWS endpoints on a closed local port so a request
// fails at once.
func functionEnv() ([]string, func(), error) {
	home, err := os.MkdirTemp("", "coldstart-home-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(home) }
	closed, err := closedPort()
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(closed)
	env := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + home, // empty: no ~/.aws/config or credentials
		"LOG_LEVEL=info",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDCOLDSTARTBENCH",
		"AWS_SECRET_ACCESS_KEY=coldstart-bench-dummy-secret",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_ENDPOINT_URL_KMS=" + endpoint,
		"TEAMKEYS_TABLE=teamkeys-coldstart",
		"TEAMKEYS_KMS_KEY_ID=alias/teamkeys-coldstart",
		"TEAMKEYS_PAGE_TOKEN_KEY=coldstart-bench-page-token-key-0123456789abcdef",
	}
	return env, cleanup, nil
}

// eventFor is a minimal API Gateway payload 2.0 event on one of the
// function's routes, with the JWT claims an authorizer would attach, or for
// the scheduled sweep the EventBridge event of its schedule, for
// MemberRemoved the console's TeamMemberRemoved event, for PublishEvents
// an empty stream batch. A name that
// only starts with a function's (a variant built for comparison, such as
// GenerateKeyLean) gets that function's event.
func eventFor(name string) []byte {
	method, path := "GET", "/hello"
	for _, f := range []string{"GenerateKey", "ListKeys", "DisableKey", "EnableKey", "DeleteKey", "WhoAmI", "Authorizer", "KeyPolicy", "SweepExpiredKeys", "RotateKey", "OffboardMember", "MemberRemoved", "LeakReport", "PublishEvents"} {
		if strings.HasPrefix(name, f) {
			name = f
		}
	}
	switch name {
	case "SweepExpiredKeys":
		// It reads nothing of its event; this is what EventBridge sends.
		return []byte(`{"version":"0","id":"0f6c3b8e-2a41-4d7e-9b5c-7e1d2f3a4b5c","detail-type":"Scheduled Event",` +
			`"source":"aws.events","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1",` +
			`"resources":["arn:aws:events:us-east-1:123456789012:rule/coldstart-SweepExpiredKeysSweep"],"detail":{}}`)
	case "MemberRemoved":
		// What EventBridge delivers of the console's event (DynamoDB out of
		// reach, the function answers an error: enough to time the init).
		return []byte(`{"version":"0","id":"7a1d9e52-3c4b-4f8a-b6e2-0d9c8b7a6f51","detail-type":"TeamMemberRemoved",` +
			`"source":"console.teamkeys","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1",` +
			`"resources":[],"detail":{"teamId":"t1","memberId":"alice"}}`)
	case "PublishEvents":
		// A stream batch with no records: answered at once (no failures),
		// enough to time the init.
		return []byte(`{"Records":[]}`)
	case "OffboardMember":
		method, path = "DELETE", "/v1/teams/t1/members/alice/access-keys"
	case "KeyPolicy":
		method, path = "GET", "/v1/teams/t1/key-policy"
	case "LeakReport":
		// No body: refused at once, which is enough to time the init.
		method, path = "POST", "/v1/teams/t1/leaks"
	case "GenerateKey":
		method, path = "POST", "/v1/teams/t1/members/alice/access-keys"
	case "ListKeys":
		method, path = "GET", "/v1/teams/t1/access-keys"
	case "DisableKey":
		method, path = "POST", "/v1/teams/t1/members/alice/access-keys/TKAKAAAAAAAAAAAAAAAAAAAA/disable"
	case "EnableKey":
		method, path = "POST", "/v1/teams/t1/members/alice/access-keys/TKAKAAAAAAAAAAAAAAAAAAAA/enable"
	case "DeleteKey":
		method, path = "DELETE", "/v1/teams/t1/members/alice/access-keys/TKAKAAAAAAAAAAAAAAAAAAAA"
	case "RotateKey":
		// Its body, "{}": the default grace period.
		method, path = "POST", "/v1/teams/t1/members/alice/access-keys/TKAKAAAAAAAAAAAAAAAAAAAA/rotate"
	case "WhoAmI", "Authorizer":
		// Unsigned: refused at once, which is enough to time the init.
		// The authorizer reads the same fields from its REQUEST event.
		method, path = "GET", "/v1/whoami"
	}
	ev := map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        path,
		"rawQueryString": "",
		"headers":        map[string]string{"content-type": "application/json"},
		"requestContext": map[string]any{
			"accountId":    "123456789012",
			"apiId":        "coldstart",
			"domainName":   "coldstart.local",
			"requestId":    "coldstart-bench",
			"routeKey":     "$default",
			"stage":        "$default",
			"time":         "01/Jan/2026:00:00:00 +0000",
			"timeEpoch":    1767225600000,
			"http":         map[string]string{"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "coldstart"},
			"authorizer":   map[string]any{"jwt": map[string]any{"claims": map[string]string{"sub": "alice", "team_id": "t1", "team_role": "admin"}, "scopes": nil}},
			"domainPrefix": "coldstart",
		},
		"isBase64Encoded": false,
	}
	if method == "POST" {
		ev["body"] = "{}"
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// checkSameBuild makes sure every binary was built like hello-world: same
// target, tags, trimpath, ldflags and cgo setting, so the comparison is fair.
func checkSameBuild(targets []*target) error {
	keys := []string{"GOOS", "GOARCH", "CGO_ENABLED", "-tags", "-trimpath", "-ldflags"}
	var want map[string]string
	for _, t := range targets {
		bi, err := buildinfo.ReadFile(t.bootstrap)
		if err != nil {
			return fmt.Errorf("%s: read build info: %w", t.name, err)
		}
		got := map[string]string{}
		for _, s := range bi.Settings {
			if slices.Contains(keys, s.Key) {
				got[s.Key] = s.Value
			}
		}
		if want == nil {
			want = got
			continue
		}
		for _, k := range keys {
			if got[k] != want[k] {
				return fmt.Errorf("%s was built with %s=%q but %s with %q: rebuild with the same flags", t.name, k, got[k], targets[0].name, want[k])
			}
		}
	}
	return nil
}

func printTable(w io.Writer, targets []*target, maxMB, maxRatio float64, elapsed time.Duration) bool {
	hello := median(targets[0].initMs)
	ok := true
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "function\truns\tinit p50 ms\tinit p90 ms\tx hello p50\tcold req p50 ms\tsize MB\tfirst response\tverdict\t")
	for _, t := range targets {
		p50 := median(t.initMs)
		ratio := p50 / hello
		mb := float64(t.size) / (1 << 20)
		var verdict []string
		if t.name == helloName {
			verdict = append(verdict, "baseline")
		} else if ratio <= maxRatio {
			verdict = append(verdict, fmt.Sprintf("init ok (<=%gx)", maxRatio))
		} else {
			verdict = append(verdict, fmt.Sprintf("init SLOW (>%gx, not failing)", maxRatio))
		}
		if mb > maxMB {
			verdict = append(verdict, fmt.Sprintf("size FAIL (>%g MB)", maxMB))
			ok = false
		} else {
			verdict = append(verdict, fmt.Sprintf("size ok (<=%g MB)", maxMB))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t\n",
			t.name, len(t.initMs), p50, percentile(t.initMs, 90), ratio, median(t.coldMs), mb,
			formatStatuses(t.statuses), strings.Join(verdict, ", "))
	}
	tw.Flush()
	var report []float64
	for _, t := range targets {
		report = append(report, t.reportMs...)
	}
	fmt.Fprintf(w, "\ninit = the emulator's INIT REPORT durationMs (exec of ./bootstrap to the runtime's first /next); p90 is nearest-rank.\n")
	fmt.Fprintf(w, "cold req = client-side time of the one invoke (init + first request + emulator overhead; a 503 includes\n"+
		"the SDK retrying the closed DynamoDB/KMS endpoint). MB = MiB.\n")
	if len(report) > 0 {
		fmt.Fprintf(w, "(not used: this RIE's REPORT \"Init Duration\", median %.2f ms, times only the async init hand-off.)\n", median(report))
	}
	fmt.Fprintf(w, "%d runs per function, interleaved round-robin, each a fresh aws-lambda-rie; measured in %s.\n",
		len(targets[0].initMs), elapsed.Round(100*time.Millisecond))
	if !ok {
		fmt.Fprintf(w, "FAIL: a binary is over %g MB\n", maxMB)
	}
	return ok
}

func formatStatuses(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s x%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile is the nearest-rank percentile.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// closedPort returns a loopback port nothing listens on.
func closedPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	p := l.Addr().(*net.TCPAddr).Port
	return p, l.Close()
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		fatalf("no functions given")
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "coldstart: "+format+"\n", args...)
	os.Exit(1)
}
