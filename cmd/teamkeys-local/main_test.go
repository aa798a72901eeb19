package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/local/emulators"
	"github.com/teamkeys/teamkeys/internal/local/gateway"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
)

// asMain makes the test binary run main() instead of the tests: the
// end-to-end test runs `serve` and `token` as their own processes.
const asMain = "TEAMKEYS_LOCAL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const published = "local-dev-secret-change-me"

func TestServeGeneratesASecretPerRun(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("TEAMKEYS_CACHE", cache)
	t.Setenv(jwtissuer.SecretEnv, "")
	s1, file, err := serveSecret()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "local-jwt-secret"); file != want {
		t.Errorf("secret file %q, want %q", file, want)
	}
	s2, _, err := serveSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) < 43 || s1 == s2 || jwtissuer.IsPublished(s1) {
		t.Errorf("serve secrets %q, %q: want a new random one per run", s1, s2)
	}
	// token reads what serve wrote.
	if _, err := tokenSecret(); err == nil || !strings.Contains(err.Error(), "make run") {
		t.Errorf("token with no secret anywhere: %v, want an error that says to start make run", err)
	}
	if err := jwtissuer.WriteSecretFile(file, s2); err != nil {
		t.Fatal(err)
	}
	if got, err := tokenSecret(); err != nil || got != s2 {
		t.Errorf("tokenSecret() = %q, %v; want serve's %q", got, err, s2)
	}
}

func TestSecretFromTheEnvironmentWins(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("TEAMKEYS_CACHE", cache)
	if err := jwtissuer.WriteSecretFile(filepath.Join(cache, jwtissuer.SecretFileName), "from-the-file"); err != nil {
		t.Fatal(err)
	}
	t.Setenv(jwtissuer.SecretEnv, "set-by-the-user-of-some-length")
	secret, file, err := serveSecret()
	if err != nil || secret != "set-by-the-user-of-some-length" || file != "" {
		t.Errorf("serveSecret() = %q, %q, %v; want the variable's value and no file", secret, file, err)
	}
	if got, err := tokenSecret(); err != nil || got != "set-by-the-user-of-some-length" {
		t.Errorf("tokenSecret() = %q, %v; want the variable's value", got, err)
	}
}

func TestPublishedSecretRefused(t *testing.T) {
	t.Setenv("TEAMKEYS_CACHE", t.TempDir())
	t.Setenv(jwtissuer.SecretEnv, published)
	if s, _, err := serveSecret(); err == nil {
		t.Errorf("serve accepted the published secret: %q", s)
	}
	if s, err := tokenSecret(); err == nil {
		t.Errorf("token accepted the published secret: %q", s)
	}
}

// The run and token recipes set no secret of their own: a secret written in
// the Makefile is public. token looks in the same cache as run.
func TestMakefileSetsNoSecret(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"run", "token"} {
		recipe := makeRecipe(t, string(b), target)
		if strings.Contains(recipe, jwtissuer.SecretEnv+"=") || strings.Contains(recipe, published) {
			t.Errorf("make %s sets the JWT secret:\n%s", target, recipe)
		}
		if !strings.Contains(recipe, "TEAMKEYS_CACHE=$(CACHE)") {
			t.Errorf("make %s does not set TEAMKEYS_CACHE=$(CACHE) (run and token must agree on where the secret is):\n%s", target, recipe)
		}
	}
}

// makeRecipe returns the rule of target: its line and its recipe lines.
func makeRecipe(t *testing.T, makefile, target string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:.*\n(?:\t.*\n)*`).FindString(makefile)
	if m == "" {
		t.Fatalf("no target %s in the Makefile", target)
	}
	return m
}

func TestBanner(t *testing.T) {
	info := bannerInfo{Addr: "127.0.0.1:3000", DynamoDB: "http://127.0.0.1:41000", KMS: "http://127.0.0.1:42000", AdminToken: "tok",
		SecretFile: "/repo/.cache/local-jwt-secret",
		Listeners: []emulators.Listener{
			{Name: "DynamoDB Local", Port: 41000}, // addresses unknown: exposed
			{Name: "local-kms", Port: 42000},
		}}
	var b strings.Builder
	printBanner(&b, info)
	out := b.String()
	for _, want := range []string{
		"http://127.0.0.1:3000", "Bearer tok", "Console: http://127.0.0.1:3000/console/",
		"/repo/.cache/local-jwt-secret", "make -s token SUB=alice TEAM=t1 ROLE=admin",
		"WARNING: DynamoDB Local (port 41000) and local-kms (port 42000) listen on every network interface",
		"decrypt every stored secret",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	info.SecretFile = ""
	info.Listeners = []emulators.Listener{{Name: "local-kms", Port: 42000, Addrs: nil}}
	b.Reset()
	printBanner(&b, info)
	out = b.String()
	for _, want := range []string{jwtissuer.SecretEnv, "WARNING: local-kms (port 42000) listens on every network interface"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	// What make run starts: DynamoDB Local on every interface, local-kms
	// in process on 127.0.0.1.
	info.Listeners = []emulators.Listener{
		{Name: "DynamoDB Local", Port: 41000, Addrs: []netip.AddrPort{netip.MustParseAddrPort("[::]:41000")}},
		{Name: "local-kms", Port: 42000, Addrs: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:42000")}},
	}
	b.Reset()
	printBanner(&b, info)
	out = b.String()
	for _, want := range []string{"WARNING: DynamoDB Local (port 41000) listens on every network interface", "read and change the table", "local-kms\nlistens on 127.0.0.1 only"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"local-kms (port", "decrypt every stored secret"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("banner says %q with local-kms on 127.0.0.1:\n%s", unwanted, out)
		}
	}

	info.Listeners = nil // external endpoints: nothing started
	b.Reset()
	printBanner(&b, info)
	if strings.Contains(b.String(), "WARNING") {
		t.Errorf("banner warns with no emulator started:\n%s", b.String())
	}
}

// command runs this test binary as teamkeys-local with args, in an
// environment without the endpoint and secret variables, plus env.
func command(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case jwtissuer.SecretEnv, "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS", "TEAMKEYS_CACHE", "TEAMKEYS_ADDR":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, asMain+"=1")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// toolCache returns a fresh cache directory holding links to the installed
// tools (so that the generated secret is written there, not in .cache).
func toolCache(t *testing.T) string {
	t.Helper()
	real, err := emulators.CacheDir("")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cache, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"npm"} {
		if err := os.Symlink(filepath.Join(real, p), filepath.Join(cache, p)); err != nil {
			t.Fatal(err)
		}
	}
	return cache
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// childPids returns the children of pid (Linux).
func childPids(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

// TestServe runs `teamkeys-local serve` as make run does (no secret set),
// mints a token with `teamkeys-local token` as make token does, uses it,
// and stops the server.
func TestServe(t *testing.T) {
	cache := toolCache(t)
	addr := freeAddr(t)
	base := "http://" + addr
	env := []string{"TEAMKEYS_CACHE=" + cache}
	serve := command(t, append(env, "TEAMKEYS_ADDR="+addr), "serve")
	stderr := &logbuf.Buffer{}
	serve.Stdout = io.Discard
	serve.Stderr = stderr
	stopWithTest(serve)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = serve.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				_ = serve.Process.Kill()
			}
		}
	})

	// The banner's last part is the warning.
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(stderr.String(), "firewall") {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not print its banner within 90 s:\n%s", stderr.String())
		}
	}
	banner := stderr.String()
	t.Logf("banner:\n%s", banner)
	for _, want := range []string{"make -s token", "WARNING: DynamoDB Local (port", "listens on every network interface", "local-kms\nlistens on 127.0.0.1 only"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	if strings.Contains(banner, "local-kms (port") {
		t.Errorf("banner says local-kms listens on every interface; it is served on 127.0.0.1 only")
	}

	secretFile := filepath.Join(cache, jwtissuer.SecretFileName)
	st, err := os.Stat(secretFile)
	if err != nil {
		t.Fatalf("serve wrote no secret file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", st.Mode().Perm())
	}

	out, err := command(t, env, "token", "-sub", "root", "-team", "t1", "-role", "admin").Output()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	token := strings.TrimSpace(string(out))

	post := func(token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/teams/t1/members/alice/access-keys", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post(token, `{"description":"laptop"}`); status != http.StatusCreated {
		t.Errorf("generate with make token's token: %d %s, want 201", status, body)
	}

	old, _ := jwtissuer.New(published)
	forged, err := old.Mint(accesskey.Caller{Subject: "mallory", TeamID: "t1", Role: accesskey.RoleOwner}, config.DefaultClaimNames, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := post(forged, `{"description":"forged"}`); status != http.StatusUnauthorized {
		t.Errorf("generate with a token signed with the published secret: %d %s, want 401", status, body)
	}

	// An oversized body is refused from its declared length, unsent.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST /v1/whoami HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, gateway.MaxPayloadBytes+1)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("no answer to a declared oversized body: %v", err)
	} else if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("declared oversized body answered %d, want 413", resp.StatusCode)
	}
	conn.Close()

	var children []int
	if runtime.GOOS == "linux" {
		children = childPids(t, serve.Process.Pid)
		if len(children) != 1 {
			t.Errorf("serve has children %v, want DynamoDB Local alone (local-kms is served in process)", children)
		}
	}

	if err := serve.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("serve exited with %v after SIGINT\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve still running 20 s after SIGINT")
	}
	for _, pid := range children {
		gone := false
		for range 50 {
			if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
				gone = true
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !gone {
			t.Errorf("emulator pid %d still running after serve stopped", pid)
		}
	}
	if _, err := os.Stat(secretFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("secret file left after serve stopped: %v", err)
	}
	if out, err := command(t, env, "token", "-sub", "root", "-team", "t1").CombinedOutput(); err == nil || !strings.Contains(string(out), "make run") {
		t.Errorf("token with no server running: %v %s; want an error that says to start make run", err, out)
	}
}

// The README's opening says what the banner says, and so does the local
// stack's page (docs/LOCAL.md), which also says where local tokens come from.
func TestREADMEWarnsOfTheLocalStack(t *testing.T) {
	warning := []string{
		"local-kms listen on 127.0.0.1 only",
		"DynamoDB Local listens on every network interface",
		"DynamoDB Local has no bind-address option",
		"without local-kms the sealed secrets in it are useless",
		"-disableTelemetry",
	}
	for _, tc := range []struct {
		file              string
		opening, anywhere []string
	}{
		{"../../README.md", warning, []string{"TOKEN=$(make -s token SUB=alice TEAM=t1 ROLE=admin)", "docs/LOCAL.md"}},
		{"../../docs/LOCAL.md", slices.Concat(warning, []string{".cache/local-jwt-secret", "TEAMKEYS_LOCAL_JWT_SECRET"}), nil},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(b)), " ")
		intro, _, _ := strings.Cut(string(b), "\n## ")
		intro = strings.Join(strings.Fields(intro), " ")
		for _, want := range tc.opening {
			if !strings.Contains(intro, want) {
				t.Errorf("%s's opening section lacks %q", tc.file, want)
			}
		}
		for _, want := range tc.anywhere {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", tc.file, want)
			}
		}
		if strings.Contains(string(b), published) {
			t.Errorf("%s holds the published secret %q", tc.file, published)
		}
	}
}
